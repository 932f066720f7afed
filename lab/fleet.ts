// A staging bench in a box (`selfdeploy-lab bench`): N swtpm devices, each provisioned with its
// own EK certificate from the lab CA, registered by one CSV import of their own hardware hashes,
// then all self-deploying at once — each the real agent, `selfdeploy deploy --json`, in its own
// process with its own state and root — against one service process (SQLite or PostgreSQL),
// optionally through the fault proxy. It follows every device's ESP from its event stream (a live
// table), and at the end checks the service's records against what the agents reported: the same
// outcome and name, and one device certificate each (nothing enrolled twice).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { admin } from '../protocol/api/endpoints.js';
import { applyEspEvent, espSummary, initialSnapshot, EspEventSchema, PHASES, STEP_IDS, phaseOf, type EspSnapshot, type StepId } from '../protocol/esp.js';
import { ServiceClient } from '../protocol/node/https-client.js';
import { DataDir } from '../backend/tenant/data-dir.js';
import { initTenant } from '../backend/tenant/init.js';
import { FileIdentitySource, readDeviceIdentity } from '../main/identity/identity.js';
import { agentCli } from '../main/installation/layout.js';
import { Tpm } from '../main/tpm/tpm.js';
import { DEMO_GROUP, clientAdminCall, seedDemoTenant, type AdminCall } from './demo-tenant.js';
import { freePort } from './net.js';
import { FaultProxy, type FaultRule, type FaultStats } from './fault-proxy.js';
import { startLoadBalancer, type LoadBalancer } from './haproxy.js';
import { csv } from './identities.js';
import { startServiceProcess, stopProcess, type ServiceProcess } from './service-process.js';
import { SwtpmLab, type LabTpm } from './swtpm.js';

/** The built agent, from the source tree (tests) or dist/ alike. */
const AGENT_CLI = agentCli();

export interface FleetOptions {
  devices: number;
  /** The service's database: SQLite in its data directory (default) or a PostgreSQL URL. */
  db?: string;
  /** Put the fault proxy between the agents and the service. */
  faults?: { rules: FaultRule[]; seed: number };
  /**
   * Several service processes on the one PostgreSQL database (`db`) behind HAProxy: `count`
   * replicas; `kill` SIGKILLs the last one once it has answered `afterAnswered` requests of the
   * agents, and starts it again on its port `downMs` later.
   */
  replicas?: { count: number; kill?: { afterAnswered: number; downMs: number } };
  /** The demo profile's ESP timeout (default 30). */
  espTimeoutMinutes?: number;
  /** Told whenever a device's ESP moved (for a live table). */
  onUpdate?: (devices: readonly FleetDevice[]) => void;
  log?: (line: string) => void;
  /** Looks at the service once every agent has finished, before it stops (a test's metrics and logs). */
  inspect?: (service: FleetService) => Promise<void>;
}

export interface FleetService {
  /** The (first) service process. */
  url: URL;
  /** Where the agents went: the service, the fault proxy or the load balancer. */
  server: URL;
  adminToken: string;
  /** The replicas' logs, a restarted one's second life last. */
  replicaLogs: string[];
  /** The service CA agents and clients trust. */
  caFile: string;
  /** The service's log (JSON lines). */
  log: string;
  /** The admin API, with the tenant's first admin token. */
  call: AdminCall;
  devices: readonly FleetDevice[];
}

export interface FleetDevice {
  serial: string;
  id: string;
  tcti: string;
  snapshot: EspSnapshot;
  /** The agent's exit status once it finished. */
  exitCode: number | null;
  startedMs: number;
  finishedMs: number | null;
}

export interface FleetStepFigures {
  step: StepId;
  title: string;
  runs: number;
  p50Ms: number;
  p99Ms: number;
}

