// The dev host: the UI contract over a loopback-only WebSocket, so the real renderer runs in a
// real Chromium (and Playwright drives it) where no Electron binary exists. Only 127.0.0.1; a
// secret made for this run is handed to the page in the URL fragment (never sent in a request
// line, so never logged) and comes back as a WebSocket subprotocol ("secret.<secret>", beside
// the contract's own), and the Origin must be this server's — another page in the same browser
// can neither connect nor read the state.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

import { WebSocketServer, type WebSocket } from 'ws';

import { IPC_PROTOCOL, MAX_IPC_MESSAGE_BYTES } from '../../../protocol/ipc.js';
import { rendererCsp, rendererFile } from '../renderer-files.js';
import type { HostSession } from '../session.js';

export interface DevHostOptions {
  session: HostSession;
  /** The built renderer (index.html and its assets); without it only the WebSocket is served. */
  rendererDir?: string;
  port?: number;
  log?: (event: string, detail?: Record<string, unknown>) => void;
}

export class DevHost {
  private server: Server | undefined;
  private sockets: WebSocketServer | undefined;
  readonly secret = randomBytes(32).toString('base64url');
  private origin = '';

  constructor(private readonly options: DevHostOptions) {}

  /** Where a browser opens the UI: the secret rides in the fragment. */
  get url(): string {
    return `${this.origin}/#secret=${this.secret}`;
  }

  /** The WebSocket endpoint (tests and tools connect with the secret themselves). */
  get ipcUrl(): string {
    return `${this.origin.replace(/^http/, 'ws')}/ipc`;
  }

  get originUrl(): string {
    return this.origin;
  }

  async start(): Promise<void> {
    const server = createServer((request, response) => this.serveFile(request, response));
    const sockets = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_IPC_MESSAGE_BYTES,
      // The client offers the contract's protocol and "secret.<secret>"; only the former is echoed.
      handleProtocols: (protocols) => (protocols.has(IPC_PROTOCOL) ? IPC_PROTOCOL : false),
    });
    server.on('upgrade', (request, socket, head) => {
      const refusal = this.refusal(request);
      if (refusal) {
        this.options.log?.('ipc.refused', { reason: refusal });
        socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${refusal}\n`);
        return;
      }
      sockets.handleUpgrade(request, socket, head, (ws) => this.attach(ws));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('the dev host has no TCP address');
    this.origin = `http://127.0.0.1:${address.port}`;
    this.server = server;
    this.sockets = sockets;
  }

  async close(): Promise<void> {
    for (const client of this.sockets?.clients ?? []) client.terminate();
    this.sockets?.close();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Why an upgrade is refused: not /ipc, another Origin, or a wrong secret. */
  private refusal(request: IncomingMessage): string | null {
    const url = new URL(request.url ?? '/', this.origin);
    if (url.pathname !== '/ipc') return 'no such endpoint';
    if (request.headers.origin !== this.origin) return `origin ${request.headers.origin ?? '(none)'} is not this host's`;
    const given = Buffer.from(request.headers['sec-websocket-protocol']?.split(',').map((p) => p.trim()).find((p) => p.startsWith('secret.'))?.slice(7) ?? '');
    const expected = Buffer.from(this.secret);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'wrong or missing secret';
    return null;
  }

  private attach(ws: WebSocket): void {
    const connection = this.options.session.connect((message) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
    });
    ws.on('message', (data: Buffer, isBinary) => {
      let raw: unknown;
      try {
        raw = isBinary ? undefined : JSON.parse(data.toString('utf8'));
      } catch {
        raw = undefined;
      }
      void connection.receive(raw);
    });
    ws.on('close', () => connection.close());
  }

  /** The renderer's files (renderer-files.ts); only GET. */
  private serveFile(request: IncomingMessage, response: ServerResponse): void {
    const headers = { 'Content-Security-Policy': rendererCsp(this.origin.replace(/^http/, 'ws')), 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' };
    if (request.method !== 'GET') {
      response.writeHead(405, headers).end();
      return;
    }
    const file = rendererFile(this.options.rendererDir, new URL(request.url ?? '/', this.origin).pathname);
    response.writeHead(file.status, { ...headers, ...(file.contentType ? { 'Content-Type': file.contentType } : {}) }).end(file.body);
  }
}
