// A lab device for end-to-end tests of the agent: a real swtpm with EK certificates from the
// lab's own CA, the real service over HTTPS on loopback, the demo tenant, and the `selfdeploy`
// command as a technician runs it.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { FastifyReply, FastifyRequest } from 'fastify';

import { admin } from '../../../protocol/api/endpoints.js';
import type { EspEvent, EspFailure, EspSnapshot } from '../../../protocol/esp.js';
import { startTestService, type TestService } from '../../../backend/testing/service.js';
import { DEMO_GROUP, seedDemoTenant, type AdminCall } from '../../../lab/demo-tenant.js';
import { SwtpmLab, type LabTpm } from '../../../lab/swtpm.js';
import { DeviceApi } from '../../backend-client/device-api.js';
import { EnrollmentStore } from '../../enrollment/state.js';
import { TpmEnrollment } from '../../enrollment/tpm-enrollment.js';
import { VendorEkCertificates } from '../../enrollment/vendor-ek-certificates.js';
import { statePath } from '../../storage/state-dir.js';
import { FileIdentitySource, tpmReport } from '../../identity/identity.js';
import { FileProviders } from '../../providers/files.js';
import { Tpm } from '../../tpm/tpm.js';
import { DeployEngine, type DeployOutcome } from '../engine.js';
import type { EngineOptions } from '../ports.js';
import { agentLog } from '../diagnostics.js';
import { FileJournal } from '../journal.js';
import { SystemNetwork } from '../../network/system.js';
import { HostSession, type SessionOptions } from '../../host/session.js';
import { localTarget } from '../../agent/executor.js';
import { resetDevice } from '../../agent/reset.js';
import { agentFacts, diagnosticsTpmCheck } from '../../agent/agent.js';
import type { NetworkPort } from '../../network/port.js';
import type { ProvidersPort } from '../../providers/port.js';
import type { ClockPort } from '../clock.js';

export interface EngineRun {
  server?: URL;
  clock?: ClockPort;
  onEvent?: (event: EspEvent, snapshot: EspSnapshot) => void;
  preflightWaitMs?: number;
  decideContinue?: (failure: EspFailure) => Promise<boolean>;
  /** Another TPM connection than the lab TPM's (one where nothing answers: no TPM). */
  tcti?: string;
  /** Who answers the OOBE pages (the session, when a renderer is attached). */
  askOobe?: EngineOptions['askOobe'];
  /** The device's network (a Wi-Fi-only device where the container has no radio). */
  network?: NetworkPort;
  /** Wraps the device's providers (to inject a fault between the engine and them). */
  wrapProviders?: (providers: ProvidersPort) => ProvidersPort;
  /** Critical updates (the headless agent's bundle updates, or a stand-in), and how long the check may take. */
  updates?: EngineOptions['updates'];
  updateCheckMs?: number;
  /** The agent's version (default "test", which no release is newer than). */
  agentVersion?: string;
}

export const CLI = join(import.meta.dirname, '..', '..', '..', 'dist', 'main', 'cli', 'selfdeploy.js');

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

/** The admin API through Fastify's inject, as the demo seeding expects it. */
export function injectAdmin(service: TestService): AdminCall {
  return (endpoint, ...input) => service.call(endpoint, ...input);
}

/** Holds one item's apply until released: the ESP, the bench board or the console can be looked at mid-setup. */
export function holdItem(itemName: string): { wrap: (providers: ProvidersPort) => ProvidersPort; release: () => void } {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const wrap = (providers: ProvidersPort): ProvidersPort => ({
    applyOobe: (settings) => providers.applyOobe(settings),
    detect: (item) => providers.detect(item),
    configureEndState: (endState, info) => providers.configureEndState(endState, info),
    updateDirectorySignIn: (signIn, primaryUser) => providers.updateDirectorySignIn(signIn, primaryUser),
    applyOsUpdates: (request) => providers.applyOsUpdates(request),
    restartForUpdates: () => providers.restartForUpdates(),
    apply: async (item, context) => {
      if (item.name === itemName) await released;
      return providers.apply(item, context);
    },
  });
  return { wrap, release };
}


export class LabDevice {
  readonly dir = mkdtempSync(join(tmpdir(), 'selfdeploy-device-'));
  readonly caFile = join(this.dir, 'service-ca.pem');
  readonly identityFile = join(this.dir, 'identity.json');
  deviceId = '';
  hardwareHash = '';
  private run = 0;

