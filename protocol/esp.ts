// The Enrollment Status Page model: the typed snapshot and event stream the engine publishes and
// every UI (terminal, React ESP, the service's live progress) consumes. `applyEspEvent` is the one
// reducer: the engine builds its own snapshot with it, so a UI that folds the same events over the
// same start sees exactly what the engine sees.
import { z } from 'zod';

import { DeviceBrandingSchema } from './branding.js';
import { ItemKindSchema } from './items.js';

export const ItemStateSchema = z.enum(['not-started', 'identifying', 'in-progress', 'succeeded', 'failed', 'skipped', 'timed-out']);
export type ItemState = z.output<typeof ItemStateSchema>;

/** States after which nothing more happens to an item or step. */
export const FINISHED_STATES: readonly ItemState[] = ['succeeded', 'failed', 'skipped', 'timed-out'];

export const PHASES = {
  /** Before the ESP shows: OOBE pages, network, profile, updates. */
  preflight: { title: 'Getting ready', steps: ['network', 'profile', 'oobe', 'updates'] },
  'device-preparation': { title: 'Device preparation', steps: ['securing-hardware', 'joining', 'registering-mdm', 'preparing-mdm'] },
  'device-setup': { title: 'Device setup', steps: ['policies', 'certificates', 'networks', 'apps'] },
  /** Self-deploying mode has no user: shown as skipped. */
  'account-setup': { title: 'Account setup', steps: ['account'] },
  /** After the ESP: the service is told, then the sign-in screen or kiosk is prepared. */
  completion: { title: 'Finishing', steps: ['complete', 'end-state'] },
} as const;

export type PhaseId = keyof typeof PHASES;
export type StepId = (typeof PHASES)[PhaseId]['steps'][number];
export const PHASE_IDS: PhaseId[] = ['preflight', 'device-preparation', 'device-setup', 'account-setup', 'completion'];
export const STEP_IDS = PHASE_IDS.flatMap<StepId>((phase) => PHASES[phase].steps);
export const PhaseIdSchema = z.enum(PHASE_IDS as [PhaseId, ...PhaseId[]]);
export const StepIdSchema = z.enum(STEP_IDS as [StepId, ...StepId[]]);

export const STEP_TITLES: Record<StepId, string> = {
  network: 'Connecting to the network',
  profile: 'Getting the deployment profile',
  oobe: 'Language, region and keyboard',
  updates: 'Critical updates',
  'securing-hardware': 'Securing your hardware',
  joining: "Joining your organization's network",
  'registering-mdm': 'Registering your device for mobile management',
  'preparing-mdm': 'Preparing your device for mobile management',
  policies: 'Security policies',
  certificates: 'Certificates',
  networks: 'Network connections',
  apps: 'Apps',
  account: 'Account setup',
  complete: 'Reporting completion',
  'end-state': 'Preparing the device for use',
};

/** The Device setup step of each item kind. */
export const SETUP_STEP_OF_KIND = { policy: 'policies', certificate: 'certificates', network: 'networks', app: 'apps', script: 'apps' } as const satisfies Record<
  z.output<typeof ItemKindSchema>,
  StepId
>;

export function phaseOf(step: StepId): PhaseId {
  return PHASE_IDS.find((phase) => (PHASES[phase].steps as readonly string[]).includes(step))!;
}

const timestamp = z.string();

export const EspFailureSchema = z.object({
  code: z.string(),
  hresult: z.string().nullable(),
  title: z.string(),
  message: z.string(),
  remedy: z.string(),
  /** docs/errors.md anchor. */
  docs: z.string(),
  /** What happened this time (the service's detail, the item, the TPM return code). */
  detail: z.string().nullable(),
  step: StepIdSchema.nullable(),
  item: z.string().nullable(),
});
export type EspFailure = z.output<typeof EspFailureSchema>;

export const EspItemSchema = z.object({
  id: z.string(),
  name: z.string(),
  kind: ItemKindSchema,
  version: z.number().int(),
  blocking: z.boolean(),
  state: ItemStateSchema,
  startedAt: timestamp.nullable(),
  finishedAt: timestamp.nullable(),
  /** What the item is doing ("Downloading 3.2 of 12 MB"), or why it was skipped or failed. */
  detail: z.string().nullable(),
  /** 0..1 while in progress, when known. */
  progress: z.number().min(0).max(1).nullable(),
  error: EspFailureSchema.nullable(),
});
export type EspItem = z.output<typeof EspItemSchema>;

export const EspStepSchema = z.object({
  id: StepIdSchema,
  title: z.string(),
  state: ItemStateSchema,
  startedAt: timestamp.nullable(),
  finishedAt: timestamp.nullable(),
  detail: z.string().nullable(),
  items: z.array(EspItemSchema),
  /** "N of M": items succeeded or skipped, of all items. */
  completed: z.number().int().min(0),
  total: z.number().int().min(0),
});
export type EspStep = z.output<typeof EspStepSchema>;

