// The store's migrations as replicas meet them: several service processes opening a new database
// at the same moment migrate it once between them — each migration applied by exactly one — and
// every one of them ends up on the latest schema; a transaction's writes commit together or not at
// all. On SQLite and on a real PostgreSQL server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { sql } from 'kysely';
import { afterAll, describe, expect, inject, it } from 'vitest';

import { hash } from '../../lab/identities.js';
import { identityFromHash } from '../registrations/import.js';
import { freshDatabase } from '../testing/service.js';
import { LATEST_MIGRATION, migrations } from './migrations.js';
import { Store } from './store.js';

const scratch = mkdtempSync(join(tmpdir(), 'selfdeploy-store-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

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
    const store = await Store.open(await freshDatabase(kind, mkdtempSync(join(scratch, `${kind}-tx-`)), kind === 'postgres' ? inject('postgresAdminUrl') : undefined));
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
