// The admin's side of the fleet on both stores: roles and their limits (read-only, technician,
// tokens scoped to groups or tags, expiry, revocation seen by a second service process on the same
// database), editable registrations and bulk actions, dynamic group rules, the lint over every
// device's resolved set, and the hash-chained audit log — with its tampering found.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { BulkDevicesResultSchema, DeviceListSchema, DeviceViewSchema, GroupPreviewSchema, ImportPreviewSchema, TokenSchema } from '../../protocol/api/admin.js';
import { AuditListSchema, AuditVerifySchema } from '../../protocol/api/fleet.js';
import { ProblemSchema } from '../../protocol/problem.js';
import { csv, hash, identity } from '../../lab/identities.js';
import { buildApp } from './app.js';
import { Store } from '../store/store.js';
import { DataDir } from '../tenant/data-dir.js';
import { startTestService, type TestService } from '../testing/service.js';

const KIOSK = { endState: { type: 'kiosk', mode: 'browser', homeUrl: 'https://intranet.contoso.example/', allowedUrls: ['https://*.contoso.example/*'] } };

describe.each(['sqlite', 'postgres'] as const)('the fleet on %s', (kind) => {
  let service: TestService;
  const ids: Record<string, string> = {};

  const call = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown, token?: string | null) =>
    service.request({ method, url, ...(payload === undefined ? {} : { payload: payload as object }), token });
  const problem = (response: { body: string }) => ProblemSchema.parse(JSON.parse(response.body));
  const token = async (body: Record<string, unknown>) => {
    const created = await call('POST', '/v1/admin/tokens', body);
    expect(created.statusCode, created.body).toBe(201);
    return created.json<{ id: string; token: string }>();
  };

  beforeAll(async () => {
    service = await startTestService(kind, kind === 'postgres' ? inject('postgresAdminUrl') : undefined);
    // Three lobby kiosks, two office devices of another model, one spare.
    const rows = [
      [identity(9001).serial, hash(9001), 'Lobby', ''],
      [identity(9002).serial, hash(9002), 'Lobby', ''],
      [identity(9003).serial, hash(9003, { model: 'Kiosk 22' }), 'Lobby', ''],
      ['PF0009004', hash(9004, { model: 'Desk 14', serial: 'PF0009004' }), 'Office', 'ada@contoso.example'],
      ['PF0009005', hash(9005, { model: 'Desk 14', serial: 'PF0009005' }), 'Office', ''],
    ];
    const imported = await service.request({ method: 'POST', url: '/v1/admin/devices/import', payload: csv(rows), headers: { 'content-type': 'text/csv' } });
    expect(imported.statusCode, imported.body).toBe(201);
    for (const d of imported.json<{ devices: { id: string; serial: string }[] }>().devices) ids[d.serial] = d.id;
    for (const [name, rule] of [
      ['lobby', { groupTag: 'Lobby' }],
      ['desks', { model: 'Desk 14' }],
    ] as const) {
      expect((await call('POST', '/v1/admin/groups', { name, kind: 'dynamic', rule })).statusCode).toBe(201);
    }
    expect((await call('POST', '/v1/admin/groups', { name: 'all-staff', kind: 'static' })).statusCode).toBe(201);
    expect((await call('PUT', '/v1/admin/profiles/kiosk', KIOSK)).statusCode).toBe(201);
    expect((await call('POST', '/v1/admin/profiles/kiosk/assignments', { group: 'lobby' })).statusCode).toBe(201);
    expect((await call('PUT', '/v1/admin/policies/expiry', { kind: 'password', maxAgeDays: 90 })).statusCode).toBe(201);
    expect((await call('POST', '/v1/admin/policies/expiry/assignments', { group: 'all-staff' })).statusCode).toBe(201);
  });

  afterAll(async () => {
    await service?.close();
  });

  describe('dynamic groups by rule', () => {
    it('holds every device its rule matches, previews a rule before the group exists, and lists members of a group', async () => {
      const preview = GroupPreviewSchema.parse((await call('POST', '/v1/admin/groups/preview', { rule: { manufacturer: 'Contoso Devices', serialPrefix: 'PF' } })).json());
      expect(preview.count).toBe(2);
      expect(preview.members.map((m) => m.serial).sort()).toEqual(['PF0009004', 'PF0009005']);
      expect((await call('POST', '/v1/admin/groups/preview', { rule: {} })).statusCode).toBe(422);
      expect((await call('POST', '/v1/admin/groups/preview', { rule: { serialPrefix: 'PF', colour: 'red' } })).statusCode).toBe(422);
      const desks = DeviceListSchema.parse((await call('GET', '/v1/admin/devices?group=desks')).json());
      expect(desks.items.map((d) => d.serial)).toEqual(['PF0009004', 'PF0009005']);
      const kiosks = DeviceListSchema.parse((await call('GET', '/v1/admin/devices?model=Kiosk%2022')).json());
      expect(kiosks.items.map((d) => d.serial)).toEqual([identity(9003).serial]);
      const groups = (await call('GET', '/v1/admin/groups')).json<{ items: { name: string; memberCount: number; rule: unknown; groupTag: string | null }[] }>().items;
      expect(groups.find((g) => g.name === 'desks')).toMatchObject({ memberCount: 2, rule: { model: 'Desk 14' }, groupTag: null });
      expect(groups.find((g) => g.name === 'lobby')).toMatchObject({ memberCount: 3, groupTag: 'Lobby' });
    });
  });

  describe('editing registrations', () => {
    it("changes a device's group tag and assigned user; dynamic groups and the resolved profile follow at once", async () => {
      const id = ids['PF0009005']!;
      const moved = await call('PATCH', `/v1/admin/devices/${id}`, { groupTag: 'Lobby', assignedUser: 'grace@contoso.example' });
      expect(moved.statusCode, moved.body).toBe(200);
      const view = DeviceViewSchema.parse(moved.json());
      expect(view).toMatchObject({ groupTag: 'Lobby', assignedUser: 'grace@contoso.example', profile: { profile: 'kiosk', group: 'lobby' } });
      expect(view.groups.map((g) => g.name)).toEqual(['desks', 'lobby']);
      const back = DeviceViewSchema.parse((await call('PATCH', `/v1/admin/devices/${id}`, { groupTag: null, assignedUser: null })).json());
      expect(back).toMatchObject({ groupTag: null, assignedUser: null, profile: null });
      expect(problem(await call('PATCH', `/v1/admin/devices/${id}`, {})).code).toBe('VALIDATION_FAILED');
      expect(problem(await call('PATCH', `/v1/admin/devices/${id}`, { groupTag: 'no/slashes' })).errors?.[0]?.path).toBe('body.groupTag');
      expect(problem(await call('PATCH', `/v1/admin/devices/${id}`, { serial: 'X' })).code).toBe('VALIDATION_FAILED');
      expect(problem(await call('PATCH', `/v1/admin/devices/${'0'.repeat(8)}-0000-0000-0000-000000000000`, { groupTag: 'Lobby' })).code).toBe('NOT_FOUND');
    });

    it('applies one action to many devices and reports each', async () => {
      const missing = '00000000-0000-4000-8000-000000000000';
      const result = BulkDevicesResultSchema.parse((await call('POST', '/v1/admin/devices/bulk', { ids: [ids['PF0009004'], ids['PF0009005'], missing], action: { type: 'set-group-tag', groupTag: 'Office' } })).json());
      expect(result.results.map((r) => [r.ok, r.code])).toEqual([
        [true, null],
        [true, null],
        [false, 'NOT_FOUND'],
      ]);
      const office = DeviceListSchema.parse((await call('GET', '/v1/admin/devices?groupTag=Office')).json());
      expect(office.items.map((d) => d.serial)).toEqual(['PF0009004', 'PF0009005']);
      expect(problem(await call('POST', '/v1/admin/devices/bulk', { ids: [ids['PF0009004']], action: { type: 'add-to-group', group: 'desks' } })).detail).toContain('dynamic group');
    });
  });

  describe('the lint over what each device receives', () => {
    it('refuses putting a lobby kiosk into a group whose password policy breaks its auto-logon, naming the device and both groups', async () => {
      const kiosk = identity(9001).serial;
      const response = await call('PUT', `/v1/admin/groups/all-staff/members/${ids[kiosk]}`, {});
      expect(response.statusCode).toBe(422);
      const refused = problem(response);
      expect(refused.code).toBe('LINT_FAILED');
      expect(refused.detail).toContain(`device ${kiosk} (groups all-staff, lobby) receives profile "kiosk" from group "lobby" and policy "expiry" from group "all-staff"`);
      expect(refused.errors?.[0]?.reason).toContain('AUTOLOGON_BROKEN_BY_POLICY');
      expect((await call('GET', '/v1/admin/groups/all-staff')).json()).toMatchObject({ memberCount: 0 });
    });

    it('refuses a tag edit, a bulk tag and an import that would combine them, and the assignment that would', async () => {
      const office = 'PF0009004';
      expect((await call('PUT', `/v1/admin/groups/all-staff/members/${ids[office]}`, {})).statusCode).toBe(204);
      const edit = await call('PATCH', `/v1/admin/devices/${ids[office]}`, { groupTag: 'Lobby' });
      expect(problem(edit)).toMatchObject({ code: 'LINT_FAILED' });
      expect(problem(edit).detail).toContain(`device ${office} (groups all-staff, desks, lobby)`);
      const bulk = await call('POST', '/v1/admin/devices/bulk', { ids: [ids[office], ids['PF0009005']], action: { type: 'set-group-tag', groupTag: 'Lobby' } });
      expect(problem(bulk).code).toBe('LINT_FAILED');
      expect(DeviceViewSchema.parse((await call('GET', `/v1/admin/devices/${ids['PF0009005']}`)).json()).groupTag).toBe('Office'); // nothing changed
      // A policy assigned to the lobby's group directly is the same conflict, on every lobby device.
      const assign = await call('POST', '/v1/admin/policies/expiry/assignments', { group: 'desks' });
      expect(assign.statusCode).toBe(201); // desks get no kiosk profile: nothing to break
      const both = problem(await call('POST', '/v1/admin/profiles/kiosk/assignments', { group: 'desks' })).detail;
      expect(both).toContain('device PF0009004 (groups all-staff, desks) receives profile "kiosk" from group "desks" and policy "expiry" from group "all-staff"');
      expect(both).toContain('device PF0009005 (groups desks) receives profile "kiosk" from group "desks" and policy "expiry" from group "desks"');
      await call('DELETE', '/v1/admin/policies/expiry/assignments/desks');
      // An import of a kiosk whose static-group-free registration only meets the lobby profile is fine …
      const fine = await service.request({ method: 'POST', url: '/v1/admin/devices/import/preview', payload: csv([[identity(9010).serial, hash(9010), 'Lobby', '']]), headers: { 'content-type': 'text/csv' } });
      expect(ImportPreviewSchema.parse(fine.json())).toMatchObject({ valid: true, devices: 1, lint: [] });
    });

    it('refuses taking a device out of a group, or a profile off one, when another group\'s kiosk profile would then meet the password expiry', async () => {
      const office = ids['PF0009004']!; // in all-staff (password expiry) since the test before
      expect((await call('PUT', '/v1/admin/profiles/signin', {})).statusCode).toBe(201);
      for (const name of ['pilot-signin', 'kiosk-later']) expect((await call('POST', '/v1/admin/groups', { name, kind: 'static' })).statusCode).toBe(201);
      expect((await call('POST', '/v1/admin/profiles/signin/assignments', { group: 'pilot-signin' })).statusCode).toBe(201);
      await new Promise((r) => setTimeout(r, 5));
      expect((await call('POST', '/v1/admin/profiles/kiosk/assignments', { group: 'kiosk-later' })).statusCode).toBe(201);
      // The sign-in profile was assigned first, so it is what the device gets: no auto-logon to break.
      expect((await call('PUT', `/v1/admin/groups/pilot-signin/members/${office}`, {})).statusCode).toBe(204);
      expect((await call('PUT', `/v1/admin/groups/kiosk-later/members/${office}`, {})).statusCode).toBe(204);

      const removal = problem(await call('DELETE', `/v1/admin/groups/pilot-signin/members/${office}`));
      expect(removal.code).toBe('LINT_FAILED');
      expect(removal.detail).toContain('was not removed from "pilot-signin"');
      expect(removal.detail).toContain('device PF0009004 (groups all-staff, desks, kiosk-later) receives profile "kiosk" from group "kiosk-later" and policy "expiry" from group "all-staff"');
      const unassign = problem(await call('DELETE', '/v1/admin/profiles/signin/assignments/pilot-signin'));
      expect(unassign.code).toBe('LINT_FAILED');
      expect(unassign.detail).toContain('profile "signin" was not taken off "pilot-signin"');
      expect((await call('GET', '/v1/admin/groups/pilot-signin')).json()).toMatchObject({ memberCount: 1, profiles: [{ name: 'signin' }] }); // nothing changed

      // Out of the kiosk group first, then out of the pilot: nothing combines any more.
      expect((await call('DELETE', `/v1/admin/groups/kiosk-later/members/${office}`)).statusCode).toBe(204);
      expect((await call('DELETE', `/v1/admin/groups/pilot-signin/members/${office}`)).statusCode).toBe(204);
      expect((await call('DELETE', '/v1/admin/profiles/signin/assignments/pilot-signin')).statusCode).toBe(204);
      expect((await call('DELETE', '/v1/admin/profiles/kiosk/assignments/kiosk-later')).statusCode).toBe(204);
    });

    it('shows an import row by row before committing it, and commits nothing on a bad row', async () => {
      const file = csv([
        [identity(9011).serial, hash(9011), 'Lobby', ''],
        [identity(9001).serial, hash(9001), 'Lobby', ''],
        ['SN-WRONG', hash(9012), '', ''],
      ]);
      const preview = ImportPreviewSchema.parse((await service.request({ method: 'POST', url: '/v1/admin/devices/import/preview', payload: file, headers: { 'content-type': 'text/csv' } })).json());
      expect(preview.valid).toBe(false);
      expect(preview.rows.map((r) => [r.row, r.serial, r.errors.map((e) => e.column)])).toEqual([
        [2, identity(9011).serial, []],
        [3, identity(9001).serial, ['Device Serial Number']],
        [4, 'SN-WRONG', ['Device Serial Number']],
      ]);
      expect(preview.rows[0]).toMatchObject({ manufacturer: 'Contoso Devices', model: 'Kiosk 15', groupTag: 'Lobby' });
      expect(DeviceListSchema.parse((await call('GET', `/v1/admin/devices?serialPrefix=${identity(9011).serial}`)).json()).items).toEqual([]);
    });
  });

  describe('roles', () => {
    it('lets a read-only token view and report, and nothing else', async () => {
      const reader = await token({ name: 'wallboard', scope: 'read-only' });
      expect((await call('GET', '/v1/admin/devices', undefined, reader.token)).statusCode).toBe(200);
      expect((await call('GET', '/v1/admin/reports/summary', undefined, reader.token)).statusCode).toBe(200);
      for (const [method, url, body] of [
        ['POST', '/v1/admin/devices', { hardwareHash: hash(9020) }],
        ['DELETE', `/v1/admin/devices/${ids['PF0009004']}/record`, undefined],
        ['PATCH', `/v1/admin/devices/${ids['PF0009004']}`, { groupTag: 'Office' }],
        ['GET', '/v1/admin/audit', undefined],
        ['GET', '/v1/admin/tokens', undefined],
      ] as const) {
        const response = await call(method, url, body, reader.token);
        expect([response.statusCode, problem(response).code], `${method} ${url}`).toEqual([403, 'FORBIDDEN']);
      }
    });

    it('lets a technician register, view, collect logs and delete a device record, but not change assignments or registrations', async () => {
      const tech = service.technicianToken;
      expect((await call('POST', '/v1/admin/devices', { hardwareHash: hash(9021) }, tech)).statusCode).toBe(201);
      expect((await call('DELETE', `/v1/admin/devices/${ids['PF0009004']}/record`, undefined, tech)).statusCode).toBe(200);
      expect((await call('POST', '/v1/admin/devices/bulk', { ids: [ids['PF0009004']], action: { type: 'delete-record' } }, tech)).statusCode).toBe(200);
      for (const [method, url, body] of [
        ['PATCH', `/v1/admin/devices/${ids['PF0009004']}`, { groupTag: 'Office' }],
        ['POST', '/v1/admin/devices/bulk', { ids: [ids['PF0009004']], action: { type: 'set-group-tag', groupTag: 'x' } }],
        ['POST', '/v1/admin/profiles/kiosk/assignments', { group: 'desks' }],
        ['PUT', '/v1/admin/settings', { reprovisionSameTpm: true }],
      ] as const) {
        const response = await call(method, url, body, tech);
        expect([response.statusCode, problem(response).code], `${method} ${url}`).toEqual([403, 'FORBIDDEN']);
      }
    });

    it('limits a scoped token to the devices of its groups and tags: others are answered as absent, and it cannot register outside', async () => {
      const scoped = await token({ name: 'lobby-bench', scope: 'technician', groups: ['desks'], groupTags: ['Lobby'] });
      const record = TokenSchema.parse((await call('GET', `/v1/admin/tokens/${scoped.id}`)).json());
      expect(record).toMatchObject({ groups: ['desks'], groupTags: ['Lobby'], scope: 'technician' });
      expect(Date.parse(record.expiresAt!) - Date.parse(record.createdAt)).toBe(90 * 86_400_000);
      const seen = DeviceListSchema.parse((await call('GET', '/v1/admin/devices?limit=500', undefined, scoped.token)).json()).items.map((d) => d.groupTag ?? d.model);
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.every((tag) => tag === 'Lobby' || tag === 'Office')).toBe(true); // Office ones are desks (by model)
      const outsider = (await call('POST', '/v1/admin/devices', { hardwareHash: hash(9030), groupTag: 'Warehouse' })).json<{ id: string }>();
      expect(problem(await call('GET', `/v1/admin/devices/${outsider.id}`, undefined, scoped.token)).code).toBe('NOT_FOUND');
      expect(problem(await call('DELETE', `/v1/admin/devices/${outsider.id}/record`, undefined, scoped.token)).code).toBe('NOT_FOUND');
      const outside = await call('POST', '/v1/admin/devices', { hardwareHash: hash(9031), groupTag: 'Warehouse' }, scoped.token);
      expect([outside.statusCode, problem(outside).code]).toEqual([403, 'FORBIDDEN']);
      const inside = await call('POST', '/v1/admin/devices', { hardwareHash: hash(9032), groupTag: 'Lobby' }, scoped.token);
      expect(inside.statusCode).toBe(201);
      const importOutside = await service.request({ method: 'POST', url: '/v1/admin/devices/import', payload: csv([[identity(9033).serial, hash(9033), 'Warehouse', '']]), headers: { 'content-type': 'text/csv' }, token: scoped.token });
      expect(problem(importOutside)).toMatchObject({ code: 'CSV_INVALID', errors: [expect.objectContaining({ row: 2, column: 'Group Tag' })] });
      // Scoped by tags alone (no groups): its reports cover its devices only.
      const tagsOnly = await token({ name: 'office-view', scope: 'read-only', groupTags: ['Office'] });
      const summary = await call('GET', '/v1/admin/reports/summary', undefined, tagsOnly.token);
      expect(summary.statusCode, summary.body).toBe(200);
      expect(summary.json<{ devicesByState: Record<string, number> }>().devicesByState).toEqual({ registered: 2 });
      expect((await call('GET', '/v1/admin/reports/deployments', undefined, tagsOnly.token)).statusCode).toBe(200);
      expect(problem(await call('POST', '/v1/admin/tokens', { name: 'scoped-admin', scope: 'admin', groups: ['desks'] })).code).toBe('VALIDATION_FAILED');
      expect(problem(await call('POST', '/v1/admin/tokens', { name: 'ghost', scope: 'read-only', groups: ['no-such-group'] })).code).toBe('NOT_FOUND');
    });

    it('refuses an expired token, and a revoked one at once on another service process on the same database', async () => {
      const expiring = await token({ name: 'temp', scope: 'read-only', expiresInDays: 1 });
      expect((await call('GET', '/v1/admin/devices', undefined, expiring.token)).statusCode).toBe(200);
      await service.store.db.updateTable('admin_tokens').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where('id', '=', expiring.id).execute();
      const expired = await call('GET', '/v1/admin/devices', undefined, expiring.token);
      expect([expired.statusCode, problem(expired).detail]).toEqual([401, expect.stringContaining('expired')]);

      // A second replica: its own process state, the same database.
      const store = await Store.open(service.dbUrl, service.dataDir);
      const replica = await buildApp({ store, version: 'test', logger: false, publicUrls: () => service.publicUrls, deviceCa: new DataDir(service.dataDir).deviceCa() });
      try {
        const live = await token({ name: 'revoked-soon', scope: 'read-only' });
        const asked = () => replica.inject({ method: 'GET', url: '/v1/admin/devices', headers: { authorization: `Bearer ${live.token}` } });
        expect((await asked()).statusCode).toBe(200);
        expect((await call('DELETE', `/v1/admin/tokens/${live.id}`)).statusCode).toBe(204);
        expect((await asked()).statusCode).toBe(401);
      } finally {
        await replica.close();
        await store.close();
      }
    });
  });

  describe('the audit log', () => {
    it('records who changed what, before and after, from where — and never a secret', async () => {
      const id = ids[identity(9002).serial]!;
      expect((await call('PATCH', `/v1/admin/devices/${id}`, { assignedUser: 'lin@contoso.example' })).statusCode).toBe(200);
      expect((await call('PUT', '/v1/admin/networks/lobby-wifi', { type: 'wifi', ssid: 'Lobby', security: 'wpa2-psk', psk: 'correct horse battery' })).statusCode).toBe(201);
      const created = await token({ name: 'audited', scope: 'read-only' });

      const list = AuditListSchema.parse((await call('GET', `/v1/admin/audit?resource=${encodeURIComponent(`/v1/admin/devices/${id}`)}`)).json());
      expect(list.items[0]).toMatchObject({
        action: 'updateDevice',
        actor: { name: 'initial-admin', kind: 'admin' },
        source: '127.0.0.1',
        resource: `/v1/admin/devices/${id}`,
        before: { assignedUser: null, groupTag: 'Lobby' },
        after: { assignedUser: 'lin@contoso.example', groupTag: 'Lobby' },
      });
      const all = JSON.stringify((await call('GET', '/v1/admin/audit?limit=1000')).json());
      expect(all).not.toContain('correct horse battery');
      expect(all).not.toContain(created.token);
      expect(all).toContain('"createToken"');
      // A bulk action and an import say what they were asked and what they did.
      const bulk = AuditListSchema.parse((await call('GET', '/v1/admin/audit?action=bulkDevices')).json()).items.at(-1)!;
      expect(bulk).toMatchObject({ resource: '/v1/admin/devices/bulk', request: { action: { type: 'set-group-tag', groupTag: 'Office' } }, after: { results: expect.arrayContaining([expect.objectContaining({ ok: true })]) } });
      const imported = AuditListSchema.parse((await call('GET', '/v1/admin/audit?action=importDevices')).json()).items.at(-1)!;
      expect(imported).toMatchObject({ request: { mediaType: 'text/csv', bytes: expect.any(Number), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }, after: { imported: 5 } });
      const network = AuditListSchema.parse((await call('GET', '/v1/admin/audit?action=putNetwork')).json()).items[0]!;
      expect(network.request).toMatchObject({ ssid: 'Lobby', psk: '[redacted]' });
      // Reads are not changes (a POST that previews included); a refused change changed nothing.
      expect(AuditListSchema.parse((await call('GET', '/v1/admin/audit?action=previewGroupRule')).json()).items).toEqual([]);
      expect(AuditListSchema.parse((await call('GET', '/v1/admin/audit?action=getDevice')).json()).items).toEqual([]);
      expect(AuditListSchema.parse((await call('GET', '/v1/admin/audit?actor=wallboard')).json()).items).toEqual([]);
    });

    it('verifies its chain, and finds an entry changed, removed or cut off', async () => {
      const verify = async () => AuditVerifySchema.parse((await call('GET', '/v1/admin/audit/verify')).json());
      const intact = await verify();
      expect(intact).toMatchObject({ ok: true, broken: null });
      expect(intact.entries).toBeGreaterThan(10);
      const db = service.store.db;
      const victim = await db.selectFrom('audit_log').selectAll().where('action', '=', 'updateDevice').orderBy('seq').executeTakeFirstOrThrow();
      await db.updateTable('audit_log').set({ actor_name: 'somebody-else' }).where('seq', '=', victim.seq).execute();
      expect(await verify()).toMatchObject({ ok: false, broken: { seq: Number(victim.seq), reason: expect.stringContaining('changed') } });
      await db.updateTable('audit_log').set({ actor_name: victim.actor_name }).where('seq', '=', victim.seq).execute();
      expect((await verify()).ok).toBe(true);

      await db.deleteFrom('audit_log').where('seq', '=', Number(victim.seq) + 1).execute();
      expect(await verify()).toMatchObject({ ok: false, broken: { seq: Number(victim.seq) + 2, reason: expect.stringContaining('missing') } });
      // Cutting off the end (and the gap) — the head still names the last entry.
      await db.deleteFrom('audit_log').where('seq', '>', Number(victim.seq)).execute();
      expect(await verify()).toMatchObject({ ok: false, broken: { reason: expect.stringContaining('removed from its end') } });
    });
  });
});
