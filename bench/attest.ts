// `npm run bench:attest`: full enrollments (challenge → response → join → token) by many
// simulated devices at once against one `selfdeploy-server` process on loopback HTTPS, on SQLite
// and on PostgreSQL. Devices run the agent's own enrollment code over software TPMs
// (lab/soft-tpm.ts), so the figures are the service's. Reports enrollments per minute, p50/p99
// latency and the service's CPU milliseconds per enrollment, with a baseline measured in the
// same run on the same server (GET /v1/health at the same concurrency).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import { HealthSchema, ImportResultSchema } from '../protocol/api/admin.js';
import { toHex } from '../protocol/encoding.js';
import { ServiceClient } from '../protocol/node/https-client.js';
import { csv, hash, identity } from '../lab/identities.js';
import { startPostgres, type PostgresServer } from '../lab/postgres.js';
import { SoftTpm } from '../lab/soft-tpm.js';
import { createCa } from '../backend/tenant/pki.js';
import { DeviceApi } from '../main/backend-client/device-api.js';
import { deviceToken, enroll } from '../main/enrollment/enroll.js';
import { packageRoot } from '../main/tpm/native.js';
import type { EnrollmentState, EnrollmentStatePort } from '../main/enrollment/state.js';
import { freePort } from '../lab/net.js';

const exec = promisify(execFile);
/** The built service command, from the source tree (tests) or dist/ (npm run bench) alike. */
const serverCli = join(packageRoot(), 'dist', 'backend', 'cli', 'server.js');

export interface AttestBenchRow {
  store: 'sqlite' | 'postgres';
  devices: number;
  concurrency: number;
  enrollments: number;
  failures: number;
  wallMs: number;
  enrollmentsPerMinute: number;
  p50Ms: number;
  p99Ms: number;
  serviceCpuMsPerEnrollment: number;
  /** Baseline: GET /v1/health per minute at the same concurrency, same server, same run. */
  healthPerMinute: number;
  /** Full enrollments per minute against the 1,000 registrations per minute of one Azure DPS instance. */
  vsDpsAnchor: number;
}

class MemoryState implements EnrollmentStatePort {
  private state: EnrollmentState | undefined;
  load() {
    return this.state;
  }
  save(state: EnrollmentState) {
    this.state = state;
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** utime + stime of a process, in milliseconds (/proc/PID/stat fields 14 and 15, in clock ticks). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function pool(concurrency: number, tasks: (() => Promise<void>)[]): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < tasks.length) await tasks[next++]!();
  }));
}

