// Fakes of the engine's ports, for unit tests of one step: a service that answers as told and
// records what it was asked, an enrollment, device setup, a network and a clock that jumps. They
// implement the ports whole (no casts); what a test does not expect to be called fails loudly.
// The product's proof runs against the real service, swtpm and files (the *.int.test.ts suites).
import type { DeployProfileResponse } from '../../../protocol/api/deploy.js';
import { endpointPath } from '../../../protocol/api/endpoint.js';
import { device } from '../../../protocol/api/endpoints.js';
import type { EspEvent, EspFailure, EspSnapshot } from '../../../protocol/esp.js';
import type { AssignedItem } from '../../../protocol/items.js';
import { DeploymentProfileSchema } from '../../../protocol/profile.js';
import { createCa } from '../../../backend/tenant/pki.js';
import { SoftTpm } from '../../../lab/soft-tpm.js';
import type { BackendPort } from '../../backend-client/port.js';
import type { Attestation, EnrollmentResult } from '../../enrollment/enroll.js';
import type { EnrollmentPort } from '../../enrollment/port.js';
import type { IdentitySource } from '../../identity/identity.js';
import type { NetworkPort, NetworkStatus } from '../../network/port.js';
import type { ApplyContext, ApplyResult, ProvidersPort } from '../../providers/port.js';
import type { ClockPort } from '../clock.js';
import type { StepContext } from '../context.js';
import { newJournal, MemoryJournal } from '../journal.js';
import type { EngineOptions } from '../ports.js';
import { EspProgress } from '../progress.js';
import { ServiceSession } from '../session.js';
import { StatusReports } from '../status.js';
import type { OsUpdateResult } from '../../target/port.js';

export const SERVER = new URL('https://deploy.example:8443');

/** A clock whose sleeps pass at once (and count). */
export class FakeClock implements ClockPort {
  t = Date.parse('2026-11-26T10:00:00Z');
  slept = 0;
  now = () => this.t;
  sleep = (ms: number) => {
    this.t += ms;
    this.slept += ms;
    return Promise.resolve();
  };
}

const unexpected = (name: string) => () => Promise.reject(new Error(`the test did not expect ${name}`));

/** The service: every operation fails unless the test gives it; `calls` records what was asked, in order. */
export function fakeApi(given: Partial<BackendPort> = {}, clock: ClockPort = new FakeClock()): BackendPort & { calls: string[] } {
  const calls: string[] = [];
  const recorded = <A extends unknown[], R>(name: string, fn: ((...args: A) => Promise<R>) | undefined) => (...args: A) => {
    calls.push(name);
    return fn ? fn(...args) : (unexpected(name)() as Promise<R>);
  };
  return {
    calls,
    server: SERVER,
    tokenUrl: new URL(endpointPath(device.token), SERVER).href,
    probe: recorded('probe', given.probe ?? (() => Promise.resolve({ status: 200, date: new Date(clock.now()).toUTCString(), roundTripMs: 3 }))),
    profile: recorded('profile', given.profile),
    challenge: recorded('challenge', given.challenge),
    respond: recorded('respond', given.respond),
    join: recorded('join', given.join),
    token: recorded('token', given.token),
    mdmEnroll: recorded('mdmEnroll', given.mdmEnroll),
    checkIn: recorded('checkIn', given.checkIn),
    assignments: recorded('assignments', given.assignments),
    clientCertificate: recorded('clientCertificate', given.clientCertificate),
    status: recorded('status', given.status ?? (() => Promise.resolve({ accepted: true, seq: 1 }))),
    complete: recorded('complete', given.complete),
    diagnostics: recorded('diagnostics', given.diagnostics),
    download: recorded('download', given.download),
  };
}

export const JOINED: EnrollmentResult = { deviceId: '5b7c1e2a-0000-4000-8000-00000000d1d1', certificate: 'PEM', deviceName: 'LOBBY-0042', unverifiedHardware: false, reused: false };

/** Enrollment as the engine sees it; `calls` records attest, join, signIn … in order. */
export class FakeEnrollment implements EnrollmentPort {
  calls: string[] = [];
  reused: EnrollmentResult | undefined;
  attestation: Attestation = { attestationToken: 'att', nonce: new Uint8Array(32), unverifiedHardware: false, ak: blob(), deviceKey: blob() };
  joined: EnrollmentResult = JOINED;
  /** Where the EK certificate comes from. */
  ekSource: 'nv' | 'vendor' = 'nv';
  /** The vendor services the securing step passed (the profile's). */
  ekServices: unknown;
  /** Fails the next calls of an operation with these errors, in turn. */
  failures: Partial<Record<'ekCertificate' | 'attest' | 'join' | 'signIn', Error[]>> = {};
  lastJoinedWith: Attestation | undefined;

  private fail(operation: 'ekCertificate' | 'attest' | 'join' | 'signIn'): void {
    const error = this.failures[operation]?.shift();
    if (error) throw error;
  }

