import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  ESP_TEXT_MAX,
  EspEventSchema,
  EspSnapshotSchema,
  boundedEvent,
  PHASE_IDS,
  STEP_IDS,
  applyEspEvent,
  elapsedMs,
  espSummary,
  findStep,
  initialSnapshot,
  phaseState,
  type EspEvent,
  type EspItem,
  type EspSnapshot,
} from './esp.js';

const T0 = '2026-11-26T10:00:00.000Z';
const at = (s: number) => new Date(Date.parse(T0) + s * 1000).toISOString();

function item(id: string, overrides: Partial<EspItem> = {}): EspItem {
  return { id, name: id, kind: 'app', version: 1, blocking: true, state: 'not-started', startedAt: null, finishedAt: null, detail: null, progress: null, error: null, ...overrides };
}

type Unsequenced = EspEvent extends infer E ? (E extends EspEvent ? Omit<E, 'seq'> : never) : never;

function fold(events: Unsequenced[], start = initialSnapshot(T0)): EspSnapshot {
  return events.reduce((snapshot, event, index) => applyEspEvent(snapshot, { ...event, seq: start.seq + index + 1 }), start);
}

describe('the ESP model', () => {
  it('starts with every phase and step not started, and validates against its schema', () => {
    const snapshot = initialSnapshot(T0);
    expect(EspSnapshotSchema.parse(snapshot)).toEqual(snapshot);
    expect(snapshot.phases.map((p) => p.id)).toEqual(PHASE_IDS);
    expect(snapshot.phases.flatMap((p) => p.steps.map((s) => s.id))).toEqual(STEP_IDS);
    expect(snapshot.phases.find((p) => p.id === 'device-preparation')!.steps.map((s) => s.title)).toEqual([
      'Securing your hardware',
      "Joining your organization's network",
      'Registering your device for mobile management',
      'Preparing your device for mobile management',
    ]);
  });

  it('times steps from their first move to their end, and derives the phase state', () => {
    const snapshot = fold([
      { type: 'step', step: 'securing-hardware', state: 'in-progress', at: at(1) },
      { type: 'step', step: 'securing-hardware', state: 'succeeded', at: at(4) },
      { type: 'step', step: 'joining', state: 'in-progress', at: at(5) },
    ]);
    const step = findStep(snapshot, 'securing-hardware');
    expect(step).toMatchObject({ state: 'succeeded', startedAt: at(1), finishedAt: at(4) });
    expect(elapsedMs(step, at(100))).toBe(3000);
    expect(elapsedMs(findStep(snapshot, 'joining'), at(7))).toBe(2000);
    expect(snapshot.phases.find((p) => p.id === 'device-preparation')!.state).toBe('in-progress');
    expect(snapshot.seq).toBe(3);
    expect(snapshot.updatedAt).toBe(at(5));
  });

  it('counts N of M per category: succeeded and skipped items are done, failed ones are not', () => {
    const snapshot = fold([
      { type: 'items', step: 'apps', items: [item('a'), item('b'), item('c'), item('d')], at: at(1) },
      { type: 'item', step: 'apps', item: 'a', patch: { state: 'succeeded' }, at: at(2) },
      { type: 'item', step: 'apps', item: 'b', patch: { state: 'skipped', detail: 'already installed' }, at: at(2) },
      { type: 'item', step: 'apps', item: 'c', patch: { state: 'in-progress', progress: 0.5, detail: 'Downloading' }, at: at(3) },
      { type: 'item', step: 'apps', item: 'd', patch: { state: 'failed' }, at: at(3) },
    ]);
    const apps = findStep(snapshot, 'apps');
    expect([apps.completed, apps.total]).toEqual([2, 4]);
    expect(apps.items.map((i) => i.state)).toEqual(['succeeded', 'skipped', 'in-progress', 'failed']);
    expect(apps.items[2]).toMatchObject({ progress: 0.5, detail: 'Downloading', startedAt: at(3), finishedAt: null });
  });

  it('clears progress when an item finishes, and restarts the clock of a retried item', () => {
    const snapshot = fold([
      { type: 'items', step: 'apps', items: [item('a')], at: at(1) },
      { type: 'item', step: 'apps', item: 'a', patch: { state: 'in-progress', progress: 0.9 }, at: at(2) },
      { type: 'item', step: 'apps', item: 'a', patch: { state: 'succeeded' }, at: at(5) },
    ]);
    expect(findStep(snapshot, 'apps').items[0]).toMatchObject({ state: 'succeeded', progress: null, startedAt: at(2), finishedAt: at(5) });
  });

  it('ignores events it has already folded (a UI that reconnects may see some twice)', () => {
    const once = fold([{ type: 'step', step: 'network', state: 'in-progress', at: at(1) }]);
    const again = applyEspEvent(once, { seq: 1, at: at(9), type: 'step', step: 'network', state: 'failed' });
    expect(again).toBe(once);
  });

  it('records failure and continuation, and merges context partially', () => {
    const failure = { code: 'ITEM_FAILED', hresult: null, title: 't', message: 'm', remedy: 'r', docs: 'errors.md#item_failed', detail: null, step: 'apps' as const, item: 'a' };
    let snapshot = fold([
      { type: 'context', context: { device: { serial: 'SN1', manufacturer: null, model: null, hardwareHash: null, deviceId: null, deviceName: null } }, at: at(1) },
      { type: 'context', context: { network: { medium: 'wired', interface: 'eth0' } }, at: at(1) },
      { type: 'failed', failure, at: at(2) },
    ]);
    expect(snapshot).toMatchObject({ status: 'failed', failure, device: { serial: 'SN1' }, network: { medium: 'wired' } });
    snapshot = applyEspEvent(snapshot, { seq: snapshot.seq + 1, at: at(3), type: 'continued' });
    expect(snapshot).toMatchObject({ status: 'running', continuedPastFailure: true });
  });

  it('phase state: failure wins, then in progress; all skipped is skipped', () => {
    const s = (state: EspItem['state']) => ({ ...findStep(initialSnapshot(T0), 'apps'), state });
    expect(phaseState([s('succeeded'), s('failed'), s('in-progress')])).toBe('failed');
    expect(phaseState([s('succeeded'), s('timed-out')])).toBe('timed-out');
    expect(phaseState([s('succeeded'), s('not-started')])).toBe('in-progress');
    expect(phaseState([s('skipped'), s('skipped')])).toBe('skipped');
    expect(phaseState([s('skipped'), s('succeeded')])).toBe('succeeded');
    expect(phaseState([s('not-started')])).toBe('not-started');
  });

  it('summarises the current step for the service', () => {
    const snapshot = fold([
      { type: 'step', step: 'network', state: 'succeeded', at: at(1) },
      { type: 'step', step: 'securing-hardware', state: 'succeeded', at: at(1) },
      { type: 'step', step: 'joining', state: 'in-progress', at: at(2) },
    ]);
    expect(espSummary(snapshot)).toEqual({ phase: 'device-preparation', step: "Joining your organization's network", item: null, completed: 1, total: 11 });
  });

  it('names the item a Device setup step is applying, for the bench board', () => {
    const snapshot = fold([
      ...(['network', 'securing-hardware', 'joining', 'registering-mdm', 'preparing-mdm'] as const).map((step) => ({ type: 'step' as const, step, state: 'succeeded' as const, at: at(1) })),
      { type: 'step', step: 'policies', state: 'in-progress', at: at(2) },
      { type: 'items', step: 'policies', items: [item('a'), item('b')], at: at(2) },
      { type: 'item', step: 'policies', item: 'a', patch: { state: 'succeeded' }, at: at(3) },
      { type: 'item', step: 'policies', item: 'b', patch: { state: 'in-progress' }, at: at(3) },
    ]);
    expect(espSummary(snapshot)).toMatchObject({ phase: 'device-setup', step: 'Security policies', item: snapshot.phases[2]!.steps[0]!.items[1]!.name });
  });

  it('any sequence of valid events keeps the snapshot valid, with counts that add up', () => {
    const stepArb = fc.constantFrom(...STEP_IDS);
    const stateArb = fc.constantFrom('not-started', 'identifying', 'in-progress', 'succeeded', 'failed', 'skipped', 'timed-out' as const);
    const eventArb = fc.oneof(
      fc.record({ type: fc.constant('step' as const), step: stepArb, state: stateArb }),
      fc.record({ type: fc.constant('items' as const), step: stepArb, items: fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 3 }).map((ids) => [...new Set(ids)].map((id) => item(id))) }),
      fc.record({ type: fc.constant('item' as const), step: stepArb, item: fc.constantFrom('a', 'b', 'c'), patch: fc.record({ state: stateArb }) }),
    );
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 40 }), (events) => {
        const snapshot = fold(events.map((e, i) => ({ ...e, at: at(i) })));
        EspSnapshotSchema.parse(snapshot);
        for (const phase of snapshot.phases) {
          expect(phase.state).toBe(phaseState(phase.steps));
          for (const step of phase.steps) {
            expect(step.total).toBe(step.items.length);
            expect(step.completed).toBe(step.items.filter((i) => i.state === 'succeeded' || i.state === 'skipped').length);
          }
        }
      }),
    );
  });
});

