// The run's progress, kept two ways at once: the ESP snapshot (every event folded with the one
// reducer, applyEspEvent, and published to subscribers) and the journal (each step and item
// recorded durably before it takes effect). A resumed run replays the journal into the ESP.
import type { DeployProfileResponse } from '../../protocol/api/deploy.js';
import { FINISHED_STATES, PHASES, applyEspEvent, boundedEvent, initialSnapshot, type EspEvent, type EspEventBody, type EspSnapshot, type StepId } from '../../protocol/esp.js';
import { itemKey, type AssignedItem } from '../../protocol/items.js';
import type { ClockPort } from './clock.js';
import type { ItemRecord, Journal, JournalPort } from './journal.js';

export type Listener = (event: EspEvent, snapshot: EspSnapshot) => void;

export class EspProgress {
  private snapshot: EspSnapshot;
  private readonly listeners = new Set<Listener>();
  /** The journal of this run (set by the engine when it starts). */
  journal!: Journal;
  /** The step running now, and the item being applied: where a failure belongs. */
  currentStep: StepId | null = null;
  currentItem: { step: StepId; id: string } | null = null;

  constructor(
    private readonly port: JournalPort,
    private readonly clock: ClockPort,
  ) {
    this.snapshot = initialSnapshot(this.iso());
  }

  iso(ms = this.clock.now()): string {
    return new Date(ms).toISOString();
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  current(): EspSnapshot {
    return this.snapshot;
  }

  emit(body: EspEventBody, at = this.iso()): void {
    // Texts cut to what the ESP's schemas allow: a long message never stops the ESP or its reports.
    const event = { ...boundedEvent(body), seq: this.snapshot.seq + 1, at };
    this.snapshot = applyEspEvent(this.snapshot, event);
    for (const listener of this.listeners) listener(event, this.snapshot);
  }

  /** Writes the journal durably: nothing after this may be lost. */
  checkpoint(): void {
    this.journal.checkpoints++;
    this.port.save(this.journal);
  }

  stepDone(step: StepId): boolean {
    const state = this.journal.steps[step]?.state;
    return state === 'succeeded' || state === 'skipped';
  }

  startStep(step: StepId, detail: string | null = null): void {
    this.currentStep = step;
    const at = this.iso();
    const previous = this.journal.steps[step];
    this.journal.steps[step] = { state: 'in-progress', startedAt: previous?.state === 'in-progress' ? previous.startedAt : at, finishedAt: null, detail };
    this.checkpoint();
    this.emit({ type: 'step', step, state: 'in-progress', detail });
  }

  finishStep(step: StepId, state: 'succeeded' | 'skipped' | 'failed' | 'timed-out', detail: string | null = null): void {
    const at = this.iso();
    this.journal.steps[step] = { state, startedAt: this.journal.steps[step]?.startedAt ?? at, finishedAt: at, detail };
    this.checkpoint();
    this.emit({ type: 'step', step, state, detail });
    if (this.currentStep === step) this.currentStep = null;
  }

  /** A new line under the running step ("Waiting for the service …"). */
  note(detail: string): void {
    if (this.currentStep) this.emit({ type: 'step', step: this.currentStep, state: 'in-progress', detail });
  }

  recordItem(item: AssignedItem, step: StepId, state: ItemRecord['state'], detail: string | null): void {
    this.journal.items[itemKey(item)] = { state, kind: item.kind, name: item.name, step, at: this.iso(), detail };
    this.checkpoint();
  }

  /** The device as the journal knows it, to the ESP. */
  showDevice(): void {
    this.emit({ type: 'context', context: { device: { ...this.journal.device } } });
  }

  /** What the profile decides about the ESP: its name, branding, rules and end state. */
  showProfile(profile: DeployProfileResponse): void {
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

  /** Replays what the journal holds, so a UI of a resumed run shows the steps done before. */
  replay(profile: DeployProfileResponse | undefined): void {
    const j = this.journal;
    this.emit({ type: 'context', context: { device: j.device, network: j.network } });
    if (profile) this.showProfile(profile);
    for (const phase of Object.values(PHASES)) {
      for (const step of phase.steps) {
        const record = j.steps[step];
        if (!record) continue;
        if (record.startedAt) this.emit({ type: 'step', step, state: 'in-progress', detail: record.detail }, record.startedAt);
        if (FINISHED_STATES.includes(record.state)) this.emit({ type: 'step', step, state: record.state, detail: record.detail }, record.finishedAt ?? record.startedAt ?? this.iso());
      }
    }
  }
}
