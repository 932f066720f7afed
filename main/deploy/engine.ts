// The self-deploy engine: the sequence of the design brief as explicit steps — network, profile,
// language/region/keyboard, critical updates, then the Enrollment Status Page (securing the
// hardware, joining, registering and preparing for management, device setup), completion and the
// end state. It publishes the ESP as a typed snapshot and event stream (protocol/esp.ts), records
// every step and item in the journal before it takes effect, resumes from it after a crash, waits
// out a service that is down until the ESP timeout, and fails with catalogued codes.
import { mkdirSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';

import type { DeployProfileResponse } from '../../protocol/api/deploy.js';
import { compareVersions, versionField } from '../../protocol/api/updates.js';
import {
  FINISHED_STATES,
  PHASES,
  SETUP_STEP_OF_KIND,
  applyEspEvent,
  initialSnapshot,
  type EspEvent,
  type EspEventBody,
  type EspFailure,
  type EspItem,
  type EspSnapshot,
  type ItemState,
  type StepId,
} from '../../protocol/esp.js';
import type { ErrorCode } from '../../protocol/errors/catalogue.js';
import { itemKey, type AssignedItem } from '../../protocol/items.js';
import { ServiceProblem } from '../../protocol/node/https-client.js';
import type { OobeChoice, OobePage } from '../../protocol/ipc.js';
import type { DeploymentProfile } from '../../protocol/profile.js';
import type { DeviceApi } from '../backend-client/device-api.js';
import { requestClientCertificate } from '../enrollment/client-certificates.js';
import { deviceToken, enroll } from '../enrollment/enroll.js';
import type { EnrollmentStatePort } from '../enrollment/state.js';
import { readDeviceIdentity, type IdentitySource } from '../identity/identity.js';
import type { TpmPort } from '../tpm/port.js';
import { writeLogBundle } from './diagnostics.js';
import { PREFLIGHT_WAIT, SERVICE_WAIT, backoffMs, isRetryable } from '../../protocol/retry.js';
import { DeployError, failureOf } from './errors.js';
import { newJournal, type ItemRecord, type Journal, type JournalPort } from './journal.js';
import { SYSTEM_CLOCK, type ApplyContext, type BackendPort, type ClockPort, type NetworkPort, type ProvidersPort } from './ports.js';
import type { UpdatesPort } from './updates.js';

export const MAX_CLOCK_SKEW_MS = 5 * 60_000;
const SETUP_STEPS = PHASES['device-setup'].steps;

export interface EngineOptions {
  tpm: TpmPort;
  identity: IdentitySource;
  api: BackendPort;
  providers: ProvidersPort;
  journal: JournalPort;
  enrollment: EnrollmentStatePort;
  network: NetworkPort;
  /** Where downloaded content is kept until applied (resumable; in the state directory). */
  contentDir: string;
  clock?: ClockPort;
  agent: { version: string; os: { name: string; version: string; kernel: string }; hostname: string };
  /** Wi-Fi to join when no network is up (a technician's choice, as on the OOBE network page). */
  wifi?: { ssid: string; psk: string | null };
  /** Before the profile gives the ESP timeout: how long to wait for network, DNS and the service. */
  preflightWaitMs?: number;
  /** The OOBE pages: ask the person at the device (a UI); without it, the profile's or the image's settings stay. */
  askOobe?: (pages: OobePage[]) => Promise<OobeChoice>;
  /** Critical updates during the OOBE (the service's feed); without it the step is skipped. */
  updates?: UpdatesPort;
  /** How long the updates step waits for the feed before it goes on without (default one minute). */
  updateCheckMs?: number;
  /** A blocking item failed and the profile allows continuing: ask (a technician, a flag). */
  decideContinue?: (failure: EspFailure) => Promise<boolean>;
  log?: (event: string, detail?: Record<string, unknown>) => void;
}

export type DeployOutcome =
  | {
      status: 'provisioned';
      alreadyProvisioned: boolean;
      deviceId: string;
      deviceName: string | null;
      endState: DeploymentProfile['endState']['type'];
      /** Items whose installers asked for a restart: the device should restart before use. */
      rebootRequired: string[];
    }
  | { status: 'failed'; failure: EspFailure }
  /** A critical update is installed: the host releases the TPM and restarts the agent from `entry`, which resumes from the journal. */
  | { status: 'restart'; version: string; entry: string };

type Listener = (event: EspEvent, snapshot: EspSnapshot) => void;

const ITEM_CODES: readonly string[] = ['ITEM_FAILED', 'ITEM_NOT_DETECTED', 'ITEM_PATH_REFUSED', 'CONTENT_DIGEST_MISMATCH', 'CONTENT_NOT_ASSIGNED', 'HELPER_UNAVAILABLE', 'HELPER_REFUSED', 'HELPER_REQUEST_INVALID'];
const ITEM_STATE_OF: Record<ItemRecord['state'], ItemState> = { applying: 'in-progress', applied: 'succeeded', failed: 'failed', skipped: 'skipped' };

export class DeployEngine {
  private snapshot: EspSnapshot;
  private readonly listeners = new Set<Listener>();
  private readonly clock: ClockPort;
  private readonly log: NonNullable<EngineOptions['log']>;
  private journal!: Journal;
  private profile: DeployProfileResponse | undefined;
  private assigned: AssignedItem[] | undefined;
  private deadline: number | null = null;
  private access: { token: string; expiresAt: number } | undefined;
  private currentStep: StepId | null = null;
  private currentItem: { step: StepId; id: string } | null = null;
  private statusChain: Promise<void> = Promise.resolve();
  private statusPending = false;

  constructor(private readonly options: EngineOptions) {
    this.clock = options.clock ?? SYSTEM_CLOCK;
    this.log = options.log ?? (() => undefined);
    this.snapshot = initialSnapshot(this.iso());
  }

  private iso(ms = this.clock.now()): string {
    return new Date(ms).toISOString();
  }

  /** Every event from now on, with the snapshot after it. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  current(): EspSnapshot {
    return this.snapshot;
  }

  private emit(body: EspEventBody, at = this.iso()): void {
    const event = { ...body, seq: this.snapshot.seq + 1, at };
    this.snapshot = applyEspEvent(this.snapshot, event);
    for (const listener of this.listeners) listener(event, this.snapshot);
  }

  private checkpoint(): void {
    this.journal.checkpoints++;
    this.options.journal.save(this.journal);
  }

  // ---- steps ----

  private stepDone(step: StepId): boolean {
    const state = this.journal.steps[step]?.state;
    return state === 'succeeded' || state === 'skipped';
  }

  private startStep(step: StepId, detail: string | null = null): void {
    this.currentStep = step;
    const at = this.iso();
    const previous = this.journal.steps[step];
    this.journal.steps[step] = { state: 'in-progress', startedAt: previous?.state === 'in-progress' ? previous.startedAt : at, finishedAt: null, detail };
    this.checkpoint();
    this.emit({ type: 'step', step, state: 'in-progress', detail });
  }

  private finishStep(step: StepId, state: 'succeeded' | 'skipped' | 'failed' | 'timed-out', detail: string | null = null): void {
    const at = this.iso();
    this.journal.steps[step] = { state, startedAt: this.journal.steps[step]?.startedAt ?? at, finishedAt: at, detail };
    this.checkpoint();
    this.emit({ type: 'step', step, state, detail });
    if (this.currentStep === step) this.currentStep = null;
  }

  private async runStep(step: StepId, body: () => Promise<{ state: 'succeeded' | 'skipped'; detail?: string | null }>): Promise<void> {
    if (this.stepDone(step)) return;
    this.startStep(step);
    const result = await body();
    this.finishStep(step, result.state, result.detail ?? null);
    this.reportStatus();
  }

  /** Replays what the journal holds, so a UI of a resumed run shows the steps done before. */
  private replayJournal(): void {
    const j = this.journal;
    this.emit({ type: 'context', context: { device: j.device, network: j.network } });
    if (this.profile) this.emitProfileContext(this.profile);
    for (const phase of Object.values(PHASES)) {
      for (const step of phase.steps) {
        const record = j.steps[step];
        if (!record) continue;
        if (record.startedAt) this.emit({ type: 'step', step, state: 'in-progress', detail: record.detail }, record.startedAt);
        if (FINISHED_STATES.includes(record.state)) this.emit({ type: 'step', step, state: record.state, detail: record.detail }, record.finishedAt ?? record.startedAt ?? this.iso());
      }
    }
  }

  // ---- waiting for the service ----

  private timeout(what: string, cause?: unknown): DeployError {
    const last = cause instanceof Error ? `; last error: ${cause.message}` : '';
    return new DeployError('ESP_TIMEOUT', `the ESP timeout passed while ${what}${last}`, this.currentStep, this.currentItem?.id ?? null, { cause });
  }

  /** Runs `call`, waiting out transient service failures until the deadline. */
  private async patiently<T>(what: string, call: () => Promise<T>, deadline = this.deadline): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.beforeDeadline(what, call(), deadline);
      } catch (error) {
        if (!isRetryable(error)) throw error;
        const wait = backoffMs(SERVICE_WAIT, attempt);
        const left = deadline === null ? Number.POSITIVE_INFINITY : deadline - this.clock.now();
        if (left <= wait) {
          if (deadline === this.deadline) throw this.timeout(what, error);
          throw error;
        }
        this.log('service.wait', { what, attempt, waitMs: Math.round(wait), reason: (error as Error).message });
        const waitingFor = (error as { code?: unknown }).code === 'HELPER_UNAVAILABLE' ? 'the device setup helper' : 'the service';
        if (this.currentStep) this.emit({ type: 'step', step: this.currentStep, state: 'in-progress', detail: `Waiting for ${waitingFor} (${(error as Error).message})` });
        await this.clock.sleep(wait);
      }
    }
  }

  /** Rejects with ESP_TIMEOUT when the deadline passes before `promise` settles. */
  private beforeDeadline<T>(what: string, promise: Promise<T>, deadline = this.deadline): Promise<T> {
    if (deadline === null) return promise;
    const left = deadline - this.clock.now();
    if (left <= 0) return Promise.reject(this.timeout(what));
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.timeout(what)), left);
    });
    return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
  }

  private async token(): Promise<string> {
    if (this.access && this.access.expiresAt - 60_000 > this.clock.now()) return this.access.token;
    const { tpm, enrollment } = this.options;
    const token = await deviceToken({ tpm, api: this.options.api as DeviceApi, store: enrollment });
    this.access = { token: token.accessToken, expiresAt: this.clock.now() + token.expiresIn * 1000 };
    return token.accessToken;
  }

  /** A management call with the device's access token, refreshed once if the service refuses it. */
  private async managed<T>(what: string, call: (token: string) => Promise<T>): Promise<T> {
    return this.patiently(what, async () => {
      try {
        return await call(await this.token());
      } catch (error) {
        if (error instanceof ServiceProblem && error.code === 'UNAUTHORIZED') {
          this.access = undefined;
          return call(await this.token());
        }
        throw error;
      }
    });
  }

  /** Sends the snapshot to the service, one report at a time, coalescing; never fails the ESP. */
  private reportStatus(): void {
    if (!this.stepDone('registering-mdm')) return;
    if (this.statusPending) return;
    this.statusPending = true;
    this.statusChain = this.statusChain.then(async () => {
      this.statusPending = false;
      const snapshot = { ...this.snapshot, branding: null };
      try {
        await this.options.api.status(await this.token(), { snapshot });
      } catch (error) {
        this.log('status.failed', { reason: (error as Error).message });
      }
    });
  }

  /** Waits (at most ten seconds of real time) for the last report to reach the service. */
  private async flushStatus(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 10_000);
    });
    await Promise.race([this.statusChain, bound]);
    clearTimeout(timer);
  }

  /**
   * "Collect logs" (when the profile allows it): the bundle is written to the state directory and,
   * when the device has joined, uploaded to the service. Returns where it went.
   */
  /** Writes the log bundle (journal, snapshot, agent log, what device setup logged) and returns its path. */
  async writeLogs(stateDir: string): Promise<string> {
    return (await this.logBundle(stateDir)).path;
  }

  private async logBundle(stateDir: string): Promise<{ path: string; bytes: Buffer }> {
    const { providers } = this.options;
    const deviceLogs = this.assigned && providers.deviceLogs ? await providers.deviceLogs(this.assigned).catch(() => []) : [];
    return writeLogBundle(stateDir, this.snapshot, new Date(), deviceLogs);
  }

  async collectLogs(stateDir: string): Promise<{ path: string; uploaded: string | null; reason: string | null }> {
    const bundle = await this.logBundle(stateDir);
    if (!this.journal || !this.stepDone('joining')) return { path: bundle.path, uploaded: null, reason: 'the device has not joined, so it cannot sign in to upload' };
    try {
      const stored = await this.options.api.diagnostics(await this.token(), bundle.bytes);
      return { path: bundle.path, uploaded: stored.id, reason: null };
    } catch (error) {
      return { path: bundle.path, uploaded: null, reason: (error as Error).message };
    }
  }

  // ---- the sequence ----

  async run(): Promise<DeployOutcome> {
    const { journal: port, api } = this.options;
    const server = api.server.origin;
    const saved = port.load();
    this.journal = saved && saved.server === server ? saved : newJournal(server, this.iso());
    this.profile = saved && saved.server === server ? port.loadProfile() : undefined;
    this.journal.runs++;
    this.replayJournal();
    if (this.journal.completedAt) {
      this.emit({ type: 'succeeded' });
      return this.provisioned(true);
    }
    this.checkpoint();
    try {
      await this.networkStep();
      await this.profileStep();
      await this.oobeStep();
      const restart = await this.updatesStep();
      if (restart) return restart;
      // The ESP starts: its timeout counts from here (from the agent's start, on a resumed run).
      this.deadline = this.clock.now() + this.profile!.profile.esp.timeoutMinutes * 60_000;
      this.emit({ type: 'context', context: { deadline: this.iso(this.deadline) } });
      await this.enrollmentSteps();
      await this.runStep('registering-mdm', async () => {
        const enrolled = await this.managed('registering for management', (token) =>
          api.mdmEnroll(token, { agentVersion: this.options.agent.version, os: this.options.agent.os, hostname: this.options.agent.hostname }),
        );
        return { state: 'succeeded', detail: `Enrolled ${enrolled.enrolledAt}` };
      });
      await this.runStep('preparing-mdm', async () => {
        await this.loadAssignments();
        return { state: 'succeeded', detail: `${this.assigned!.length} item(s) to set up` };
      });
      for (const step of SETUP_STEPS) await this.setupStep(step);
      await this.runStep('account', () => Promise.resolve({ state: 'skipped', detail: 'Self-deploying mode signs in no user' }));
      await this.runStep('complete', async () => {
        const endState = this.profile!.profile.endState.type;
        const done = await this.managed('reporting completion', (token) => api.complete(token, endState, this.journal.continuedPastFailure));
        return { state: 'succeeded', detail: `Deployed ${done.deployedAt}` };
      });
      await this.runStep('end-state', async () => {
        const { endState } = this.profile!.profile;
        await this.options.providers.configureEndState(endState, { deviceName: this.journal.device.deviceName, branding: this.profile!.branding });
        const restart = this.journal.rebootRequired.length ? `; restart required by ${this.journal.rebootRequired.join(', ')}` : '';
        return { state: 'succeeded', detail: `${endState.type === 'kiosk' ? `Kiosk (${endState.mode}) for ${endState.localAccount.name}` : 'Sign-in screen'}${restart}` };
      });
      this.journal.completedAt = this.iso();
      this.checkpoint();
      this.emit({ type: 'succeeded' });
      this.reportStatus();
      await this.flushStatus();
      return this.provisioned(false);
    } catch (error) {
      return this.fail(error);
    }
  }

  /**
   * Critical updates: a newer critical release in the feed is downloaded, verified and installed,
   * and the run ends with `restart` (the new version resumes from the journal). A feed that does
   * not answer within `updateCheckMs`, a release that is not newer or not critical, and a failed
   * or tampered download leave the running version in place — said in the step, never a failure.
   */
  private async updatesStep(): Promise<DeployOutcome | undefined> {
    const updates = this.options.updates;
    const running = this.options.agent.version;
    const pending = this.journal.update;
    if (pending && pending.to === running) {
      // The restarted agent: the update it was restarted for is the one running.
      this.journal.update = null;
      this.finishStep('updates', 'succeeded', `Updated from ${pending.from} to ${running}`);
      this.log('update.applied', { from: pending.from, to: running });
      return undefined;
    }
    if (pending) {
      this.journal.update = null;
      this.finishStep('updates', 'skipped', `The update to ${pending.to} did not take; staying on ${running}`);
      this.log('update.not-applied', { wanted: pending.to, running });
      return undefined;
    }
    if (this.stepDone('updates')) return undefined;
    this.startStep('updates');
    const result = await this.checkForUpdate(updates, running);
    if ('restart' in result) return result.restart; // the step stays in progress: the new version finishes it
    this.finishStep('updates', result.state, result.detail);
    this.reportStatus();
    return undefined;
  }

  private async checkForUpdate(updates: UpdatesPort | undefined, running: string): Promise<{ state: 'succeeded' | 'skipped'; detail: string } | { restart: DeployOutcome }> {
    if (!updates) return { state: 'skipped', detail: 'This agent has no update source' };
    const checkUntil = this.clock.now() + (this.options.updateCheckMs ?? 60_000);
    let feed;
    try {
      feed = await this.patiently('checking for critical updates', () => updates.feed(), checkUntil);
    } catch (error) {
      this.log('update.feed-unreachable', { reason: (error as Error).message });
      return { state: 'skipped', detail: `The update feed did not answer (${(error as Error).message}); carrying on with ${running}` };
    }
    if (!feed) return { state: 'skipped', detail: `No release is published; ${running} is current` };
    if (!versionField.safeParse(running).success) return { state: 'skipped', detail: `This agent (${running}) is not a release build; ${feed.version} is not applied` };
    if (compareVersions(feed.version, running) <= 0) return { state: 'skipped', detail: `Up to date (${running})` };
    if (!feed.critical) return { state: 'skipped', detail: `${feed.version} is available but not critical: it is not applied during setup` };
    let entry: string;
    try {
      const file = await this.patiently(`downloading update ${feed.version}`, () => updates.download(feed), checkUntil + 30 * 60_000);
      entry = await updates.install(file, feed.version);
    } catch (error) {
      this.log('update.refused', { version: feed.version, reason: (error as Error).message });
      return { state: 'skipped', detail: `Update ${feed.version} not applied: ${(error as Error).message}; staying on ${running}` };
    }
    // Recorded before the restart: the new version finishes this step, then goes on.
    this.journal.update = { from: running, to: feed.version, at: this.iso() };
    this.emit({ type: 'step', step: 'updates', state: 'in-progress', detail: `Installed ${feed.version}; restarting` });
    this.checkpoint();
    this.log('update.installed', { from: running, to: feed.version });
    return { restart: { status: 'restart', version: feed.version, entry } };
  }

  private provisioned(already: boolean): DeployOutcome {
    return {
      status: 'provisioned',
      alreadyProvisioned: already,
      deviceId: this.journal.device.deviceId ?? '',
      deviceName: this.journal.device.deviceName,
      endState: this.profile?.profile.endState.type ?? 'sign-in',
      rebootRequired: [...this.journal.rebootRequired],
    };
  }

  private async fail(error: unknown): Promise<DeployOutcome> {
    const failure = failureOf(error, this.currentStep, this.currentItem?.id ?? null);
    const timedOut = failure.code === 'ESP_TIMEOUT';
    this.log('failed', { code: failure.code, detail: failure.detail });
    try {
      if (this.currentItem) {
        const { step, id } = this.currentItem;
        this.emit({ type: 'item', step, item: id, patch: { state: timedOut ? 'timed-out' : 'failed', error: failure } });
      }
      if (this.currentStep) this.finishStep(this.currentStep, timedOut ? 'timed-out' : 'failed', failure.detail);
    } catch (journalError) {
      this.log('journal.failed', { reason: (journalError as Error).message });
    }
    this.emit({ type: 'failed', failure });
    this.reportStatus();
    await this.flushStatus();
    return { status: 'failed', failure };
  }

  private async networkStep(): Promise<void> {
    const { network, api } = this.options;
    const wait = this.options.preflightWaitMs ?? 120_000;
    await this.runStep('network', async () => {
      const until = this.clock.now() + wait;
      const retryUntil = async <T>(code: 'NETWORK_UNAVAILABLE' | 'DNS_FAILED' | 'SERVICE_UNREACHABLE', detail: string, attempt: () => Promise<T | undefined>): Promise<T> => {
        let last: unknown;
        for (let n = 1; ; n++) {
          try {
            const result = await attempt();
            if (result !== undefined) return result;
          } catch (error) {
            last = error;
          }
          if (this.clock.now() + 2000 > until) {
            const reason = last instanceof Error ? `: ${last.message}` : '';
            throw new DeployError(code, `${detail} (waited ${Math.round(wait / 1000)} s${reason})`, 'network');
          }
          this.emit({ type: 'step', step: 'network', state: 'in-progress', detail: `${detail}; retrying` });
          await this.clock.sleep(backoffMs(PREFLIGHT_WAIT, n));
        }
      };
      const { wifi } = this.options;
      if (wifi && (await network.status()).medium === 'none') {
        if (!network.connectWifi) throw new DeployError('NETWORK_UNAVAILABLE', `no network is up, and joining Wi-Fi "${wifi.ssid}" needs the NetworkManager provider`, 'network');
        this.emit({ type: 'step', step: 'network', state: 'in-progress', detail: `Connecting to Wi-Fi "${wifi.ssid}"` });
        try {
          await network.connectWifi(wifi.ssid, wifi.psk);
        } catch (error) {
          throw new DeployError('NETWORK_UNAVAILABLE', `could not join Wi-Fi "${wifi.ssid}": ${(error as Error).message}`, 'network', null, { cause: error });
        }
      }
      let toldNone = false;
      const status = await retryUntil('NETWORK_UNAVAILABLE', 'no network interface with a default route', async () => {
        const s = await network.status();
        if (s.medium === 'none' && !toldNone) {
          // The ESP shows its network page (Wi-Fi) while the step waits.
          toldNone = true;
          this.emit({ type: 'context', context: { network: { medium: 'none', interface: null } } });
        }
        return s.medium === 'none' ? undefined : s;
      });
      this.journal.network = { medium: status.medium, interface: status.interface };
      this.emit({ type: 'context', context: { network: this.journal.network } });
      const host = api.server.hostname.replace(/^\[|\]$/g, '');
      if (isIP(host) === 0) await retryUntil('DNS_FAILED', `${host} does not resolve`, async () => ((await network.resolve(host)).length ? true : undefined));
      const probe = await retryUntil('SERVICE_UNREACHABLE', `no answer from ${api.server.origin}`, () => api.probe());
      if (probe.date) {
        // The Date header has whole seconds and left the service half a round trip ago.
        const skew = this.clock.now() - (Date.parse(probe.date) + probe.roundTripMs / 2);
        if (Math.abs(skew) > MAX_CLOCK_SKEW_MS + 1000) {
          throw new DeployError(
            'CLOCK_SKEW',
            `this device's clock says ${this.iso()}, the service's ${new Date(Date.parse(probe.date)).toISOString()} (${Math.round(skew / 60_000)} minutes apart)`,
            'network',
          );
        }
      }
      return { state: 'succeeded', detail: `${status.medium === 'wired' ? 'Ethernet' : 'Wi-Fi'} (${status.interface ?? '?'}), service answered in ${Math.round(probe.roundTripMs)} ms` };
    });
  }

  private emitProfileContext(profile: DeployProfileResponse): void {
    const { esp, endState } = profile.profile;
    this.emit({
      type: 'context',
      context: {
        profileName: profile.profileName,
        branding: profile.branding,
        rules: {
          showProgress: esp.showProgress,
          timeoutMinutes: esp.timeoutMinutes,
          customErrorMessage: esp.customErrorMessage,
          allowLogCollection: esp.allowLogCollection,
          blockDeviceUse: esp.blockDeviceUse,
          allowReset: esp.allowReset,
          allowContinue: esp.allowContinue,
        },
        endState: endState.type === 'kiosk' ? { type: 'kiosk', mode: endState.mode, account: endState.localAccount.name, autoLogon: endState.autoLogon } : { type: 'sign-in' },
      },
    });
  }

  private async profileStep(): Promise<void> {
    await this.runStep('profile', async () => {
      const device = await readDeviceIdentity(this.options.identity, this.options.tpm);
      const { identity } = device;
      this.journal.device = { ...this.journal.device, serial: identity.serial, manufacturer: identity.manufacturer, model: identity.model, hardwareHash: device.hardwareHash };
      this.emit({ type: 'context', context: { device: this.journal.device } });
      const until = this.clock.now() + (this.options.preflightWaitMs ?? 120_000);
      const profile = await this.patiently('getting the deployment profile', () => this.options.api.profile(device.hardwareHash), until);
      this.options.journal.saveProfile(profile);
      this.profile = profile;
      this.journal.device.deviceId = profile.deviceId;
      this.emit({ type: 'context', context: { device: { ...this.journal.device } } });
      this.emitProfileContext(profile);
      return { state: 'succeeded', detail: `Profile ${profile.profileName}` };
    });
  }

  private async oobeStep(): Promise<void> {
    await this.runStep('oobe', async () => {
      const { oobe } = this.profile!.profile;
      const onEthernet = this.journal.network.medium === 'wired';
      const pagesSkipped = oobe.skipLanguageRegionOnEthernet && onEthernet;
      // A fixed language is set whatever the pages; "user-select" needs a person at the screen.
      let language = oobe.language === 'os-default' || oobe.language === 'user-select' ? null : oobe.language;
      let region: string | null = null;
      let keyboard: string | null = null;
      let secondKeyboard: string | null = null;
      const skipped: string[] = [];
      if (pagesSkipped) skipped.push('language and region pages skipped on Ethernet');
      const pages: OobePage[] = [];
      if (oobe.language === 'user-select' && !pagesSkipped) pages.push('language', 'region');
      if (!oobe.skipKeyboardPage && !pagesSkipped) pages.push('keyboard');
      if (pages.length && this.options.askOobe) {
        const choice = await this.options.askOobe(pages);
        if (pages.includes('language')) language = choice.language;
        if (pages.includes('region')) region = choice.region;
        if (pages.includes('keyboard')) [keyboard, secondKeyboard] = [choice.keyboard, choice.secondKeyboard];
      } else if (pages.includes('language')) {
        skipped.push('no one to ask for a language: the image default is kept');
      }
      if (oobe.skipKeyboardPage) skipped.push('keyboard from the language');
      keyboard ??= language;
      const { timeZone } = oobe;
      if (!language && !keyboard && !timeZone) return { state: 'skipped', detail: skipped.join('; ') || 'The image defaults are kept' };
      await this.options.providers.applyOobe({ language, region, keyboard, secondKeyboard, timeZone });
      const set = [language ? `Language ${language}` : null, region ? `region ${region}` : null, keyboard && keyboard !== language ? `keyboard ${[keyboard, secondKeyboard].filter(Boolean).join(' + ')}` : null, timeZone ? `time zone ${timeZone}` : null]
        .filter(Boolean)
        .join(', ');
      return { state: 'succeeded', detail: `${set}${skipped.length ? `; ${skipped.join('; ')}` : ''}` };
    });
  }

  private async enrollmentSteps(): Promise<void> {
    if (this.stepDone('securing-hardware') && this.stepDone('joining')) return;
    const { tpm, enrollment } = this.options;
    if (!this.stepDone('securing-hardware')) this.startStep('securing-hardware');
    else this.startStep('joining');
    const result = await this.patiently('securing the hardware and joining', () =>
      enroll({
        tpm,
        api: this.options.api as DeviceApi,
        store: enrollment,
        registration: { serial: this.journal.device.serial!, hardwareHash: this.journal.device.hardwareHash! },
        log: (event, detail) => {
          this.log(`enroll.${event}`, detail);
          if (event === 'attested' && this.currentStep === 'securing-hardware') {
            this.finishStep('securing-hardware', 'succeeded', detail?.['unverifiedHardware'] ? 'Attested (hardware unverified: EK allow-listed)' : 'TPM attested');
            this.startStep('joining');
          }
        },
      }),
    );
    if (this.currentStep === 'securing-hardware') this.finishStep('securing-hardware', 'succeeded', result.reused ? 'Attested earlier' : 'TPM attested');
    if (this.currentStep !== 'joining') this.startStep('joining');
    this.journal.device = { ...this.journal.device, deviceId: result.deviceId, deviceName: result.deviceName };
    this.emit({ type: 'context', context: { device: { ...this.journal.device } } });
    this.finishStep('joining', 'succeeded', result.deviceName ? `Joined as ${result.deviceName}` : 'Joined');
  }

  private async loadAssignments(): Promise<AssignedItem[]> {
    if (!this.assigned) {
      for (const step of SETUP_STEPS) if (!this.stepDone(step)) this.emit({ type: 'step', step, state: 'identifying' });
      const response = await this.managed('getting the assignments', (token) => this.options.api.assignments(token));
      this.assigned = response.items;
      for (const step of SETUP_STEPS) {
        const items = this.assigned.filter((item) => SETUP_STEP_OF_KIND[item.kind] === step).map((item) => this.espItem(item));
        this.emit({ type: 'items', step, items });
        if (!this.stepDone(step)) this.emit({ type: 'step', step, state: 'not-started' });
      }
    }
    return this.assigned;
  }

  private espItem(item: AssignedItem): EspItem {
    const record = this.journal.items[itemKey(item)];
    return {
      id: item.id,
      name: item.name,
      kind: item.kind,
      version: item.version,
      blocking: item.blocking,
      state: record ? ITEM_STATE_OF[record.state] : 'not-started',
      startedAt: record?.at ?? null,
      finishedAt: record && record.state !== 'applying' ? record.at : null,
      detail: record?.detail ?? null,
      progress: null,
      error: null,
    };
  }

  private recordItem(item: AssignedItem, step: StepId, state: ItemRecord['state'], detail: string | null): void {
    this.journal.items[itemKey(item)] = { state, kind: item.kind, name: item.name, step, at: this.iso(), detail };
    this.checkpoint();
  }

  private async setupStep(step: (typeof SETUP_STEPS)[number]): Promise<void> {
    if (this.stepDone(step)) return;
    const items = (await this.loadAssignments()).filter((item) => SETUP_STEP_OF_KIND[item.kind] === step);
    this.startStep(step);
    this.reportStatus();
    for (const item of items) await this.applyItem(step, item);
    const failed = items.filter((item) => this.journal.items[itemKey(item)]?.state === 'failed').length;
    this.finishStep(step, 'succeeded', items.length === 0 ? 'Nothing to set up' : failed ? `${failed} optional item(s) failed` : null);
    this.reportStatus();
  }

  private async applyItem(step: StepId, item: AssignedItem): Promise<void> {
    const key = itemKey(item);
    const record = this.journal.items[key];
    if (record && record.state !== 'applying' && record.state !== 'failed') return; // applied (or found in place) before
    const { providers, api } = this.options;
    this.currentItem = { step, id: item.id };
    this.emit({ type: 'item', step, item: item.id, patch: { state: 'in-progress', detail: null, error: null } });
    if (record?.state !== 'applying') this.recordItem(item, step, 'applying', null);
    try {
      const context: ApplyContext = {
        progress: (fraction, detail) => this.emit({ type: 'item', step, item: item.id, patch: { progress: Math.max(0, Math.min(1, fraction)), detail } }),
        fetchContent: async (content, onProgress) => {
          mkdirSync(this.options.contentDir, { recursive: true, mode: 0o700 });
          const file = join(this.options.contentDir, content.sha256);
          await this.managed(`downloading "${item.name}"`, (token) => api.download(token, { file, size: content.size, sha256: content.sha256, ...(onProgress ? { onProgress } : {}) }));
          return file;
        },
        authorization: () => this.token(),
        clientCertificate: (itemId) =>
          this.managed(`getting a client certificate for "${item.name}"`, (token) =>
            requestClientCertificate({ tpm: this.options.tpm, store: this.options.enrollment, api, token, itemId, commonName: this.journal.device.deviceName ?? this.journal.device.deviceId ?? 'device' }),
          ),
      };
      // Detect, then apply — both again after a wait when the helper went away (items are idempotent).
      const result = await this.patiently(`applying ${item.kind} "${item.name}"`, async () => ((await providers.detect(item)) ? null : providers.apply(item, context)));
      if (result === null) {
        this.recordItem(item, step, 'applied', 'Already in place');
        this.emit({ type: 'item', step, item: item.id, patch: { state: 'succeeded', detail: 'Already in place' } });
      } else {
        if (result.rebootRequired && !this.journal.rebootRequired.includes(item.name)) this.journal.rebootRequired.push(item.name);
        this.recordItem(item, step, 'applied', result.detail);
        this.emit({ type: 'item', step, item: item.id, patch: { state: 'succeeded', detail: result.detail, progress: null } });
      }
    } catch (error) {
      if (error instanceof DeployError && error.code === 'ESP_TIMEOUT') throw error;
      // The item's own code when it has one worth showing (not detected, damaged download), else ITEM_FAILED.
      const own = failureOf(error, step, item.id);
      const code: ErrorCode = ITEM_CODES.includes(own.code) ? (own.code as ErrorCode) : 'ITEM_FAILED';
      const failure = code === own.code ? own : failureOf(new DeployError(code, own.detail ?? own.message, step, item.id), step, item.id);
      this.recordItem(item, step, 'failed', failure.detail);
      this.emit({ type: 'item', step, item: item.id, patch: { state: 'failed', error: failure, detail: failure.detail } });
      this.currentItem = null;
      this.reportStatus();
      if (!item.blocking) return;
      const rules = this.profile!.profile.esp;
      if (rules.allowContinue && this.options.decideContinue && (await this.options.decideContinue(failure))) {
        this.journal.continuedPastFailure = failure.code;
        this.checkpoint();
        this.emit({ type: 'failed', failure });
        this.emit({ type: 'continued' });
        return;
      }
      throw new DeployError(code, `${item.kind} "${item.name}": ${failure.detail ?? failure.message}`, step, item.id, { cause: error });
    }
    this.currentItem = null;
    this.reportStatus();
  }

}
