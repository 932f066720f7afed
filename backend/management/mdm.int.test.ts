// The management API on both stores: device-token access, MDM enrollment, assignments with
// versions and blocking flags, content with HTTP Range, ESP status, completion, re-enrollment and
// diagnostics — and the admin side that creates, uploads and assigns the items.
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { DeviceAssignmentsSchema, DeviceCertificateListSchema, DeviceEspSchema, DeviceViewSchema, ItemResourceSchema, PolicyResourceSchema } from '../../protocol/api/admin.js';
import { AssignmentsResponseSchema } from '../../protocol/api/mdm.js';
import { applyEspEvent, initialSnapshot, type EspEvent, type EspSnapshot } from '../../protocol/esp.js';
import { ProblemSchema } from '../../protocol/problem.js';
import { hash, identity } from '../../lab/identities.js';
import { CONTENT_CHUNK_BYTES } from '../store/contents.js';
import { DIAGNOSTICS_KEPT_PER_DEVICE } from '../store/management.js';
import { startTestService, type TestService } from '../testing/service.js';

const ROOT_PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

function code(response: { body: string }): string {
  return ProblemSchema.parse(JSON.parse(response.body)).code;
}

describe.each(['sqlite', 'postgres'] as const)('management on %s', (kind) => {
  let service: TestService;
  let deviceId: string;
  let token: string;
  const pkg = randomBytes(CONTENT_CHUNK_BYTES * 2 + 12345);
  const pkgSha = createHash('sha256').update(pkg).digest('hex');
  const script = Buffer.from('#!/bin/sh\necho configured\n');
  const scriptSha = createHash('sha256').update(script).digest('hex');

  const admin = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) =>
    service.request({ method, url, ...(payload === undefined ? {} : { payload: payload as object }) });
  const device = (method: 'GET' | 'POST', url: string, options: { payload?: unknown; headers?: Record<string, string>; bearer?: string | null } = {}) =>
    service.request({
      method,
      url,
      ...(options.payload === undefined ? {} : { payload: options.payload as object }),
      ...(options.headers ? { headers: options.headers } : {}),
      token: options.bearer === undefined ? token : options.bearer,
    });
  const upload = (body: Buffer, query: string) =>
    service.request({ method: 'POST', url: `/v1/admin/content?${query}`, payload: body, headers: { 'content-type': 'application/octet-stream' } });

  beforeAll(async () => {
    service = await startTestService(kind, kind === 'postgres' ? inject('postgresAdminUrl') : undefined);
    const added = await admin('POST', '/v1/admin/devices', { hardwareHash: hash(501) });
    deviceId = added.json<{ id: string }>().id;
    await admin('POST', '/v1/admin/groups', { name: 'lobby', kind: 'static' });
    await admin('PUT', `/v1/admin/groups/lobby/members/${deviceId}`, {});
    await admin('PUT', '/v1/admin/profiles/lobby', { esp: { blockingApps: { selected: ['browser'] } } });
    await admin('POST', '/v1/admin/profiles/lobby/assignments', { group: 'lobby' });
    // What join and POST /v1/token give a device (tested with a real TPM in main/enrollment).
    token = await service.store.certificates.createAccessToken(deviceId, 600);
  });

  afterAll(async () => {
    await service?.close();
  });

  describe('content', () => {
    it('stores an upload by its SHA-256, once', async () => {
      const first = await upload(pkg, 'label=browser-1.2.deb');
      expect(first.statusCode).toBe(201);
      expect(first.json()).toMatchObject({ sha256: pkgSha, size: pkg.length, label: 'browser-1.2.deb' });
      const again = await upload(pkg, 'label=browser-1.2.deb');
      expect(again.statusCode).toBe(200);
      expect((await upload(script, 'label=configure.sh')).statusCode).toBe(201);
      const list = (await admin('GET', '/v1/admin/content')).json<{ items: { sha256: string }[] }>();
      expect(list.items.map((c) => c.sha256).sort()).toEqual([pkgSha, scriptSha].sort());
    });

    it('refuses an upload whose digest is not the one announced, and keeps nothing of it', async () => {
      const response = await upload(Buffer.from('tampered'), `label=x&sha256=${'0'.repeat(64)}`);
      expect(response.statusCode).toBe(422);
      expect(code(response)).toBe('CONTENT_DIGEST_MISMATCH');
      const chunks = await service.store.db.selectFrom('content_chunks').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
      expect(Number(chunks.n)).toBe(3 + 1); // the package's three chunks and the script's one
    });

    it('purges uploads a crash cut short once they are an hour old, and nothing else', async () => {
      const db = service.store.db;
      const pending = (key: string, age: number) => ({ sha256: key, size: 0, media_type: 'application/octet-stream', chunk_size: CONTENT_CHUNK_BYTES, label: 'x', created_at: new Date(Date.now() - age).toISOString() });
      await db.insertInto('contents').values([pending('pending-stale', 2 * 3_600_000), pending('pending-fresh', 60_000)]).execute();
      await db.insertInto('content_chunks').values({ sha256: 'pending-stale', idx: 0, data: Buffer.from('half an upload') }).execute();
      await service.store.contents.purgeAbandoned();
      const keys = (await db.selectFrom('contents').select('sha256').execute()).map((r) => r.sha256).sort();
      expect(keys).toEqual([pkgSha, scriptSha, 'pending-fresh'].sort());
      expect(await db.selectFrom('content_chunks').select('sha256').where('sha256', '=', 'pending-stale').execute()).toEqual([]);
      await db.deleteFrom('contents').where('sha256', '=', 'pending-fresh').execute();
    });

    it('needs an admin token to upload', async () => {
      const response = await service.request({ method: 'POST', url: '/v1/admin/content?label=x', payload: script, headers: { 'content-type': 'application/octet-stream' }, token: service.technicianToken });
      expect(response.statusCode).toBe(403);
    });
  });

  describe('items', () => {
    it('creates items of every kind, refusing apps whose content is missing or of another size', async () => {
      const app = { package: 'browser', version: '1.2', installer: 'deb', content: { sha256: pkgSha, size: pkg.length } };
      const missing = await admin('PUT', '/v1/admin/apps/browser', { ...app, content: { sha256: 'a'.repeat(64), size: 1 } });
      expect(code(missing)).toBe('CONTENT_MISSING');
      const wrongSize = await admin('PUT', '/v1/admin/apps/browser', { ...app, content: { sha256: pkgSha, size: 1 } });
      expect(code(wrongSize)).toBe('CONTENT_MISSING');

      expect((await admin('PUT', '/v1/admin/policies/lock', { kind: 'screen-lock', idleLockMinutes: 10 })).statusCode).toBe(201);
      expect((await admin('PUT', '/v1/admin/certificates/root', { type: 'trusted-root', pem: ROOT_PEM })).statusCode).toBe(201);
      expect((await admin('PUT', '/v1/admin/networks/lobby-wifi', { type: 'wifi', ssid: 'Lobby', security: 'wpa2-psk', psk: 'correct horse' })).statusCode).toBe(201);
      const created = await admin('PUT', '/v1/admin/apps/browser', app);
      expect(created.statusCode).toBe(201);
      expect(ItemResourceSchema.parse(created.json())).toMatchObject({ kind: 'app', version: 1, name: 'browser' });
      expect((await admin('PUT', '/v1/admin/apps/signage', { ...app, package: 'signage' })).statusCode).toBe(201);
      expect((await admin('PUT', '/v1/admin/scripts/configure', { interpreter: 'sh', content: { sha256: scriptSha, size: script.length } })).statusCode).toBe(201);
      for (const url of ['/v1/admin/policies/lock', '/v1/admin/certificates/root', '/v1/admin/networks/lobby-wifi', '/v1/admin/apps/browser', '/v1/admin/apps/signage', '/v1/admin/scripts/configure']) {
        expect((await admin('POST', `${url}/assignments`, { group: 'lobby' })).statusCode, url).toBe(201);
      }
    });

    it("previews what the device will receive — profile and items in ESP order — without an item's secrets", async () => {
      const response = await admin('GET', `/v1/admin/devices/${deviceId}/assignments`);
      expect(response.statusCode).toBe(200);
      const preview = DeviceAssignmentsSchema.parse(response.json());
      expect(preview.profile).toMatchObject({ name: 'lobby', group: 'lobby' });
      expect(preview.items.map((i) => [i.kind, i.name, i.blocking])).toEqual([
        ['policy', 'lock', true],
        ['certificate', 'root', true],
        ['network', 'lobby-wifi', true],
        ['app', 'browser', true],
        ['app', 'signage', false],
        ['script', 'configure', false],
      ]);
      expect(response.body).not.toContain('correct horse');
      expect(DeviceCertificateListSchema.parse((await admin('GET', `/v1/admin/devices/${deviceId}/certificates`)).json()).items).toEqual([]);
    });

    it('validates item bodies (a Wi-Fi PSK network needs its key; an open one takes none)', async () => {
      const noKey = await admin('PUT', '/v1/admin/networks/bad', { type: 'wifi', ssid: 'X', security: 'wpa2-psk' });
      expect(noKey.statusCode).toBe(422);
      expect(noKey.body).toContain('psk');
      const openWithKey = await admin('PUT', '/v1/admin/networks/bad', { type: 'wifi', ssid: 'X', security: 'open', psk: 'whatever1' });
      expect(openWithKey.statusCode).toBe(422);
    });

    it('never shows a Wi-Fi key to any admin scope — only that it is set, with a fingerprint — keeps it when a save leaves it out, and gives it to the assigned device only', async () => {
      const secret = 'staff only 2026';
      expect((await admin('PUT', '/v1/admin/networks/staff-wifi', { type: 'wifi', ssid: 'Staff', security: 'wpa3-sae', psk: secret })).statusCode).toBe(201);
      const technician = (method: 'GET', url: string) => service.request({ method, url, token: service.technicianToken });
      const shown = [await admin('GET', '/v1/admin/networks/staff-wifi'), await technician('GET', '/v1/admin/networks/staff-wifi'), await admin('GET', '/v1/admin/networks'), await technician('GET', '/v1/admin/networks')];
      for (const response of shown) {
        expect(response.statusCode).toBe(200);
        expect(response.body).not.toContain(secret);
        expect(response.body).not.toContain('"psk":"');
      }
      const resource = ItemResourceSchema.parse(shown[0]!.json());
      expect(resource).toMatchObject({ kind: 'network', version: 1, secrets: { psk: { set: true, fingerprint: expect.stringMatching(/^hmac-sha256:[0-9a-f]{16}$/) } } });
      expect(resource.body).not.toHaveProperty('psk');
      const fingerprint = resource.secrets['psk']!.fingerprint;
      // The fingerprint is keyed: not the plain SHA-256 of the key, which a weak key could be guessed from.
      expect(fingerprint).not.toContain(createHash('sha256').update(secret).digest('hex').slice(0, 16));
      // What was shown, saved back: the key stays, the version too.
      const resaved = await admin('PUT', '/v1/admin/networks/staff-wifi', resource.body);
      expect(resaved.statusCode, resaved.body).toBe(200);
      expect(ItemResourceSchema.parse(resaved.json())).toMatchObject({ version: 1, secrets: { psk: { fingerprint } } });
      expect(resaved.body).not.toContain(secret);
      // A new key: a new version and fingerprint; the old key again: the old fingerprint.
      const changed = ItemResourceSchema.parse((await admin('PUT', '/v1/admin/networks/staff-wifi', { ...resource.body, psk: 'battery staple' })).json());
      expect(changed.version).toBe(2);
      expect(changed.secrets['psk']!.fingerprint).not.toBe(fingerprint);
      expect(ItemResourceSchema.parse((await admin('PUT', '/v1/admin/networks/staff-wifi', { ...resource.body, psk: secret })).json()).secrets['psk']!.fingerprint).toBe(fingerprint);
      // A network that needs a key and has none stored is still refused; an open one has no secret.
      expect(code(await admin('PUT', '/v1/admin/networks/no-key', { type: 'wifi', ssid: 'X', security: 'wpa2-psk' }))).toBe('VALIDATION_FAILED');
      expect(ItemResourceSchema.parse((await admin('PUT', '/v1/admin/networks/guest', { type: 'wifi', ssid: 'Guest', security: 'open' })).json()).secrets).toEqual({});
      // The OpenAPI document says so too: the shown body has no psk.
      const openapi = JSON.stringify((await admin('GET', '/v1/openapi.json')).json());
      expect(openapi).toContain('secret field left out keeps the stored one');
    });

    it("never shows a directory-bind policy's password either; a save without it keeps it, but not into another kind of policy", async () => {
      const secret = 'reader pass 2026 #;=';
      const bind = { kind: 'directory-bind', bindDn: 'cn=reader,ou=services,dc=fabrikam,dc=example' };
      const created = await admin('PUT', '/v1/admin/policies/directory-reader', { ...bind, bindPassword: secret });
      expect(created.statusCode, created.body).toBe(201);
      const technician = (url: string) => service.request({ method: 'GET', url, token: service.technicianToken });
      for (const response of [created, await admin('GET', '/v1/admin/policies/directory-reader'), await technician('/v1/admin/policies/directory-reader'), await technician('/v1/admin/policies')]) {
        expect(response.statusCode).toBe(200 + (response === created ? 1 : 0));
        expect(response.body).not.toContain(secret);
        expect(response.body).not.toContain('bindPassword":"');
      }
      const resource = PolicyResourceSchema.parse(created.json());
      expect(resource.settings).toEqual(bind);
      const fingerprint = resource.secrets['bindPassword']!.fingerprint;
      expect(fingerprint).toMatch(/^hmac-sha256:[0-9a-f]{16}$/);
      // Saved back as shown: the password stays, the version too; a new one is a new version.
      const resaved = PolicyResourceSchema.parse((await admin('PUT', '/v1/admin/policies/directory-reader', resource.settings)).json());
      expect([resaved.version, resaved.secrets['bindPassword']?.fingerprint]).toEqual([1, fingerprint]);
      const changed = PolicyResourceSchema.parse((await admin('PUT', '/v1/admin/policies/directory-reader', { ...bind, bindPassword: 'another one' })).json());
      expect(changed.version).toBe(2);
      expect(changed.secrets['bindPassword']!.fingerprint).not.toBe(fingerprint);
      // None stored, none given: refused, naming the field; nor may a password span lines.
      const missing = await admin('PUT', '/v1/admin/policies/no-password', bind);
      expect([code(missing), missing.body.includes('bindPassword')]).toEqual(['VALIDATION_FAILED', true]);
      expect((await admin('PUT', '/v1/admin/policies/two-lines', { ...bind, bindPassword: 'one\nldap_uri = ldap://evil' })).statusCode).toBe(422);
      // Another kind of policy under the same name keeps no password.
      const replaced = await admin('PUT', '/v1/admin/policies/directory-reader', { kind: 'password', minLength: 10 });
      expect(replaced.statusCode, replaced.body).toBe(200);
      expect(PolicyResourceSchema.parse(replaced.json()).secrets).toEqual({});
      expect(code(await admin('PUT', '/v1/admin/policies/directory-reader', bind))).toBe('VALIDATION_FAILED');
      expect((await admin('DELETE', '/v1/admin/policies/directory-reader')).statusCode).toBe(204);
    });

    it("never shows a directory-join policy's password; a save without it keeps it, and a bind policy's password never becomes it", async () => {
      const secret = 'join pass 2026 #;= ';
      const join = { kind: 'directory-join', domain: 'fabrikam.example', joinUser: 'svc-join', organizationalUnit: 'OU=Kiosks,DC=fabrikam,DC=example' };
      const created = await admin('PUT', '/v1/admin/policies/join-fabrikam', { ...join, joinPassword: secret });
      expect(created.statusCode, created.body).toBe(201);
      for (const response of [created, await admin('GET', '/v1/admin/policies/join-fabrikam'), await admin('GET', '/v1/admin/policies')]) {
        expect(response.body).not.toContain(secret);
        expect(response.body).not.toContain('joinPassword":"');
      }
      const resource = PolicyResourceSchema.parse(created.json());
      expect(resource.settings).toEqual({ ...join, domainController: null });
      const fingerprint = resource.secrets['joinPassword']!.fingerprint;
      const resaved = PolicyResourceSchema.parse((await admin('PUT', '/v1/admin/policies/join-fabrikam', resource.settings)).json());
      expect([resaved.version, resaved.secrets['joinPassword']?.fingerprint]).toEqual([1, fingerprint]);
      // A directory-bind policy made a join keeps no password: the join's must be given.
      expect((await admin('PUT', '/v1/admin/policies/reader-then-join', { kind: 'directory-bind', bindDn: 'cn=reader,dc=fabrikam,dc=example', bindPassword: secret.trim() })).statusCode).toBe(201);
      const switched = await admin('PUT', '/v1/admin/policies/reader-then-join', join);
      expect([code(switched), switched.body.includes('joinPassword')]).toEqual(['VALIDATION_FAILED', true]);
      for (const name of ['join-fabrikam', 'reader-then-join']) expect((await admin('DELETE', `/v1/admin/policies/${name}`)).statusCode).toBe(204);
    });

    it('bumps the version only when the body changes', async () => {
      const app = { package: 'browser', version: '1.3', installer: 'deb', content: { sha256: pkgSha, size: pkg.length } };
      expect((await admin('PUT', '/v1/admin/apps/browser', app)).json<{ version: number }>().version).toBe(2);
      expect((await admin('PUT', '/v1/admin/apps/browser', app)).json<{ version: number }>().version).toBe(2);
    });

    it('refuses to delete content an app uses, and an item that is assigned', async () => {
      const inUse = await admin('DELETE', `/v1/admin/content/${pkgSha}`);
      expect(inUse.statusCode).toBe(409);
      expect(ProblemSchema.parse(inUse.json()).detail).toContain('app "browser"');
      expect(code(await admin('DELETE', '/v1/admin/apps/browser'))).toBe('IN_USE');
    });

    it('documents the new operations in the OpenAPI document, with device authentication', async () => {
      const document = (await admin('GET', '/v1/openapi.json')).json<{ paths: Record<string, Record<string, { security?: unknown[] }>> }>();
      expect(document.paths['/v1/mdm/assignments']!['get']!.security).toEqual([{ deviceAuth: [] }]);
      expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/v1/content/{sha256}', '/v1/admin/apps/{name}', '/v1/admin/content', '/v1/deploy/complete', '/v1/diagnostics']));
    });
  });

  describe('the device', () => {
    it('must use its own access token: none, an admin token or an unknown one is refused', async () => {
      for (const bearer of [null, service.adminToken, 'sdd_unknown']) {
        const response = await device('POST', '/v1/mdm/enroll', { payload: { agentVersion: '1', os: { name: 'Debian', version: '12', kernel: '6.1' }, hostname: 'x' }, bearer });
        expect(response.statusCode).toBe(401);
        expect(code(response)).toBe('UNAUTHORIZED');
      }
    });

    it('gets no assignments before it enrolls', async () => {
      const response = await device('GET', '/v1/mdm/assignments');
      expect(response.statusCode).toBe(409);
      expect(code(response)).toBe('MDM_NOT_ENROLLED');
    });

    it('enrolls once; enrolling again returns the same enrollment', async () => {
      const request = { agentVersion: '0.1.0', os: { name: 'Debian GNU/Linux', version: '12', kernel: '6.1.0' }, hostname: 'kiosk-1' };
      const first = await device('POST', '/v1/mdm/enroll', { payload: request });
      expect(first.statusCode).toBe(200);
      const second = await device('POST', '/v1/mdm/enroll', { payload: request });
      expect(second.json()).toEqual(first.json());
      expect(first.json()).toMatchObject({ deviceId });
    });

    it('receives every item assigned to its groups, in ESP order, with versions, blocking flags and payloads', async () => {
      const response = await device('GET', '/v1/mdm/assignments');
      expect(response.statusCode).toBe(200);
      const { items } = AssignmentsResponseSchema.parse(response.json());
      expect(items.map((i) => [i.kind, i.name, i.version, i.blocking])).toEqual([
        ['policy', 'lock', 1, true],
        ['certificate', 'root', 1, true],
        ['network', 'lobby-wifi', 1, true],
        ['app', 'browser', 2, true],
        ['app', 'signage', 1, false],
        ['script', 'configure', 1, false],
      ]);
      const app = items.find((i) => i.name === 'browser')!;
      expect(app.kind === 'app' && app.payload.content).toEqual({ sha256: pkgSha, size: pkg.length });
      // The Wi-Fi key the admin API never shows reaches the device it is assigned to.
      const wifi = items.find((i) => i.name === 'lobby-wifi')!;
      expect(wifi.kind === 'network' && wifi.payload.type === 'wifi' && wifi.payload.psk).toBe('correct horse');
    });

    it('serves content to a device whole, by range across chunks, by suffix, and refuses ranges past the end', async () => {
      const whole = await device('GET', `/v1/content/${pkgSha}`);
      expect(whole.statusCode).toBe(200);
      expect(whole.headers['accept-ranges']).toBe('bytes');
      expect(whole.headers['etag']).toBe(`"${pkgSha}"`);
      expect(Number(whole.headers['content-length'])).toBe(pkg.length);
      expect(whole.rawPayload.equals(pkg)).toBe(true);

      const start = CONTENT_CHUNK_BYTES - 10;
      const across = await device('GET', `/v1/content/${pkgSha}`, { headers: { range: `bytes=${start}-${start + 29}` } });
      expect(across.statusCode).toBe(206);
      expect(across.headers['content-range']).toBe(`bytes ${start}-${start + 29}/${pkg.length}`);
      expect(across.rawPayload.equals(pkg.subarray(start, start + 30))).toBe(true);

      const open = await device('GET', `/v1/content/${pkgSha}`, { headers: { range: `bytes=${CONTENT_CHUNK_BYTES * 2}-` } });
      expect(open.statusCode).toBe(206);
      expect(open.rawPayload.equals(pkg.subarray(CONTENT_CHUNK_BYTES * 2))).toBe(true);

      const suffix = await device('GET', `/v1/content/${pkgSha}`, { headers: { range: 'bytes=-100' } });
      expect(suffix.statusCode).toBe(206);
      expect(suffix.rawPayload.equals(pkg.subarray(pkg.length - 100))).toBe(true);

      const past = await device('GET', `/v1/content/${pkgSha}`, { headers: { range: `bytes=${pkg.length}-` } });
      expect(past.statusCode).toBe(416);
      expect(past.headers['content-range']).toBe(`bytes */${pkg.length}`);
      expect(code(past)).toBe('RANGE_NOT_SATISFIABLE');

      const stale = await device('GET', `/v1/content/${pkgSha}`, { headers: { range: 'bytes=0-9', 'if-range': '"another"' } });
      expect(stale.statusCode).toBe(200);
      expect(stale.rawPayload.length).toBe(pkg.length);
    });

    it('serves content only to devices, and to each device only what is assigned to it', async () => {
      expect((await device('GET', `/v1/content/${pkgSha}`, { bearer: null })).statusCode).toBe(401);
      expect((await device('GET', `/v1/content/${pkgSha}`, { bearer: service.adminToken })).statusCode).toBe(401);
      expect((await device('GET', '/v1/content/not-a-digest')).statusCode).toBe(422);
      // Another device, in another group, with a script of its own.
      const other = (await admin('POST', '/v1/admin/devices', { hardwareHash: hash(502) })).json<{ id: string }>().id;
      await admin('POST', '/v1/admin/groups', { name: 'back-office', kind: 'static' });
      await admin('PUT', `/v1/admin/groups/back-office/members/${other}`, {});
      const theirs = Buffer.from('#!/bin/sh\necho back office\n');
      const theirsSha = createHash('sha256').update(theirs).digest('hex');
      expect((await upload(theirs, `label=back-office.sh&sha256=${theirsSha}`)).statusCode).toBe(201);
      expect((await admin('PUT', '/v1/admin/scripts/back-office', { interpreter: 'sh', content: { sha256: theirsSha, size: theirs.length } })).statusCode).toBe(201);
      expect((await admin('POST', '/v1/admin/scripts/back-office/assignments', { group: 'back-office' })).statusCode).toBe(201);
      const otherToken = await service.store.certificates.createAccessToken(other, 600);
      const enroll = { agentVersion: '0.1.0', os: { name: 'Debian GNU/Linux', version: '12', kernel: '6.1.0' }, hostname: 'office-1' };
      expect((await device('POST', '/v1/mdm/enroll', { payload: enroll, bearer: otherToken })).statusCode).toBe(200);
      const unassigned = Buffer.from('uploaded, assigned to nobody\n');
      const unassignedSha = createHash('sha256').update(unassigned).digest('hex');
      expect((await upload(unassigned, `label=nobody.txt&sha256=${unassignedSha}`)).statusCode).toBe(201);

      // Each device gets its own; another's, nobody's and none at all are the same 404.
      expect((await device('GET', `/v1/content/${theirsSha}`, { bearer: otherToken })).statusCode).toBe(200);
      expect((await device('GET', `/v1/content/${scriptSha}`)).statusCode).toBe(200);
      const refusals = [
        await device('GET', `/v1/content/${theirsSha}`),
        await device('GET', `/v1/content/${pkgSha}`, { bearer: otherToken }),
        await device('GET', `/v1/content/${pkgSha}`, { bearer: otherToken, headers: { range: 'bytes=0-9' } }),
        await device('GET', `/v1/content/${unassignedSha}`),
        await device('GET', `/v1/content/${'1'.repeat(64)}`),
      ];
      expect(refusals.map((r) => r.statusCode)).toEqual([404, 404, 404, 404, 404]);
      const detail = (r: { json: <T>() => T }, sha: string) => r.json<{ detail: string }>().detail.replace(sha, 'SHA');
      expect(new Set([detail(refusals[0]!, theirsSha), detail(refusals[1]!, pkgSha), detail(refusals[3]!, unassignedSha), detail(refusals[4]!, '1'.repeat(64))]).size).toBe(1);
      // Assigned to its group too, it is the other device's as well; its assignments are its own.
      expect((await admin('POST', '/v1/admin/apps/browser/assignments', { group: 'back-office' })).statusCode).toBe(201);
      expect((await device('GET', `/v1/content/${pkgSha}`, { bearer: otherToken, headers: { range: 'bytes=0-9' } })).statusCode).toBe(206);
      const otherItems = AssignmentsResponseSchema.parse((await device('GET', '/v1/mdm/assignments', { bearer: otherToken })).json()).items;
      expect(otherItems.map((i) => i.name).sort()).toEqual(['back-office', 'browser']);
      expect((await admin('DELETE', '/v1/admin/apps/browser/assignments/back-office')).statusCode).toBe(204);
      expect((await device('GET', `/v1/content/${pkgSha}`, { bearer: otherToken })).statusCode).toBe(404);
    });

    it('reports its ESP; the service keeps the newest snapshot and each item state for the admin', async () => {
      const { items } = AssignmentsResponseSchema.parse((await device('GET', '/v1/mdm/assignments')).json());
      let snapshot: EspSnapshot = initialSnapshot('2026-11-26T10:00:00.000Z');
      let seq = 0;
      const at = '2026-11-26T10:00:05.000Z';
      const fold = (body: Record<string, unknown>) => {
        snapshot = applyEspEvent(snapshot, { seq: ++seq, at, ...body } as EspEvent);
      };
      fold({ type: 'step', step: 'securing-hardware', state: 'succeeded' });
      fold({
        type: 'items',
        step: 'apps',
        items: items
          .filter((i) => i.kind === 'app')
          .map((i) => ({ id: i.id, name: i.name, kind: i.kind, version: i.version, blocking: i.blocking, state: 'not-started', startedAt: null, finishedAt: null, detail: null, progress: null, error: null })),
      });
      fold({ type: 'item', step: 'apps', item: items.find((i) => i.name === 'browser')!.id, patch: { state: 'succeeded' } });
      const later = { ...snapshot, branding: null };
      const accepted = await device('POST', '/v1/mdm/status', { payload: { snapshot: later } });
      expect(accepted.json()).toEqual({ accepted: true, seq: later.seq });
      const older = { ...initialSnapshot('2026-11-26T10:00:00.000Z'), seq: 1, branding: null };
      expect((await device('POST', '/v1/mdm/status', { payload: { snapshot: older } })).json()).toEqual({ accepted: false, seq: 1 });
      const earlierRun = { ...initialSnapshot('2026-11-26T09:00:00.000Z'), seq: 99, branding: null };
      expect((await device('POST', '/v1/mdm/status', { payload: { snapshot: earlierRun } })).json()).toEqual({ accepted: false, seq: 99 });

      const esp = DeviceEspSchema.parse((await admin('GET', `/v1/admin/devices/${deviceId}/esp`)).json());
      expect(esp.snapshot?.seq).toBe(later.seq);
      expect(esp.items.map((i) => [i.name, i.state])).toEqual([
        ['browser', 'succeeded'],
        ['signage', 'not-started'],
      ]);
      const view = DeviceViewSchema.parse((await admin('GET', `/v1/admin/devices/${deviceId}`)).json());
      expect(view.espProgress).toMatchObject({ phase: 'device-preparation', completed: 1, total: 11 });
      // A restarted agent starts a new run: its first report is newer whatever its seq.
      const restarted = { ...initialSnapshot('2026-11-26T11:00:00.000Z'), seq: 1, branding: null };
      expect((await device('POST', '/v1/mdm/status', { payload: { snapshot: restarted } })).json()).toEqual({ accepted: true, seq: 1 });
    });

    it('refuses a malformed snapshot', async () => {
      const response = await device('POST', '/v1/mdm/status', { payload: { snapshot: { seq: 'x' } } });
      expect(response.statusCode).toBe(422);
    });

    it('uploads gzip log bundles within the limit; the admin lists and downloads them; the newest ten are kept', async () => {
      const bundle = gzipSync(Buffer.from('journal\n'.repeat(100)));
      const send = (body: Buffer, type = 'application/gzip') => device('POST', '/v1/diagnostics', { payload: body, headers: { 'content-type': type } });
      const stored = await send(bundle);
      expect(stored.statusCode).toBe(201);
      expect(stored.json()).toMatchObject({ size: bundle.length, sha256: createHash('sha256').update(bundle).digest('hex') });
      expect(code(await send(Buffer.from('plain text')))).toBe('VALIDATION_FAILED');
      expect((await send(bundle, 'text/plain')).statusCode).toBe(415);
      const huge = Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.alloc(16 * 1024 * 1024)]);
      const tooBig = await send(huge);
      expect(tooBig.statusCode).toBe(413);
      for (let i = 0; i < DIAGNOSTICS_KEPT_PER_DEVICE; i++) expect((await send(bundle)).statusCode).toBe(201);
      const list = (await admin('GET', `/v1/admin/devices/${deviceId}/diagnostics`)).json<{ items: { id: string }[] }>();
      expect(list.items).toHaveLength(DIAGNOSTICS_KEPT_PER_DEVICE);
      const download = await admin('GET', `/v1/admin/devices/${deviceId}/diagnostics/${list.items[0]!.id}`);
      expect(download.statusCode).toBe(200);
      expect(download.rawPayload.equals(bundle)).toBe(true);
    });

    it('completes: the record becomes deployed, completing again is harmless, and a new self-deployment is blocked', async () => {
      const done = await device('POST', '/v1/deploy/complete', { payload: { endState: 'sign-in' } });
      expect(done.statusCode).toBe(200);
      expect(done.json()).toMatchObject({ deviceId, state: 'deployed' });
      const again = await device('POST', '/v1/deploy/complete', { payload: { endState: 'sign-in' } });
      expect(again.json()).toEqual(done.json());
      const blocked = await service.request({ method: 'POST', url: '/v1/deploy/profile', payload: { hardwareHash: hash(501) }, token: null });
      expect(blocked.statusCode).toBe(409);
      expect(code(blocked)).toBe('REENROLLMENT_BLOCKED');
    });

    it('after its record is deleted it is no longer enrolled, its token is dead, and it may deploy again', async () => {
      expect((await admin('DELETE', `/v1/admin/devices/${deviceId}/record`)).statusCode).toBe(200);
      expect((await device('GET', '/v1/mdm/assignments')).statusCode).toBe(401);
      const esp = DeviceEspSchema.parse((await admin('GET', `/v1/admin/devices/${deviceId}/esp`)).json());
      expect(esp).toMatchObject({ mdmEnrolledAt: null, snapshot: null, items: [] });
      const profile = await service.request({ method: 'POST', url: '/v1/deploy/profile', payload: { hardwareHash: hash(501) }, token: null });
      expect(profile.statusCode).toBe(200);
      expect(identity(501).serial).toBe('SN00000501');
    });
  });
});
