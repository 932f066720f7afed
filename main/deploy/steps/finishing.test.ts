// Account setup, completion and the end state: skipped in self-deploying mode; the service told
// the device is deployed (with whether a failure was passed over); the kiosk or sign-in screen set.
import { describe, expect, it } from 'vitest';

import { harness } from '../testing/fakes.js';
import { accountStep } from './account.js';
import { completeStep } from './complete.js';
import { endStateStep } from './end-state.js';

const KIOSK = { type: 'kiosk', mode: 'browser', homeUrl: 'https://visit.fabrikam.example/' };

describe('account setup, completion and the end state', () => {
  it('skips account setup: self-deploying mode signs in no user', async () => {
    expect(await accountStep.run(harness().context)).toEqual({ state: 'skipped', detail: 'Self-deploying mode signs in no user' });
  });

  it('reports completion with the end state and a failure passed over', async () => {
    let sent: unknown[] = [];
    const h = harness({ profile: { endState: KIOSK }, api: { complete: (...args) => ((sent = args), Promise.resolve({ deviceId: 'd', state: 'deployed', deployedAt: '2026-12-06T11:00:00Z' })) } });
    h.context.progress.journal.continuedPastFailure = 'ITEM_FAILED';
    expect(await completeStep.run(h.context)).toEqual({ state: 'succeeded', detail: 'Deployed 2026-12-06T11:00:00Z' });
    expect(sent).toEqual(['sdd_token1', 'kiosk', 'ITEM_FAILED']);
  });

  it('sets up the kiosk with the device name and branding, and says when a restart is needed', async () => {
    const h = harness({ profile: { endState: KIOSK } });
    h.context.progress.journal.device.deviceName = 'LOBBY-0042';
    h.context.progress.journal.rebootRequired = ['driver'];
    expect(await endStateStep.run(h.context)).toEqual({ state: 'succeeded', detail: 'Kiosk (browser) for kiosk; restart required by driver' });
    expect(h.providers.endStates[0]![1]).toMatchObject({ deviceName: 'LOBBY-0042', branding: { organizationName: 'Fabrikam' } });
    const signIn = harness();
    expect(await endStateStep.run(signIn.context)).toEqual({ state: 'succeeded', detail: 'Sign-in screen' });
  });
});
