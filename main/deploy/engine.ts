// The self-deploy engine: the sequence of the design brief as an ordered list of steps (steps/,
// one module each) and the journal that makes it resumable. It runs each step not yet done —
// recorded before it starts and when it ends — starts the ESP's timeout where the ESP starts,
// publishes the ESP as a snapshot and event stream (protocol/esp.ts), and turns whatever ends the
// run into a catalogued failure. A run that finds its journal complete only says so.
import { PHASES, type EspFailure, type EspSnapshot } from '../../protocol/esp.js';
import type { DeploymentProfile } from '../../protocol/profile.js';
import { SYSTEM_CLOCK } from './clock.js';
import type { Step, StepContext } from './context.js';
import { writeLogBundle } from './diagnostics.js';
import { DeployError, failureOf } from './errors.js';
import { newJournal } from './journal.js';
import type { EngineOptions } from './ports.js';
import { EspProgress, type Listener } from './progress.js';
import { ServiceSession } from './session.js';
import { StatusReports } from './status.js';
import { accountStep } from './steps/account.js';
import { completeStep } from './steps/complete.js';
import { appsStep, certificatesStep, networksStep, policiesStep } from './steps/device-setup.js';
import { endStateStep } from './steps/end-state.js';
import { joiningStep } from './steps/joining.js';
import { networkStep } from './steps/network.js';
import { oobeStep } from './steps/oobe.js';
import { preparingStep } from './steps/preparing.js';
import { profileStep } from './steps/profile.js';
import { registeringStep } from './steps/registering.js';
import { securingStep } from './steps/securing.js';
import { updatesStep } from './steps/updates.js';

/** The self-deploy, in order (docs/architecture.md#the-self-deploy-engine). */
export const STEPS: readonly Step[] = [
  networkStep,
  profileStep,
  oobeStep,
  updatesStep,
  securingStep,
  joiningStep,
  registeringStep,
  preparingStep,
  policiesStep,
  certificatesStep,
  networksStep,
  appsStep,
  accountStep,
  completeStep,
  endStateStep,
];

/** The ESP starts with its first step: the ESP timeout counts from there. */
const FIRST_ESP_STEP = PHASES['device-preparation'].steps[0];

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
  | { status: 'restart'; version: string; entry: string }
  /**
   * OS updates need the device restarted: it is restarting (`restarting`), or the host says to
   * restart it (no service manager to ask); setup resumes from the journal after.
   */
  | { status: 'reboot'; reason: string; restarting: boolean };

/** What a check-in did: the logs asked for, where they went (uploaded: the bundle's id). */
export interface CheckInOutcome {
  deviceId: string;
  nextInSeconds: number;
  logs: { requestedAt: string; path: string; uploaded: string | null; reason: string | null } | null;
  /** Directory sign-in whose rule names the primary user: who that is now, and whether the device changed for it. */
  signIn: { primaryUser: string | null; updated: boolean } | null;
}

export class DeployEngine {
  private readonly context: StepContext;

  constructor(
    options: EngineOptions,
    private readonly steps: readonly Step[] = STEPS,
  ) {
    const clock = options.clock ?? SYSTEM_CLOCK;
    const log = options.log ?? (() => undefined);
    const progress = new EspProgress(options.journal, clock);
    const session = new ServiceSession({ clock, progress, enrollment: options.enrollment, log });
    this.context = {
      options: { ...options, clock, log },
      progress,
      session,
      status: new StatusReports({ api: options.api, progress, session, log }),
      run: {},
    };
  }

  /** Every event from now on, with the snapshot after it. */
  subscribe(listener: Listener): () => void {
    return this.context.progress.subscribe(listener);
  }

  current(): EspSnapshot {
    return this.context.progress.current();
  }

  async run(): Promise<DeployOutcome> {
    const { options, progress, session, run } = this.context;
    const server = options.api.server.origin;
    const saved = options.journal.load();
    const resumed = saved?.server === server;
    progress.journal = resumed ? saved : newJournal(server, progress.iso());
    run.profile = resumed ? options.journal.loadProfile() : undefined;
    progress.journal.runs++;
    progress.replay(run.profile);
    if (progress.journal.completedAt) {
      progress.emit({ type: 'succeeded' });
      return this.provisioned(true);
    }
    progress.checkpoint();
    try {
      for (const step of this.steps) {
        if (step.id === FIRST_ESP_STEP && session.deadline === null && run.profile) session.startEsp(run.profile.profile.esp.timeoutMinutes);
        const restart = await this.runStep(step);
        if (restart) return restart;
      }
      progress.journal.completedAt = progress.iso();
      progress.checkpoint();
      progress.emit({ type: 'succeeded' });
      this.context.status.report();
      await this.context.status.flush();
      return this.provisioned(false);
    } catch (error) {
      return this.fail(error);
    }
  }

  /** One step, unless the journal says it is done: recorded before it starts and when it ends. */
  private async runStep(step: Step): Promise<DeployOutcome | undefined> {
    const { progress, status } = this.context;
    if (progress.stepDone(step.id)) return undefined;
    await step.prepare?.(this.context);
    progress.startStep(step.id);
    const result = await step.run(this.context);
    // A restart for an update leaves the step in progress: the new version finishes it.
    if ('restart' in result) return { status: 'restart', ...result.restart };
    if ('reboot' in result) return { status: 'reboot', ...result.reboot };
    progress.finishStep(step.id, result.state, result.detail);
    status.report();
    return undefined;
  }

