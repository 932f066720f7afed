// The engine over fakes: the ordered list of steps, each recorded before and after; a resumed run
// doing only what is left; an update's restart; the ESP timeout counted from where the ESP starts;
// and any failure — a defect included — ending as a catalogued one.
import { describe, expect, it } from 'vitest';

import { STEP_IDS, findStep } from '../../protocol/esp.js';
import type { Step } from './context.js';
import { DeployEngine, STEPS } from './engine.js';
import { appItem, assigning, fakeDevice, policyItem, profileResponse, softTpm } from './testing/fakes.js';

async function device(profile: Record<string, unknown> = {}) {
  const items = [policyItem('password-length'), appItem('lobby-browser')];
  const d = fakeDevice({
    api: {
      profile: () => Promise.resolve(profileResponse(profile)),
      mdmEnroll: () => Promise.resolve({ deviceId: 'd', enrolledAt: '2026-12-06T10:00:00Z', checkInIntervalSeconds: 900 }),
      assignments: assigning(items),
      complete: () => Promise.resolve({ deviceId: 'd', state: 'deployed', deployedAt: '2026-12-06T10:05:00Z' }),
    },
    engine: { tpm: await softTpm() },
  });
  return { ...d, items };
}

describe('the engine', () => {
  it('runs every step of the self-deploy in order, to the end state', async () => {
    const d = await device();
    const started: string[] = [];
    const engine = new DeployEngine(d.options);
    engine.subscribe((event) => {
      if (event.type === 'step' && event.state === 'in-progress' && started.at(-1) !== event.step) started.push(event.step);
    });
    const outcome = await engine.run();
    expect(outcome).toMatchObject({ status: 'provisioned', alreadyProvisioned: false, deviceName: 'LOBBY-0042', endState: 'sign-in' });
    expect(STEPS.map((s) => s.id)).toEqual(STEP_IDS);
    expect(started).toEqual(STEP_IDS); // each started once, in the order of the design brief
    for (const step of STEP_IDS) expect(findStep(engine.current(), step)?.state, step).toBe(step === 'account' || step === 'updates' || step === 'oobe' ? 'skipped' : 'succeeded');
    expect(d.providers.applied).toEqual(['password-length', 'lobby-browser']);
    expect(d.journal.load()?.completedAt).toBeTruthy();
    // Reported to the service only once it is registered for management.
    expect(d.api.calls.indexOf('status')).toBeGreaterThan(d.api.calls.indexOf('mdmEnroll'));
  });

  it('resumes where the journal says: a step done is not run again, and a finished device only says so', async () => {
    const d = await device();
    const ran: string[] = [];
    const watched = STEPS.map((step): Step => ({ ...step, run: (context) => (ran.push(step.id), step.run(context)) }));
    await new DeployEngine(d.options, watched).run();
    const journal = d.journal.load()!;
    // A power loss after the apps started: the journal says so.
    d.journal.save({ ...journal, completedAt: null, steps: { ...journal.steps, apps: { ...journal.steps.apps!, state: 'in-progress', finishedAt: null }, account: undefined, complete: undefined, 'end-state': undefined } });
    ran.length = 0;
    const resumed = await new DeployEngine(d.options, watched).run();
    expect(resumed).toMatchObject({ status: 'provisioned', alreadyProvisioned: false });
    expect(ran).toEqual(['apps', 'account', 'complete', 'end-state']);
    expect(d.providers.applied).toEqual(['password-length', 'lobby-browser']); // journalled as applied: not again
    expect(d.journal.load()?.runs).toBe(2);
    ran.length = 0;
    expect(await new DeployEngine(d.options, watched).run()).toMatchObject({ status: 'provisioned', alreadyProvisioned: true });
    expect(ran).toEqual([]);
  });

  it('ends the run with a restart that leaves the step in progress for the new version', async () => {
    const d = await device();
    const restarting: Step = { id: 'updates', run: () => Promise.resolve({ restart: { version: '2.0.0', entry: '/state/versions/2.0.0/x.js' } }) };
    const engine = new DeployEngine(d.options, STEPS.map((s) => (s.id === 'updates' ? restarting : s)));
    expect(await engine.run()).toEqual({ status: 'restart', version: '2.0.0', entry: '/state/versions/2.0.0/x.js' });
    expect(d.journal.load()?.steps.updates?.state).toBe('in-progress');
    expect(d.journal.load()?.steps['securing-hardware']).toBeUndefined();
  });

  it('counts the ESP timeout from where the ESP starts, and fails a step that outlives it with ESP_TIMEOUT', async () => {
    const d = await device({ esp: { timeoutMinutes: 5 } });
    let startsAt = '';
    const engine = new DeployEngine(d.options, STEPS.map((s): Step => (s.id === 'oobe' ? { ...s, run: async (context) => (await d.clock.sleep(10 * 60_000), s.run(context)) } : s)));
    engine.subscribe((event) => {
      if (event.type === 'context' && event.context.deadline) startsAt = event.context.deadline;
    });
    d.enrollment.failures.join = Array.from({ length: 50 }, () => Object.assign(new Error('ECONNREFUSED'), { code: 'SERVICE_UNREACHABLE' }));
    const outcome = await engine.run();
    // Ten minutes in the OOBE did not count: the five start with the ESP.
    expect(Date.parse(startsAt) - Date.parse(engine.current().startedAt)).toBeGreaterThanOrEqual(10 * 60_000);
    expect(outcome).toMatchObject({ status: 'failed', failure: { code: 'ESP_TIMEOUT', hresult: '0x800705B4', step: 'joining' } });
    expect(findStep(engine.current(), 'joining')?.state).toBe('timed-out');
  });

  it('reports a defect of the agent as AGENT_INTERNAL, never as the service failing', async () => {
    const d = await device();
    const broken: Step = { id: 'oobe', run: () => Promise.reject(new TypeError("Cannot read properties of undefined (reading 'language')")) };
    const engine = new DeployEngine(d.options, STEPS.map((s) => (s.id === 'oobe' ? broken : s)));
    const outcome = await engine.run();
    expect(outcome).toMatchObject({ status: 'failed', failure: { code: 'AGENT_INTERNAL', step: 'oobe', title: 'The agent failed unexpectedly' } });
    expect(d.journal.load()?.steps.oobe?.state).toBe('failed');
  });

  it("times out when the profile's minutes have passed — not a backoff step early", async () => {
    const d = await device({ esp: { timeoutMinutes: 1 } });
    const engine = new DeployEngine(d.options);
    d.enrollment.failures.join = Array.from({ length: 100 }, () => Object.assign(new Error('ECONNREFUSED'), { code: 'SERVICE_UNREACHABLE' }));
    let deadline = 0;
    engine.subscribe((event) => {
      if (event.type === 'context' && event.context.deadline) deadline = Date.parse(event.context.deadline);
    });
    const outcome = await engine.run();
    expect(outcome).toMatchObject({ status: 'failed', failure: { code: 'ESP_TIMEOUT' } });
    expect(d.clock.now()).toBe(deadline); // the last wait ends at the deadline, and the step fails there
  });

  it('keeps the ESP deadline across restarts, so a device that restarts in a loop still times out — and Try again after a failure starts anew', async () => {
    const d = await device({ esp: { timeoutMinutes: 5 } });
    // The first run stops dead while joining (a crash, a power loss): it never returns.
    const hanging = STEPS.map((s): Step => (s.id === 'joining' ? { ...s, run: () => new Promise(() => undefined) } : s));
    void new DeployEngine(d.options, hanging).run();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const first = d.journal.load()!.espDeadline;
    expect(first).toBeTruthy();
    d.clock.t += 6 * 60_000; // it comes back after six minutes, more than the ESP's five
    d.enrollment.failures.join = [Object.assign(new Error('ECONNREFUSED'), { code: 'SERVICE_UNREACHABLE' })];
    const resumed = await new DeployEngine(d.options).run();
    expect(resumed).toMatchObject({ status: 'failed', failure: { code: 'ESP_TIMEOUT', step: 'joining' } });
    expect(d.journal.load()!.espDeadline).toBeNull(); // a failed ESP is over
    const again = await new DeployEngine(d.options).run();
    expect(again).toMatchObject({ status: 'provisioned' });
  });
});
