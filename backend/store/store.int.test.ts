// The store's migrations as replicas meet them: several service processes opening a new database
// at the same moment migrate it once between them — each migration applied by exactly one — and
// every one of them ends up on the latest schema; a transaction's writes commit together or not at
// all; a device's live certificate is found by an index, however many revoked ones it has; a query
// prepared once runs with each call's values (on PostgreSQL as a statement the server prepared); documents reaching groups come in one statement; a client assertion's jti gives one access token; the tenant's settings are read alone. On
// SQLite and on a real PostgreSQL server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { sql } from 'kysely';
import { afterAll, describe, expect, inject, it } from 'vitest';

import { hash } from '../../lab/identities.js';
import { TenantSettingsSchema } from '../../protocol/api/admin.js';
import { BrandingSchema } from '../../protocol/branding.js';
import { DeploymentProfileSchema } from '../../protocol/profile.js';
import { identityFromHash } from '../registrations/import.js';
import { freshDatabase } from '../testing/service.js';
import { prepared } from './database.js';
import { LATEST_MIGRATION, migrations } from './migrations.js';
import { Store } from './store.js';

const scratch = mkdtempSync(join(tmpdir(), 'selfdeploy-store-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A store on a new database of its own. */
const openStore = async (kind: 'sqlite' | 'postgres', label: string) =>
  Store.open(await freshDatabase(kind, mkdtempSync(join(scratch, `${kind}-${label}-`)), kind === 'postgres' ? inject('postgresAdminUrl') : undefined));

describe.each(['sqlite', 'postgres'] as const)('migrations on %s', (kind) => {
  it('are applied once when three replicas open a new database together, and not again after', async () => {
    const url = await freshDatabase(kind, mkdtempSync(join(scratch, `${kind}-`)), kind === 'postgres' ? inject('postgresAdminUrl') : undefined);
    const stores = await Promise.all([Store.open(url), Store.open(url), Store.open(url)]);
    try {
      const all = Object.keys(migrations(kind)).sort();
      const applied = stores.flatMap((s) => [...s.migrated]).sort();
      expect(applied).toEqual(all);
      const rows = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(stores[0].db);
      expect(rows.rows.map((r) => r.name)).toEqual(all);
      expect(all.at(-1)).toBe(LATEST_MIGRATION);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
    const again = await Store.open(url);
    expect(again.migrated).toEqual([]);
    await again.close();
  });
});

describe.each(['sqlite', 'postgres'] as const)('transactions on %s', (kind) => {
  it("commit a transaction's writes together — a repository's own transaction joining it — and none of them when it throws", async () => {
    const store = await openStore(kind, 'tx');
    try {
      const [device] = await store.devices.insertAll([{ identity: identityFromHash(hash(0), 'hash'), hardwareHash: hash(0), groupTag: null, assignedUser: null, unverifiedHardware: false }]);
      const day = 86_400_000;
      const certificate = (serial: string) => ({ device_id: device!.id, serial_number: serial, pem: `pem ${serial}`, device_key_public: 'key', not_before: new Date(Date.now() - day).toISOString(), not_after: new Date(Date.now() + day).toISOString() });
      const joined = (tx: Store, serial: string) => tx.certificates.issue(certificate(serial)).then(() => tx.devices.setJoined(device!.id, `KIOSK-${serial}`));
      await expect(
        store.transaction(async (tx) => {
          await joined(tx, '01'); // certificates.issue opens its own transaction: it joins this one
          throw new Error('the join failed halfway');
        }),
      ).rejects.toThrow('the join failed halfway');
      expect(await store.certificates.live(device!.id)).toBeUndefined();
      expect((await store.devices.get(device!.id))?.deviceName).toBeNull();
      await store.transaction((tx) => joined(tx, '02'));
      expect((await store.certificates.live(device!.id))?.serial_number).toBe('02');
      expect((await store.devices.get(device!.id))?.deviceName).toBe('KIOSK-02');
    } finally {
      await store.close();
    }
  });
});

describe.each(['sqlite', 'postgres'] as const)('device certificates on %s', (kind) => {
  it("find a device's live certificate among the revoked ones its re-enrollments left, by the index on device and revocation", async () => {
    const store = await openStore(kind, 'certs');
    try {
      const [device, other] = await store.devices.insertAll([0, 1].map((i) => ({ identity: identityFromHash(hash(i), 'hash'), hardwareHash: hash(i), groupTag: null, assignedUser: null, unverifiedHardware: false })));
      const day = 86_400_000;
      const issue = (deviceId: string, serial: string) =>
        store.certificates.issue({ device_id: deviceId, serial_number: serial, pem: `pem ${serial}`, device_key_public: 'key', not_before: new Date(Date.now() - day).toISOString(), not_after: new Date(Date.now() + day).toISOString() });
      for (let i = 1; i <= 40; i++) await issue(device!.id, `a${String(i).padStart(2, '0')}`);
      await issue(other!.id, 'b01');
      expect((await store.certificates.live(device!.id))?.serial_number).toBe('a40');
      expect(await store.certificates.countIssued(device!.id)).toBe(40);
      expect((await store.certificates.listFor(device!.id)).filter((c) => c.revokedAt === null).map((c) => c.serialNumber)).toEqual(['a40']);
      if (kind === 'sqlite') {
        // What the token request and the join run: a seek to the live rows, not a walk through the revoked ones.
        const plan = async (query: string) => (await sql.raw<{ detail: string }>(`explain query plan ${query}`).execute(store.db)).rows.map((r) => r.detail).join('; ');
        expect(await plan(`select * from device_certificates where device_id = 'x' and revoked_at is null and not_after > 'x' and not_before <= 'x' order by created_at desc limit 1`)).toContain('device_certificates_device (device_id=? AND revoked_at=?)');
        expect(await plan(`update device_certificates set revoked_at = 'x' where device_id = 'x' and revoked_at is null`)).toContain('device_certificates_device (device_id=? AND revoked_at=?)');
      }
      await store.certificates.revokeFor(device!.id);
      expect(await store.certificates.live(device!.id)).toBeUndefined();
      expect((await store.certificates.live(other!.id))?.serial_number).toBe('b01');
    } finally {
      await store.close();
    }
  });
});

describe.each(['sqlite', 'postgres'] as const)('prepared queries on %s', (kind) => {
  it("are built once and run with each call's own values, in a transaction too; a null goes through, a missing value is refused", async () => {
    const store = await openStore(kind, 'prepared');
    try {
      const [a, b] = await store.devices.insertAll([0, 1].map((i) => ({ identity: identityFromHash(hash(i), 'hash'), hardwareHash: hash(i), groupTag: `tag-${i}`, assignedUser: null, unverifiedHardware: false })));
      let builds = 0;
      const serialOf = prepared((db, $: { id: string }) => {
        builds++;
        return db.selectFrom('devices').select('serial').where('id', '=', $.id);
      });
      const setTag = prepared((db, $: { id: string; tag: string | null }) => db.updateTable('devices').set({ group_tag: $.tag }).where('id', '=', $.id));
      expect((await serialOf.run(store.db, { id: a!.id })).rows).toEqual([{ serial: a!.serial }]);
      expect((await serialOf.run(store.db, { id: b!.id })).rows).toEqual([{ serial: b!.serial }]);
      await store.transaction(async (tx) => {
        expect((await serialOf.run(tx.db, { id: b!.id })).rows).toEqual([{ serial: b!.serial }]);
        expect(Number((await setTag.run(tx.db, { id: a!.id, tag: null })).numAffectedRows)).toBe(1);
      });
      expect(builds).toBe(1);
      expect((await store.devices.get(a!.id))?.groupTag).toBeNull();
      expect((await store.devices.get(b!.id))?.groupTag).toBe('tag-1');
      await expect(setTag.run(store.db, { id: b!.id } as { id: string; tag: string | null })).rejects.toThrow('prepared query: no value for tag');
      expect((await store.devices.get(b!.id))?.groupTag).toBe('tag-1');
      if (kind === 'postgres') {
        // Parsed and planned once per connection: a named statement on the server, run by name again.
        await store.transaction(async (tx) => {
          await serialOf.run(tx.db, { id: a!.id });
          const { rows } = await sql<{ name: string; calls: number }>`select name, generic_plans + custom_plans as calls from pg_prepared_statements where statement like ${'select "serial" from "devices"%'}`.execute(tx.db);
          expect(rows).toHaveLength(1);
          expect(rows[0]!.name).toMatch(/^selfdeploy_\d+$/);
          await serialOf.run(tx.db, { id: b!.id });
          const again = await sql<{ calls: number }>`select generic_plans + custom_plans as calls from pg_prepared_statements where name = ${rows[0]!.name}`.execute(tx.db);
          expect(Number(again.rows[0]!.calls)).toBe(Number(rows[0]!.calls) + 1);
        });
      }
    } finally {
      await store.close();
    }
  });
});

describe.each(['sqlite', 'postgres'] as const)('documents reaching groups on %s', (kind) => {
  it('come with their assignments in one statement, oldest assignment first, a document reaching two groups parsed once', async () => {
    const store = await openStore(kind, 'docs');
    try {
      const [lab, lobby, other] = await Promise.all(['lab', 'lobby', 'other'].map((name) => store.groups.create({ name, kind: 'static', description: '' })));
      const { document: kiosk } = await store.profiles.put('kiosk', DeploymentProfileSchema.parse({ deviceName: { template: 'KIOSK-%SERIAL%' } }));
      const { document: desk } = await store.profiles.put('desk', DeploymentProfileSchema.parse({}));
      await store.profiles.assign(kiosk, lobby!);
      await new Promise((resolve) => setTimeout(resolve, 5));
      await store.profiles.assign(desk, lab!);
      await new Promise((resolve) => setTimeout(resolve, 5));
      await store.profiles.assign(kiosk, lab!);
      const reaching = await store.profiles.forGroups([lab!, lobby!, other!]);
      expect(reaching.map((a) => [a.document.name, a.group])).toEqual([
        ['kiosk', 'lobby'],
        ['desk', 'lab'],
        ['kiosk', 'lab'],
      ]);
      expect(reaching[0]!.document).toBe(reaching[2]!.document);
      expect(reaching[0]!.document.body.deviceName).toMatchObject({ template: 'KIOSK-%SERIAL%' });
      expect((await store.profiles.forGroups([lab!])).map((a) => a.document.name)).toEqual(['desk', 'kiosk']);
      expect(await store.profiles.forGroups([other!])).toEqual([]);
      expect(await store.profiles.forGroups([])).toEqual([]);
      expect(await store.policies.forGroups([lab!, lobby!])).toEqual([]);
    } finally {
      await store.close();
    }
  });
});

describe.each(['sqlite', 'postgres'] as const)('client assertions exchanged on %s', (kind) => {
  it('give one access token per jti: a replayed jti gets none and makes nothing, also when both race', async () => {
    const store = await openStore(kind, 'jti');
    try {
      const [device] = await store.devices.insertAll([{ identity: identityFromHash(hash(0), 'hash'), hardwareHash: hash(0), groupTag: null, assignedUser: null, unverifiedHardware: false }]);
      const expires = new Date(Date.now() + 300_000).toISOString();
      const tokens = async () => (await store.db.selectFrom('device_access_tokens').select('token_hash').where('device_id', '=', device!.id).execute()).length;
      const first = await store.certificates.exchangeAssertion(device!.id, 'jti-1', expires, 600);
      expect(first).toMatch(/^sdd_/);
      expect(await store.certificates.verifyAccessToken(first!)).toBe(device!.id);
      expect(await store.certificates.exchangeAssertion(device!.id, 'jti-1', expires, 600)).toBeUndefined();
      expect(await tokens()).toBe(1);
      const racing = await Promise.all([0, 1, 2].map(() => store.certificates.exchangeAssertion(device!.id, 'jti-2', expires, 600)));
      expect(racing.filter(Boolean)).toHaveLength(1);
      expect(await tokens()).toBe(2);
      // In a transaction too, and undone with it.
      await expect(
        store.transaction(async (tx) => {
          expect(await tx.certificates.exchangeAssertion(device!.id, 'jti-3', expires, 600)).toMatch(/^sdd_/);
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      expect(await tokens()).toBe(2);
      expect(await store.certificates.exchangeAssertion(device!.id, 'jti-3', expires, 600)).toMatch(/^sdd_/);
    } finally {
      await store.close();
    }
  });
});

describe.each(['sqlite', 'postgres'] as const)('the tenant on %s', (kind) => {
  it('gives its settings alone as the whole tenant has them, and TENANT_NOT_INITIALIZED before init', async () => {
    const store = await openStore(kind, 'tenant');
    try {
      await expect(store.tenant.settings()).rejects.toMatchObject({ code: 'TENANT_NOT_INITIALIZED' });
      const settings = TenantSettingsSchema.parse({ bindEkOnFirstUse: true, allowVirtualTpms: true, reprovisionSameTpm: true });
      await store.tenant.create(BrandingSchema.parse({ organizationName: 'Fabrikam', support: {} }), settings);
      expect(await store.tenant.settings()).toEqual(settings);
      expect((await store.tenant.require()).settings).toEqual(settings);
    } finally {
      await store.close();
    }
  });
});
