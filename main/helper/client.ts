// The agent's side of selfdeploy-helper: a TargetPort whose every operation is a request over the
// helper's UNIX socket. Providers cannot tell it from the in-process Target; the helper decides.
import { connect, type Socket } from 'node:net';

import type { z } from 'zod';

import { PathRefusedError, TargetError } from '../target/errors.js';
import type { DomainJoin, OsUpdateRequest, OsUpdateResult, Owner, PackageInstall, RunOutcome, ScriptRun, TargetPort, TargetStat, UndoReport } from '../target/port.js';
import { HelloSchema, HelperResponseSchema, InstalledReleaseSchema, OsUpdateResultSchema, RunOutcomeSchema, TargetStatSchema, UndoReportSchema, type HelperRequest } from './protocol.js';
import { HelperError } from './errors.js';

type Request = HelperRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

export class HelperTarget implements TargetPort {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private buffer = '';
  private closed = false;

  private liveSystem = false;
  /** The agent's bearer token, sent with every change (the helper asks the service what is assigned). */
  private token: string | undefined;
  /** The helper's version, as it said when the agent connected. */
  helperVersion = '';

  private constructor(
    private socket: Socket,
    private readonly path: string,
    private readonly timeoutMs: number,
  ) {
    this.listen();
  }

  get live(): boolean {
    return this.liveSystem;
  }

