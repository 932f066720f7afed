// A loopback HTTPS proxy between agents and the service that misbehaves on purpose: it terminates
// TLS with a certificate from the service's own CA (so agents trust it as they trust the service)
// and forwards each request — or, by its rules, adds latency, resets or drops the connection,
// answers 5xx or 429 itself, or stalls in the middle of the answer's body. A fault strikes before
// the request reaches the service ("request") or after the service answered ("response": the
// service did the work, the agent never hears of it). Rules apply by schedule (the nth matching
// request, a count) or at random from a seed, so a failing run can be replayed. It can also stop
// listening altogether (the service "stopped") and start again on the same port.
//
// Inside, a TCP front (the agents' port: it can refuse, reset and cut connections with a real
// RST, which a TLS socket cannot) passes each connection to an HTTPS back on another loopback port,
// which reads the requests and applies the rules; a reset there resets the agent's own TCP
// connection, found by the back connection's port.
import { request as httpsRequest, Agent, createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';

import { DataDir } from '../backend/tenant/data-dir.js';
import { issueServerCertificate } from '../backend/tenant/pki.js';

export type Fault =
  /** Wait this long before forwarding (request) or before answering (response). */
  | { kind: 'latency'; ms: number }
  /** A TCP reset: no answer. */
  | { kind: 'reset' }
  /** The connection closed cleanly without an answer. */
  | { kind: 'drop' }
  /** The proxy answers itself: 500, 502, 503 or 429 (with Retry-After when given). */
  | { kind: 'status'; status: 500 | 502 | 503 | 429; retryAfterSeconds?: number }
  /** The answer's head and the first `afterBytes` of its body, then nothing until the agent gives up (or `ms` pass, then a reset). */
  | { kind: 'stall'; afterBytes: number; ms?: number };

export interface FaultRule {
  fault: Fault;
  /** Before the service sees the request (default), or after it answered. `stall` is always a response fault. */
  stage?: 'request' | 'response';
  /** Only requests whose method and path (without the query) match, e.g. /^POST \/v1\/enroll\//. */
  match?: RegExp;
  /** Chance per matching request (0..1), drawn from the proxy's seeded generator. Default 1. */
  probability?: number;
  /** Strike only the nth matching request and every `every` after it (1-based; default: every one). */
  nth?: number;
  every?: number;
  /** Strike at most this many times. */
  times?: number;
}

export interface FaultStats {
  requests: number;
  forwarded: number;
  /** Faults applied, by kind and stage, e.g. "reset@response". */
  faults: Record<string, number>;
}

/** mulberry32: a small, fast, seedable generator (the same seed draws the same faults). */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Host passes unchanged, as through any reverse proxy: the service checks token audiences against the address the agent used.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

export class FaultProxy {
  private front: Server | undefined;
  private back: HttpsServer | undefined;
  private backPort = 0;
  private readonly sockets = new Set<Socket>();
  /** The agent's TCP connection by the local port of its connection to the back. */
  private readonly clients = new Map<number, Socket>();
  private readonly upstream: Agent;
  private rules: { rule: FaultRule; matched: number; struck: number }[] = [];
  private random: () => number;
  private pendingResets = 0;
  stats: FaultStats = { requests: 0, forwarded: 0, faults: {} };
  port = 0;

  constructor(
    private readonly target: URL,
    private readonly tls: { certificatePem: string; privateKeyPem: string; caPem: string },
    options: { seed?: number; rules?: FaultRule[] } = {},
  ) {
    this.upstream = new Agent({ ca: tls.caPem, keepAlive: true, maxSockets: 64 });
    this.random = seeded(options.seed ?? 1);
    this.setRules(options.rules ?? []);
  }

  /** A proxy in front of the service at `target` whose data directory is `dataDir`: its certificate comes from the service's CA. */
  static async inFrontOf(target: URL, dataDir: string, options: { seed?: number; rules?: FaultRule[]; port?: number } = {}): Promise<FaultProxy> {
    const data = new DataDir(dataDir);
    const ca = { certificatePem: readFileSync(data.serviceCaPath, 'utf8'), privateKeyPem: readFileSync(data.serviceCaKeyPath, 'utf8') };
    const tls = await issueServerCertificate(ca, ['127.0.0.1'], 1);
    const proxy = new FaultProxy(target, { ...tls, caPem: ca.certificatePem }, options);
    // A port chosen beforehand: the service's public URLs name the proxy, as they would a load balancer.
    if (options.port !== undefined) proxy.port = options.port;
    await proxy.start();
    return proxy;
  }

  get url(): URL {
    return new URL(`https://127.0.0.1:${this.port}`);
  }

  /** Connections reset so far (by rules or `reset`). */
  get resetCount(): number {
    return Object.entries(this.stats.faults)
      .filter(([key]) => key.startsWith('reset@'))
      .reduce((sum, [, count]) => sum + count, 0);
  }

  /** New rules (and a new seed, if given); counts start over. */
  setRules(rules: FaultRule[], seed?: number): void {
    for (const rule of rules) {
      if (rule.probability !== undefined && !(rule.probability >= 0 && rule.probability <= 1)) throw new RangeError('probability must be within 0..1');
      if (rule.nth !== undefined && !(Number.isInteger(rule.nth) && rule.nth >= 1)) throw new RangeError('nth counts from 1');
    }
    this.rules = rules.map((rule) => ({ rule, matched: 0, struck: 0 }));
    this.stats = { requests: 0, forwarded: 0, faults: {} };
    if (seed !== undefined) this.random = seeded(seed);
  }

  async start(): Promise<void> {
    if (!this.back) {
      const back = createHttpsServer({ cert: this.tls.certificatePem, key: this.tls.privateKeyPem }, (request, response) => void this.handle(request, response));
      back.on('tlsClientError', () => undefined);
      await listen(back, 0);
      this.back = back;
      this.backPort = (back.address() as { port: number }).port;
    }
    const front = createServer((client) => {
      client.on('error', () => undefined);
      if (this.pendingResets > 0) {
        this.pendingResets--;
        this.count('reset', 'request');
        client.resetAndDestroy();
        return;
      }
      const inner = connect(this.backPort, '127.0.0.1');
      inner.on('error', () => client.destroy());
      for (const socket of [client, inner]) {
        this.sockets.add(socket);
        socket.once('close', () => this.sockets.delete(socket));
      }
      inner.once('connect', () => this.clients.set(inner.localPort!, client));
      inner.once('close', () => {
        this.clients.delete(inner.localPort!);
        client.destroy();
      });
      client.once('close', () => inner.destroy());
      client.pipe(inner).pipe(client);
    });
    await listen(front, this.port);
    this.port = (front.address() as { port: number }).port;
    this.front = front;
  }

  /** The service "stops": nothing listens on the port, open connections are cut. */
  async stop(): Promise<void> {
    const front = this.front;
    this.front = undefined;
    for (const socket of this.sockets) socket.resetAndDestroy();
    if (front) await new Promise<void>((resolve) => front.close(() => resolve()));
  }

  /** Cuts every open connection now and resets the next `count` new ones. */
  reset(count: number): void {
    this.pendingResets = count;
    for (const socket of this.sockets) socket.resetAndDestroy();
  }

  async close(): Promise<void> {
    await this.stop();
    this.upstream.destroy();
    const back = this.back;
    this.back = undefined;
    back?.closeAllConnections();
    if (back) await new Promise<void>((resolve) => back.close(() => resolve()));
  }

  /** Resets the agent's TCP connection that carries `socket` (its TLS connection to the back). */
  private resetClient(socket: Socket): void {
    const client = this.clients.get(socket.remotePort ?? -1);
    if (client) client.resetAndDestroy();
    socket.destroy();
  }

  private count(kind: string, stage: string): void {
    const key = `${kind}@${stage}`;
    this.stats.faults[key] = (this.stats.faults[key] ?? 0) + 1;
  }

  /** The fault this request meets, if any (the first rule that strikes). */
  private draw(line: string): { fault: Fault; stage: 'request' | 'response' } | undefined {
    for (const entry of this.rules) {
      const { rule } = entry;
      if (rule.match && !rule.match.test(line)) continue;
      entry.matched++;
      if (rule.times !== undefined && entry.struck >= rule.times) continue;
      if (rule.nth !== undefined && (entry.matched < rule.nth || (entry.matched - rule.nth) % (rule.every ?? Number.POSITIVE_INFINITY) !== 0)) continue;
      if (rule.probability !== undefined && this.random() >= rule.probability) continue;
      entry.struck++;
      return { fault: rule.fault, stage: rule.fault.kind === 'stall' ? 'response' : (rule.stage ?? 'request') };
    }
    return undefined;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.stats.requests++;
    const line = `${request.method ?? 'GET'} ${(request.url ?? '/').split('?')[0]}`;
    const drawn = this.draw(line);
    const socket = request.socket;
    if (drawn?.stage === 'request') {
      this.count(drawn.fault.kind, 'request');
      const { fault } = drawn;
      if (fault.kind === 'latency') await sleep(fault.ms);
      else if (fault.kind === 'reset') return this.resetClient(socket);
      else if (fault.kind === 'drop') return void socket.destroySoon();
      else if (fault.kind === 'status') {
        request.resume();
        return injectStatus(response, fault);
      }
    }
    const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => !HOP_BY_HOP.has(name)));
    const upstream = httpsRequest(
      { host: this.target.hostname, port: this.target.port, method: request.method, path: request.url, headers, agent: this.upstream },
      (answer) => void this.answer(answer, response, socket, drawn?.stage === 'response' ? drawn.fault : undefined),
    );
    upstream.on('error', () => this.resetClient(socket));
    request.pipe(upstream);
    this.stats.forwarded++;
  }

  /** The service's answer, passed on — or lost, late or cut short by a response fault. */
  private async answer(answer: IncomingMessage, response: ServerResponse, socket: Socket, fault: Fault | undefined): Promise<void> {
    if (fault) this.count(fault.kind, 'response');
    if (fault?.kind === 'reset' || fault?.kind === 'drop') {
      answer.resume(); // the service did the work; the agent hears nothing
      if (fault.kind === 'reset') this.resetClient(socket);
      else socket.destroySoon();
      return;
    }
    if (fault?.kind === 'latency') await sleep(fault.ms);
    if (fault?.kind === 'status') {
      answer.resume();
      return injectStatus(response, fault);
    }
    const headers = Object.fromEntries(Object.entries(answer.headers).filter(([name]) => !HOP_BY_HOP.has(name)));
    if (fault?.kind === 'stall') {
      // The head and the first bytes go out; the rest never comes.
      const body = await collect(answer);
      response.writeHead(answer.statusCode ?? 502, headers);
      response.write(body.subarray(0, Math.min(fault.afterBytes, Math.max(0, body.length - 1))));
      if (fault.ms !== undefined) setTimeout(() => this.resetClient(socket), fault.ms).unref();
      return;
    }
    response.writeHead(answer.statusCode ?? 502, headers);
    answer.pipe(response);
  }
}