  reuse() {
    this.calls.push('reuse');
    return Promise.resolve(this.reused);
  }

  ekCertificate(services: unknown) {
    this.calls.push('ekCertificate');
    this.ekServices = services;
    this.fail('ekCertificate');
    return Promise.resolve(this.ekSource);
  }

  attest() {
    this.calls.push('attest');
    this.fail('attest');
    return Promise.resolve(this.attestation);
  }

  join(_registration: unknown, attestation?: Attestation) {
    this.calls.push('join');
    this.lastJoinedWith = attestation;
    this.fail('join');
    return Promise.resolve(this.joined);
  }

  signIn() {
    this.calls.push('signIn');
    this.fail('signIn');
    return Promise.resolve({ accessToken: `sdd_token${this.calls.filter((c) => c === 'signIn').length}`, expiresIn: 600 });
  }

  clientCertificate(accessToken: string, itemId: string, commonName: string) {
    this.calls.push(`clientCertificate ${itemId} ${commonName} ${accessToken}`);
    return Promise.resolve({ certificate: 'CERT', chain: 'CHAIN', keyFile: 'KEY' });
  }
}

function blob() {
  return { public: new Uint8Array(1), private: new Uint8Array(1), name: new Uint8Array(1), parentName: new Uint8Array(1) };
}

/** Device setup: records what it applied; items named in `failing` throw their error, `present` are detected. */
export class FakeProviders implements ProvidersPort {
  applied: string[] = [];
  oobe: Parameters<ProvidersPort['applyOobe']>[0][] = [];
  endStates: Parameters<ProvidersPort['configureEndState']>[] = [];
  present = new Set<string>();
  failing = new Map<string, Error>();
  results = new Map<string, ApplyResult>();
  /** What each apply did with the engine's help (the context it got). */
  onApply: ((item: AssignedItem, context: ApplyContext) => Promise<void>) | undefined;

  applyOobe(settings: Parameters<ProvidersPort['applyOobe']>[0]) {
    this.oobe.push(settings);
    return Promise.resolve();
  }

  detect(item: AssignedItem) {
    return Promise.resolve(this.present.has(item.name));
  }

  async apply(item: AssignedItem, context: ApplyContext) {
    await this.onApply?.(item, context);
    const failure = this.failing.get(item.name);
    if (failure) throw failure;
    this.applied.push(item.name);
    return this.results.get(item.name) ?? { rebootRequired: false, detail: `${item.name} applied` };
  }

  deviceLogs() {
    return Promise.resolve([{ path: '/var/log/selfdeploy/applied.log', content: Buffer.from('applied\n') }]);
  }

  /** The distribution's updates asked for, and what they answer (or the error they throw). */
  osUpdates: Parameters<ProvidersPort['applyOsUpdates']>[0][] = [];
  osUpdateResult: OsUpdateResult | Error = { upgraded: [], rebootRequired: false };
  restarts = 0;
  canRestart = false;

  applyOsUpdates(request: Parameters<ProvidersPort['applyOsUpdates']>[0]) {
    this.osUpdates.push(request);
    const result = this.osUpdateResult;
    return result instanceof Error ? Promise.reject(result) : Promise.resolve(result);
  }

  restartForUpdates() {
    this.restarts++;
    return Promise.resolve(this.canRestart);
  }

  configureEndState(...args: Parameters<ProvidersPort['configureEndState']>) {
    this.endStates.push(args);
    return Promise.resolve();
  }

  directoryUpdates: Parameters<ProvidersPort['updateDirectorySignIn']>[] = [];

  updateDirectorySignIn(...args: Parameters<ProvidersPort['updateDirectorySignIn']>) {
    this.directoryUpdates.push(args);
    return Promise.resolve(true);
  }
}

export const up = (medium: NetworkStatus['medium'], iface = 'eth0'): NetworkStatus => ({ medium, interface: medium === 'none' ? null : iface });

/** A wired network on which the service's name resolves. */
export function wiredNetwork(): NetworkPort {
  return { status: () => Promise.resolve(up('wired')), resolve: () => Promise.resolve(['192.0.2.10']) };
}

export const IDENTITY: IdentitySource = {
  description: 'the test firmware',
  read: () => Promise.resolve({ serial: 'SN-UNIT-1', manufacturer: 'Contoso', model: 'Kiosk 5', smbiosUuid: null, macs: ['3c:52:82:aa:bb:cc'], diskSerials: [] }),
};

/** A software TPM with an EK certificate from a throwaway manufacturer CA (lab/soft-tpm.ts). */
export async function softTpm(): Promise<SoftTpm> {
  return SoftTpm.create(await createCa('unit-test TPM manufacturer'));
}

/** A deployment profile as the service answers it, with the profile's settings over the defaults. */
export function profileResponse(profile: Record<string, unknown> = {}): DeployProfileResponse {
  return {
    deviceId: JOINED.deviceId,
    profileName: 'lobby-kiosk',
    profile: DeploymentProfileSchema.parse(profile),
    branding: { organizationName: 'Fabrikam', accentColor: '#0f6cbd', support: {}, logo: null },
    ekCertificateRegistered: false,
  };
}

