// The host's side of the UI contract (protocol/ipc.ts), whatever carries it (Electron IPC, the dev
// host's WebSocket): runs the engine, publishes its snapshot and events, and answers the
// renderer's commands — each checked against the moment (Try again only after a failure, Continue
// only while a decision waits) and against the profile's ESP rules (Reset, Continue, Collect logs).
import { constants } from 'node:fs';
import { copyFile, lstat } from 'node:fs/promises';
import { basename, isAbsolute, join } from 'node:path';

import type { CodedError } from '../../protocol/errors/report.js';
import { describeIssues } from '../../protocol/validation.js';
import { applyEspEvent, initialSnapshot, type EspFailure, type EspSnapshot } from '../../protocol/esp.js';
import { COMMANDS, RendererMessageSchema, type Command, type CommandArgs, type Diagnostics, type HostMessage, type OobeChoice, type OobePage } from '../../protocol/ipc.js';
import { agentLogTail } from '../deploy/diagnostics.js';
import { failureOf } from '../deploy/errors.js';
import type { DeployEngine, DeployOutcome } from '../deploy/engine.js';
import type { NetworkPort } from '../network/port.js';
import type { UndoReport } from '../target/port.js';

export class SessionError extends Error implements CodedError {
  override name = 'SessionError';

  constructor(
    readonly code: 'ESP_ACTION_NOT_ALLOWED' | 'IPC_INVALID' | 'NETWORK_UNAVAILABLE',
    message: string,
  ) {
    super(message);
  }
}

export interface SessionOptions {
  /** A new engine for each run (the first, Try again, after Reset), asking the renderer through these. */
  engine: (decideContinue: (failure: EspFailure) => Promise<boolean>, askOobe: (pages: OobePage[]) => Promise<OobeChoice>) => DeployEngine | Promise<DeployEngine>;
  /** Undoes device setup and clears the agent's state (resetDevice with the run's executor). */
  reset: () => Promise<UndoReport>;
  /** The agent's state directory (log bundles go there). */
  state: string;
  network?: NetworkPort;
  /** Facts for the diagnostics panel that only the host knows (version, service, TPM). */
  facts?: () => Promise<Omit<Diagnostics, 'logTail'>>;
  log?: (event: string, detail?: Record<string, unknown>) => void;
}

type Subscriber = (message: HostMessage) => void;

export class HostSession {
  private engine: DeployEngine | undefined;
  /** The ESP of a run whose engine could not even be made (its failure). */
  private unstarted: EspSnapshot | undefined;
  private running: Promise<DeployOutcome> | undefined;
  private readonly subscribers = new Set<Subscriber>();
  private pendingDecision: { failure: EspFailure; resolve: (continueAnyway: boolean) => void } | undefined;
  private pendingOobe: { pages: OobePage[]; resolve: (choice: OobeChoice) => void } | undefined;
  private readonly outcomeListeners = new Set<(outcome: DeployOutcome) => void>();

  constructor(private readonly options: SessionOptions) {}

  /** Starts a run (the first, or after Try again / Reset); resolves with its outcome. */
  start(): Promise<DeployOutcome> {
    if (this.running) return this.running;
    const run = (async () => {
      let engine: DeployEngine;
      try {
        engine = await this.options.engine(
          (failure) => this.askToContinue(failure),
          (pages) => this.askOobe(pages),
        );
      } catch (error) {
        // No engine (no TPM answered, say): the ESP shows that failure, and Try again tries anew.
        const at = new Date().toISOString();
        const failure = failureOf(error, null);
        this.unstarted = applyEspEvent(initialSnapshot(at), { type: 'failed', failure, seq: 1, at });
        this.engine = undefined;
        this.publish({ type: 'snapshot', snapshot: this.unstarted });
        this.options.log?.('run.not-started', { code: failure.code, reason: (error as Error).message });
        const outcome: DeployOutcome = { status: 'failed', failure };
        for (const listener of this.outcomeListeners) listener(outcome);
        return outcome;
      }
      this.unstarted = undefined;
      this.engine = engine;
      engine.subscribe((event) => this.publish({ type: 'esp', event }));
      this.publish({ type: 'snapshot', snapshot: engine.current() });
      const outcome = await engine.run();
      for (const listener of this.outcomeListeners) listener(outcome);
      return outcome;
    })().finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }

