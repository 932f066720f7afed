// The deployment service's HTTP API on both stores (SQLite and a real PostgreSQL): every
// endpoint's happy path, its validation errors, token scopes, CSV edge cases, hostile filters,
// branding checks, assignment resolution and the first device endpoint.
import { readFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { DeployProfileResponseSchema } from '../../protocol/api/deploy.js';
import { ENDPOINTS } from '../../protocol/api/endpoints.js';
import { DeviceListSchema, DeviceViewSchema, ImportResultSchema } from '../../protocol/api/admin.js';
import { ProblemSchema } from '../../protocol/problem.js';
import { csv, deviceRows, hash, identity } from '../../lab/identities.js';
import { startTestService, type TestService } from '../testing/service.js';

// A 1x1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

function problem(response: { body: string; headers: Record<string, unknown> }) {
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  return ProblemSchema.parse(JSON.parse(response.body));
}

describe.each(['sqlite', 'postgres'] as const)('the service on %s', (kind) => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService(kind, kind === 'postgres' ? inject('postgresAdminUrl') : undefined, {}, { deviceRateLimitPerMinute: 5 });
  });

  afterAll(async () => {
    await service?.close();
  });

  const post = (url: string, payload: unknown, token?: string | null) => service.request({ method: 'POST', url, payload: payload as object, token });
  const put = (url: string, payload: unknown, token?: string | null) => service.request({ method: 'PUT', url, payload: payload as object, token });
  const get = (url: string, token?: string | null) => service.request({ method: 'GET', url, token });
  const del = (url: string, token?: string | null) => service.request({ method: 'DELETE', url, token });
  // Each device call comes from its own address: the device API is rate-limited per client.
  let nextAddress = 1;
  const deploy = (hardwareHash: string, remoteAddress = `10.1.${Math.floor(nextAddress / 250)}.${(nextAddress++ % 250) + 1}`) =>
    service.app.inject({ method: 'POST', url: '/v1/deploy/profile', payload: { hardwareHash }, remoteAddress });
  const importCsv = (text: string, token?: string | null) =>
    service.request({ method: 'POST', url: '/v1/admin/devices/import', payload: text, headers: { 'content-type': 'text/csv' }, token });

  describe('service endpoints', () => {
    it('answers health with the store it uses', async () => {
      const response = await get('/v1/health', null);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ status: 'ok', version: 'test', store: kind });
    });

    it('publishes an OpenAPI document generated from the route schemas', async () => {
      const document = (await get('/v1/openapi.json', null)).json<{ openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown }>> }>();
      expect(document.openapi).toBe('3.0.3');
      expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/v1/deploy/profile', '/v1/admin/devices', '/v1/admin/devices/{id}', '/v1/admin/profiles/{name}/assignments']));
      const putProfile = document.paths['/v1/admin/profiles/{name}']!['put']!;
      expect(JSON.stringify(putProfile.requestBody)).toContain('timeoutMinutes');
      expect(Object.keys(document.paths['/v1/admin/devices']!['get']!.responses)).toEqual(expect.arrayContaining(['200', '401', '403', '422']));
    });

    it('registers every endpoint the shared protocol declares, at its method and path, and the OpenAPI document lists each once', async () => {
      const document = (await get('/v1/openapi.json', null)).json<{ paths: Record<string, Record<string, { operationId: string }>> }>();
      const documented = Object.entries(document.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => `${method.toUpperCase()} ${path} ${op.operationId}`));
      const declared = ENDPOINTS.map((e) => `${e.method} ${e.path.replace(/:([A-Za-z0-9]+)/g, '{$1}')} ${e.operationId}`);
      expect(documented.sort()).toEqual([...declared].sort());
      expect(new Set(ENDPOINTS.map((e) => e.operationId)).size).toBe(ENDPOINTS.length);
      for (const e of ENDPOINTS) expect(service.app.hasRoute({ method: e.method, url: e.path }), `${e.method} ${e.path}`).toBe(true);
    });

    it('answers unknown endpoints with a NOT_FOUND problem', async () => {
      const response = await get('/v1/admin/nothing-here');
      expect(response.statusCode).toBe(404);
      expect(problem(response)).toMatchObject({ code: 'NOT_FOUND', type: 'urn:selfdeploy:problem:NOT_FOUND' });
    });
  });

  describe('tokens and scopes', () => {
    it('refuses a missing or unknown token with 401 and a Bearer challenge', async () => {
      for (const token of [null, 'sdp_not-a-real-token', 'garbage with spaces']) {
        const response = await get('/v1/admin/devices', token);
        expect(response.statusCode).toBe(401);
        expect(response.headers['www-authenticate']).toContain('Bearer');
        expect(problem(response).code).toBe('UNAUTHORIZED');
      }
    });

    it('refuses an address that keeps trying wrong tokens (429 with Retry-After), not the others, and not for a wrong scope', async () => {
      const from = (remoteAddress: string, token: string) => service.app.inject({ method: 'GET', url: '/v1/admin/devices', remoteAddress, headers: { authorization: `Bearer ${token}` } });
      const guesses = [];
      for (let i = 0; i < 10; i++) guesses.push((await from('10.66.0.1', `sdp_guess${i}`)).statusCode);
      expect(guesses).toEqual(Array(10).fill(401));
      const blocked = await from('10.66.0.1', 'sdp_guess10');
      expect(blocked.statusCode).toBe(429);
      expect(problem(blocked).code).toBe('RATE_LIMITED');
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(blocked.headers['retry-after'])).toBeLessThanOrEqual(60);
      // Blocked is blocked: the right token from there waits too; another address is served.
      expect((await from('10.66.0.1', service.adminToken)).statusCode).toBe(429);
      expect((await from('10.66.0.2', service.adminToken)).statusCode).toBe(200);
      // A valid token without the scope is no guess: a technician's 403s never block it.
      for (let i = 0; i < 12; i++) expect((await service.app.inject({ method: 'DELETE', url: '/v1/admin/devices/00000000-0000-4000-8000-000000000000', remoteAddress: '10.66.0.3', headers: { authorization: `Bearer ${service.technicianToken}` } })).statusCode).toBe(403);
      expect((await from('10.66.0.3', service.technicianToken)).statusCode).toBe(200);
    });

    it('refuses a JSON body nested deeper than 64 levels with 422, however deep — never a 500', async () => {
      for (const depth of [65, 1000, 100_000]) {
        const body = '['.repeat(depth) + ']'.repeat(depth);
        const response = await service.request({ method: 'PUT', url: '/v1/admin/policies/deep', payload: body, headers: { 'content-type': 'application/json' } });
        expect(response.statusCode, String(depth)).toBe(422);
        expect(problem(response)).toMatchObject({ code: 'VALIDATION_FAILED', detail: expect.stringContaining('nests deeper than 64 levels') });
      }
      // Brackets inside strings are text, and a deep-enough settings tree is fine.
      const settings = { kind: 'config-file', path: '/etc/opt/app/app.json', format: 'json', settings: { note: '[[[[[['.repeat(100), tree: JSON.parse('{"a":'.repeat(20) + '1' + '}'.repeat(20)) as unknown } };
      expect((await put('/v1/admin/policies/deep', settings)).statusCode).toBe(201);
      // Prototype poisoning is still refused.
      const poisoned = await service.request({ method: 'PUT', url: '/v1/admin/policies/deep', payload: '{"kind":"screen-lock","__proto__":{"admin":true}}', headers: { 'content-type': 'application/json' } });
      expect(poisoned.statusCode).toBe(400);
    });

    it('lets a technician read and import, but not delete or configure (403)', async () => {
      expect((await get('/v1/admin/devices', service.technicianToken)).statusCode).toBe(200);
      const imported = await importCsv(csv(deviceRows(9000, 1)), service.technicianToken);
      expect(imported.statusCode).toBe(201);
      const { devices } = ImportResultSchema.parse(imported.json());
      const id = devices[0]!.id;
      for (const response of [
        await del(`/v1/admin/devices/${id}`, service.technicianToken),
        await post('/v1/admin/groups', { name: 'nope', kind: 'static' }, service.technicianToken),
        await put('/v1/admin/profiles/nope', {}, service.technicianToken),
        await get('/v1/admin/tokens', service.technicianToken),
      ]) {
        expect(response.statusCode).toBe(403);
        expect(problem(response).code).toBe('FORBIDDEN');
      }
      expect((await del(`/v1/admin/devices/${id}`)).statusCode).toBe(204);
    });

    it('creates a token whose secret works once shown, lists it without secret, and revokes it', async () => {
      const created = await post('/v1/admin/tokens', { name: 'ci-reader', scope: 'technician' });
      expect(created.statusCode).toBe(201);
      const { id, token } = created.json<{ id: string; token: string }>();
      expect(token).toMatch(/^sdp_[A-Za-z0-9_-]{43}$/);
      expect((await get('/v1/admin/devices', token)).statusCode).toBe(200);
      const listed = (await get('/v1/admin/tokens')).body;
      expect(listed).toContain('ci-reader');
      expect(listed).not.toContain(token);
      const stored = await service.store.db.selectFrom('admin_tokens').select('token_hash').where('id', '=', id).executeTakeFirstOrThrow();
      expect(stored.token_hash).not.toContain(token.slice(4));
      expect((await del(`/v1/admin/tokens/${id}`)).statusCode).toBe(204);
      expect((await get('/v1/admin/devices', token)).statusCode).toBe(401);
      expect(problem(await post('/v1/admin/tokens', { name: 'x', scope: 'root' })).code).toBe('VALIDATION_FAILED');
    });
  });

  describe('registrations', () => {
    it('imports a CSV with a BOM, CRLF line ends and quoted fields, all rows at once', async () => {
      const rows = deviceRows(100, 3, 'Lobby Kiosks');
      rows[1]![2] = '"Lobby Kiosks"';
      rows[2]![3] = '"kiosk@contoso.example"';
      const response = await importCsv('\uFEFF' + csv(rows, '\r\n'));
      expect(response.statusCode).toBe(201);
      expect(ImportResultSchema.parse(response.json()).imported).toBe(3);
      const list = DeviceListSchema.parse((await get('/v1/admin/devices?groupTag=Lobby%20Kiosks')).json());
      expect(list.items.map((d) => d.serial)).toEqual(['SN00000100', 'SN00000101', 'SN00000102']);
      expect(list.items[2]).toMatchObject({ assignedUser: 'kiosk@contoso.example', state: 'registered', manufacturer: 'Contoso Devices' });
    });

    it('accepts unpadded base64 hashes and stores the canonical hash', async () => {
      const padded = hash(150);
      const unpadded = padded.replace(/=+$/, '');
      expect(unpadded).not.toBe(padded);
      const response = await importCsv(csv([[identity(150).serial, unpadded, '', '']]));
      expect(response.statusCode).toBe(201);
      const device = DeviceListSchema.parse((await get('/v1/admin/devices?serialPrefix=SN00000150')).json()).items[0]!;
      expect(device.hardwareHash).toBe(padded);
    });

    it('refuses the whole file, reporting row, column and reason, when any row is bad', async () => {
      const rows = deviceRows(200, 4);
      rows[1]![1] = 'not*base64!';
      rows[2]![0] = 'WRONG-SERIAL';
      rows[3]![2] = 'bad\ttag';
      const response = await importCsv(csv(rows));
      expect(response.statusCode).toBe(422);
      const body = problem(response);
      expect(body.code).toBe('CSV_INVALID');
      expect(body.errors).toEqual([
        { row: 3, column: 'Hardware Hash', reason: expect.stringContaining('not base64') },
        { row: 4, column: 'Device Serial Number', reason: expect.stringContaining('not the serial number inside the hardware hash') },
        { row: 5, column: 'Group Tag', reason: expect.any(String) },
      ]);
      expect(DeviceListSchema.parse((await get('/v1/admin/devices?serialPrefix=SN000002')).json()).items).toEqual([]);
    });

    it('reports duplicates in the file and against registered devices, never merging them', async () => {
      const first = await importCsv(csv(deviceRows(300, 1)));
      expect(first.statusCode).toBe(201);
      const sameEk = [identity(302).serial, hash(302, { ekDigest: identity(301).ekDigest }), '', ''];
      const response = await importCsv(csv([...deviceRows(300, 2), deviceRows(301, 1)[0]!, sameEk]));
      expect(response.statusCode).toBe(422);
      expect(problem(response).errors).toEqual([
        { row: 2, column: 'Device Serial Number', reason: 'a device with the same serial number and manufacturer is already registered' },
        { row: 4, column: 'Device Serial Number', reason: 'same serial number and manufacturer as row 3' },
        { row: 5, column: 'Hardware Hash', reason: 'same TPM endorsement key as row 3' },
      ]);
      expect(DeviceListSchema.parse((await get('/v1/admin/devices?serialPrefix=SN0000030')).json()).items).toHaveLength(1);
    });

    it('refuses a wrong header, a syntax error, an empty list and 10,001 rows', async () => {
      const wrongHeader = await importCsv(`Serial,Hash\n${identity(400).serial},${hash(400)}\n`);
      expect(problem(wrongHeader).errors?.[0]).toMatchObject({ row: 1, reason: expect.stringContaining('Device Serial Number,Hardware Hash,Group Tag,Assigned User') });
      const unclosed = await importCsv(csv([[identity(401).serial, `"${hash(401)}`, '', '']]));
      expect(problem(unclosed).errors?.[0]).toMatchObject({ row: 2, reason: expect.stringContaining('not closed') });
      expect(problem(await importCsv(csv([]))).errors?.[0]?.reason).toContain('no devices');
      const tooMany = csv(Array.from({ length: 10_001 }, (_, i) => [`S${i}`, 'x', '', '']));
      const response = await importCsv(tooMany);
      expect(response.statusCode).toBe(422);
      expect(problem(response).errors?.[0]?.reason).toContain('at most 10000');
      expect(problem(await service.request({ method: 'POST', url: '/v1/admin/devices/import', payload: '{}', headers: { 'content-type': 'application/json' } })).code).toBe(
        'VALIDATION_FAILED',
      );
    });

    it('adds, shows and deletes one device record, then its registration', async () => {
      const added = await post('/v1/admin/devices', { hardwareHash: hash(500), groupTag: 'Single' });
      expect(added.statusCode).toBe(201);
      const id = added.json<{ id: string }>().id;
      const view = DeviceViewSchema.parse((await get(`/v1/admin/devices/${id}`)).json());
      expect(view).toMatchObject({ serial: 'SN00000500', groupTag: 'Single', state: 'registered', profile: null, groups: [], espProgress: null });
      expect(problem(await post('/v1/admin/devices', { hardwareHash: hash(500) })).code).toBe('DEVICE_DUPLICATE');
      expect(problem(await post('/v1/admin/devices', { hardwareHash: 'AAAA' })).code).toBe('HARDWARE_HASH_INVALID');
      expect(problem(await post('/v1/admin/devices', { hardwareHash: hash(501), serial: 'OTHER' })).code).toBe('VALIDATION_FAILED');
      expect((await del(`/v1/admin/devices/${id}/record`)).json()).toMatchObject({ id, state: 'registered' });
      expect((await del(`/v1/admin/devices/${id}`)).statusCode).toBe(204);
      expect(problem(await get(`/v1/admin/devices/${id}`)).code).toBe('NOT_FOUND');
      expect(problem(await del(`/v1/admin/devices/${id}`)).code).toBe('NOT_FOUND');
    });

    it('filters by state, group tag and serial prefix, and pages with a cursor', async () => {
      await importCsv(csv(deviceRows(600, 7, 'Paging')));
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { items: { serial: string }[]; nextCursor: string | null } = DeviceListSchema.parse(
          (await get(`/v1/admin/devices?groupTag=Paging&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)).json(),
        );
        seen.push(...page.items.map((d) => d.serial));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toEqual(Array.from({ length: 7 }, (_, i) => identity(600 + i).serial));
      expect(DeviceListSchema.parse((await get('/v1/admin/devices?state=deployed&groupTag=Paging')).json()).items).toEqual([]);
      expect(problem(await get('/v1/admin/devices?limit=501')).code).toBe('VALIDATION_FAILED');
      expect(problem(await get('/v1/admin/devices?state=lost')).code).toBe('VALIDATION_FAILED');
      expect(problem(await get('/v1/admin/devices?cursor=bm90LWEtY3Vyc29y')).code).toBe('VALIDATION_FAILED');
    });

    it('treats SQL and LIKE metacharacters in filters as plain text', async () => {
      const serials = ["A%B_'1", "A%B_'2", 'AXBY1', "O'Brien-1"];
      for (const [k, serial] of serials.entries()) expect((await post('/v1/admin/devices', { hardwareHash: hash(700 + k, { serial }) })).statusCode).toBe(201);
      const find = async (query: string) =>
        DeviceListSchema.parse((await get(`/v1/admin/devices?${query}`)).json())
          .items.map((d) => d.serial)
          .sort();
      expect(await find(`serialPrefix=${encodeURIComponent('A%B_')}`)).toEqual(["A%B_'1", "A%B_'2"]);
      expect(await find(`serialPrefix=${encodeURIComponent("O'Brien")}`)).toEqual(["O'Brien-1"]);
      expect(await find(`serialPrefix=${encodeURIComponent("' OR '1'='1")}`)).toEqual([]);
      expect(await find(`groupTag=${encodeURIComponent("x' OR 1=1 --")}`)).toEqual([]);
      expect(await find(`serialPrefix=${encodeURIComponent('%')}`)).toEqual([]);
    });
  });

  describe('groups, profiles and assignments', () => {
    const kiosk = {
      endState: { type: 'kiosk', mode: 'browser', homeUrl: 'https://intranet.contoso.example/', allowedUrls: ['https://*.contoso.example/*'] },
      deviceName: { template: 'KIOSK-%SERIAL%' },
    };

    it('saves a profile with Autopilot defaults filled in and returns lint warnings', async () => {
      const response = await put('/v1/admin/profiles/lobby', kiosk);
      expect(response.statusCode).toBe(201);
      const saved = response.json<{ profile: Record<string, Record<string, unknown>>; lint: { code: string }[] }>();
      expect(saved.profile['esp']).toMatchObject({ timeoutMinutes: 60, blockDeviceUse: true, allowReset: false, blockingApps: 'all' });
      expect(saved.profile['oobe']).toMatchObject({ language: 'os-default', skipKeyboardPage: true });
      expect(saved.lint.map((f) => f.code)).toEqual(expect.arrayContaining(['DEVICE_NAME_SERIAL_CUT', 'ESP_DEAD_END']));
      expect((await put('/v1/admin/profiles/lobby', kiosk)).statusCode).toBe(200);
    });

    it('refuses invalid profiles with the failing fields', async () => {
      const cases: [unknown, string][] = [
        [{ endState: { type: 'kiosk', mode: 'browser' } }, 'body.endState.homeUrl'],
        [{ endState: { type: 'kiosk', mode: 'app' } }, 'body.endState.appCommand'],
        [{ deviceName: { template: '%RAND:4%' } }, 'body.deviceName.template'],
        [{ deviceName: { template: 'A_B' } }, 'body.deviceName.template'],
        [{ esp: { timeoutMinutes: 0 } }, 'body.esp.timeoutMinutes'],
        [{ oobe: { language: 'english please' } }, 'body.oobe.language'],
        [{ endState: { type: 'kiosk', mode: 'signage', homeUrl: 'javascript:alert(1)' } }, 'body.endState.homeUrl'],
        [{ endState: { type: 'kiosk', mode: 'browser', homeUrl: 'https://x/', idleRestartMinutes: 1441 } }, 'body.endState.idleRestartMinutes'],
      ];
      for (const [body, path] of cases) {
        const response = await put('/v1/admin/profiles/broken', body);
        expect(response.statusCode, JSON.stringify(body)).toBe(422);
        expect(problem(response).errors?.map((e) => e.path)).toContain(path);
      }
      const lint = await put('/v1/admin/profiles/broken', { ...kiosk, endState: { ...kiosk.endState, blockedUrls: ['https://intranet.*'] } });
      expect(problem(lint)).toMatchObject({ code: 'LINT_FAILED', errors: [expect.objectContaining({ path: 'endState.homeUrl' })] });
    });

    it('resolves the oldest assignment when two profiles reach a device, and shows the loser', async () => {
      await importCsv(csv(deviceRows(800, 1, 'Lobby Kiosks')));
      const device = DeviceListSchema.parse((await get('/v1/admin/devices?serialPrefix=SN00000800')).json()).items[0]!;
      expect((await post('/v1/admin/groups', { name: 'lobby-tag', kind: 'dynamic', groupTag: 'Lobby Kiosks' })).statusCode).toBe(201);
      expect((await post('/v1/admin/groups', { name: 'pilot', kind: 'static' })).statusCode).toBe(201);
      expect((await put(`/v1/admin/groups/pilot/members/${device.id}`, {})).statusCode).toBe(204);
      expect((await put('/v1/admin/profiles/signin', {})).statusCode).toBe(201);
      const first = await post('/v1/admin/profiles/signin/assignments', { group: 'pilot' });
      expect(first.statusCode).toBe(201);
      await new Promise((r) => setTimeout(r, 5));
      expect((await post('/v1/admin/profiles/lobby/assignments', { group: 'lobby-tag' })).statusCode).toBe(201);
      const view = DeviceViewSchema.parse((await get(`/v1/admin/devices/${device.id}`)).json());
      expect(problem(await get(`/v1/admin/devices/${device.id}/attestation`)).code).toBe('NOT_FOUND'); // registered, never attested
      expect(view.groups.map((g) => g.name)).toEqual(['lobby-tag', 'pilot']);
      expect(view.profile).toMatchObject({ profile: 'signin', group: 'pilot' });
      expect(view.profileConflicts).toEqual([expect.objectContaining({ profile: 'lobby', group: 'lobby-tag' })]);
      const group = (await get('/v1/admin/groups/lobby-tag')).json<{ memberCount: number; profiles: { name: string }[] }>();
      expect(group.memberCount).toBeGreaterThanOrEqual(1);
      expect(group.profiles.map((p) => p.name)).toEqual(['lobby']);
      expect(problem(await post('/v1/admin/groups', { name: 'pilot', kind: 'static' })).code).toBe('NAME_TAKEN');
      expect(problem(await post('/v1/admin/groups', { name: 'dyn', kind: 'dynamic' })).errors?.[0]?.path).toBe('body.groupTag');
      expect(problem(await del('/v1/admin/groups/pilot')).code).toBe('IN_USE');
      expect(problem(await del('/v1/admin/profiles/lobby')).code).toBe('IN_USE');
      // A group shows every kind of document assigned to it, items too.
      const script = Buffer.from('echo hello\n');
      const content = (await service.request({ method: 'POST', url: '/v1/admin/content?label=hello.sh', payload: script, headers: { 'content-type': 'application/octet-stream' } })).json<{ sha256: string; size: number }>();
      expect((await put('/v1/admin/scripts/hello', { interpreter: 'sh', content: { sha256: content.sha256, size: content.size } })).statusCode).toBeLessThan(300);
      expect((await post('/v1/admin/scripts/hello/assignments', { group: 'pilot' })).statusCode).toBe(201);
      expect((await get('/v1/admin/groups/pilot')).json()).toMatchObject({ profiles: [{ name: 'signin' }], policies: [], items: [{ kind: 'script', name: 'hello' }] });
    });

    it('refuses a password policy that would break kiosk auto-logon, at assignment and at save', async () => {
      expect((await post('/v1/admin/groups', { name: 'kiosks', kind: 'static' })).statusCode).toBe(201);
      expect((await post('/v1/admin/profiles/lobby/assignments', { group: 'kiosks' })).statusCode).toBe(201);
      expect((await put('/v1/admin/policies/expiry', { kind: 'password', maxAgeDays: 90 })).statusCode).toBe(201);
      const assign = await post('/v1/admin/policies/expiry/assignments', { group: 'kiosks' });
      expect(problem(assign)).toMatchObject({ code: 'LINT_FAILED', errors: [expect.objectContaining({ reason: expect.stringContaining('AUTOLOGON_BROKEN_BY_POLICY') })] });
      expect((await put('/v1/admin/policies/lock', { kind: 'screen-lock', idleLockMinutes: 0 })).statusCode).toBe(201);
      expect((await post('/v1/admin/policies/lock/assignments', { group: 'kiosks' })).statusCode).toBe(201);
      const tighten = await put('/v1/admin/policies/lock', { kind: 'screen-lock', idleLockMinutes: 5, requirePasswordToUnlock: true });
      expect(problem(tighten).code).toBe('LINT_FAILED');
      const lint = (await post('/v1/admin/profiles/lint?group=kiosks', kiosk)).json<{ findings: { severity: string }[] }>();
      expect(lint.findings.every((f) => f.severity === 'warning')).toBe(true);
    });
    it('lists, shows, unassigns and deletes profiles, policies, members and groups', async () => {
      const device = (await post('/v1/admin/devices', { hardwareHash: hash(850) })).json<{ id: string }>();
      expect((await post('/v1/admin/groups', { name: 'temporary', kind: 'static', description: 'short-lived' })).statusCode).toBe(201);
      expect((await put(`/v1/admin/groups/temporary/members/${device.id}`, {})).statusCode).toBe(204);
      expect((await put(`/v1/admin/groups/temporary/members/${device.id}`, {})).statusCode).toBe(204); // idempotent
      expect((await put('/v1/admin/profiles/short', { description: 'short-lived' })).statusCode).toBe(201);
      expect((await put('/v1/admin/policies/min-length', { kind: 'password', minLength: 8 })).statusCode).toBe(201);
      const assignedAt = (await post('/v1/admin/profiles/short/assignments', { group: 'temporary' })).json<{ assignedAt: string }>().assignedAt;
      expect((await post('/v1/admin/profiles/short/assignments', { group: 'temporary' })).json()).toMatchObject({ assignedAt });
      expect((await post('/v1/admin/policies/min-length/assignments', { group: 'temporary' })).statusCode).toBe(201);

      const profiles = (await get('/v1/admin/profiles')).json<{ items: { name: string; assignments: { group: string }[] }[] }>().items;
      expect(profiles.find((p) => p.name === 'short')?.assignments).toEqual([{ group: 'temporary', assignedAt }]);
      expect((await get('/v1/admin/profiles/short')).json()).toMatchObject({ name: 'short', profile: { description: 'short-lived', esp: { timeoutMinutes: 60 } } });
      expect((await get('/v1/admin/policies')).json()).toMatchObject({ items: expect.arrayContaining([expect.objectContaining({ name: 'min-length' })]) });
      expect((await get('/v1/admin/policies/min-length')).json()).toMatchObject({ settings: { kind: 'password', minLength: 8, maxAgeDays: 0 } });
      expect((await get('/v1/admin/groups/temporary')).json()).toMatchObject({ members: [{ id: device.id }], profiles: [{ name: 'short' }], policies: [{ name: 'min-length' }] });
      expect((await get('/v1/admin/groups')).json()).toMatchObject({ items: expect.arrayContaining([expect.objectContaining({ name: 'temporary', memberCount: 1 })]) });

      expect((await del('/v1/admin/profiles/short/assignments/temporary')).statusCode).toBe(204);
      expect(problem(await del('/v1/admin/profiles/short/assignments/temporary')).code).toBe('NOT_FOUND');
      expect((await del('/v1/admin/policies/min-length/assignments/temporary')).statusCode).toBe(204);
      expect((await del(`/v1/admin/groups/temporary/members/${device.id}`)).statusCode).toBe(204);
      expect(problem(await del(`/v1/admin/groups/temporary/members/${device.id}`)).code).toBe('NOT_FOUND');
      expect((await del('/v1/admin/groups/temporary')).statusCode).toBe(204);
      expect((await del('/v1/admin/profiles/short')).statusCode).toBe(204);
      expect((await del('/v1/admin/policies/min-length')).statusCode).toBe(204);
      for (const url of ['/v1/admin/groups/temporary', '/v1/admin/profiles/short', '/v1/admin/policies/min-length']) {
        expect(problem(await get(url)).code, url).toBe('NOT_FOUND');
      }
      expect(problem(await get('/v1/admin/groups/bad%20name!')).errors?.[0]?.path).toBe('params.name');
      expect(problem(await post('/v1/admin/profiles/nowhere/assignments', { group: 'nowhere' })).code).toBe('NOT_FOUND');
      expect(problem(await put('/v1/admin/policies/odd', { kind: 'firewall' })).code).toBe('VALIDATION_FAILED');
      const member = await put('/v1/admin/groups/lobby-tag/members/' + device.id, {});
      expect(problem(member).detail).toContain('dynamic group');
    });
  });

  describe('branding and trust anchors', () => {
    it('sets branding with a PNG logo recognised by content, and removes it', async () => {
      const response = await put('/v1/admin/branding', { organizationName: 'Contoso', accentColor: '#FF8800', support: { email: 'help@contoso.example' }, logo: PNG.toString('base64') });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ accentColor: '#ff8800', logo: { mediaType: 'image/png', bytes: PNG.length } });
      // The logo itself, as devices receive it (the console's preview shows it).
      expect((await get('/v1/admin/branding/logo')).json()).toEqual({ mediaType: 'image/png', data: PNG.toString('base64') });
      expect((await put('/v1/admin/branding', { organizationName: 'Contoso', logo: null })).json()).toMatchObject({ logo: null });
      expect(problem(await get('/v1/admin/branding/logo')).code).toBe('NOT_FOUND');
    });

    it('refuses a non-image, an oversized image and an SVG with a script', async () => {
      const big = Buffer.concat([PNG.subarray(0, PNG.length - 12), Buffer.alloc(600 * 1024), PNG.subarray(PNG.length - 12)]);
      const svg = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>';
      for (const [logo, reason] of [
        [Buffer.from('%PDF-1.7 not an image'), 'not a PNG, JPEG or SVG'],
        [big, 'more than 524288'],
        [Buffer.from(svg), 'script'],
      ] as const) {
        const response = await put('/v1/admin/branding', { organizationName: 'Contoso', logo: logo.toString('base64') });
        expect(response.statusCode).toBe(422);
        expect(problem(response)).toMatchObject({ code: 'BRANDING_INVALID', detail: expect.stringContaining(reason) });
      }
      expect(problem(await put('/v1/admin/branding', { organizationName: 'Contoso', accentColor: 'orange' })).errors?.[0]?.path).toBe('body.accentColor');
    });

    it('adds CA certificates and EK digests as trust anchors, refusing non-CA ones and storing a repeated one once', async () => {
      const ca = readFileSync(`${service.dataDir}/device-ca/ca.pem`, 'utf8');
      const server = readFileSync(`${service.dataDir}/tls/server.pem`, 'utf8').split('-----END CERTIFICATE-----')[0] + '-----END CERTIFICATE-----\n';
      const added = await post('/v1/admin/trust-anchors', { pem: ca, label: 'test CA' });
      expect(added.statusCode).toBe(201);
      expect(added.json()).toMatchObject({ items: [{ kind: 'certificate', label: 'test CA', fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/) }] });
      // The same certificate again: no error, nothing added, reported as already trusted.
      const again = await post('/v1/admin/trust-anchors', { pem: ca });
      expect(again.statusCode).toBe(201);
      expect(again.json()).toMatchObject({ items: [], outcomes: [{ outcome: 'already trusted' }] });
      expect(problem(await post('/v1/admin/trust-anchors', { pem: server })).code).toBe('TRUST_ANCHOR_INVALID');
      expect(problem(await post('/v1/admin/trust-anchors', { pem: 'not pem' })).code).toBe('TRUST_ANCHOR_INVALID');
      const digest = await post('/v1/admin/trust-anchors', { ekDigest: identity(900).ekDigest!.toUpperCase(), label: 'bench TPM without EK cert' });
      expect(digest.json()).toMatchObject({ items: [{ kind: 'ek-digest', ekDigest: identity(900).ekDigest }] });
      const device = await post('/v1/admin/devices', { hardwareHash: hash(900) });
      expect(device.json()).toMatchObject({ unverifiedHardware: true });
      const list = (await get('/v1/admin/trust-anchors')).json<{ items: { id: string }[] }>().items;
      expect((await del(`/v1/admin/trust-anchors/${list[0]!.id}`)).statusCode).toBe(204);
    });
  });

  describe('the first device endpoint', () => {
    it('gives a registered device its resolved profile and the branding, and changes nothing (the record stays registered until the device attests)', async () => {
      await put('/v1/admin/branding', { organizationName: 'Contoso', accentColor: '#0067b8', logo: PNG.toString('base64') });
      await importCsv(csv(deviceRows(1000, 1, 'Lobby Kiosks')));
      const response = await deploy(hash(1000));
      expect(response.statusCode).toBe(200);
      const body = DeployProfileResponseSchema.parse(response.json());
      expect(body).toMatchObject({ profileName: 'lobby', branding: { organizationName: 'Contoso', logo: { mediaType: 'image/png' } } });
      expect(body.profile.endState).toMatchObject({ type: 'kiosk', homeUrl: 'https://intranet.contoso.example/' });
      expect(response.body).not.toMatch(/PRIVATE KEY|sdp_/);
      expect(DeviceViewSchema.parse((await get(`/v1/admin/devices/${body.deviceId}`)).json()).state).toBe('registered');
    });

    it('answers DEVICE_NOT_REGISTERED, PROFILE_NOT_ASSIGNED and HARDWARE_HASH_INVALID — and a registered serial number with another TPM exactly like an unknown one', async () => {
      await importCsv(csv(deviceRows(1101, 1)));
      expect(problem(await deploy(hash(1101)))).toMatchObject({ status: 404, code: 'PROFILE_NOT_ASSIGNED' });
      // No registration oracle: the serial number of 1101 with 1102's TPM, and a serial number nobody registered.
      const swapped = hash(1101, { ekDigest: identity(1102).ekDigest });
      const unknown = hash(1100, { ekDigest: identity(1102).ekDigest });
      const answers = [await deploy(swapped), await deploy(unknown)];
      const shape = (r: (typeof answers)[number]) => {
        const p = problem(r);
        return { status: r.statusCode, code: p.code, title: p.title, detail: p.detail?.replace(/serial number \S+/, 'serial number S') };
      };
      expect(shape(answers[0]!)).toEqual({ status: 404, code: 'DEVICE_NOT_REGISTERED', title: expect.any(String), detail: expect.stringContaining('and this TPM is registered') });
      expect(shape(answers[0]!)).toEqual(shape(answers[1]!));
      expect(Object.keys(answers[0]!.headers).sort()).toEqual(Object.keys(answers[1]!.headers).sort());
      expect(problem(await deploy('U0RIAQ')).code).toBe('HARDWARE_HASH_INVALID');
    });

    it('blocks re-enrollment of a deployed device until its device record is deleted', async () => {
      const device = (await post('/v1/admin/devices', { hardwareHash: hash(1300) })).json<{ id: string }>();
      expect((await post('/v1/admin/groups', { name: 'reenroll', kind: 'static' })).statusCode).toBe(201);
      expect((await put(`/v1/admin/groups/reenroll/members/${device.id}`, {})).statusCode).toBe(204);
      expect((await put('/v1/admin/profiles/plain', {})).statusCode).toBe(201);
      expect((await post('/v1/admin/profiles/plain/assignments', { group: 'reenroll' })).statusCode).toBe(201);
      expect((await deploy(hash(1300))).statusCode).toBe(200);
      await service.store.devices.setState(device.id, 'deployed');
      const blocked = await deploy(hash(1300));
      expect(problem(blocked)).toMatchObject({ status: 409, code: 'REENROLLMENT_BLOCKED' });
      expect((await del(`/v1/admin/devices/${device.id}/record`)).json()).toMatchObject({ state: 'registered', deployedAt: null });
      expect((await deploy(hash(1300))).statusCode).toBe(200);
      expect((await del(`/v1/admin/devices/${device.id}`)).statusCode).toBe(204);
      expect(problem(await deploy(hash(1300))).code).toBe('DEVICE_NOT_REGISTERED');
    });

    it('rate-limits each client address with 429 and Retry-After', async () => {
      const from = (address: string) => deploy(hash(1200), address);
      const statuses = [];
      for (let i = 0; i < 6; i++) statuses.push((await from('10.9.9.9')).statusCode);
      expect(statuses.slice(0, 5)).toEqual([404, 404, 404, 404, 404]);
      const limited = await from('10.9.9.9');
      expect(limited.statusCode).toBe(429);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(problem(limited).code).toBe('RATE_LIMITED');
      expect((await from('10.9.9.10')).statusCode).toBe(404);
    });
  });
});