export const EspPhaseSchema = z.object({
  id: PhaseIdSchema,
  title: z.string(),
  state: ItemStateSchema,
  steps: z.array(EspStepSchema),
});
export type EspPhase = z.output<typeof EspPhaseSchema>;

/** The profile's ESP rules, as the UI needs them. */
export const EspRulesSchema = z.object({
  showProgress: z.boolean(),
  timeoutMinutes: z.number().int(),
  customErrorMessage: z.string(),
  allowLogCollection: z.boolean(),
  blockDeviceUse: z.boolean(),
  allowReset: z.boolean(),
  allowContinue: z.boolean(),
});
export type EspRules = z.output<typeof EspRulesSchema>;

export const EspDeviceSchema = z.object({
  serial: z.string().nullable(),
  manufacturer: z.string().nullable(),
  model: z.string().nullable(),
  /** Shown on DEVICE_NOT_REGISTERED so a technician can register the device. */
  hardwareHash: z.string().nullable(),
  deviceId: z.string().nullable(),
  deviceName: z.string().nullable(),
});

export const EspEndStateSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('sign-in') }),
  z.object({ type: z.literal('kiosk'), mode: z.enum(['browser', 'signage', 'app']), account: z.string(), autoLogon: z.boolean() }),
]);

export const EspContextSchema = z.object({
  device: EspDeviceSchema,
  network: z.object({ medium: z.enum(['wired', 'wireless', 'none']).nullable(), interface: z.string().nullable() }),
  rules: EspRulesSchema.nullable(),
  /** When the ESP times out (profile's timeout from the start of Device preparation). */
  deadline: timestamp.nullable(),
  endState: EspEndStateSchema.nullable(),
  branding: DeviceBrandingSchema.nullable(),
  profileName: z.string().nullable(),
});
export type EspContext = z.output<typeof EspContextSchema>;

export const EspStatusSchema = z.enum(['running', 'succeeded', 'failed']);

export const EspSnapshotSchema = EspContextSchema.extend({
  schema: z.literal(1),
  /** The seq of the last event folded in. */
  seq: z.number().int().min(0),
  status: EspStatusSchema,
  startedAt: timestamp,
  updatedAt: timestamp,
  phases: z.array(EspPhaseSchema),
  failure: EspFailureSchema.nullable(),
  /** The failure was passed over because the profile allows continuing (allowContinue). */
  continuedPastFailure: z.boolean(),
});
export type EspSnapshot = z.output<typeof EspSnapshotSchema>;

const eventBase = { seq: z.number().int().min(1), at: timestamp };
const ItemPatchSchema = z.object({
  state: ItemStateSchema.optional(),
  detail: z.string().nullable().optional(),
  progress: z.number().min(0).max(1).nullable().optional(),
  error: EspFailureSchema.nullable().optional(),
});

export const EspEventSchema = z.discriminatedUnion('type', [
  /** Device, network, rules, branding, deadline or end state became known. */
  z.object({ ...eventBase, type: z.literal('context'), context: EspContextSchema.partial() }),
  z.object({ ...eventBase, type: z.literal('step'), step: StepIdSchema, state: ItemStateSchema, detail: z.string().nullable().optional() }),
  /** A Device setup step identified what it will apply. */
  z.object({ ...eventBase, type: z.literal('items'), step: StepIdSchema, items: z.array(EspItemSchema) }),
  z.object({ ...eventBase, type: z.literal('item'), step: StepIdSchema, item: z.string(), patch: ItemPatchSchema }),
  z.object({ ...eventBase, type: z.literal('failed'), failure: EspFailureSchema }),
  /** The technician (or the profile's allowContinue) passed over the failure. */
  z.object({ ...eventBase, type: z.literal('continued') }),
  z.object({ ...eventBase, type: z.literal('succeeded') }),
]);
export type EspEvent = z.output<typeof EspEventSchema>;
export type EspEventBody = EspEvent extends infer E ? (E extends EspEvent ? Omit<E, 'seq' | 'at'> : never) : never;

export function initialSnapshot(startedAt: string): EspSnapshot {
  return {
    schema: 1,
    seq: 0,
    status: 'running',
    startedAt,
    updatedAt: startedAt,
    device: { serial: null, manufacturer: null, model: null, hardwareHash: null, deviceId: null, deviceName: null },
    network: { medium: null, interface: null },
    rules: null,
    deadline: null,
    endState: null,
    branding: null,
    profileName: null,
    failure: null,
    continuedPastFailure: false,
    phases: PHASE_IDS.map((id) => ({
      id,
      title: PHASES[id].title,
      state: 'not-started' as const,
      steps: PHASES[id].steps.map((step) => ({
        id: step,
        title: STEP_TITLES[step],
        state: 'not-started' as const,
        startedAt: null,
        finishedAt: null,
        detail: null,
        items: [],
        completed: 0,
        total: 0,
      })),
    })),
  };
}

