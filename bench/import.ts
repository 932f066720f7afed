// `npm run bench:import`: importing 10,000 registrations from one CSV, on SQLite and on
// PostgreSQL, through the service's real import path (parse, decode every hash, duplicate
// checks, all-or-nothing insert). Baseline, measured in the same run on the same store: a plain
// bulk insert of the same rows with no validation. The ratio is the price of the checks.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { decodeHardwareHash } from '../protocol/hardware-hash.js';
import { csv, deviceRows } from '../lab/identities.js';
import { startPostgres } from '../lab/postgres.js';
import { importCsv } from '../backend/registrations/import.js';
import { now } from '../backend/store/database.js';
import { toRow } from '../backend/store/devices.js';
import { Store } from '../backend/store/store.js';

export interface ImportBenchRow {
  store: 'sqlite' | 'postgres';
  rows: number;
  importMs: number;
  baselineMs: number;
  ratio: number;
  rowsPerSecond: number;
}

async function measure(store: Store, rows: string[][], text: string): Promise<{ importMs: number; baselineMs: number }> {
  const start = process.hrtime.bigint();
  const { devices } = await importCsv(store, text);
  const importMs = Number(process.hrtime.bigint() - start) / 1e6;
  if (devices.length !== rows.length) throw new Error(`imported ${devices.length} of ${rows.length}`);
  await store.db.deleteFrom('devices').execute();

  // Baseline: the same rows, inserted in the same batches, without any checks.
  const at = now();
  const baselineStart = process.hrtime.bigint();
  await store.db.transaction().execute(async (trx) => {
    for (let i = 0; i < rows.length; i += 500) {
      await trx
        .insertInto('devices')
        .values(
          rows.slice(i, i + 500).map(([, hash]) =>
            // The same decode the import does once per row, and the same row; no other check.
            toRow({ identity: decodeHardwareHash(hash!), hardwareHash: hash!, groupTag: null, assignedUser: null, unverifiedHardware: false }, at),
          ),
        )
        .execute();
    }
  });
  const baselineMs = Number(process.hrtime.bigint() - baselineStart) / 1e6;
  await store.db.deleteFrom('devices').execute();
  return { importMs, baselineMs };
}

export async function runImportBench(options: { rows?: number; log?: (line: string) => void } = {}): Promise<ImportBenchRow[]> {
  const count = options.rows ?? 10_000;
  const log = options.log ?? (() => undefined);
  const rows = deviceRows(1, count, 'Bench');
  const text = csv(rows);
  const dir = mkdtempSync(join(tmpdir(), 'selfdeploy-bench-import-'));
  const postgres = await startPostgres();
  const results: ImportBenchRow[] = [];
  try {
    for (const kind of ['sqlite', 'postgres'] as const) {
      const url = kind === 'sqlite' ? `sqlite:${join(dir, 'bench.db')}` : await postgres.createDatabase('bench_import');
      const store = await Store.open(url);
      try {
        await measure(store, rows.slice(0, 500), csv(rows.slice(0, 500))); // warm-up: statement caches, pool
        const { importMs, baselineMs } = await measure(store, rows, text);
        results.push({ store: kind, rows: count, importMs, baselineMs, ratio: importMs / baselineMs, rowsPerSecond: (count / importMs) * 1000 });
        log(`${kind}: ${count} rows imported in ${importMs.toFixed(0)} ms`);
      } finally {
        await store.close();
      }
    }
  } finally {
    await postgres.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

export function formatImportBench(rows: ImportBenchRow[]): string {
  return [
    '| Store | Rows | import (ms) | plain insert (ms) | ratio import/insert | rows/s |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.store} | ${r.rows} | ${r.importMs.toFixed(0)} | ${r.baselineMs.toFixed(0)} | ${r.ratio.toFixed(2)} | ${r.rowsPerSecond.toFixed(0)} |`),
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write('CSV import benchmark: 10,000 registrations, all or nothing\n');
  const rows = await runImportBench({ log: (line) => process.stderr.write(`  ${line}\n`) });
  process.stdout.write(`${formatImportBench(rows)}\n`);
  const results = join(import.meta.dirname, '..', '..', 'bench', 'results');
  mkdirSync(results, { recursive: true });
  writeFileSync(join(results, 'import-latest.json'), JSON.stringify({ measuredAt: new Date().toISOString(), rows }, null, 2) + '\n');
}
