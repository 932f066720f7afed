// `npm run bench:soak`: hundreds of full enrollments against one `selfdeploy-server` process that
// is never restarted — first one at a time, then many at once — on SQLite and on PostgreSQL,
// sampling the service's resident memory and open file descriptors (its sockets, database files
// and pipes) as it goes. Flat means: after a warm-up, neither keeps growing with the work done.
// Memory is read as the kernel reports it (VmRSS of /proc/PID/status), descriptors from
// /proc/PID/fd, both between batches with the clients' connections closed.
import { readFileSync, readdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

import { startPostgres } from '../lab/postgres.js';
import { runEnrollments, startBenchService, type BenchService } from './attest.js';

export interface SoakSample {
  /** Enrollments done when the sample was taken (after the warm-up). */
  done: number;
  phase: 'warm-up' | 'sequential' | 'concurrent';
  rssMb: number;
  fds: number;
}

export interface SoakRow {
  store: 'sqlite' | 'postgres';
  enrollments: number;
  failures: number;
  samples: SoakSample[];
  /** Growth from the sample after the warm-up to the last one. */
  rssGrowthMb: number;
  fdGrowth: number;
  /** Resident memory growth per 100 enrollments after the warm-up. */
  rssMbPer100: number;
  sequentialPerMinute: number;
  concurrentPerMinute: number;
}

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.replace(/\D+/g, '')) / 1024;
}

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Lets the service close the connections of the client that just went away. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

async function soakOne(service: BenchService, options: { warmUp: number; batches: number; batch: number; concurrency: number; log: (line: string) => void }): Promise<SoakRow> {
  const samples: SoakSample[] = [];
  const sample = async (phase: SoakSample['phase'], done: number) => {
    await settle();
    samples.push({ done, phase, rssMb: rssMb(service.pid), fds: fdCount(service.pid) });
  };
  let failures = 0;
  const warm = await runEnrollments(service, options.warmUp, options.concurrency, options.log);
  failures += warm.failures;
  await sample('warm-up', 0);
  let done = 0;
  let sequentialMs = 0;
  let concurrentMs = 0;
  let sequential = 0;
  let concurrent = 0;
  for (const phase of ['sequential', 'concurrent'] as const) {
    for (let b = 0; b < options.batches; b++) {
      const run = await runEnrollments(service, options.batch, phase === 'sequential' ? 1 : options.concurrency, options.log);
      failures += run.failures;
      done += run.enrollments;
      if (phase === 'sequential') {
        sequentialMs += run.wallMs;
        sequential += run.enrollments;
      } else {
        concurrentMs += run.wallMs;
        concurrent += run.enrollments;
      }
      await sample(phase, done);
    }
  }
  const first = samples[0]!;
  const last = samples.at(-1)!;
  options.log(`${service.store}: ${done} enrollments after the warm-up; RSS ${first.rssMb.toFixed(1)} → ${last.rssMb.toFixed(1)} MB, fds ${first.fds} → ${last.fds}`);
  return {
    store: service.store,
    enrollments: done + warm.enrollments,
    failures,
    samples,
    rssGrowthMb: last.rssMb - first.rssMb,
    fdGrowth: last.fds - first.fds,
    rssMbPer100: ((last.rssMb - first.rssMb) / Math.max(1, done)) * 100,
    sequentialPerMinute: (sequential / sequentialMs) * 60_000,
    concurrentPerMinute: (concurrent / concurrentMs) * 60_000,
  };
}

export async function runSoakBench(
  options: { stores?: ('sqlite' | 'postgres')[]; devices?: number; warmUp?: number; batches?: number; batch?: number; concurrency?: number; log?: (line: string) => void } = {},
): Promise<SoakRow[]> {
  const stores = options.stores ?? ['sqlite', 'postgres'];
  const settings = { warmUp: options.warmUp ?? 50, batches: options.batches ?? 3, batch: options.batch ?? 50, concurrency: options.concurrency ?? 16, log: options.log ?? (() => undefined) };
  const postgres = stores.includes('postgres') ? await startPostgres() : undefined;
  try {
    const rows: SoakRow[] = [];
    for (const kind of stores) {
      const service = await startBenchService(kind, postgres, options.devices ?? 32);
      try {
        rows.push(await soakOne(service, settings));
      } finally {
        await service.stop();
      }
    }
    return rows;
  } finally {
    await postgres?.stop();
  }
}

export function formatSoakBench(rows: SoakRow[]): string {
  return [
    '| Store | Enrollments (failed) | One at a time /min | 16 at a time /min | RSS after warm-up → end (MB) | MB per 100 enrollments | Open fds after warm-up → end |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => {
      const first = r.samples[0]!;
      const last = r.samples.at(-1)!;
      return `| ${r.store} | ${r.enrollments} (${r.failures}) | ${r.sequentialPerMinute.toFixed(0)} | ${r.concurrentPerMinute.toFixed(0)} | ${first.rssMb.toFixed(1)} → ${last.rssMb.toFixed(1)} | ${r.rssMbPer100.toFixed(2)} | ${first.fds} → ${last.fds} |`;
    }),
    '',
    'Samples (enrollments after the warm-up: RSS MB / open fds): ' +
      rows.map((r) => `${r.store}: ${r.samples.map((s) => `${s.done}: ${s.rssMb.toFixed(0)}/${s.fds}`).join(', ')}`).join('; '),
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write('Soak: enrollments against one service process, one at a time then 16 at a time, memory and descriptors sampled\n');
  const rows = await runSoakBench({ log: (line) => process.stderr.write(`  ${line}\n`) });
  process.stdout.write(`${formatSoakBench(rows)}\n`);
}