const finished = (state: ItemState) => FINISHED_STATES.includes(state);

function counted(step: EspStep): EspStep {
  return {
    ...step,
    completed: step.items.filter((i) => i.state === 'succeeded' || i.state === 'skipped').length,
    total: step.items.length,
  };
}

/** A phase's state from its steps: failed or timed out wins, then in progress, then done. */
export function phaseState(steps: readonly EspStep[]): ItemState {
  const states = steps.map((s) => s.state);
  if (states.includes('timed-out')) return 'timed-out';
  if (states.includes('failed')) return 'failed';
  if (states.every((s) => s === 'skipped')) return 'skipped';
  if (states.every((s) => s === 'succeeded' || s === 'skipped')) return 'succeeded';
  if (states.some((s) => s !== 'not-started')) return 'in-progress';
  return 'not-started';
}

function withStep(snapshot: EspSnapshot, stepId: StepId, change: (step: EspStep) => EspStep): EspSnapshot {
  const phases = snapshot.phases.map((phase) => {
    if (!phase.steps.some((s) => s.id === stepId)) return phase;
    const steps = phase.steps.map((s) => (s.id === stepId ? counted(change(s)) : s));
    return { ...phase, steps, state: phaseState(steps) };
  });
  return { ...snapshot, phases };
}

function transition<T extends { state: ItemState; startedAt: string | null; finishedAt: string | null }>(thing: T, state: ItemState, at: string): T {
  return {
    ...thing,
    state,
    startedAt: thing.startedAt ?? (state === 'not-started' ? null : at),
    finishedAt: finished(state) ? (thing.finishedAt && finished(thing.state) ? thing.finishedAt : at) : null,
  };
}

/** Folds one event into a snapshot (pure; events with an older seq are ignored). */
export function applyEspEvent(snapshot: EspSnapshot, event: EspEvent): EspSnapshot {
  if (event.seq <= snapshot.seq) return snapshot;
  let next: EspSnapshot = { ...snapshot, seq: event.seq, updatedAt: event.at };
  switch (event.type) {
    case 'context': {
      const { device, network, ...rest } = event.context;
      next = { ...next, ...rest, ...(device ? { device: { ...next.device, ...device } } : {}), ...(network ? { network: { ...next.network, ...network } } : {}) };
      break;
    }
    case 'step':
      next = withStep(next, event.step, (step) => ({ ...transition(step, event.state, event.at), ...(event.detail !== undefined ? { detail: event.detail } : {}) }));
      break;
    case 'items':
      next = withStep(next, event.step, (step) => ({ ...step, items: event.items }));
      break;
    case 'item':
      next = withStep(next, event.step, (step) => ({
        ...step,
        items: step.items.map((item) => {
          if (item.id !== event.item) return item;
          const { state, ...patch } = event.patch;
          const moved = state ? transition(item, state, event.at) : item;
          return { ...moved, ...patch, progress: patch.progress !== undefined ? patch.progress : state && finished(state) ? null : moved.progress };
        }),
      }));
      break;
    case 'failed':
      next = { ...next, status: 'failed', failure: event.failure };
      break;
    case 'continued':
      next = { ...next, status: 'running', continuedPastFailure: true };
      break;
    case 'succeeded':
      next = { ...next, status: 'succeeded' };
      break;
  }
  return next;
}

export function findStep(snapshot: EspSnapshot, stepId: StepId): EspStep {
  for (const phase of snapshot.phases) {
    const step = phase.steps.find((s) => s.id === stepId);
    if (step) return step;
  }
  throw new RangeError(`no step ${stepId}`);
}

/** Milliseconds an item or step has run: to its end, or to `now` while it runs. */
export function elapsedMs(thing: { startedAt: string | null; finishedAt: string | null }, now: string): number {
  if (!thing.startedAt) return 0;
  return Math.max(0, Date.parse(thing.finishedAt ?? now) - Date.parse(thing.startedAt));
}

/** The summary the service keeps per device (admin device view). */
export function espSummary(snapshot: EspSnapshot): { phase: string; step: string | null; completed: number; total: number } {
  const steps = snapshot.phases.filter((p) => p.id !== 'preflight').flatMap((p) => p.steps);
  const current = steps.find((s) => !finished(s.state) && s.state !== 'not-started') ?? steps.find((s) => s.state === 'not-started');
  const phase = current ? phaseOf(current.id) : 'completion';
  const done = steps.filter((s) => s.state === 'succeeded' || s.state === 'skipped').length;
  return { phase: snapshot.status === 'running' ? phase : snapshot.status, step: current?.title ?? null, completed: done, total: steps.length };
}
