// Securing the hardware and joining: attestation then join through the enrollment port, an earlier
// run's enrollment reused (nothing attested or joined again), a resumed run attesting again, and
// a service that is away waited out until the ESP timeout.
import { describe, expect, it } from 'vitest';

import { ServiceProblem } from '../../../protocol/node/https-client.js';
import { JOINED, harness } from '../testing/fakes.js';
import { joiningStep } from './joining.js';
import { securingStep } from './securing.js';

describe('securing the hardware and joining', () => {
  it('attests, then joins with that attestation, and names the device', async () => {
    const h = harness();
    expect(await securingStep.run(h.context)).toEqual({ state: 'succeeded', detail: 'TPM attested' });
    expect(await joiningStep.run(h.context)).toEqual({ state: 'succeeded', detail: 'Joined as LOBBY-0042' });
    expect(h.enrollment.calls).toEqual(['reuse', 'attest', 'reuse', 'join']);
    expect(h.enrollment.lastJoinedWith).toBe(h.enrollment.attestation);
    expect(h.context.progress.journal.device).toMatchObject({ deviceId: JOINED.deviceId, deviceName: 'LOBBY-0042' });
    expect(h.snapshot().device).toMatchObject({ deviceName: 'LOBBY-0042' });
  });

  it('says when the TPM is trusted only through the EK allow-list', async () => {
    const h = harness();
    h.enrollment.attestation = { ...h.enrollment.attestation, unverifiedHardware: true };
    expect(await securingStep.run(h.context)).toEqual({ state: 'succeeded', detail: 'Attested (hardware unverified: EK allow-listed)' });
  });

  it('reuses what an earlier run enrolled: nothing is attested or joined again', async () => {
    const h = harness();
    h.enrollment.reused = { ...JOINED, reused: true };
    expect(await securingStep.run(h.context)).toEqual({ state: 'succeeded', detail: 'Attested earlier' });
    expect(await joiningStep.run(h.context)).toEqual({ state: 'succeeded', detail: 'Joined as LOBBY-0042' });
    expect(h.enrollment.calls).toEqual(['reuse']);
  });

  it('joins a resumed run (no attestation of its own) by attesting again inside the join', async () => {
    const h = harness();
    expect(await joiningStep.run(h.context)).toEqual({ state: 'succeeded', detail: 'Joined as LOBBY-0042' });
    expect(h.enrollment.calls).toEqual(['reuse', 'join']);
    expect(h.enrollment.lastJoinedWith).toBeUndefined();
  });

  it('waits out a service that is down, and fails with ESP_TIMEOUT once the ESP timeout passed', async () => {
    const h = harness();
    h.context.session.startEsp(1);
    h.enrollment.failures.attest = [new ServiceProblem('SERVICE_UNREACHABLE', 'ECONNREFUSED'), new ServiceProblem('INTERNAL', 'boom', 503)];
    expect(await securingStep.run(h.context)).toMatchObject({ state: 'succeeded' });
    expect(h.enrollment.calls.filter((c) => c === 'attest')).toHaveLength(3);
    h.enrollment.failures.join = Array.from({ length: 100 }, () => new ServiceProblem('SERVICE_UNREACHABLE', 'ECONNREFUSED'));
    await expect(joiningStep.run(h.context)).rejects.toMatchObject({ code: 'ESP_TIMEOUT', message: expect.stringContaining('joining; last error: ECONNREFUSED') });
  });

  it('does not wait out a verdict: an untrusted EK fails at once with its own code', async () => {
    const h = harness();
    h.context.session.startEsp(30);
    h.enrollment.failures.attest = [new ServiceProblem('EK_CERTIFICATE_UNTRUSTED', 'not a trusted TPM manufacturer', 403)];
    await expect(securingStep.run(h.context)).rejects.toMatchObject({ code: 'EK_CERTIFICATE_UNTRUSTED' });
    expect(h.clock.slept).toBe(0);
  });
});
