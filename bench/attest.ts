// `npm run bench:attest`: full enrollments (challenge → response → join → token) by many
// simulated devices at once against one `selfdeploy-server` process on loopback HTTPS, on SQLite
// and on PostgreSQL. Devices run the agent's own enrollment code over software TPMs
// (lab/soft-tpm.ts), so the figures are the service's. Reports enrollments per minute, p50/p99
// latency and the service's CPU milliseconds per enrollment, with a baseline measured in the
// same run on the same server (health checks at the same concurrency).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createECDH, createHash, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import { admin as adminApi, device, documents } from '../protocol/api/endpoints.js';
import { toHex } from '../protocol/encoding.js';
import { ServiceClient } from '../protocol/node/https-client.js';
import { csv, hash, identity } from '../lab/identities.js';
import { startPostgres, type PostgresServer } from '../lab/postgres.js';
import { SoftTpm } from '../lab/soft-tpm.js';
import { createCa } from '../backend/tenant/pki.js';
import { DeviceApi } from '../main/backend-client/device-api.js';
import { deviceToken, enroll } from '../main/enrollment/enroll.js';
import { serverCli as installedServerCli } from '../main/installation/layout.js';
import type { EnrollmentState, EnrollmentStatePort } from '../main/enrollment/state.js';
import { percentile } from '../lab/fleet.js';
import { freePort } from '../lab/net.js';

const exec = promisify(execFile);
/** The built service command, from the source tree (tests) or dist/ (npm run bench) alike. */
const serverCli = installedServerCli();

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
  /** What one core does in a minute at that CPU cost: 60,000 / serviceCpuMsPerEnrollment. */
  enrollmentsPerMinutePerCore: number;
  /** The cryptography an enrollment needs, done directly with Node's crypto in the same run (ms). */
  cryptoFloorMs: number;
  /** PostgreSQL's CPU (server and backends) per enrollment, ms; null on SQLite (in the service's process). */
  databaseCpuMsPerEnrollment: number | null;
  /** Baseline: health checks per minute at the same concurrency, same server, same run. */
  healthPerMinute: number;
  /** Full enrollments per minute against the 1,000 registrations per minute of one Azure DPS instance. */
  vsDpsAnchor: number;
  /** Enrollments the service did before this store's measurements (its code optimised, its caches filled). */
  warmupEnrollments: number;
}

/**
 * Enrollments before measuring: a service runs for weeks, and its first few hundred requests
 * also pay V8's compilation of its code (about a third more CPU per enrollment here).
 */
export const DEFAULT_WARMUP = 1_000;

class MemoryState implements EnrollmentStatePort {
  private state: EnrollmentState | undefined;
  load() {
    return this.state;
  }
  save(state: EnrollmentState) {
    this.state = state;
  }
}


/** utime + stime of a process, in milliseconds (/proc/PID/stat fields 14 and 15, in clock ticks). */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/**
 * The crypto floor: the operations the service cannot do without for one of this benchmark's
 * enrollments, with Node's crypto on keys like its devices' (ECDSA P-256 throughout, an ECC EK)
 * — verify the EK certificate's signature by the manufacturer CA, make the credential (an
 * ephemeral P-256 key and ECDH with the EK; the hashes and AES are negligible), verify the quote,
 * the device key's certification, the CSR and the client assertion, sign the device certificate —
 * in milliseconds per enrollment, the best of a few rounds.
 */
export function cryptoFloorMs(rounds = 5, perRound = 200): number {
  const ca = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const device = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ek = createECDH('prime256v1').generateKeys();
  const message = randomBytes(300);
  const signature = sign('sha256', message, device.privateKey);
  const caSignature = sign('sha256', message, ca.privateKey);
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    for (let i = 0; i < perRound; i++) {
      verify('sha256', message, ca.publicKey, caSignature); // the EK certificate
      const ephemeral = createECDH('prime256v1'); // the credential, made as the service makes it
      ephemeral.generateKeys();
      ephemeral.computeSecret(ek);
      for (let v = 0; v < 4; v++) verify('sha256', message, device.publicKey, signature); // quote, certification, CSR, assertion
      sign('sha256', message, device.privateKey); // the device certificate
      createHash('sha256').update(message).digest();
    }
    best = Math.min(best, (performance.now() - started) / perRound);
  }
  return best;
}