  private constructor(
    readonly lab: SwtpmLab,
    readonly tpm: LabTpm,
    readonly service: TestService,
    readonly serial: string,
  ) {
    writeFileSync(this.caFile, service.serviceCa);
    writeFileSync(this.identityFile, JSON.stringify({ serial, manufacturer: 'selfdeploy lab', model: 'swtpm VM', macs: ['00:1b:21:3a:4f:10'] }));
  }

  static async create(serial = 'LAB-0001', service: { onRequest?: (request: FastifyRequest, reply: FastifyReply) => Promise<void> } = {}, provisioning: { rsaKeySize?: 2048 | 3072 } = {}): Promise<LabDevice> {
    const lab = await SwtpmLab.create();
    const tpm = await lab.provision('tpm0', provisioning);
    await tpm.start();
    const svc = await startTestService('sqlite', undefined, { swtpmLocalCa: join(lab.dir, 'ca') }, { https: true, deviceRateLimitPerMinute: 100_000, ...service });
    return new LabDevice(lab, tpm, svc, serial);
  }

  /** Reads the device's hash with `selfdeploy hash`, registers it, seeds the demo tenant. */
  async register(seed: { timeoutMinutes?: number; profile?: Record<string, unknown> } = {}): Promise<void> {
    const hashed = await runCli(['hash', '--identity', this.identityFile, '--tcti', this.tpm.tcti, '--json']);
    if (hashed.status !== 0) throw new Error(`selfdeploy hash failed: ${hashed.stderr}`);
    this.hardwareHash = (JSON.parse(hashed.stdout) as { hardwareHash: string }).hardwareHash;
    this.deviceId = (await this.service.call(admin.devices.add, { body: { hardwareHash: this.hardwareHash } })).id;
    await seedDemoTenant(injectAdmin(this.service), { deviceId: this.deviceId, rootCaPem: this.service.serviceCa, ...seed });
  }

  /**
   * Registers the device again after its TPM identity changed (another EK in use: the hash holds its
   * digest): the old registration goes, the new hash joins the demo group.
   */
  async reregister(): Promise<void> {
    await this.service.call(admin.devices.delete, { params: { id: this.deviceId } });
    const hashed = await runCli(['hash', '--identity', this.identityFile, '--tcti', this.tpm.tcti, '--json']);
    if (hashed.status !== 0) throw new Error(`selfdeploy hash failed: ${hashed.stderr}`);
    this.hardwareHash = (JSON.parse(hashed.stdout) as { hardwareHash: string }).hardwareHash;
    this.deviceId = (await this.service.call(admin.devices.add, { body: { hardwareHash: this.hardwareHash } })).id;
    await this.service.call(admin.groups.addMember, { params: { name: DEMO_GROUP, deviceId: this.deviceId } });
  }

  /** A fresh device disk: new state and root directories (a re-imaged device). */
  fresh(): { state: string; root: string } {
    this.run++;
    return { state: join(this.dir, `state-${this.run}`), root: join(this.dir, `root-${this.run}`) };
  }

  deployArgs(paths: { state: string; root: string }, server: URL = this.service.url!): string[] {
    return ['deploy', '--server', server.href, '--ca', this.caFile, '--tcti', this.tpm.tcti, '--root', paths.root, '--state', paths.state, '--identity', this.identityFile, '--wait', '20'];
  }

  deploy(paths: { state: string; root: string }, env: NodeJS.ProcessEnv = {}, extra: string[] = []): Promise<CliResult> {
    return runCli([...this.deployArgs(paths), ...extra], env);
  }