  /** Called with the outcome of every run (the first, Try again, after Reset). */
  onOutcome(listener: (outcome: DeployOutcome) => void): () => void {
    this.outcomeListeners.add(listener);
    return () => {
      this.outcomeListeners.delete(listener);
    };
  }

  /** Ends the session: a failure waiting for a decision is not continued; resolves when the run has ended. */
  async close(): Promise<void> {
    await this.decline();
  }

  /** Resolves when the run in progress (if any) has ended. */
  async settled(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  /** The current snapshot (an empty one before the first run). */
  current(): EspSnapshot | undefined {
    return this.engine?.current() ?? this.unstarted;
  }

  private askOobe(pages: OobePage[]): Promise<OobeChoice> {
    return new Promise((resolve) => {
      this.pendingOobe = { pages, resolve };
      this.publish({ type: 'oobe', pages });
    });
  }

  private askToContinue(failure: EspFailure): Promise<boolean> {
    return new Promise((resolve) => {
      this.pendingDecision = { failure, resolve };
      this.publish({ type: 'decision', failure });
    });
  }

  private publish(message: HostMessage): void {
    for (const subscriber of this.subscribers) subscriber(message);
  }

  /**
   * One connection of a renderer: `send` delivers host messages to it; the returned function
   * handles each raw message it sends and `close` ends its subscription.
   */
  connect(send: Subscriber): { receive: (raw: unknown) => Promise<void>; close: () => void } {
    let subscribed = false;
    const close = () => {
      this.subscribers.delete(send);
    };
    const receive = async (raw: unknown) => {
      const parsed = RendererMessageSchema.safeParse(raw);
      if (!parsed.success) {
        const id = typeof (raw as { id?: unknown })?.id === 'number' && Number.isSafeInteger((raw as { id: number }).id) && (raw as { id: number }).id >= 1 ? (raw as { id: number }).id : null;
        send({ type: 'reply', id, ok: false, error: { code: 'IPC_INVALID', message: `malformed message: ${describeIssues(parsed.error, '(message)')}` } });
        return;
      }
      const { id, command, args } = parsed.data;
      try {
        if (command === 'subscribe') {
          // In one synchronous step: the snapshot, then every event after it — none falls between.
          // Before the first engine exists: an empty ESP; its real snapshot follows when the run starts.
          const snapshot = this.current() ?? initialSnapshot(new Date().toISOString());
          send({ type: 'reply', id, ok: true, result: snapshot });
          if (!subscribed) this.subscribers.add(send);
          subscribed = true;
          if (this.pendingDecision) send({ type: 'decision', failure: this.pendingDecision.failure });
          if (this.pendingOobe) send({ type: 'oobe', pages: this.pendingOobe.pages });
          return;
        }
        const result = await this.run(command, args);
        send({ type: 'reply', id, ok: true, result: COMMANDS[command].result.parse(result) });
      } catch (error) {
        const code = typeof (error as CodedError).code === 'string' ? (error as CodedError).code : 'AGENT_INTERNAL';
        this.options.log?.('ipc.refused', { command, code, reason: (error as Error).message });
        send({ type: 'reply', id, ok: false, error: { code, message: (error as Error).message } });
      }
    };
    return { receive, close };
  }

  /** Answers a waiting decision with "no" and waits for that run to end. */
  private async decline(): Promise<void> {
    const pending = this.pendingDecision;
    this.pendingDecision = undefined;
    pending?.resolve(false);
    await this.settled();
  }

  private rules() {
    return this.engine?.current().rules ?? null;
  }

  /** Every command but subscribe, which connect() answers itself. */
  private async run(command: Exclude<Command, 'subscribe'>, args: unknown): Promise<unknown> {
    switch (command) {
      case 'retry':
        // While a failure waits for "continue anyway?", Try again means no: that run fails and a new one starts.
        if (this.pendingDecision) await this.decline();
        if (this.running || this.current()?.status !== 'failed') throw new SessionError('ESP_ACTION_NOT_ALLOWED', 'Try again is for a setup that failed');
        void this.start().catch((error: unknown) => this.options.log?.('run.crashed', { reason: (error as Error).message }));
        return { started: true };
      case 'reset': {
        if (!this.rules()?.allowReset) throw new SessionError('ESP_ACTION_NOT_ALLOWED', 'the deployment profile does not allow a reset (esp.allowReset)');
        if (this.pendingDecision) await this.decline();
        if (this.running) throw new SessionError('ESP_ACTION_NOT_ALLOWED', 'a reset waits until setup has stopped');
        const report = await this.options.reset();
        void this.start().catch((error: unknown) => this.options.log?.('run.crashed', { reason: (error as Error).message }));
        return { started: true, left: report.left };
      }
      case 'decide': {
        const pending = this.pendingDecision;
        if (!pending) throw new SessionError('ESP_ACTION_NOT_ALLOWED', 'no failure is waiting for a decision');
        const { continueAnyway } = args as CommandArgs<'decide'>;
        this.pendingDecision = undefined;
        pending.resolve(continueAnyway);
        return { accepted: true };
      }
      case 'collectLogs':
        if (!this.rules()?.allowLogCollection || !this.engine) throw new SessionError('ESP_ACTION_NOT_ALLOWED', 'the deployment profile does not allow collecting logs (esp.allowLogCollection)');
        return this.engine.collectLogs(this.options.state);
      case 'chooseOobe': {
        const pending = this.pendingOobe;
        if (!pending) throw new SessionError('ESP_ACTION_NOT_ALLOWED', 'setup is not waiting for the language, region or keyboard');
        this.pendingOobe = undefined;
        pending.resolve(args as CommandArgs<'chooseOobe'>);
        return { accepted: true };
      }
      case 'exportLogs': {
        if (!this.engine) throw new SessionError('ESP_ACTION_NOT_ALLOWED', 'setup has not started');
        // Before a profile says otherwise (an unregistered device), a technician may take the logs.
        if (this.rules() && !this.rules()!.allowLogCollection) throw new SessionError('ESP_ACTION_NOT_ALLOWED', 'the deployment profile does not allow collecting logs (esp.allowLogCollection)');
        const { folder } = args as CommandArgs<'exportLogs'>;
        return { path: await exportLogBundle(await this.engine.writeLogs(this.options.state), folder) };
      }
      case 'diagnostics': {
        const facts = (await this.options.facts?.()) ?? { agentVersion: 'unknown', service: null, tpm: { tcti: null, manufacturer: null }, tpmCheck: null };
        return { ...facts, logTail: agentLogTail(this.options.state) };
      }
      case 'scanWifi':
        if (!this.options.network?.scanWifi) throw new SessionError('NETWORK_UNAVAILABLE', 'this device has no Wi-Fi that selfdeploy can use');
        return this.options.network.scanWifi();
      case 'connectWifi': {
        const { ssid, psk } = args as CommandArgs<'connectWifi'>;
        if (!this.options.network?.connectWifi) throw new SessionError('NETWORK_UNAVAILABLE', 'this device has no Wi-Fi that selfdeploy can use');
        await this.options.network.connectWifi(ssid, psk);
        return { connected: true };
      }
    }
  }
}

/**
 * Copies a log bundle into a folder the technician named: an existing directory, given as an
 * absolute path; the agent's own permissions decide whether it may write there.
 */
async function exportLogBundle(bundle: string, folder: string): Promise<string> {
  if (!isAbsolute(folder) || folder.includes('\0')) throw new SessionError('ESP_ACTION_NOT_ALLOWED', `${folder} is not an absolute folder path`);
  let stat;
  try {
    stat = await lstat(folder);
  } catch {
    throw new SessionError('ESP_ACTION_NOT_ALLOWED', `${folder} does not exist (is the USB stick mounted?)`);
  }
  if (!stat.isDirectory()) throw new SessionError('ESP_ACTION_NOT_ALLOWED', `${folder} is not a folder`);
  const target = join(folder, basename(bundle));
  try {
    await copyFile(bundle, target, constants.COPYFILE_EXCL);
  } catch (error) {
    throw new SessionError('ESP_ACTION_NOT_ALLOWED', `cannot write ${target}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return target;
}