/** The proxy's own answer: the status, Retry-After when given, a problem body without a service code (as a load balancer would). */
function injectStatus(response: ServerResponse, fault: Extract<Fault, { kind: 'status' }>): void {
  const headers: Record<string, string> = { 'content-type': 'application/problem+json' };
  if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
  response.writeHead(fault.status, headers).end(JSON.stringify({ type: 'about:blank', title: 'Injected by the fault proxy', status: fault.status }));
}

function listen(server: Server | HttpsServer, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function collect(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Rules from the command line: comma-separated `KIND[=N][@STAGE][:CHANCE]`, where KIND is
 * `latency=MS`, `reset`, `drop`, `500`, `502`, `503`, `429[=RETRY_AFTER_S]` or
 * `stall[=BYTES]`, STAGE is `request` (default) or `response`, and CHANCE is 0..1 (default 1).
 * Example: `latency=200:0.3,503:0.05,reset@response:0.02`.
 */
export function parseFaultSpec(spec: string): FaultRule[] {
  return spec
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const parsed = /^(latency|reset|drop|500|502|503|429|stall)(?:=(\d{1,7}))?(?:@(request|response))?(?::(0(?:\.\d+)?|1(?:\.0+)?))?$/.exec(part);
      if (!parsed) throw new RangeError(`"${part}" is not a fault: KIND[=N][@request|@response][:CHANCE], KIND one of latency=MS, reset, drop, 500, 502, 503, 429, stall`);
      const [, kind, n, stage, chance] = parsed;
      const value = n === undefined ? undefined : Number(n);
      let fault: Fault;
      if (kind === 'latency') {
        if (value === undefined) throw new RangeError(`"${part}": latency needs =MS`);
        fault = { kind: 'latency', ms: value };
      } else if (kind === 'reset' || kind === 'drop') fault = { kind };
      else if (kind === 'stall') fault = { kind: 'stall', afterBytes: value ?? 64 };
      else fault = { kind: 'status', status: Number(kind) as 500 | 502 | 503 | 429, ...(value !== undefined ? { retryAfterSeconds: value } : {}) };
      return { fault, ...(stage ? { stage: stage as 'request' | 'response' } : {}), ...(chance !== undefined ? { probability: Number(chance) } : {}) };
    });
}
