// The HTTPS client against a scripted HTTPS server on loopback: trust, retries, backoff,
// Retry-After, timeouts and answer validation.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

import { createCa, issueServerCertificate } from '../../backend/tenant/pki.js';
import { endpoint } from '../api/endpoint.js';
import { ADMIN_RETRY, retryAfterMs, type RetryPolicy } from '../retry.js';
import { RESPONSE_MAX_BYTES, ServiceClient, ServiceProblem } from './https-client.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let url: URL;
let ca: string;
let otherCa: string;
let script: Handler[] = [];
let requests = 0;
/** What the last request carried: method, URL, content type and body. */
let received: { method: string; url: string; type: string | undefined; body: Buffer } | undefined;

const Answer = z.object({ ok: z.literal(true) });
const declared = { summary: 'test', tag: 'test', access: 'public' } as const;
const thing = endpoint({ ...declared, method: 'GET', path: '/v1/thing', operationId: 'thing', success: { status: 200, description: 'ok', schema: Answer } });
const slow = endpoint({ ...declared, method: 'GET', path: '/slow', operationId: 'slow', success: { status: 204, description: 'nothing' } });
const postThing = endpoint({ ...declared, method: 'POST', path: '/v1/thing', operationId: 'postThing', body: z.object({ a: z.number() }), success: { status: 200, description: 'ok', schema: Answer } });
const content = endpoint({ ...declared, method: 'GET', path: '/content', operationId: 'content', success: { status: 200, description: 'bytes', binary: true } });
const problem = (status: number, code: string, headers: Record<string, string> = {}): Handler => (_req, res) => {
  res.writeHead(status, { 'content-type': 'application/problem+json', ...headers });
  res.end(JSON.stringify({ type: `urn:selfdeploy:problem:${code}`, title: code, status, code, detail: `scripted ${status}` }));
};
const ok: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"ok":true}');
};