export const ITEM_BASE = { version: 1, blocking: true } as const;

/** The service's answer to the assignments check-in, with these items. */
export function assigning(items: AssignedItem[], primaryUser: string | null = null): BackendPort['assignments'] {
  return () => Promise.resolve({ deviceId: JOINED.deviceId, generatedAt: '2026-12-06T10:00:00Z', items, primaryUser });
}

/** An assigned item of each kind the tests use. */
export function policyItem(name: string, id = `00000000-0000-4000-8000-${name.padStart(12, '0').slice(-12).replace(/[^0-9a-f]/g, 'a')}`): AssignedItem {
  return { ...ITEM_BASE, id, kind: 'policy', name, payload: { kind: 'password', minLength: 12, maxAgeDays: 0, requireChangeAtFirstLogon: false } };
}

export function appItem(name: string, options: { blocking?: boolean; id?: string } = {}): AssignedItem {
  return {
    ...ITEM_BASE,
    blocking: options.blocking ?? true,
    id: options.id ?? `00000000-0000-4000-8000-${String(name.length).padStart(12, '0')}`,
    kind: 'app',
    name,
    payload: { package: name, version: '1.0', installer: 'deb', content: { sha256: 'a'.repeat(64), size: 3 }, timeoutSeconds: 60, exitCodes: { success: [0], rebootRequired: [] } },
  };
}

export interface Harness {
  context: StepContext;
  api: ReturnType<typeof fakeApi>;
  enrollment: FakeEnrollment;
  providers: FakeProviders;
  clock: FakeClock;
  journal: MemoryJournal;
  events: EspEvent[];
  snapshot: () => EspSnapshot;
  logged: string[];
}

const NO_TPM = { manufacturer: () => Promise.reject(new Error('no TPM in this test')), primaryEk: () => Promise.reject(new Error('no TPM in this test')) };
const AGENT = { version: '1.2.3', os: { name: 'Debian', version: '12', kernel: '6.1' }, hostname: 'lab' };

/** A whole device over fakes, for engine tests: the engine's options, and each fake to look at. */
export function fakeDevice(given: { api?: Partial<BackendPort>; engine?: Partial<Omit<EngineOptions, 'api' | 'enrollment' | 'providers' | 'journal' | 'clock'>> } = {}) {
  const clock = new FakeClock();
  const api = fakeApi(given.api, clock);
  const enrollment = new FakeEnrollment();
  const providers = new FakeProviders();
  const journal = new MemoryJournal();
  const options: EngineOptions = { tpm: NO_TPM, identity: IDENTITY, network: wiredNetwork(), contentDir: '/nonexistent/content', agent: AGENT, ...given.engine, api, enrollment, providers, journal, clock };
  return { options, clock, api, enrollment, providers, journal };
}

/**
 * A step's context over fakes: a fresh journal (as the engine starts one), the profile already
 * known unless `profile` is null, and every port replaceable.
 */
export function harness(options: { api?: Partial<BackendPort>; profile?: Record<string, unknown> | null; engine?: Partial<Omit<EngineOptions, 'api' | 'enrollment' | 'providers' | 'journal' | 'clock'>> } = {}): Harness {
  const clock = new FakeClock();
  const api = fakeApi(options.api, clock);
  const enrollment = new FakeEnrollment();
  const providers = new FakeProviders();
  const journal = new MemoryJournal();
  const logged: string[] = [];
  const log = (event: string) => logged.push(event);
  const progress = new EspProgress(journal, clock);
  progress.journal = newJournal(SERVER.origin, progress.iso());
  progress.journal.device = { ...progress.journal.device, serial: 'SN-UNIT-1', manufacturer: 'Contoso', model: 'Kiosk 5', hardwareHash: 'hash' };
  const events: EspEvent[] = [];
  progress.subscribe((event) => events.push(event));
  const session = new ServiceSession({ clock, progress, enrollment, log });
  const engineOptions: StepContext['options'] = { tpm: NO_TPM, identity: IDENTITY, network: wiredNetwork(), contentDir: '/nonexistent/content', agent: AGENT, ...options.engine, api, enrollment, providers, journal, clock, log };
  const context: StepContext = {
    options: engineOptions,
    progress,
    session,
    status: new StatusReports({ api, progress, session, log }),
    run: options.profile === null ? {} : { profile: profileResponse(options.profile ?? {}) },
  };
  return { context, api, enrollment, providers, clock, journal, events, snapshot: () => progress.current(), logged };
}

/** A decision the test makes when a blocking item fails and the profile allows continuing. */
export function deciding(answer: boolean): { decideContinue: (failure: EspFailure) => Promise<boolean>; asked: EspFailure[] } {
  const asked: EspFailure[] = [];
  return { decideContinue: (failure) => (asked.push(failure), Promise.resolve(answer)), asked };
}
