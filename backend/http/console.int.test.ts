// The console's side of the service on both stores: sign-in exchanges a token for a session
// cookie (HttpOnly, Secure, SameSite=Strict), changes need the CSRF token, sessions end when idle,
// revoked or signed out; the console's files come with a strict CSP; the bench board and a
// device's ESP arrive as server-sent events over a real socket.
import { get as httpGet } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { BenchSchema, SessionSchema } from '../../protocol/api/fleet.js';
import { ProblemSchema } from '../../protocol/problem.js';
import { hash } from '../../lab/identities.js';
import { buildApp } from './app.js';
import { DataDir } from '../tenant/data-dir.js';
import { startTestService, type TestService } from '../testing/service.js';

describe.each(['sqlite', 'postgres'] as const)('the console API on %s', (kind) => {
  let service: TestService;
  let deviceId: string;
  const problem = (response: { body: string }) => ProblemSchema.parse(JSON.parse(response.body));

  async function signIn(token = service.adminToken) {
    const response = await service.request({ method: 'POST', url: '/v1/admin/session', payload: { token }, token: null });
    expect(response.statusCode, response.body).toBe(201);
    const cookie = String(response.headers['set-cookie']);
    return { cookie: cookie.split(';')[0]!, setCookie: cookie, session: SessionSchema.parse(response.json()) };
  }
  const withCookie = (cookie: string, method: 'GET' | 'PATCH' | 'DELETE', url: string, extra: { csrf?: string; payload?: object } = {}) =>
    service.app.inject({ method, url, headers: { cookie, ...(extra.csrf ? { 'x-csrf-token': extra.csrf } : {}) }, ...(extra.payload ? { payload: extra.payload } : {}) });

  beforeAll(async () => {
    service = await startTestService(kind, kind === 'postgres' ? inject('postgresAdminUrl') : undefined);
    deviceId = (await service.request({ method: 'POST', url: '/v1/admin/devices', payload: { hardwareHash: hash(7001) } })).json<{ id: string }>().id;
  });

  afterAll(async () => {
    await service?.close();
  });

  it('exchanges a token for a session cookie the page cannot read, and refuses a wrong token', async () => {
    const { setCookie, session } = await signIn();
    expect(setCookie).toMatch(/^sd_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Strict$/);
    expect(session.token).toMatchObject({ name: 'initial-admin', scope: 'admin' });
    expect(JSON.stringify(session)).not.toContain(service.adminToken);
    expect(Date.parse(session.expiresAt) - Date.now()).toBeLessThanOrEqual(12 * 3_600_000);
    const wrong = await service.request({ method: 'POST', url: '/v1/admin/session', payload: { token: 'sdp_nope' }, token: null });
    expect([wrong.statusCode, problem(wrong).code]).toEqual([401, 'UNAUTHORIZED']);
    expect(wrong.headers['set-cookie']).toBeUndefined();
  });

  it('lets the session read, and change only with its CSRF token; the change is audited as its token', async () => {
    const { cookie, session } = await signIn();
    expect((await withCookie(cookie, 'GET', '/v1/admin/devices')).statusCode).toBe(200);
    expect(SessionSchema.parse((await withCookie(cookie, 'GET', '/v1/admin/session')).json()).csrfToken).toBe(session.csrfToken);
    const forged = await withCookie(cookie, 'PATCH', `/v1/admin/devices/${deviceId}`, { payload: { groupTag: 'Forged' } });
    expect([forged.statusCode, problem(forged).code]).toEqual([403, 'FORBIDDEN']);
    const wrongCsrf = await withCookie(cookie, 'PATCH', `/v1/admin/devices/${deviceId}`, { payload: { groupTag: 'Forged' }, csrf: 'x'.repeat(43) });
    expect(wrongCsrf.statusCode).toBe(403);
    const changed = await withCookie(cookie, 'PATCH', `/v1/admin/devices/${deviceId}`, { payload: { groupTag: 'Console' }, csrf: session.csrfToken });
    expect(changed.statusCode, changed.body).toBe(200);
    const audit = (await service.request({ method: 'GET', url: '/v1/admin/audit?action=updateDevice' })).json<{ items: { actor: { name: string }; after: { groupTag: string } }[] }>();
    expect(audit.items[0]).toMatchObject({ actor: { name: 'initial-admin' }, after: { groupTag: 'Console' } });
  });

  it("keeps a session to its token's scope", async () => {
    const reader = (await service.request({ method: 'POST', url: '/v1/admin/tokens', payload: { name: 'wall', scope: 'read-only' } })).json<{ token: string; id: string }>();
    const { cookie, session } = await signIn(reader.token);
    expect((await withCookie(cookie, 'GET', '/v1/admin/bench')).statusCode).toBe(200);
    const change = await withCookie(cookie, 'PATCH', `/v1/admin/devices/${deviceId}`, { payload: { groupTag: 'X' }, csrf: session.csrfToken });
    expect([change.statusCode, problem(change).code]).toEqual([403, 'FORBIDDEN']);
    // Revoking the token ends its sessions at once.
    expect((await service.request({ method: 'DELETE', url: `/v1/admin/tokens/${reader.id}` })).statusCode).toBe(204);
    expect((await withCookie(cookie, 'GET', '/v1/admin/devices')).statusCode).toBe(401);
  });

  it('ends a session that is idle for 15 minutes, and one that signed out', async () => {
    const idle = await signIn();
    await service.store.db.updateTable('admin_sessions').set({ last_seen_at: new Date(Date.now() - 16 * 60_000).toISOString() }).execute();
    const stale = await withCookie(idle.cookie, 'GET', '/v1/admin/devices');
    expect([stale.statusCode, problem(stale).detail]).toEqual([401, expect.stringContaining('idle')]);
    const { cookie, session } = await signIn();
    const out = await withCookie(cookie, 'DELETE', '/v1/admin/session', { csrf: session.csrfToken });
    expect(out.statusCode).toBe(204);
    expect(String(out.headers['set-cookie'])).toContain('Max-Age=0');
    expect((await withCookie(cookie, 'GET', '/v1/admin/devices')).statusCode).toBe(401);
    expect((await withCookie(cookie, 'GET', '/v1/admin/session')).statusCode).toBe(401);
  });

  it('serves the console with a strict content security policy, and nothing outside its files', async () => {
    const page = await service.app.inject({ method: 'GET', url: '/admin/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toBe("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    expect(page.body).toContain('<div id="root">');
    expect((await service.app.inject({ method: 'GET', url: '/admin/devices/123' })).body).toBe(page.body);
    // Its assets are linked from the root, so a deep path (a reload of /admin/setup/apps) loads them too.
    expect(page.body).not.toContain('"./assets/');
    const script = /src="\/admin\/assets\/([^"]+\.js)"/.exec(page.body)![1]!;
    const asset = await service.app.inject({ method: 'GET', url: `/admin/assets/${script}` });
    expect([asset.statusCode, asset.headers['content-type']]).toEqual([200, 'text/javascript; charset=utf-8']);
    for (const url of ['/admin/assets/..%2Fadmin.html', '/admin/assets/nothing.js', '/admin/assets/%2e%2e%2f%2e%2e%2fpackage.json']) {
      expect((await service.app.inject({ method: 'GET', url })).statusCode, url).toBe(404);
    }
    expect((await service.app.inject({ method: 'GET', url: '/admin' })).headers.location).toBe('/admin/');
  });

  it('serves the ESP for the branding preview: framed by the console only, never by another site', async () => {
    const preview = await service.app.inject({ method: 'GET', url: '/admin/esp-preview.html' });
    expect(preview.statusCode).toBe(200);
    expect(preview.headers['content-security-policy']).toContain("frame-ancestors 'self'");
    expect(preview.headers['content-security-policy']).toContain("script-src 'self'");
    expect(preview.headers['x-frame-options']).toBe('SAMEORIGIN');
    const script = /src="\/admin\/assets\/(esp-[^"]+\.js)"/.exec(preview.body)![1]!;
    expect((await service.app.inject({ method: 'GET', url: `/admin/assets/${script}` })).statusCode).toBe(200);
    // The console itself still cannot be framed.
    expect((await service.app.inject({ method: 'GET', url: '/admin/branding' })).headers['x-frame-options']).toBe('DENY');
  });

  it('says so when the console is not built', async () => {
    const app = await buildApp({ store: service.store, version: 'test', logger: false, publicUrls: () => service.publicUrls, deviceCa: new DataDir(service.dataDir).deviceCa(), consoleDir: '/nonexistent' });
    try {
      const response = await app.inject({ method: 'GET', url: '/admin/' });
      expect([response.statusCode, problem(response).code]).toEqual([404, 'CONSOLE_NOT_BUILT']);
    } finally {
      await app.close();
    }
  });

  it('pushes the bench board as server-sent events when it changes', async () => {
    const app = await buildApp({ store: service.store, version: 'test', logger: false, publicUrls: () => service.publicUrls, deviceCa: new DataDir(service.dataDir).deviceCa() });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const { port } = app.server.address() as AddressInfo;
      const events: string[] = [];
      const received = new Promise<void>((resolve, reject) => {
        httpGet({ host: '127.0.0.1', port, path: '/v1/admin/bench/events', headers: { authorization: `Bearer ${service.adminToken}` } }, (res) => {
          expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
          let buffer = '';
          res.on('data', (chunk: Buffer) => {
            buffer += chunk.toString();
            for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
              const block = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              const data = /^data: (.*)$/m.exec(block)?.[1];
              if (/^event: bench$/m.test(block) && data) events.push(data);
              if (events.length === 2) {
                res.destroy();
                resolve();
              }
            }
          });
        }).on('error', reject);
      });
      // Once the first board is in, a device starts deploying: the next event shows it.
      await new Promise((r) => setTimeout(r, 300));
      await service.store.devices.setState(deviceId, 'deploying');
      await received;
      const [first, second] = events.map((e) => BenchSchema.parse(JSON.parse(e)));
      expect(first!.devices.map((d) => d.id)).not.toContain(deviceId);
      expect(second!.devices.find((d) => d.id === deviceId)).toMatchObject({ state: 'deploying', groupTag: 'Console' });

      // A stream ends as soon as its token is revoked: revocation holds for what is already open.
      const viewer = (await service.request({ method: 'POST', url: '/v1/admin/tokens', payload: { name: 'wallboard-2', scope: 'read-only' } })).json<{ token: string; id: string }>();
      const ended = new Promise<number>((resolve, reject) => {
        httpGet({ host: '127.0.0.1', port, path: '/v1/admin/bench/events', headers: { authorization: `Bearer ${viewer.token}` } }, (res) => {
          res.on('data', () => undefined);
          res.on('end', () => resolve(Date.now()));
        }).on('error', reject);
      });
      await new Promise((r) => setTimeout(r, 300));
      const revokedAt = Date.now();
      expect((await service.request({ method: 'DELETE', url: `/v1/admin/tokens/${viewer.id}` })).statusCode).toBe(204);
      expect((await ended) - revokedAt).toBeLessThan(3000);
    } finally {
      await app.close();
    }
  });
});
