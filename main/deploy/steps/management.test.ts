// Registering for and preparing for management: MDM enrollment with the agent's facts and a token
// from the device's sign-in (refreshed once when refused), and the assignments shown in their
// Device setup categories before anything is applied.
import { describe, expect, it } from 'vitest';

import { findStep } from '../../../protocol/esp.js';
import { ServiceProblem } from '../../../protocol/node/https-client.js';
import { appItem, assigning, harness, policyItem } from '../testing/fakes.js';
import { preparingStep } from './preparing.js';
import { registeringStep } from './registering.js';

describe('registering and preparing for management', () => {
  it("enrolls with the agent's version, OS and host name, signed in with the device's token", async () => {
    let sent: unknown;
    let bearer = '';
    const h = harness({ api: { mdmEnroll: (token, request) => ((bearer = token), (sent = request), Promise.resolve({ deviceId: 'd', enrolledAt: '2026-12-06T10:00:00Z', checkInIntervalSeconds: 900 })) } });
    expect(await registeringStep.run(h.context)).toEqual({ state: 'succeeded', detail: 'Enrolled 2026-12-06T10:00:00Z' });
    expect(sent).toEqual({ agentVersion: '1.2.3', os: { name: 'Debian', version: '12', kernel: '6.1' }, hostname: 'lab' });
    expect(bearer).toBe('sdd_token1');
  });

  it('signs in again once when the service refuses the cached token, and keeps a good token', async () => {
    let answers = 0;
    const h = harness({
      api: {
        mdmEnroll: (token) => (answers++ === 0 ? Promise.reject(new ServiceProblem('UNAUTHORIZED', `${token} expired`, 401)) : Promise.resolve({ deviceId: 'd', enrolledAt: 'now', checkInIntervalSeconds: 900 })),
      },
    });
    await registeringStep.run(h.context);
    expect(h.enrollment.calls).toEqual(['signIn', 'signIn']);
    await h.context.session.token();
    expect(h.enrollment.calls).toEqual(['signIn', 'signIn']); // cached until a minute before it expires
  });

  it('shows each assigned item under its category, not started, before anything is applied', async () => {
    const items = [policyItem('password-length'), appItem('lobby-browser'), { ...appItem('welcome', { id: '00000000-0000-4000-8000-0000000000aa' }), kind: 'script' as const, payload: { interpreter: 'sh' as const, content: { sha256: 'b'.repeat(64), size: 1 }, timeoutSeconds: 60 } }];
    const h = harness({ api: { assignments: assigning(items) } });
    expect(await preparingStep.run(h.context)).toEqual({ state: 'succeeded', detail: '3 item(s) to set up' });
    expect(findStep(h.snapshot(), 'policies')).toMatchObject({ state: 'not-started', items: [{ name: 'password-length', state: 'not-started' }] });
    expect(findStep(h.snapshot(), 'apps')?.items.map((i) => i.name)).toEqual(['lobby-browser', 'welcome']);
    expect(h.providers.applied).toEqual([]);
    await preparingStep.run(h.context);
    expect(h.api.calls.filter((c) => c === 'assignments')).toHaveLength(1); // fetched once per run
  });
});
