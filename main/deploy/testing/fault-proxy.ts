// A TCP proxy in front of the service for fault tests: it passes connections through, resets
// them, or stops listening altogether (the service "stopped"), and starts again on the same port.
import { createServer, connect, type Server, type Socket } from 'node:net';

export class FaultProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private resets = 0;
  /** Connections reset so far. */
  resetCount = 0;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  get url(): URL {
    return new URL(`https://127.0.0.1:${this.port}`);
  }

  async start(): Promise<void> {
    const server = createServer((client) => {
      if (this.resets > 0) {
        this.resets--;
        this.resetCount++;
        client.resetAndDestroy();
        return;
      }
      const upstream = connect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.once('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** The service "stops": nothing listens, open connections are cut. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.resetAndDestroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Cuts every open connection now and resets the next `count` new ones. */
  reset(count: number): void {
    this.resets = count;
    for (const socket of this.sockets) socket.resetAndDestroy();
  }
}
