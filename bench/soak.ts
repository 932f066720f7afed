// `npm run bench:soak`: hundreds of full enrollments against one `selfdeploy-server` process that
// is never restarted — first one at a time, then many at once — on SQLite and on PostgreSQL,
// sampling the service's resident memory and open file descriptors (its sockets, database files
// and pipes) as it goes. Flat means: after a warm-up, neither keeps growing with the work done.
// Memory is read as the kernel reports it (VmRSS of /proc/PID/status) and as the live JS heap
// after a full garbage collection (a probe loaded into the service for the benchmark only:
// bench/soak-probe.cjs), descriptors from /proc/PID/fd — between batches, the clients gone.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { packageRoot } from '../main/installation/layout.js';

import { startPostgres } from '../lab/postgres.js';
import { runEnrollments, startBenchService, type BenchService } from './attest.js';

const PROBE = join(packageRoot(), 'bench', 'soak-probe.cjs');

export interface SoakSample {
  /** Enrollments done when the sample was taken (after the warm-up). */
  done: number;
  phase: 'warm-up' | 'sequential' | 'concurrent';
  rssMb: number;
  /** The live JS heap after a full GC. */
  heapMb: number;
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
  /** Live heap (after GC) growth from the warm-up to the end, and per 100 enrollments. */
  heapGrowthMb: number;
  heapMbPer100: number;
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

/** Asks the probe in the service for a full GC and its memory afterwards. */
async function liveHeapMb(pid: number, file: string): Promise<number> {
  const before = existsSync(file) ? statSync(file).mtimeMs : 0;
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 100; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    if (existsSync(file) && statSync(file).mtimeMs !== before) return (JSON.parse(readFileSync(file, 'utf8')) as { heapUsed: number }).heapUsed / 1024 / 1024;
  }
  throw new Error('the service’s memory probe did not answer');
}

async function soakOne(service: BenchService, probe: string, options: { warmUp: number; batches: number; batch: number; concurrency: number; log: (line: string) => void }): Promise<SoakRow> {
  const samples: SoakSample[] = [];
  const sample = async (phase: SoakSample['phase'], done: number) => {
    await settle();
    const heapMb = await liveHeapMb(service.pid, probe);
    samples.push({ done, phase, rssMb: rssMb(service.pid), heapMb, fds: fdCount(service.pid) });
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
    heapGrowthMb: last.heapMb - first.heapMb,
    heapMbPer100: ((last.heapMb - first.heapMb) / Math.max(1, done)) * 100,
    sequentialPerMinute: (sequential / sequentialMs) * 60_000,
    concurrentPerMinute: (concurrent / concurrentMs) * 60_000,
  };
}

export async function runSoakBench(
  options: { stores?: ('sqlite' | 'postgres')[]; devices?: number; warmUp?: number; batches?: number; batch?: number; concurrency?: number; log?: (line: string) => void } = {},
): Promise<SoakRow[]> {
  const stores = options.stores ?? ['sqlite', 'postgres'];
  // The warm-up goes past the service's bounded caches (1,000 certificate keys) and its JIT settling, so what follows shows the steady state.
  const settings = { warmUp: options.warmUp ?? 1100, batches: options.batches ?? 3, batch: options.batch ?? 150, concurrency: options.concurrency ?? 16, log: options.log ?? (() => undefined) };
  const postgres = stores.includes('postgres') ? await startPostgres() : undefined;
  try {
    const rows: SoakRow[] = [];
    for (const kind of stores) {
      const probe = join(mkdtempSync(join(tmpdir(), 'selfdeploy-soak-')), 'memory.json');
      const service = await startBenchService(kind, postgres, options.devices ?? 32, { args: ['--expose-gc', '-r', PROBE], env: { SOAK_PROBE_FILE: probe } });
      try {
        rows.push(await soakOne(service, probe, settings));
      } finally {
        await service.stop();
        rmSync(dirname(probe), { recursive: true, force: true });
      }
    }
    return rows;
  } finally {
    await postgres?.stop();
  }
}

export function formatSoakBench(rows: SoakRow[]): string {
  return [
    '| Store | Enrollments (failed) | One at a time /min | 16 at a time /min | Live heap after GC, warm-up → end (MB) | heap MB per 100 | RSS warm-up → end (MB) | RSS MB per 100 | Open fds warm-up → end |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => {
      const first = r.samples[0]!;
      const last = r.samples.at(-1)!;
      return `| ${r.store} | ${r.enrollments} (${r.failures}) | ${r.sequentialPerMinute.toFixed(0)} | ${r.concurrentPerMinute.toFixed(0)} | ${first.heapMb.toFixed(1)} → ${last.heapMb.toFixed(1)} | ${r.heapMbPer100.toFixed(2)} | ${first.rssMb.toFixed(1)} → ${last.rssMb.toFixed(1)} | ${r.rssMbPer100.toFixed(2)} | ${first.fds} → ${last.fds} |`;
    }),
    '',
    'Samples (enrollments after the warm-up: live heap MB / RSS MB / open fds): ' +
      rows.map((r) => `${r.store}: ${r.samples.map((s) => `${s.done}: ${s.heapMb.toFixed(1)}/${s.rssMb.toFixed(0)}/${s.fds}`).join(', ')}`).join('; '),
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write('Soak: enrollments against one service process, one at a time then 16 at a time, memory and descriptors sampled\n');
  const rows = await runSoakBench({ log: (line) => process.stderr.write(`  ${line}\n`) });
  process.stdout.write(`${formatSoakBench(rows)}\n`);
}
