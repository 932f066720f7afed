// The Enrollment Status Page model: the typed snapshot and event stream the engine publishes and
// every UI (terminal, React ESP, the service's live progress) consumes. `applyEspEvent` is the one
// reducer: the engine builds its own snapshot with it, so a UI that folds the same events over the
// same start sees exactly what the engine sees.
import { z } from 'zod';

import { DeviceBrandingSchema } from './branding.js';
import { HARDWARE_HASH_MAX_LENGTH } from './hardware-hash.js';
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

const timestamp = z.string().max(40);

/**
 * How long the ESP's texts may be. The schemas refuse longer ones (what a device reports is capped
 * where it comes in); the agent cuts its own to fit (boundedEvent) before they go anywhere.
 */
export const ESP_TEXT_MAX = { id: 128, code: 64, name: 256, title: 256, text: 2048, docs: 512 } as const;
/** Items one step may list. */
export const ESP_ITEMS_MAX = 1000;

const id = z.string().max(ESP_TEXT_MAX.id);
const name = z.string().max(ESP_TEXT_MAX.name);
const title = z.string().max(ESP_TEXT_MAX.title);
const text = z.string().max(ESP_TEXT_MAX.text);

export const EspFailureSchema = z.object({
  code: z.string().max(ESP_TEXT_MAX.code),
  hresult: z.string().max(16).nullable(),
  title,
  message: text,
  remedy: text,
  /** docs/errors.md anchor. */
  docs: z.string().max(ESP_TEXT_MAX.docs),
  /** What happened this time (the service's detail, the item, the TPM return code). */
  detail: text.nullable(),
  step: StepIdSchema.nullable(),
  item: id.nullable(),
});
export type EspFailure = z.output<typeof EspFailureSchema>;

export const EspItemSchema = z.object({
  id,
  name,
  kind: ItemKindSchema,
  version: z.number().int(),
  blocking: z.boolean(),
  state: ItemStateSchema,
  startedAt: timestamp.nullable(),
  finishedAt: timestamp.nullable(),
  /** What the item is doing ("Downloading 3.2 of 12 MB"), or why it was skipped or failed. */
  detail: text.nullable(),
  /** 0..1 while in progress, when known. */
  progress: z.number().min(0).max(1).nullable(),
  error: EspFailureSchema.nullable(),
});
export type EspItem = z.output<typeof EspItemSchema>;

export const EspStepSchema = z.object({
  id: StepIdSchema,
  title,
  state: ItemStateSchema,
  startedAt: timestamp.nullable(),
  finishedAt: timestamp.nullable(),
  detail: text.nullable(),
  items: z.array(EspItemSchema).max(ESP_ITEMS_MAX),
  /** "N of M": items succeeded or skipped, of all items. */
  completed: z.number().int().min(0),
  total: z.number().int().min(0),
});
export type EspStep = z.output<typeof EspStepSchema>;

export const EspPhaseSchema = z.object({
  id: PhaseIdSchema,
  title,
  state: ItemStateSchema,
  steps: z.array(EspStepSchema).max(32),
});
export type EspPhase = z.output<typeof EspPhaseSchema>;

/** The profile's ESP rules, as the UI needs them. */
export const EspRulesSchema = z.object({
  showProgress: z.boolean(),
  timeoutMinutes: z.number().int(),
  customErrorMessage: text,
  allowLogCollection: z.boolean(),
  blockDeviceUse: z.boolean(),
  allowReset: z.boolean(),
  allowContinue: z.boolean(),
});
export type EspRules = z.output<typeof EspRulesSchema>;

export const EspDeviceSchema = z.object({
  serial: name.nullable(),
  manufacturer: name.nullable(),
  model: name.nullable(),
  /** Shown on DEVICE_NOT_REGISTERED so a technician can register the device. */
  hardwareHash: z.string().max(HARDWARE_HASH_MAX_LENGTH).nullable(),
  deviceId: id.nullable(),
  deviceName: name.nullable(),
});

export const EspEndStateSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('sign-in') }),
  z.object({ type: z.literal('kiosk'), mode: z.enum(['browser', 'signage', 'app']), account: name, autoLogon: z.boolean() }),
]);

export const EspContextSchema = z.object({
  device: EspDeviceSchema,
  network: z.object({ medium: z.enum(['wired', 'wireless', 'none']).nullable(), interface: name.nullable() }),
  rules: EspRulesSchema.nullable(),
  /** When the ESP times out (profile's timeout from the start of Device preparation). */
  deadline: timestamp.nullable(),
  endState: EspEndStateSchema.nullable(),
  branding: DeviceBrandingSchema.nullable(),
  profileName: name.nullable(),
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
  phases: z.array(EspPhaseSchema).max(8),
  failure: EspFailureSchema.nullable(),
  /** The failure was passed over because the profile allows continuing (allowContinue). */
  continuedPastFailure: z.boolean(),
});
export type EspSnapshot = z.output<typeof EspSnapshotSchema>;