  private static open(path: string, timeoutMs: number): Promise<Socket> {
    return new Promise<Socket>((resolve, reject) => {
      const s = connect(path);
      const timer = setTimeout(() => {
        s.destroy();
        reject(new HelperError('HELPER_UNAVAILABLE', `selfdeploy-helper did not answer on ${path} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new HelperError('HELPER_UNAVAILABLE', `cannot reach selfdeploy-helper on ${path}: ${error.code === 'EACCES' ? 'permission denied (is the agent in the "selfdeploy" group?)' : (error.code ?? error.message)}`));
      });
    });
  }

  /** Connects and asks the helper who it is; HELPER_UNAVAILABLE when nothing answers. */
  static async connect(path: string, timeoutMs = 10_000): Promise<HelperTarget> {
    const target = new HelperTarget(await HelperTarget.open(path, timeoutMs), path, timeoutMs);
    await target.hello();
    return target;
  }

  private async hello(): Promise<void> {
    const hello = await this.typed(HelloSchema, { op: 'hello' });
    this.liveSystem = hello.live;
    this.helperVersion = hello.version;
  }

  /**
   * After the helper restarted (systemd restarts it on failure) the next request connects again;
   * what was in flight when it went away failed with HELPER_UNAVAILABLE, which the engine waits out.
   */
  private async reconnect(): Promise<void> {
    this.socket = await HelperTarget.open(this.path, this.timeoutMs);
    this.buffer = '';
    this.listen();
    await this.hello();
  }

  private listen(): void {
    this.socket.setEncoding('utf8');
    this.socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (let newline = this.buffer.indexOf('\n'); newline >= 0; newline = this.buffer.indexOf('\n')) {
        const line = this.buffer.slice(0, newline);
        this.buffer = this.buffer.slice(newline + 1);
        this.receive(line);
      }
    });
    this.socket.on('close', () => {
      for (const [, waiting] of this.pending) waiting.reject(new HelperError('HELPER_UNAVAILABLE', 'selfdeploy-helper closed the connection'));
      this.pending.clear();
    });
    this.socket.on('error', () => undefined); // reported through 'close'
  }

  private receive(line: string): void {
    let response;
    try {
      response = HelperResponseSchema.parse(JSON.parse(line));
    } catch {
      this.socket.destroy();
      return;
    }
    // Answers come in order; one without an id (a request the helper could not read) fails the oldest.
    const id = response.id ?? this.pending.keys().next().value;
    const waiting = id === undefined ? undefined : this.pending.get(id);
    if (!waiting) return;
    this.pending.delete(id!);
    if (response.ok) waiting.resolve(response.result);
    else waiting.reject(errorOf(response.error.code, response.error.message));
  }

  private async send(request: Request): Promise<unknown> {
    if (this.closed) throw new HelperError('HELPER_UNAVAILABLE', 'the connection to selfdeploy-helper is closed');
    if (this.socket.destroyed && request.op !== 'hello') await this.reconnect();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.write(JSON.stringify({ id, ...request }) + '\n');
    });
  }

  private async typed<T extends z.ZodType>(schema: T, request: Request): Promise<z.output<T>> {
    return schema.parse(await this.send(request));
  }

  close(): void {
    this.closed = true;
    this.socket.end();
  }

  authorize(token: string): void {
    this.token = token;
  }

  private get credentials(): { token?: string } {
    return this.token ? { token: this.token } : {};
  }

  async writeFile(item: string, path: string, content: string | Uint8Array, mode = 0o644, owner?: Owner): Promise<boolean> {
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
    return (await this.send({ op: 'writeFile', item, ...this.credentials, path, content: bytes.toString('base64'), mode, ...(owner ? { owner } : {}) })) === true;
  }

  async writeSymlink(item: string, path: string, linkTarget: string): Promise<boolean> {
    return (await this.send({ op: 'writeSymlink', item, ...this.credentials, path, linkTarget })) === true;
  }

  async ensureDir(item: string, path: string, mode = 0o755, owner?: Owner): Promise<void> {
    await this.send({ op: 'ensureDir', item, ...this.credentials, path, mode, ...(owner ? { owner } : {}) });
  }

  async command(item: string, argv: [string, ...string[]], inverse: [string, ...string[]] | null): Promise<boolean> {
    return (await this.send({ op: 'command', item, ...this.credentials, argv, inverse })) === true;
  }

  async joinDomain(item: string, join: DomainJoin): Promise<boolean> {
    return (await this.send({ op: 'joinDomain', item, ...this.credentials, join })) === true;
  }

  async check(path: string, linkTarget?: string): Promise<void> {
    await this.send({ op: 'check', path, ...(linkTarget === undefined ? {} : { linkTarget }) });
  }

  async readFile(path: string): Promise<Buffer | null> {
    const result = await this.send({ op: 'readFile', path });
    if (result === null) return null;
    if (typeof result !== 'string') throw new HelperError('HELPER_REQUEST_INVALID', 'the helper answered readFile with something else than base64');
    return Buffer.from(result, 'base64');
  }

  async stat(path: string): Promise<TargetStat | null> {
    const result = await this.send({ op: 'stat', path });
    return result === null ? null : TargetStatSchema.parse(result);
  }

  runScript(item: string, script: ScriptRun): Promise<RunOutcome> {
    return this.typed(RunOutcomeSchema, { op: 'runScript', item, script });
  }

  installPackage(item: string, install: PackageInstall): Promise<RunOutcome> {
    return this.typed(RunOutcomeSchema, { op: 'installPackage', item, install });
  }

  async probe(argv: [string, ...string[]], timeoutSeconds: number): Promise<boolean> {
    return (await this.send({ op: 'probe', argv, timeoutSeconds })) === true;
  }

  undoAll(): Promise<UndoReport> {
    return this.typed(UndoReportSchema, { op: 'undoAll' });
  }

  upgradePackages(request: OsUpdateRequest): Promise<OsUpdateResult> {
    return this.typed(OsUpdateResultSchema, { op: 'upgradePackages', request });
  }

  async reboot(): Promise<boolean> {
    return (await this.send({ op: 'reboot' })) === true;
  }

  /** Asks the helper to install a critical agent release (a deb) it checks against the service's feed itself. */
  installUpdate(update: { file: string; sha256: string; version: string }): Promise<{ installed: string }> {
    return this.typed(InstalledReleaseSchema, { op: 'installUpdate', update });
  }
}

/** The helper's error as the agent's own kinds, so the ESP shows the same codes whichever executor ran. */
function errorOf(code: string, message: string): Error {
  if (code === 'ITEM_PATH_REFUSED') return new PathRefusedError(message);
  if (code === 'ITEM_FAILED' || code === 'CONTENT_DIGEST_MISMATCH' || code === 'DIRECTORY_JOIN_FAILED') return new TargetError(code, message);
  if (code === 'HELPER_REFUSED' || code === 'HELPER_REQUEST_INVALID' || code === 'CONTENT_NOT_ASSIGNED' || code === 'HELPER_UNAVAILABLE') return new HelperError(code, message);
  return new HelperError('HELPER_REFUSED', `${code}: ${message}`);
}