  private provisioned(already: boolean): DeployOutcome {
    const { journal } = this.context.progress;
    return {
      status: 'provisioned',
      alreadyProvisioned: already,
      deviceId: journal.device.deviceId ?? '',
      deviceName: journal.device.deviceName,
      endState: this.context.run.profile?.profile.endState.type ?? 'sign-in',
      rebootRequired: [...journal.rebootRequired],
    };
  }

  private async fail(error: unknown): Promise<DeployOutcome> {
    const { progress, status, options } = this.context;
    const failure = failureOf(error, progress.currentStep, progress.currentItem?.id ?? null);
    const timedOut = failure.code === 'ESP_TIMEOUT';
    options.log('failed', { code: failure.code, detail: failure.detail });
    try {
      // The ESP ended: Try again starts a new one, with its own timeout.
      progress.journal.espDeadline = null;
      if (progress.currentItem) {
        const { step, id } = progress.currentItem;
        progress.emit({ type: 'item', step, item: id, patch: { state: timedOut ? 'timed-out' : 'failed', error: failure } });
      }
      if (progress.currentStep) progress.finishStep(progress.currentStep, timedOut ? 'timed-out' : 'failed', failure.detail);
    } catch (journalError) {
      options.log('journal.failed', { reason: (journalError as Error).message });
    }
    progress.emit({ type: 'failed', failure });
    status.report();
    await status.flush();
    return { status: 'failed', failure };
  }

  /**
   * `selfdeploy checkin` (on a timer, once the device has joined): tells the service the device is
   * there and does what it asks — upload a log bundle someone asked for. The service is waited out
   * for at most `waitMs`; a device that has not joined has no credential to check in with.
   */
  async checkIn(stateDir: string, waitMs = 5 * 60_000): Promise<CheckInOutcome> {
    const { options, progress, session, run } = this.context;
    const saved = options.journal.load();
    if (!saved || saved.server !== options.api.server.origin) throw new DeployError('DEVICE_NOT_JOINED', `this device has not set up with ${options.api.server.origin} (no journal for it in ${stateDir})`);
    progress.journal = saved;
    run.profile = options.journal.loadProfile();
    progress.replay(run.profile);
    if (!progress.stepDone('joining')) throw new DeployError('DEVICE_NOT_JOINED', 'this device has not joined yet, so it has no credential to check in with');
    const answer = await session.managed('checking in', (token) => options.api.checkIn(token, { agentVersion: options.agent.version }), options.clock.now() + waitMs);
    options.log('checkin', { collectLogs: answer.collectLogs !== null });
    const signIn = await this.followPrimaryUser(answer.primaryUser);
    if (!answer.collectLogs) return { deviceId: answer.deviceId, nextInSeconds: answer.checkInIntervalSeconds, logs: null, signIn };
    return { deviceId: answer.deviceId, nextInSeconds: answer.checkInIntervalSeconds, logs: { requestedAt: answer.collectLogs.requestedAt, ...(await this.collectLogs(stateDir)) }, signIn };
  }

  /**
   * A primary user set or changed after provisioning reaches the device at its next contact: where
   * the profile's directory sign-in names the primary user and the end state is in place, SSSD's
   * access control follows the user the service names now.
   */
  private async followPrimaryUser(primaryUser: string | null): Promise<CheckInOutcome['signIn']> {
    const { run, progress, options } = this.context;
    const endState = run.profile?.profile.endState;
    if (endState?.type !== 'sign-in' || !endState.directory) return null;
    const { directory } = endState;
    if (directory.allow === 'all' || !directory.allow.primaryUser || !progress.stepDone('end-state')) return null;
    const updated = await options.providers.updateDirectorySignIn({ ...endState, directory }, primaryUser);
    options.log('checkin.primary-user', { primaryUser, updated });
    return { primaryUser, updated };
  }

  /** The log bundle (journal, snapshot, agent log, what device setup logged), written to the state directory. */
  private async logBundle(stateDir: string): Promise<{ path: string; bytes: Buffer }> {
    const { providers } = this.context.options;
    const { assigned } = this.context.run;
    const deviceLogs = assigned && providers.deviceLogs ? await providers.deviceLogs(assigned).catch(() => []) : [];
    return writeLogBundle(stateDir, this.current(), new Date(), deviceLogs);
  }

  /** Writes the log bundle and returns its path ("Export logs" to a folder). */
  async writeLogs(stateDir: string): Promise<string> {
    return (await this.logBundle(stateDir)).path;
  }

  /**
   * "Collect logs" (when the profile allows it): the bundle is written to the state directory and,
   * when the device has joined, uploaded to the service. Returns where it went.
   */
  async collectLogs(stateDir: string): Promise<{ path: string; uploaded: string | null; reason: string | null }> {
    const bundle = await this.logBundle(stateDir);
    const { progress, session, options } = this.context;
    if (!progress.journal || !progress.stepDone('joining')) return { path: bundle.path, uploaded: null, reason: 'the device has not joined, so it cannot sign in to upload' };
    try {
      const stored = await options.api.diagnostics(await session.token(), bundle.bytes);
      return { path: bundle.path, uploaded: stored.id, reason: null };
    } catch (error) {
      return { path: bundle.path, uploaded: null, reason: (error as Error).message };
    }
  }
}
