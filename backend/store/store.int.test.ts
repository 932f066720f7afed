// The store's migrations as replicas meet them: several service processes opening a new database
// at the same moment migrate it once between them — each migration applied by exactly one — and
// every one of them ends up on the latest schema. On SQLite and on a real PostgreSQL server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { sql } from 'kysely';
import { afterAll, describe, expect, inject, it } from 'vitest';

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