const eventBase = { seq: z.number().int().min(1), at: timestamp };
const ItemPatchSchema = z.object({
  state: ItemStateSchema.optional(),
  detail: text.nullable().optional(),
  progress: z.number().min(0).max(1).nullable().optional(),
  error: EspFailureSchema.nullable().optional(),
});

export const EspEventSchema = z.discriminatedUnion('type', [
  /** Device, network, rules, branding, deadline or end state became known. */
  z.object({ ...eventBase, type: z.literal('context'), context: EspContextSchema.partial() }),
  z.object({ ...eventBase, type: z.literal('step'), step: StepIdSchema, state: ItemStateSchema, detail: text.nullable().optional() }),
  /** A Device setup step identified what it will apply. */
  z.object({ ...eventBase, type: z.literal('items'), step: StepIdSchema, items: z.array(EspItemSchema).max(ESP_ITEMS_MAX) }),
  z.object({ ...eventBase, type: z.literal('item'), step: StepIdSchema, item: id, patch: ItemPatchSchema }),
  z.object({ ...eventBase, type: z.literal('failed'), failure: EspFailureSchema }),
  /** The technician (or the profile's allowContinue) passed over the failure. */
  z.object({ ...eventBase, type: z.literal('continued') }),
  z.object({ ...eventBase, type: z.literal('succeeded') }),
]);
export type EspEvent = z.output<typeof EspEventSchema>;
export type EspEventBody = EspEvent extends infer E ? (E extends EspEvent ? Omit<E, 'seq' | 'at'> : never) : never;

/** `value` cut to `max` characters (the last one an ellipsis) when longer. */
export function boundedText(value: string, max: number = ESP_TEXT_MAX.text): string {
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}

const boundedOrNull = (value: string | null | undefined, max: number = ESP_TEXT_MAX.text) => (typeof value === 'string' ? boundedText(value, max) : value);

function boundedFailure(failure: EspFailure): EspFailure {
  return {
    ...failure,
    title: boundedText(failure.title, ESP_TEXT_MAX.title),
    message: boundedText(failure.message),
    remedy: boundedText(failure.remedy),
    detail: boundedOrNull(failure.detail) ?? null,
  };
}

/**
 * An event with its texts cut to what the schemas allow — what the agent emits, so that its ESP,
 * its journal and its reports to the service always fit (a long installer message, a TPM error).
 */
export function boundedEvent<E extends EspEventBody>(event: E): E {
  switch (event.type) {
    case 'step':
      return { ...event, ...(typeof event.detail === 'string' ? { detail: boundedText(event.detail) } : {}) };
    case 'item':
      return {
        ...event,
        patch: {
          ...event.patch,
          ...(typeof event.patch.detail === 'string' ? { detail: boundedText(event.patch.detail) } : {}),
          ...(event.patch.error ? { error: boundedFailure(event.patch.error) } : {}),
        },
      };
    case 'items':
      return { ...event, items: event.items.slice(0, ESP_ITEMS_MAX).map((item) => ({ ...item, name: boundedText(item.name, ESP_TEXT_MAX.name), detail: boundedOrNull(item.detail) ?? null })) };
    case 'failed':
      return { ...event, failure: boundedFailure(event.failure) };
    case 'context': {
      const device = event.context.device;
      return {
        ...event,
        context: {
          ...event.context,
          ...(device
            ? { device: { ...device, serial: boundedOrNull(device.serial, ESP_TEXT_MAX.name) ?? null, manufacturer: boundedOrNull(device.manufacturer, ESP_TEXT_MAX.name) ?? null, model: boundedOrNull(device.model, ESP_TEXT_MAX.name) ?? null } }
            : {}),
          ...(typeof event.context.profileName === 'string' ? { profileName: boundedText(event.context.profileName, ESP_TEXT_MAX.name) } : {}),
        },
      };
    }
    default:
      return event;
  }
}

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
export function espSummary(snapshot: EspSnapshot): { phase: string; step: string | null; item: string | null; completed: number; total: number } {
  const steps = snapshot.phases.filter((p) => p.id !== 'preflight').flatMap((p) => p.steps);
  const current = steps.find((s) => !finished(s.state) && s.state !== 'not-started') ?? steps.find((s) => s.state === 'not-started');
  const phase = current ? phaseOf(current.id) : 'completion';
  const done = steps.filter((s) => s.state === 'succeeded' || s.state === 'skipped').length;
  // The item being applied: what a bench board shows beside the step.
  const item = current?.items.find((i) => i.state === 'in-progress' || i.state === 'identifying')?.name ?? null;
  return { phase: snapshot.status === 'running' ? phase : snapshot.status, step: current?.title ?? null, item, completed: done, total: steps.length };
}