beforeAll(async () => {
  const authority = await createCa('test service CA');
  const leaf = await issueServerCertificate(authority, ['127.0.0.1']);
  ca = authority.certificatePem;
  otherCa = (await createCa('someone else')).certificatePem;
  server = createServer({ key: leaf.privateKeyPem, cert: leaf.certificatePem + authority.certificatePem }, (req, res) => {
    requests++;
    const handler = script.shift() ?? ok;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received = { method: req.method ?? '', url: req.url ?? '', type: req.headers['content-type'], body: Buffer.concat(chunks) };
      handler(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = new URL(`https://127.0.0.1:${(server.address() as { port: number }).port}`);
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  script = [];
  requests = 0;
});

function client(retry: RetryPolicy = { attempts: 4, baseDelayMs: 100, maxDelayMs: 5_000 }, extra: { timeoutMs?: number; deadlineMs?: number } = {}) {
  const delays: number[] = [];
  const retries: string[] = [];
  const c = new ServiceClient({
    server: url,
    ca,
    retry,
    sleep: (ms) => {
      delays.push(ms);
      return Promise.resolve();
    },
    onRetry: (event) => retries.push(event.reason),
    ...extra,
  });
  return { c, delays, retries };
}

describe('ServiceClient', () => {
  it('trusts only the CA it was given', async () => {
    const stranger = new ServiceClient({ server: url, ca: otherCa, retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 } });
    await expect(stranger.request(thing)).rejects.toMatchObject({ code: 'SERVICE_UNREACHABLE' });
    expect(requests).toBe(0);
    stranger.close();
    expect(() => new ServiceClient({ server: new URL('http://127.0.0.1:1'), ca })).toThrow(/https/);
  });

  it('retries 503 and 429, honouring Retry-After, then returns the validated answer', async () => {
    script = [problem(503, 'INTERNAL'), problem(429, 'RATE_LIMITED', { 'retry-after': '2' }), ok];
    const { c, delays, retries } = client();
    expect(await c.request(postThing, { body: { a: 1 } })).toEqual({ ok: true });
    expect(requests).toBe(3);
    expect(retries).toEqual(['HTTP 503', 'HTTP 429']);
    expect(delays[0]).toBeGreaterThanOrEqual(0);
    expect(delays[0]).toBeLessThanOrEqual(100); // jitter below the first backoff step
    expect(delays[1]).toBe(2_000); // the server's word
    c.close();
  });

  it('backs off exponentially with jitter, capped, and gives up with the last problem', async () => {
    script = Array.from({ length: 5 }, () => problem(503, 'INTERNAL'));
    const { c, delays } = client({ attempts: 5, baseDelayMs: 1_000, maxDelayMs: 3_000 });
    await expect(c.request(thing)).rejects.toMatchObject({ code: 'INTERNAL', status: 503 });
    expect(requests).toBe(5);
    expect(delays).toHaveLength(4);
    delays.forEach((delay, i) => expect(delay).toBeLessThanOrEqual(Math.min(3_000, 1_000 * 2 ** i)));
    c.close();
  });

  it('retries a dropped connection, but never a refusal (4xx)', async () => {
    script = [(req) => req.socket.destroy(), ok];
    const { c, retries } = client();
    expect(await c.request(thing)).toEqual({ ok: true });
    expect(retries).toEqual(['ECONNRESET']);
    script = [problem(404, 'DEVICE_NOT_REGISTERED')];
    requests = 0;
    const refused = c.request(thing);
    await expect(refused).rejects.toBeInstanceOf(ServiceProblem);
    await expect(refused).rejects.toMatchObject({ code: 'DEVICE_NOT_REGISTERED', status: 404 });
    expect(requests).toBe(1);
    c.close();
  });

  it('bounds each request in time', async () => {
    script = [() => undefined, () => undefined];
    const { c } = client({ attempts: 2, baseDelayMs: 1, maxDelayMs: 1 }, { timeoutMs: 200 });
    const started = Date.now();
    await expect(c.request(slow)).rejects.toMatchObject({ code: 'SERVICE_UNREACHABLE', message: expect.stringContaining('ETIMEDOUT') });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(requests).toBe(2);
    c.close();
  });

  it('cuts off an answer that never ends at its size bound, keeping memory flat, and refuses it with SERVICE_RESPONSE_INVALID', async () => {
    let written = 0;
    const endless: Handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(256 * 1024, 0x20);
      const pump = () => {
        while (!res.destroyed && written < 1024 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      res.on('close', () => undefined);
      pump();
    };
    script = [endless, endless];
    const { c } = client({ attempts: 2, baseDelayMs: 1, maxDelayMs: 1 });
    const before = process.memoryUsage().rss;
    await expect(c.request(thing)).rejects.toMatchObject({ code: 'SERVICE_RESPONSE_INVALID', message: expect.stringContaining(`larger than ${RESPONSE_MAX_BYTES.json} bytes`) });
    expect(requests).toBe(1); // not asked again: the answer is wrong, not the network
    expect(written).toBeLessThan(256 * 1024 * 1024); // the server was stopped long before a gigabyte
    expect(process.memoryUsage().rss - before).toBeLessThan(128 * 1024 * 1024);
    script = [endless];
    await expect(c.fetchBytes(content)).rejects.toMatchObject({ code: 'SERVICE_RESPONSE_INVALID', message: expect.stringContaining(`larger than ${RESPONSE_MAX_BYTES.binary} bytes`) });
    // A call that knows its answer is small says so (the update feed: 64 KiB).
    script = [(_req, res) => res.end(Buffer.alloc(2000, 0x61)), (_req, res) => res.end(Buffer.alloc(1000, 0x61))];
    await expect(c.fetchBytes(content, { maxBytes: 1000 })).rejects.toMatchObject({ code: 'SERVICE_RESPONSE_INVALID', message: expect.stringContaining('larger than 1000 bytes') });
    expect(await c.fetchBytes(content, { maxBytes: 1000 })).toHaveLength(1000);
    c.close();
  });

  it('gives up on an answer that trickles in forever at its deadline, though every byte came within the idle timeout', async () => {
    const trickle: Handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write(' ')), 50);
      res.on('close', () => clearInterval(timer));
    };
    script = [trickle, trickle];
    const { c } = client({ attempts: 2, baseDelayMs: 1, maxDelayMs: 1 }, { timeoutMs: 300, deadlineMs: 600 });
    const started = Date.now();
    await expect(c.request(thing)).rejects.toMatchObject({ code: 'SERVICE_UNREACHABLE', message: expect.stringContaining('did not finish within 0.6 s') });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(requests).toBe(2);
    c.close();
  });

  it('refuses answers that do not match the protocol', async () => {
    const { c } = client();
    script = [(_req, res) => res.end('{"ok":"yes"}')];
    await expect(c.request(thing)).rejects.toMatchObject({ code: 'SERVICE_RESPONSE_INVALID' });
    script = [(_req, res) => res.end('<html>')];
    await expect(c.request(thing)).rejects.toMatchObject({ code: 'SERVICE_RESPONSE_INVALID' });
    script = [(_req, res) => res.writeHead(400).end('bad')];
    await expect(c.request(thing)).rejects.toMatchObject({ code: 'SERVICE_RESPONSE_INVALID', status: 400 });
    script = [problem(409, 'SOMETHING_NEW')];
    await expect(c.request(thing)).rejects.toMatchObject({ code: 'INTERNAL', status: 409 });
    c.close();
  });

  it("fills the path parameters percent-encoded, sends the query, and the body as the endpoint's media type", async () => {
    const named = endpoint({
      ...declared,
      method: 'PUT',
      path: '/v1/things/:name/parts/:part',
      operationId: 'putPart',
      params: z.object({ name: z.string(), part: z.string() }),
      query: z.object({ label: z.string().optional(), limit: z.number().optional() }),
      body: z.string(),
      bodyMediaType: 'text/csv',
      success: { status: 200, description: 'ok', schema: Answer },
    });
    const { c } = client();
    await c.request(named, { params: { name: 'a b/c', part: 'x?y' }, query: { label: 'café', limit: 3 }, body: 'Device Serial Number\nSN1\n' });
    expect(received).toMatchObject({ method: 'PUT', url: '/v1/things/a%20b%2Fc/parts/x%3Fy?label=caf%C3%A9&limit=3', type: 'text/csv' });
    expect(received!.body.toString()).toBe('Device Serial Number\nSN1\n');
    const form = endpoint({ ...declared, method: 'POST', path: '/v1/form', operationId: 'form', body: z.object({ a: z.string() }), bodyMediaType: 'application/x-www-form-urlencoded', success: { status: 200, description: 'ok', schema: Answer } });
    let made = 0;
    script = [problem(503, 'INTERNAL'), ok];
    await c.request(form, { body: () => Promise.resolve({ a: `attempt ${++made}` }) });
    expect(made).toBe(2); // a single-use credential is made again for the retry
    expect(received).toMatchObject({ type: 'application/x-www-form-urlencoded' });
    expect(received!.body.toString()).toBe('a=attempt+2');
    c.close();
  });

  it('streams an upload from its file with progress, and sends it whole again on a retry', async () => {
    const upload = endpoint({ ...declared, method: 'POST', path: '/v1/upload', operationId: 'upload', bodyMediaType: 'application/octet-stream', success: { status: 200, description: 'ok', schema: Answer } });
    const file = join(mkdtempSync(join(tmpdir(), 'selfdeploy-upload-')), 'package.deb');
    const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256));
    writeFileSync(file, bytes);
    const progress: [number, number][] = [];
    script = [problem(502, 'INTERNAL'), ok];
    const { c } = client();
    expect(await c.request(upload, { body: { file, onProgress: (sent, total) => progress.push([sent, total]) } })).toEqual({ ok: true });
    expect(requests).toBe(2);
    expect(received!.body.equals(bytes)).toBe(true);
    expect(received!.type).toBe('application/octet-stream');
    expect(progress.filter(([sent]) => sent === bytes.length)).toHaveLength(2);
    expect(progress.every(([, total]) => total === bytes.length)).toBe(true);
    await expect(c.request(upload, { body: { file: `${file}.missing` } })).rejects.toThrow(/ENOENT/);
    c.close();
  });

  it('does not send an admin POST again when it may have been carried out, but does a read', async () => {
    const { c } = client(ADMIN_RETRY);
    script = [(req) => req.socket.destroy(), ok];
    await expect(c.request(postThing, { body: { a: 1 } })).rejects.toMatchObject({ code: 'SERVICE_UNREACHABLE' });
    expect(requests).toBe(1);
    requests = 0;
    script = [problem(500, 'INTERNAL'), ok];
    await expect(c.request(postThing, { body: { a: 1 } })).rejects.toMatchObject({ code: 'INTERNAL', status: 500 });
    expect(requests).toBe(1);
    requests = 0;
    script = [(req) => req.socket.destroy(), ok];
    expect(await c.request(thing)).toEqual({ ok: true });
    expect(requests).toBe(2);
    c.close();
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs('7')).toBe(7_000);
    expect(retryAfterMs(new Date(Date.now() + 5_000).toUTCString(), Date.now())).toBeGreaterThan(3_000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
});

