// Chromium as the kiosk browser where no Electron runs (the lab, a dev machine): started with its
// DevTools protocol on a private pipe — fds 3 and 4, NUL-separated JSON — never on a port another
// local process could reach, and driven by cdp.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

export const CHROMIUM = '/usr/bin/chromium';

export interface CdpEvent {
  method: string;
  params: Record<string, unknown>;
  sessionId?: string | undefined;
}

/** A DevTools protocol connection: commands (optionally to an attached target's session) and events. */
export interface Cdp {
  send<T = Record<string, unknown>>(method: string, params?: Record<string, unknown>, sessionId?: string): Promise<T>;
  onEvent(listener: (event: CdpEvent) => void): () => void;
}

export class CdpError extends Error {
  override name = 'CdpError';
}

/** The DevTools protocol over a pair of pipes. */
export class CdpPipe implements Cdp {
  private next = 0;
  private readonly pending = new Map<number, { resolve: (value: never) => void; reject: (error: Error) => void; method: string }>();
  private readonly listeners = new Set<(event: CdpEvent) => void>();
  private buffered: Buffer[] = [];
  private closedWith: Error | undefined;

  constructor(
    private readonly out: Writable,
    input: Readable,
  ) {
    input.on('data', (chunk: Buffer) => this.receive(chunk));
    input.on('close', () => this.fail(new CdpError('the browser closed its DevTools pipe')));
    input.on('error', (error) => this.fail(new CdpError(`the DevTools pipe failed: ${error.message}`)));
    out.on('error', (error) => this.fail(new CdpError(`the DevTools pipe failed: ${error.message}`)));
  }

  send<T = Record<string, unknown>>(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<T> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const id = ++this.next;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve, reject, method });
      this.out.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
    });
  }

  onEvent(listener: (event: CdpEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private receive(chunk: Buffer): void {
    let end = chunk.indexOf(0);
    while (end >= 0) {
      const message = Buffer.concat([...this.buffered, chunk.subarray(0, end)]).toString('utf8');
      this.buffered = [];
      chunk = chunk.subarray(end + 1);
      end = chunk.indexOf(0);
      this.dispatch(message);
    }
    if (chunk.length > 0) this.buffered.push(chunk);
  }

  private dispatch(text: string): void {
    let message: { id?: number; result?: unknown; error?: { message?: string }; method?: string; params?: Record<string, unknown>; sessionId?: string };
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      return this.fail(new CdpError('the browser sent a DevTools message that is not JSON'));
    }
    if (typeof message.id === 'number') {
      const waiting = this.pending.get(message.id);
      if (!waiting) return;
      this.pending.delete(message.id);
      if (message.error) waiting.reject(new CdpError(`${waiting.method}: ${message.error.message ?? 'failed'}`));
      else waiting.resolve(message.result as never);
    } else if (typeof message.method === 'string') {
      const event: CdpEvent = { method: message.method, params: message.params ?? {}, sessionId: message.sessionId };
      for (const listener of this.listeners) listener(event);
    }
  }

  private fail(error: Error): void {
    if (this.closedWith) return;
    this.closedWith = error;
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }
}

export interface ChromiumOptions {
  userDataDir: string;
  /** No window (tests); otherwise full screen in kiosk mode on the display. */
  headless?: boolean;
  /** More switches (the lab's host mapping and certificate pin). */
  args?: readonly string[];
  executable?: string;
  /** Where Chromium's own messages go (default: dropped). */
  stderr?: (line: string) => void;
}

export interface Chromium {
  cdp: Cdp;
  process: ChildProcess;
  /** Resolves with the exit code once Chromium is gone. */
  exited: Promise<number>;
  close(): Promise<void>;
}

/** Starts Chromium with its DevTools protocol on a pipe and nothing else but a blank page. */
export function launchChromium(options: ChromiumOptions): Chromium {
  const args = [
    '--remote-debugging-pipe',
    `--user-data-dir=${options.userDataDir}`,
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-sync',
    '--disable-extensions',
    '--disable-features=Translate,MediaRouter',
    '--disable-session-crashed-bubble',
    '--noerrdialogs',
    '--password-store=basic',
    ...(options.headless ? ['--headless'] : ['--kiosk', '--start-fullscreen']),
    // Chromium refuses to run as root with its sandbox; a kiosk account never is root.
    ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
    ...(options.args ?? []),
    'about:blank',
  ];
  const child = spawn(options.executable ?? CHROMIUM, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    for (const line of text.split('\n')) if (line.trim()) options.stderr?.(line);
  });
  const cdp = new CdpPipe(child.stdio[3] as Writable, child.stdio[4] as Readable);
  const exited = new Promise<number>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    child.once('error', () => resolve(127));
  });
  return {
    cdp,
    process: child,
    exited,
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await cdp.send('Browser.close').catch(() => undefined);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