/**
 * CPU of a process and everything under it (PostgreSQL's postmaster and its backends), in
 * milliseconds: each live process's utime + stime, and what its reaped children used (cutime + cstime).
 */
export function treeCpuMs(pid: number): number {
  let ticks = 0;
  const visit = (id: number) => {
    let fields: string[];
    try {
      fields = readFileSync(`/proc/${id}/stat`, 'utf8').split(') ')[1]!.split(' ');
    } catch {
      return; // gone
    }
    ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    let children: string[] = [];
    try {
      children = readFileSync(`/proc/${id}/task/${id}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    } catch {
      // gone
    }
    for (const child of children) visit(Number(child));
  };
  visit(pid);
  return (ticks * 1000) / 100;
}

/** A `selfdeploy-server` process on loopback with `devices` simulated devices registered and a profile assigned. */
export interface BenchService {
  store: 'sqlite' | 'postgres';
  url: URL;
  ca: string;
  pid: number;
  tpms: SoftTpm[];
  /** Each device's serial and hardware hash. */
  registrations: { serial: string; hardwareHash: string }[];
  admin: ServiceClient;
  stop(): Promise<void>;
}

export async function startBenchService(kind: 'sqlite' | 'postgres', postgres: PostgresServer | undefined, devices: number, node: { args?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<BenchService> {
  const dir = mkdtempSync(join(tmpdir(), `selfdeploy-bench-${kind}-`));
  let server: ChildProcess | undefined;
  const stop = async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const manufacturer = await createCa('Soft TPM manufacturer CA');
    writeFileSync(join(dir, 'manufacturer.pem'), manufacturer.certificatePem);
    const db = kind === 'sqlite' ? 'sqlite:selfdeploy.db' : await postgres!.createDatabase(`bench_${Date.now()}_${Math.floor(Math.random() * 1e6)}`);
    const port = await freePort();
    const data = join(dir, 'data');
    const init = await exec(process.execPath, [serverCli, 'init', '--data', data, '--org', 'Bench', '--db', db, '--listen', `127.0.0.1:${port}`, '--trust-anchor', join(dir, 'manufacturer.pem'), '--json']);
    const { adminToken } = JSON.parse(init.stdout) as { adminToken: string };
    const config = JSON.parse(readFileSync(join(data, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(data, 'config.json'), JSON.stringify({ ...config, deviceRateLimitPerMinute: 100_000 }));
    server = spawn(process.execPath, [...(node.args ?? []), serverCli, 'start', '--data', data], { stdio: 'ignore', env: { ...process.env, ...node.env } });
    const ca = readFileSync(join(data, 'service-ca.pem'), 'utf8');
    const url = new URL(`https://127.0.0.1:${port}`);
    const admin = new ServiceClient({ server: url, ca, headers: { authorization: `Bearer ${adminToken}` }, retry: { attempts: 40, baseDelayMs: 100, maxDelayMs: 250 } });
    await admin.request(device.health);

    // Registrations of the simulated devices, a group and a profile with a name template.
    const tpms = await Promise.all(Array.from({ length: devices }, () => SoftTpm.create(manufacturer)));
    const rows = tpms.map((tpm, i) => [identity(i).serial, hash(i, { ekDigest: toHex(tpm.ekDigest), tpmManufacturer: 'SIM' }), 'Bench', '']);
    await admin.request(adminApi.devices.import, { body: csv(rows) });
    await admin.request(adminApi.groups.create, { body: { name: 'bench', kind: 'dynamic', groupTag: 'Bench' } });
    await admin.request(documents.profiles.put, { params: { name: 'bench' }, body: { deviceName: { template: 'BENCH-%RAND:5%' } } });
    await admin.request(documents.profiles.assign, { params: { name: 'bench' }, body: { group: 'bench' } });
    return {
      store: kind,
      url,
      ca,
      pid: server.pid!,
      tpms,
      registrations: rows.map((row) => ({ serial: row[0]!, hardwareHash: row[1]! })),
      admin,
      stop: async () => {
        admin.close();
        await stop();
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

export interface EnrollmentRun {
  enrollments: number;
  failures: number;
  wallMs: number;
  latencies: number[];
}

/**
 * `count` full enrollments (challenge → response → join → token) by the service's devices, round
 * robin, `concurrency` at a time. One device enrolls again only after its previous enrollment: a
 * join revokes the device's earlier certificate, as when a re-imaged device enrolls anew.
 */
export async function runEnrollments(service: BenchService, count: number, concurrency: number, log: (line: string) => void = () => undefined): Promise<EnrollmentRun> {
  const api = new DeviceApi({ server: service.url, ca: service.ca });
  const latencies: number[] = [];
  let failures = 0;
  const busy = new Set<number>();
  let next = 0;
  const started = performance.now();
  try {
    await Promise.all(
      Array.from({ length: Math.min(concurrency, service.tpms.length) }, async () => {
        while (next < count) {
          next++;
          let device = next % service.tpms.length;
          while (busy.has(device)) device = (device + 1) % service.tpms.length;
          busy.add(device);
          const begun = performance.now();
          try {
            const store = new MemoryState();
            await enroll({ tpm: service.tpms[device]!, api, store, registration: service.registrations[device]! });
            await deviceToken({ tpm: service.tpms[device]!, api, store });
            latencies.push(performance.now() - begun);
          } catch (error) {
            failures++;
            log(`enrollment failed: ${(error as Error).message}`);
          } finally {
            busy.delete(device);
          }
        }
      }),
    );
  } finally {
    api.close();
  }
  return { enrollments: latencies.length, failures, wallMs: performance.now() - started, latencies: latencies.sort((a, b) => a - b) };
}

/** Health checks per minute for `ms`, `concurrency` at a time: the baseline of the same server. */
async function healthPerMinute(service: BenchService, concurrency: number, ms: number): Promise<number> {
  let checks = 0;
  const end = Date.now() + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        await service.admin.request(device.health);
        checks++;
      }
    }),
  );
  return (checks / ms) * 60_000;
}

export async function runAttestBench(
  options: { stores?: ('sqlite' | 'postgres')[]; devices?: number; concurrency?: number[]; rounds?: number; warmup?: number; log?: (line: string) => void } = {},
): Promise<AttestBenchRow[]> {
  const stores = options.stores ?? ['sqlite', 'postgres'];
  const devices = options.devices ?? 64;
  const levels = options.concurrency ?? [1, 4, 16, 32];
  const rounds = options.rounds ?? 4;
  const warmup = options.warmup ?? DEFAULT_WARMUP;
  const log = options.log ?? (() => undefined);
  const postgres = stores.includes('postgres') ? await startPostgres() : undefined;
  try {
    const floor = cryptoFloorMs();
    log(`crypto floor: ${floor.toFixed(2)} ms per enrollment`);
    const rows: AttestBenchRow[] = [];
    for (const kind of stores) {
      const service = await startBenchService(kind, postgres, devices);
      try {
        if (warmup > 0) {
          const warm = await runEnrollments(service, warmup, Math.max(...levels), log);
          log(`${kind}: ${warm.enrollments} enrollments to warm up in ${(warm.wallMs / 1000).toFixed(1)} s`);
        }
        for (const concurrency of levels) {
          const health = await healthPerMinute(service, concurrency, 2_000);
          const cpuBefore = cpuMs(service.pid);
          const databaseBefore = kind === 'postgres' ? treeCpuMs(postgres!.pid) : 0;
          const run = await runEnrollments(service, devices * rounds, concurrency, log);
          const cpu = cpuMs(service.pid) - cpuBefore;
          const databaseCpu = kind === 'postgres' ? treeCpuMs(postgres!.pid) - databaseBefore : null;
          const perMinute = (run.enrollments / run.wallMs) * 60_000;
          log(`${kind}, ${concurrency} at a time: ${run.enrollments} enrollments in ${(run.wallMs / 1000).toFixed(1)} s`);
          rows.push({
            store: kind,
            devices,
            concurrency,
            enrollments: run.enrollments,
            failures: run.failures,
            wallMs: run.wallMs,
            enrollmentsPerMinute: perMinute,
            p50Ms: percentile(run.latencies, 50),
            p99Ms: percentile(run.latencies, 99),
            serviceCpuMsPerEnrollment: cpu / Math.max(1, run.enrollments),
            enrollmentsPerMinutePerCore: 60_000 / Math.max(0.001, cpu / Math.max(1, run.enrollments)),
            cryptoFloorMs: floor,
            databaseCpuMsPerEnrollment: databaseCpu === null ? null : databaseCpu / Math.max(1, run.enrollments),
            healthPerMinute: health,
            vsDpsAnchor: perMinute / 1_000,
            warmupEnrollments: warmup,
          });
        }
      } finally {
        await service.stop();
      }
    }
    return rows;
  } finally {
    await postgres?.stop();
  }
}

export function formatAttestBench(rows: AttestBenchRow[]): string {
  return [
    '| Store | Devices | Concurrency | Enrollments (failed) | Enrollments/min | p50 ms | p99 ms | Service CPU ms/enrollment | Crypto floor ms (same run) | CPU ÷ floor | Enrollments/min per core | PostgreSQL CPU ms/enrollment | Health checks/min (baseline) | Enrollments per health check | × DPS anchor (1,000/min) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.store} | ${r.devices} | ${r.concurrency} | ${r.enrollments} (${r.failures}) | ${r.enrollmentsPerMinute.toFixed(0)} | ${r.p50Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)} | ${r.serviceCpuMsPerEnrollment.toFixed(1)} | ${r.cryptoFloorMs.toFixed(2)} | ${(r.serviceCpuMsPerEnrollment / r.cryptoFloorMs).toFixed(1)} | ${r.enrollmentsPerMinutePerCore.toFixed(0)} | ${r.databaseCpuMsPerEnrollment === null ? '–' : r.databaseCpuMsPerEnrollment.toFixed(1)} | ${r.healthPerMinute.toFixed(0)} | ${(r.enrollmentsPerMinute / r.healthPerMinute).toFixed(3)} | ${r.vsDpsAnchor.toFixed(1)} |`,
    ),
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const devices = Number(process.env['BENCH_DEVICES'] ?? 64);
  const concurrency = (process.env['BENCH_CONCURRENCY'] ?? '1,4,16,32').split(',').map(Number);
  const warmup = Number(process.env['BENCH_WARMUP'] ?? DEFAULT_WARMUP);
  if (!Number.isInteger(warmup) || warmup < 0) {
    process.stderr.write(`BENCH_WARMUP must be a whole number of enrollments (0 for none), not "${process.env['BENCH_WARMUP']}"\n`);
    process.exit(2);
  }
  process.stdout.write(`Attestation benchmark: ${devices} simulated devices, ${concurrency.join(', ')} at a time, full enrollment + token each, after ${warmup} enrollments to warm up\n`);
  const rows = await runAttestBench({ devices, concurrency, warmup, log: (line) => process.stderr.write(`  ${line}\n`) });
  process.stdout.write(`${formatAttestBench(rows)}\n`);
  const results = join(import.meta.dirname, '..', '..', 'bench', 'results');
  mkdirSync(results, { recursive: true });
  writeFileSync(join(results, 'attest-latest.json'), JSON.stringify({ measuredAt: new Date().toISOString(), rows }, null, 2) + '\n');
}
