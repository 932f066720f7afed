// The renderer's end of the UI contract (protocol/ipc.ts): through the Electron preload
// (window.selfdeploy) or, in a plain browser, the dev host's WebSocket with the run's secret from
// the URL fragment — or, framed by the admin console's branding page, the console itself. Every host message is parsed before the UI sees it.
import { COMMANDS, HostMessageSchema, IPC_PROTOCOL, type Command, type CommandArgs, type CommandResult, type HostMessage } from '../../protocol/ipc.js';

export class HostError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface HostConnection {
  call<C extends Command>(command: C, args: CommandArgs<C>): Promise<CommandResult<C>>;
  /** Every host message that is not a reply; returns the unsubscribe function. */
  onMessage(listener: (message: Exclude<HostMessage, { type: 'reply' }>) => void): () => void;
}

/** The contract as the Electron preload exposes it (contextBridge). */
interface PreloadBridge {
  send(raw: string): void;
  onMessage(listener: (raw: string) => void): () => void;
}

declare global {
  interface Window {
    selfdeploy?: PreloadBridge;
  }
}

function connection(send: (raw: string) => void, subscribe: (listener: (raw: string) => void) => () => void): HostConnection {
  let nextId = 1;
  const pending = new Map<number, { command: Command; resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  const listeners = new Set<(message: Exclude<HostMessage, { type: 'reply' }>) => void>();
  subscribe((raw) => {
    let message: HostMessage;
    try {
      message = HostMessageSchema.parse(JSON.parse(raw));
    } catch {
      return; // not the contract: ignored
    }
    if (message.type !== 'reply') {
      for (const listener of listeners) listener(message);
      return;
    }
    const waiting = message.id === null ? undefined : pending.get(message.id);
    if (!waiting) return;
    pending.delete(message.id!);
    if (message.ok) {
      const parsed = COMMANDS[waiting.command].result.safeParse(message.result);
      if (parsed.success) waiting.resolve(parsed.data);
      else waiting.reject(new HostError('IPC_INVALID', `the host answered ${waiting.command} with something else`));
    } else waiting.reject(new HostError(message.error.code, message.error.message));
  });
  return {
    call: (command, args) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { command, resolve: resolve as (value: unknown) => void, reject });
        send(JSON.stringify({ id, command, args }));
      }),
    onMessage: (listener) => {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}

/**
 * The console's branding preview (#preview, in a frame of the console): the frame's parent plays
 * the host, with messages of this origin only — from the parent window, to the parent window.
 */
function previewConnection(): HostConnection {
  const parent = window.parent;
  const listeners = new Set<(raw: string) => void>();
  window.addEventListener('message', (event: MessageEvent<unknown>) => {
    if (event.source !== parent || event.origin !== location.origin || typeof event.data !== 'string') return;
    for (const listener of listeners) listener(event.data);
  });
  return connection(
    (raw) => parent.postMessage(raw, location.origin),
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  );
}

/** Connects through the preload when there is one, else to the console (a preview) or the dev host that served this page. */
export function connectToHost(): Promise<HostConnection> {
  const bridge = window.selfdeploy;
  if (bridge) return Promise.resolve(connection((raw) => bridge.send(raw), (listener) => bridge.onMessage(listener)));
  if (location.hash === '#preview' && window.parent !== window) return Promise.resolve(previewConnection());
  const secret = new URLSearchParams(location.hash.slice(1)).get('secret');
  if (!secret) return Promise.reject(new HostError('IPC_INVALID', 'this page was opened without the secret of its run'));
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ipc`, [IPC_PROTOCOL, `secret.${secret}`]);
  return new Promise((resolve, reject) => {
    const listeners = new Set<(raw: string) => void>();
    ws.addEventListener('message', (event: MessageEvent<string>) => {
      for (const listener of listeners) listener(event.data);
    });
    ws.addEventListener('open', () =>
      resolve(
        connection(
          (raw) => ws.send(raw),
          (listener) => {
            listeners.add(listener);
            return () => listeners.delete(listener);
          },
        ),
      ),
    );
    ws.addEventListener('error', () => reject(new HostError('HOST_UNAVAILABLE', 'the setup agent did not accept the connection')));
  });
}