async function runOne(kind: 'sqlite' | 'postgres', postgres: PostgresServer | undefined, options: { devices: number; concurrency: number; rounds: number; log: (line: string) => void }): Promise<AttestBenchRow> {
  const dir = mkdtempSync(join(tmpdir(), `selfdeploy-bench-attest-${kind}-`));
  let server: ChildProcess | undefined;
  try {
    const manufacturer = await createCa('Soft TPM manufacturer CA');
    writeFileSync(join(dir, 'manufacturer.pem'), manufacturer.certificatePem);
    const db = kind === 'sqlite' ? 'sqlite:selfdeploy.db' : await postgres!.createDatabase(`bench_attest_${Date.now()}`);
    const port = await freePort();
    const data = join(dir, 'data');
    const init = await exec(process.execPath, [serverCli, 'init', '--data', data, '--org', 'Bench', '--db', db, '--listen', `127.0.0.1:${port}`, '--trust-anchor', join(dir, 'manufacturer.pem'), '--json']);
    const { adminToken } = JSON.parse(init.stdout) as { adminToken: string };
    const config = JSON.parse(readFileSync(join(data, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(data, 'config.json'), JSON.stringify({ ...config, deviceRateLimitPerMinute: 100_000 }));
    server = spawn(process.execPath, [serverCli, 'start', '--data', data], { stdio: 'ignore' });
    const ca = readFileSync(join(data, 'service-ca.pem'), 'utf8');
    const url = new URL(`https://127.0.0.1:${port}`);
    const admin = new ServiceClient({ server: url, ca, headers: { authorization: `Bearer ${adminToken}` }, retry: { attempts: 40, baseDelayMs: 100, maxDelayMs: 250 } });
    await admin.call('GET', '/v1/health', { schema: HealthSchema });

    // Registrations of the simulated devices, a group and a profile with a name template.
    const tpms = await Promise.all(Array.from({ length: options.devices }, () => SoftTpm.create(manufacturer)));
    const rows = tpms.map((tpm, i) => [identity(i).serial, hash(i, { ekDigest: toHex(tpm.ekDigest), tpmManufacturer: 'SIM' }), 'Bench', '']);
    await admin.call('POST', '/v1/admin/devices/import', { schema: ImportResultSchema, text: csv(rows), contentType: 'text/csv' });
    await admin.call('POST', '/v1/admin/groups', { json: { name: 'bench', kind: 'dynamic', groupTag: 'Bench' } });
    await admin.call('PUT', '/v1/admin/profiles/bench', { json: { deviceName: { template: 'BENCH-%RAND:5%' } } });
    await admin.call('POST', '/v1/admin/profiles/bench/assignments', { json: { group: 'bench' } });

    // Baseline: health checks at the same concurrency for two seconds.
    let healthChecks = 0;
    const baselineEnd = Date.now() + 2_000;
    await Promise.all(Array.from({ length: options.concurrency }, async () => {
      while (Date.now() < baselineEnd) {
        await admin.call('GET', '/v1/health', { schema: HealthSchema });
        healthChecks++;
      }
    }));
    admin.close();

    const api = new DeviceApi({ server: url, ca });
    const latencies: number[] = [];
    let failures = 0;
    // One device enrolls again only after its previous enrollment: a join revokes the device's
    // earlier certificate, as when a re-imaged device enrolls anew. Devices run side by side.
    const tasks = tpms.map((tpm, i) => async () => {
      for (let round = 0; round < options.rounds; round++) {
        const start = performance.now();
        try {
          const store = new MemoryState();
          await enroll({ tpm, api, store, registration: { serial: identity(i).serial, hardwareHash: rows[i]![1]! } });
          await deviceToken({ tpm, api, store });
          latencies.push(performance.now() - start);
        } catch (error) {
          failures++;
          options.log(`enrollment failed: ${(error as Error).message}`);
        }
      }
    });
    const cpuBefore = cpuMs(server.pid!);
    const started = performance.now();
    await pool(options.concurrency, tasks);
    const wallMs = performance.now() - started;
    const cpu = cpuMs(server.pid!) - cpuBefore;
    api.close();
    latencies.sort((a, b) => a - b);
    const perMinute = (latencies.length / wallMs) * 60_000;
    options.log(`${kind}: ${latencies.length} enrollments in ${(wallMs / 1000).toFixed(1)} s`);
    return {
      store: kind,
      devices: options.devices,
      concurrency: options.concurrency,
      enrollments: latencies.length,
      failures,
      wallMs,
      enrollmentsPerMinute: perMinute,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      serviceCpuMsPerEnrollment: cpu / Math.max(1, latencies.length),
      healthPerMinute: (healthChecks / 2_000) * 60_000,
      vsDpsAnchor: perMinute / 1_000,
    };
  } finally {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runAttestBench(options: { stores?: ('sqlite' | 'postgres')[]; devices?: number; concurrency?: number; rounds?: number; log?: (line: string) => void } = {}): Promise<AttestBenchRow[]> {
  const stores = options.stores ?? ['sqlite', 'postgres'];
  const settings = { devices: options.devices ?? 64, concurrency: options.concurrency ?? 16, rounds: options.rounds ?? 4, log: options.log ?? (() => undefined) };
  const postgres = stores.includes('postgres') ? await startPostgres() : undefined;
  try {
    const rows: AttestBenchRow[] = [];
    for (const kind of stores) rows.push(await runOne(kind, postgres, settings));
    return rows;
  } finally {
    await postgres?.stop();
  }
}

export function formatAttestBench(rows: AttestBenchRow[]): string {
  return [
    '| Store | Devices | Concurrency | Enrollments (failed) | Enrollments/min | p50 ms | p99 ms | Service CPU ms/enrollment | Health checks/min (baseline) | Enrollments per health check | × DPS anchor (1,000/min) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.store} | ${r.devices} | ${r.concurrency} | ${r.enrollments} (${r.failures}) | ${r.enrollmentsPerMinute.toFixed(0)} | ${r.p50Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)} | ${r.serviceCpuMsPerEnrollment.toFixed(1)} | ${r.healthPerMinute.toFixed(0)} | ${(r.enrollmentsPerMinute / r.healthPerMinute).toFixed(3)} | ${r.vsDpsAnchor.toFixed(1)} |`,
    ),
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const devices = Number(process.env['BENCH_DEVICES'] ?? 64);
  const concurrency = Number(process.env['BENCH_CONCURRENCY'] ?? 16);
  process.stdout.write(`Attestation benchmark: ${devices} simulated devices, ${concurrency} at a time, full enrollment + token each\n`);
  const rows = await runAttestBench({ devices, concurrency, log: (line) => process.stderr.write(`  ${line}\n`) });
  process.stdout.write(`${formatAttestBench(rows)}\n`);
  const results = join(import.meta.dirname, '..', '..', 'bench', 'results');
  mkdirSync(results, { recursive: true });
  writeFileSync(join(results, 'attest-latest.json'), JSON.stringify({ measuredAt: new Date().toISOString(), rows }, null, 2) + '\n');
}