export interface FleetReport {
  devices: number;
  store: 'sqlite' | 'postgres';
  succeeded: number;
  failed: { serial: string; code: string; hresult: string | null; step: string | null; item: string | null; detail: string | null }[];
  /** From the first agent's start to the last agent's end. */
  wallMs: number;
  /** Setting up the bench: TPMs provisioned and started, service up, devices registered. */
  setupMs: number;
  steps: FleetStepFigures[];
  perDeviceMs: { p50: number; p99: number };
  faults: FaultStats | null;
  /** Requests each replica answered (from its log), when there were replicas; a killed one's second life is its own entry. */
  replicas: { name: string; answered: number; killed: boolean }[] | null;
  /** Every device's service record against its agent's report. */
  consistency: { checked: number; mismatches: string[]; certificatesIssued: number };
}

/** Requests a service process answered, from its log. */
export function answeredIn(log: string): number {
  return readFileSync(log, 'utf8').split('\n').filter((line) => line.includes('"msg":"answered"')).length;
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** One row of the live table: serial, phase, step, current item, N of M, state. */
export function fleetRow(device: FleetDevice, now = Date.now()): string {
  const s = device.snapshot;
  const summary = espSummary(s);
  const running = s.phases.flatMap((phase) => phase.steps).find((step) => step.state === 'in-progress');
  const item = running?.items.find((candidate) => candidate.state === 'in-progress')?.name ?? '';
  const state = s.status === 'failed' ? `failed ${s.failure?.code ?? ''}` : s.status === 'succeeded' ? 'done' : device.exitCode === null ? 'running' : `exited ${device.exitCode}`;
  const seconds = (((device.finishedMs ?? now) - device.startedMs) / 1000).toFixed(1);
  const phase = summary.phase in PHASES ? PHASES[summary.phase as keyof typeof PHASES].title : summary.phase;
  return `${device.serial.padEnd(12)} ${phase.padEnd(20).slice(0, 20)} ${(summary.step ?? '').padEnd(28).slice(0, 28)} ${item.padEnd(16).slice(0, 16)} ${`${summary.completed}/${summary.total}`.padStart(5)} ${state.padEnd(24)} ${seconds.padStart(6)} s`;
}

export const FLEET_HEADER = `${'device'.padEnd(12)} ${'phase'.padEnd(20)} ${'step'.padEnd(28)} ${'item'.padEnd(16)} ${'N/M'.padStart(5)} ${'state'.padEnd(24)} ${'time'.padStart(8)}`;

export async function runFleet(options: FleetOptions): Promise<FleetReport> {
  if (!Number.isInteger(options.devices) || options.devices < 1 || options.devices > 64) throw new RangeError('a bench has 1 to 64 devices');
  const log = options.log ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'selfdeploy-fleet-'));
  const setupStarted = performance.now();
  const lab = await SwtpmLab.create({ dir: join(dir, 'lab'), log });
  let service: ServiceProcess | undefined;
  const replicas: ServiceProcess[] = [];
  let balancer: LoadBalancer | undefined;
  let killed: Promise<void> | undefined;
  let proxy: FaultProxy | undefined;
  let client: ServiceClient | undefined;
  const agents: ChildProcess[] = [];
  try {
    // 1. The devices' TPMs: each its own swtpm with its own EK certificates.
    log(`provisioning ${options.devices} swtpm TPMs with EK certificates from the lab CA`);
    const tpms: LabTpm[] = await lab.provisionMany(options.devices);
    for (const tpm of tpms) await tpm.start();

    // 2. One service process that trusts the lab CA.
    const serviceDir = join(dir, 'service');
    const { adminToken } = await initTenant({ dataDir: serviceDir, organizationName: 'Fabrikam Lobby', swtpmLocalCa: join(lab.dir, 'ca'), ...(options.db ? { db: options.db } : {}) });
    const data = new DataDir(serviceDir);
    const config = JSON.parse(readFileSync(join(serviceDir, 'config.json'), 'utf8')) as Record<string, unknown>;
    // Behind the fault proxy, the agents reach the service at the proxy's URL: that is its public URL (as a load balancer's would be).
    const proxyPort = options.faults || options.replicas ? await freePort() : undefined;
    writeFileSync(
      join(serviceDir, 'config.json'),
      JSON.stringify({
        ...config,
        deviceRateLimitPerMinute: 100_000,
        ...(proxyPort ? { publicUrls: [`https://127.0.0.1:${proxyPort}`] } : {}),
        // Behind the balancer, each device's address comes in X-Forwarded-For.
        ...(options.replicas ? { trustProxy: ['127.0.0.1'] } : {}),
      }),
    );
    const ca = readFileSync(data.serviceCaPath, 'utf8');
    if (options.replicas) {
      if (!options.db) throw new RangeError('replicas share one PostgreSQL database: give db');
      for (let i = 1; i <= options.replicas.count; i++) replicas.push(await startServiceProcess(serviceDir, ca, { name: `replica${i}` }));
      balancer = await startLoadBalancer(serviceDir, replicas.map((r) => r.url), proxyPort);
      log(`${options.replicas.count} replicas behind HAProxy on ${balancer.url.origin}`);
    }
    service = replicas[0] ?? (await startServiceProcess(serviceDir, ca));
    const { url } = service;
    client = new ServiceClient({ server: url, ca, headers: { authorization: `Bearer ${adminToken}` }, timeoutMs: 30_000 });
    log(`service on ${url.origin} (${options.db ? 'PostgreSQL' : 'SQLite'})`);

    // 3. Registration as a technician does it: every device's hash, one CSV import.
    const devices: FleetDevice[] = [];
    const rows: string[][] = [];
    for (const [i, tpm] of tpms.entries()) {
      const serial = `BENCH-${String(i + 1).padStart(4, '0')}`;
      const deviceDir = join(dir, 'devices', serial);
      mkdirSync(deviceDir, { recursive: true });
      writeFileSync(join(deviceDir, 'identity.json'), JSON.stringify({ serial, manufacturer: 'selfdeploy lab', model: 'swtpm VM', macs: [`02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`] }));
      const handle = await Tpm.open({ tcti: tpm.tcti });
      const identity = await readDeviceIdentity(new FileIdentitySource(join(deviceDir, 'identity.json')), handle).finally(() => handle.close());
      rows.push([serial, identity.hardwareHash, '', '']);
      devices.push({ serial, id: '', tcti: tpm.tcti, snapshot: initialSnapshot(new Date().toISOString()), exitCode: null, startedMs: 0, finishedMs: null });
    }
    const call = clientAdminCall(client);
    const imported = await call(admin.devices.import, { body: csv(rows) });
    if (imported.imported !== options.devices) throw new Error(`the CSV import registered ${imported.imported} of ${options.devices} devices`);
    for (const device of devices) device.id = imported.devices.find((registered) => registered.serial === device.serial)!.id;
    await seedDemoTenant(call, { deviceId: devices.map((d) => d.id), rootCaPem: ca, timeoutMinutes: options.espTimeoutMinutes ?? 30 });
    log(`registered ${options.devices} devices from their hashes (one CSV import) into "${DEMO_GROUP}"`);

    if (options.faults) {
      proxy = await FaultProxy.inFrontOf(url, serviceDir, { ...options.faults, ...(proxyPort ? { port: proxyPort } : {}) });
      log(`fault proxy on ${proxy.url.origin} (seed ${options.faults.seed})`);
    }
    const setupMs = performance.now() - setupStarted;

    // 4. Every agent at once.
    const server = (proxy?.url ?? balancer?.url ?? url).origin;
    const started = performance.now();
    const kill = options.replicas?.kill;
    if (kill && replicas.length > 1) {
      const victim = replicas.length - 1;
      const before = answeredIn(replicas[victim]!.log);
      killed = (async () => {
        while (answeredIn(replicas[victim]!.log) - before < kill.afterAnswered) {
          if (devices.every((d) => d.finishedMs !== null)) throw new Error(`replica${victim + 1} answered fewer than ${kill.afterAnswered} requests of the agents before they finished`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        const port = Number(replicas[victim]!.url.port);
        replicas[victim]!.child.kill('SIGKILL');
        log(`killed replica${victim + 1} (SIGKILL) after ${answeredIn(replicas[victim]!.log) - before} requests of the agents`);
        await new Promise((resolve) => setTimeout(resolve, kill.downMs));
        replicas.push(await startServiceProcess(serviceDir, ca, { name: `replica${victim + 1}-restarted`, port }));
        log(`replica${victim + 1} is back on port ${port}`);
      })();
    }
    const finished = devices.map(
      (device) =>
        new Promise<void>((resolve) => {
          const deviceDir = join(dir, 'devices', device.serial);
          const args = ['deploy', '--json', '--server', server, '--ca', data.serviceCaPath, '--tcti', device.tcti, '--root', join(deviceDir, 'root'), '--state', join(deviceDir, 'state'), '--identity', join(deviceDir, 'identity.json'), '--wait', '60'];
          const agent = spawn(process.execPath, [AGENT_CLI, ...args], { stdio: ['ignore', 'pipe', openSync(join(deviceDir, 'agent.stderr'), 'w')] });
          agents.push(agent);
          device.startedMs = Date.now();
          let buffered = '';
          agent.stdout!.setEncoding('utf8');
          agent.stdout!.on('data', (text: string) => {
            buffered += text;
            for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
              const line = buffered.slice(0, newline);
              buffered = buffered.slice(newline + 1);
              const parsed = EspEventSchema.safeParse(JSON.parse(line));
              if (parsed.success) device.snapshot = applyEspEvent(device.snapshot, parsed.data);
            }
            options.onUpdate?.(devices);
          });
          agent.once('exit', (code) => {
            device.exitCode = code ?? 1;
            device.finishedMs = Date.now();
            options.onUpdate?.(devices);
            resolve();
          });
        }),
    );
    await Promise.all(finished);
    const wallMs = performance.now() - started;
    await killed;

    // 5. The service's records against what the agents reported.
    const mismatches: string[] = [];
    let certificatesIssued = 0;
    for (const device of devices) {
      const record = await call(admin.devices.get, { params: { id: device.id } });
      certificatesIssued += record.certificatesIssued;
      const succeeded = device.snapshot.status === 'succeeded' && device.exitCode === 0;
      if (succeeded !== (record.state === 'deployed')) mismatches.push(`${device.serial}: the agent says ${succeeded ? 'provisioned' : 'failed'}, the service says ${record.state}`);
      if (succeeded && record.deviceName !== device.snapshot.device.deviceName) mismatches.push(`${device.serial}: named ${device.snapshot.device.deviceName} by the agent, ${record.deviceName} by the service`);
      if (succeeded && record.certificatesIssued !== 1) mismatches.push(`${device.serial}: ${record.certificatesIssued} device certificates issued for one self-deploy`);
      if (!succeeded && record.certificatesIssued > 1) mismatches.push(`${device.serial}: ${record.certificatesIssued} device certificates issued`);
    }

    const steps = STEP_IDS.flatMap((step): FleetStepFigures[] => {
      const times = devices.flatMap((device) => {
        const found = device.snapshot.phases.flatMap((phase) => phase.steps).find((candidate) => candidate.id === step);
        return found?.startedAt && found.finishedAt ? [Date.parse(found.finishedAt) - Date.parse(found.startedAt)] : [];
      });
      const title = devices[0]!.snapshot.phases.flatMap((phase) => phase.steps).find((candidate) => candidate.id === step)?.title ?? step;
      return times.length ? [{ step, title, runs: times.length, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99) }] : [];
    });
    await options.inspect?.({ url, server: new URL(server), adminToken, replicaLogs: replicas.map((r) => r.log), caFile: data.serviceCaPath, log: service.log, call, devices });
    const perDevice = devices.map((device) => (device.finishedMs ?? device.startedMs) - device.startedMs);
    return {
      devices: options.devices,
      store: options.db ? 'postgres' : 'sqlite',
      succeeded: devices.filter((device) => device.snapshot.status === 'succeeded' && device.exitCode === 0).length,
      failed: devices
        .filter((device) => !(device.snapshot.status === 'succeeded' && device.exitCode === 0))
        .map((device) => {
          const failure = device.snapshot.failure;
          const item = failure?.item ? device.snapshot.phases.flatMap((phase) => phase.steps).flatMap((step) => step.items).find((candidate) => candidate.name === failure.item) : undefined;
          return {
            serial: device.serial,
            code: failure?.code ?? `exit ${device.exitCode}`,
            hresult: failure?.hresult ?? null,
            step: failure?.step ?? null,
            item: failure?.item ?? null,
            detail: item?.error?.detail ?? failure?.detail ?? null,
          };
        }),
      wallMs,
      setupMs,
      steps,
      perDeviceMs: { p50: percentile(perDevice, 50), p99: percentile(perDevice, 99) },
      faults: proxy ? structuredClone(proxy.stats) : null,
      replicas: options.replicas
        ? replicas.map((replica, i) => ({
            name: i < options.replicas!.count ? `replica${i + 1}` : `replica${options.replicas!.count} (restarted)`,
            answered: answeredIn(replica.log),
            killed: Boolean(options.replicas?.kill) && i === options.replicas!.count - 1,
          }))
        : null,
      consistency: { checked: devices.length, mismatches, certificatesIssued },
    };
  } finally {
    await Promise.all(agents.map(stopProcess));
    await proxy?.close();
    await balancer?.stop();
    client?.close();
    await killed?.catch(() => undefined);
    for (const replica of replicas) await replica.stop();
    await service?.stop();
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The summary as Markdown: outcomes, wall time, per-step p50/p99. */
export function formatFleet(report: FleetReport): string {
  const failed = report.failed.length ? report.failed.map((f) => `${f.serial} ${f.code}${f.hresult ? ` (${f.hresult})` : ''}${f.step ? ` at ${f.step}` : ''}${f.item ? ` (${f.item})` : ''}${f.detail ? `: ${f.detail}` : ''}`).join('; ') : 'none';
  return [
    `${report.devices} devices on ${report.store}: **${report.succeeded} succeeded**, failed: ${failed}. Wall time ${(report.wallMs / 1000).toFixed(1)} s (setup of the bench ${(report.setupMs / 1000).toFixed(1)} s); per device p50 ${(report.perDeviceMs.p50 / 1000).toFixed(1)} s, p99 ${(report.perDeviceMs.p99 / 1000).toFixed(1)} s.`,
    `Service records vs agents: ${report.consistency.checked} checked, ${report.consistency.mismatches.length ? report.consistency.mismatches.join('; ') : 'all match'}; ${report.consistency.certificatesIssued} device certificates issued.`,
    ...(report.faults ? [`Fault proxy: ${report.faults.requests} requests, ${Object.entries(report.faults.faults).map(([kind, count]) => `${count}× ${kind}`).join(', ') || 'no faults'}.`] : []),
    ...(report.replicas ? [`Replicas behind HAProxy: ${report.replicas.map((r) => `${r.name} answered ${r.answered}${r.killed ? ' (killed mid-run)' : ''}`).join(', ')}.`] : []),
    '',
    '| Step | Runs | p50 ms | p99 ms |',
    '|---|---:|---:|---:|',
    ...report.steps.map((s) => `| ${PHASES[phaseOf(s.step)].title} / ${s.title} | ${s.runs} | ${s.p50Ms.toFixed(0)} | ${s.p99Ms.toFixed(0)} |`),
  ].join('\n');
}