describe('bounded ESP texts', () => {
  it('cuts what the agent emits to what the schemas allow, and the schemas refuse longer', () => {
    const long = 'x'.repeat(10_000);
    const failure = { code: 'ITEM_FAILED', hresult: null, title: long, message: long, remedy: 'r', docs: 'd', detail: long, step: 'apps' as const, item: null };
    const bounded = boundedEvent({ type: 'failed', failure });
    expect(bounded.failure.title).toHaveLength(ESP_TEXT_MAX.title);
    expect(bounded.failure.message).toHaveLength(ESP_TEXT_MAX.text);
    expect(bounded.failure.message.endsWith('…')).toBe(true);
    const step = boundedEvent({ type: 'step', step: 'apps', state: 'in-progress', detail: long });
    expect(EspEventSchema.safeParse({ ...step, seq: 1, at: '2026-12-06T00:00:00.000Z' }).success).toBe(true);
    expect(EspEventSchema.safeParse({ type: 'step', step: 'apps', state: 'in-progress', detail: long, seq: 1, at: '2026-12-06T00:00:00.000Z' }).success).toBe(false);
    expect(boundedEvent({ type: 'step', step: 'apps', state: 'in-progress', detail: 'short' })).toEqual({ type: 'step', step: 'apps', state: 'in-progress', detail: 'short' });
  });
});
