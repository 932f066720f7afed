// The soak benchmark's path works and catches what it is there for: enrollments against one
// service process on SQLite and PostgreSQL, one at a time and many at once, with no failure, no
// descriptor left open, and the live heap after a full GC growing by well under 2 MB per 100
// enrollments even this early (caches and JIT still filling; a leak of a request's buffers would
// show as several MB per 100). npm run bench runs it long enough to show the steady state flat.
import { describe, expect, it } from 'vitest';

import { runSoakBench } from './soak.js';

describe('bench:soak', () => {
  it('enrolls hundreds of times against one service process on SQLite and PostgreSQL, its descriptors flat and its memory bounded', async () => {
    const rows = await runSoakBench({ devices: 16, warmUp: 100, batches: 2, batch: 60, concurrency: 8 });
    expect(rows.map((r) => r.store)).toEqual(['sqlite', 'postgres']);
    for (const row of rows) {
      expect(row.failures, row.store).toBe(0);
      expect(row.enrollments).toBe(100 + 4 * 60);
      expect(row.samples.map((s) => s.phase)).toEqual(['warm-up', 'sequential', 'sequential', 'concurrent', 'concurrent']);
      expect(Math.abs(row.fdGrowth), `${row.store} descriptors ${JSON.stringify(row.samples)}`).toBeLessThanOrEqual(2);
      expect(row.heapMbPer100, `${row.store} live heap ${JSON.stringify(row.samples)}`).toBeLessThan(2);
      expect(row.rssMbPer100, `${row.store} resident memory ${JSON.stringify(row.samples)}`).toBeLessThan(10);
    }
  }, 240_000);
});
