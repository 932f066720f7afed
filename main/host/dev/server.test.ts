import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { HostSession } from '../session.js';
import { DevHost } from './server.js';

/** One raw HTTP request (no URL normalisation by a client library). */
function get(host: DevHost, path: string, method = 'GET'): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  const url = new URL(host.originUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, headers: response.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the dev host’s files', () => {
  let host: DevHost;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'selfdeploy-renderer-'));
    const renderer = join(dir, 'renderer');
    mkdirSync(join(renderer, 'assets'), { recursive: true });
    writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>ESP</title>');
    writeFileSync(join(renderer, 'assets', 'app.js'), 'export {};');
    writeFileSync(join(dir, 'secret.txt'), 'outside');
    symlinkSync(join(dir, 'secret.txt'), join(renderer, 'assets', 'link.js'));
    const session = new HostSession({ engine: () => Promise.reject(new Error('not in this test')), reset: () => Promise.reject(new Error('no')), state: dir });
    host = new DevHost({ session, rendererDir: renderer });
    await host.start();
  });

  afterAll(async () => {
    await host?.close();
  });

  it('serves the renderer from loopback with a strict CSP that lets it reach only its own WebSocket', async () => {
    expect(host.originUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const index = await get(host, '/');
    expect([index.status, index.body, index.headers['content-type']]).toEqual([200, '<!doctype html><title>ESP</title>', 'text/html; charset=utf-8']);
    expect(index.headers['content-security-policy']).toBe(
      `default-src 'self'; connect-src ${host.originUrl.replace('http', 'ws')}; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'`,
    );
    expect((await get(host, '/assets/app.js')).headers['content-type']).toBe('text/javascript; charset=utf-8');
  });

  it('serves nothing outside the renderer: not by "..", not through a symlink, not for other methods', async () => {
    expect((await get(host, '/../secret.txt')).status).toBe(404);
    expect((await get(host, '/%2e%2e/secret.txt')).status).toBe(404);
    expect((await get(host, '/assets/link.js')).status).toBe(404);
    expect((await get(host, '/assets')).status).toBe(404);
    expect((await get(host, '/', 'POST')).status).toBe(405);
    expect((await get(host, '/%E0%A4%A')).status).toBe(400);
    expect((await get(host, '/')).status).toBe(200); // still serving
  });
});