  /** An engine for `paths` (real TPM, real service); `close` releases its TPM and client. */
  async engineFor(paths: { state: string; root: string }, options: EngineRun = {}): Promise<{ engine: DeployEngine; tpm: Tpm; retries: () => number; close: () => Promise<void> }> {
    const tpm = await Tpm.open({ tcti: options.tcti ?? this.tpm.tcti });
    let retries = 0;
    const clock = options.clock;
    const api = new DeviceApi({
      server: options.server ?? this.service.url!,
      ca: this.service.serviceCa,
      timeoutMs: 10_000,
      onRetry: () => retries++,
      ...(clock ? { sleep: (ms: number) => clock.sleep(ms) } : {}),
    });
    const log = agentLog(paths.state);
    const identity = new FileIdentitySource(this.identityFile);
    const engine = new DeployEngine({
      tpm,
      identity,
      api,
      providers: (options.wrapProviders ?? ((p: ProvidersPort) => p))(new FileProviders(localTarget(paths.state, paths.root))),
      journal: new FileJournal(paths.state),
      enrollment: new TpmEnrollment({ tpm, api, store: new EnrollmentStore(paths.state), tpmReport: () => tpmReport(tpm, identity), vendorCertificates: new VendorEkCertificates({ cacheFile: statePath(paths.state, 'ekCertificate'), log }), log }),
      network: options.network ?? new SystemNetwork(),
      contentDir: statePath(paths.state, 'content'),
      agent: { version: options.agentVersion ?? 'test', os: { name: 'Debian', version: '12', kernel: 'test' }, hostname: 'lab' },
      ...(clock ? { clock } : {}),
      ...(options.preflightWaitMs !== undefined ? { preflightWaitMs: options.preflightWaitMs } : {}),
      ...(options.decideContinue ? { decideContinue: options.decideContinue } : {}),
      ...(options.askOobe ? { askOobe: options.askOobe } : {}),
      ...(options.updates ? { updates: options.updates } : {}),
      ...(options.updateCheckMs !== undefined ? { updateCheckMs: options.updateCheckMs } : {}),
      log,
    });
    if (options.onEvent) engine.subscribe(options.onEvent);
    return {
      engine,
      tpm,
      retries: () => retries,
      close: async () => {
        api.close();
        await tpm.close();
      },
    };
  }

  /**
   * A host session over this device's engine, as `selfdeploy ui` makes one: a new engine per run
   * (swtpm serves one client at a time, so the last run's TPM client is closed first), Reset
   * through the in-process target. `options` (or its function, asked per run) shapes each engine.
   */
  hostSession(
    paths: { state: string; root: string },
    options: Omit<EngineRun, 'decideContinue' | 'askOobe'> | (() => Omit<EngineRun, 'decideContinue' | 'askOobe'>) = {},
    extra: Pick<SessionOptions, 'network' | 'facts'> = {},
  ): { session: HostSession; close: () => Promise<void> } {
    let closeEngine: (() => Promise<void>) | undefined;
    let current: { tpm: Tpm; tcti: string; server: URL } | undefined;
    const session = new HostSession({
      engine: async (decideContinue, askOobe) => {
        await closeEngine?.();
        const run = { ...(typeof options === 'function' ? options() : options), decideContinue, askOobe };
        const made = await this.engineFor(paths, run);
        closeEngine = made.close;
        current = { tpm: made.tpm, tcti: run.tcti ?? this.tpm.tcti, server: run.server ?? this.service.url! };
        return made.engine;
      },
      reset: () => resetDevice({ state: paths.state, executor: { root: paths.root } }),
      state: paths.state,
      // What the agent itself reports: its version, the service, the TPM as the run's TPM answers.
      facts: () =>
        agentFacts({
          server: current?.server ?? this.service.url!,
          tcti: current?.tcti ?? this.tpm.tcti,
          tpm: current?.tpm,
          // The TPM check as the agent's composition root makes it: over the run's TPM and service.
          ...(current ? { check: () => diagnosticsTpmCheck({ tpm: current!.tpm, service: { server: current!.server, ca: this.service.serviceCa }, state: paths.state, identity: new FileIdentitySource(this.identityFile) }) } : {}),
        }),
      ...extra,
    });
    return {
      session,
      close: async () => {
        await session.close();
        await closeEngine?.();
      },
    };
  }

  /** The engine in-process (real TPM, real service), for tests that need its events or a clock. */
  async runEngine(options: EngineRun = {}): Promise<{ outcome: DeployOutcome; snapshot: EspSnapshot; retries: number; paths: { state: string; root: string } }> {
    const paths = this.fresh();
    const { engine, retries, close } = await this.engineFor(paths, options);
    try {
      const outcome = await engine.run();
      return { outcome, snapshot: engine.current(), retries: retries(), paths };
    } finally {
      await close();
    }
  }

  /** Deletes the device record unless the device is merely registered. */
  async resetRecord(): Promise<void> {
    const record = await this.service.call(admin.devices.get, { params: { id: this.deviceId } });
    if (record.state !== 'registered') await this.service.call(admin.devices.deleteRecord, { params: { id: this.deviceId } });
  }

  async close(): Promise<void> {
    await this.service?.close();
    await this.lab?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