describe('ServiceClient.download', () => {
  const bytes = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251));
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  /** Serves `body` honouring `Range: bytes=N-`; `cut` ends the connection after that many bytes. */
  const serve = (body: Buffer, options: { cut?: number; ignoreRange?: boolean } = {}): Handler => (req, res) => {
    const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = match && !options.ignoreRange ? Number(match[1]) : 0;
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'content-length': String(body.length - start) };
    if (start > 0) headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    res.writeHead(start > 0 ? 206 : 200, headers);
    if (options.cut !== undefined) {
      res.write(body.subarray(start, start + options.cut));
      setTimeout(() => res.socket?.destroy(), 20);
    } else {
      res.end(body.subarray(start));
    }
  };
  const scratch = () => join(mkdtempSync(join(tmpdir(), 'selfdeploy-download-')), 'content');

  it('resumes an interrupted download with a Range request and checks the digest', async () => {
    const file = scratch();
    const seen: (string | undefined)[] = [];
    script = [
      (req, res) => {
        seen.push(req.headers.range);
        serve(bytes, { cut: 40_000 })(req, res);
      },
      (req, res) => {
        seen.push(req.headers.range);
        serve(bytes)(req, res);
      },
    ];
    const { c, retries } = client();
    const progress: number[] = [];
    await c.download(content, { file, size: bytes.length, sha256, onProgress: (received) => progress.push(received) });
    expect(readFileSync(file).equals(bytes)).toBe(true);
    expect(seen[0]).toBeUndefined();
    expect(seen[1]).toMatch(/^bytes=\d+-$/);
    expect(retries).toHaveLength(1);
    expect(progress.at(-1)).toBe(bytes.length);
    c.close();
  });

  it('waits out 429 and 503 answers to a download, as long as Retry-After says, then completes it', async () => {
    const file = scratch();
    script = [problem(429, 'RATE_LIMITED', { 'retry-after': '2' }), problem(503, 'INTERNAL'), serve(bytes)];
    const { c, delays } = client();
    await c.download(content, { file, size: bytes.length, sha256 });
    expect(readFileSync(file).equals(bytes)).toBe(true);
    expect(delays[0]).toBe(2000);
    expect(delays).toHaveLength(2);
    expect(requests).toBe(3);
    c.close();
  });

  it('starts over when the server answers a Range request with the whole', async () => {
    const file = scratch();
    writeFileSync(file, bytes.subarray(0, 1000));
    script = [serve(bytes, { ignoreRange: true })];
    const { c } = client();
    await c.download(content, { file, size: bytes.length, sha256 });
    expect(readFileSync(file).equals(bytes)).toBe(true);
    c.close();
  });

  it('refuses content whose digest is not the one named, and keeps none of it for an installer', async () => {
    const file = scratch();
    const tampered = Buffer.from(bytes);
    tampered.writeUInt8(tampered.readUInt8(500) ^ 0xff, 500);
    script = [serve(tampered)];
    const { c } = client();
    await expect(c.download(content, { file, size: bytes.length, sha256 })).rejects.toMatchObject({ code: 'CONTENT_DIGEST_MISMATCH' });
    expect(readFileSync(file).length).toBe(0);
    c.close();
  });

  it('refuses more bytes than announced', async () => {
    const file = scratch();
    script = [serve(Buffer.concat([bytes, Buffer.from('extra')]))];
    const { c } = client({ attempts: 1, baseDelayMs: 1, maxDelayMs: 1 });
    await expect(c.download(content, { file, size: bytes.length, sha256 })).rejects.toMatchObject({ code: 'CONTENT_DIGEST_MISMATCH' });
    c.close();
  });
});
