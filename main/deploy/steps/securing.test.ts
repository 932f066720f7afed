// Securing the hardware and joining: attestation then join through the enrollment port, an earlier
// run's enrollment reused (nothing attested or joined again), a resumed run attesting again, and
// a service that is away waited out until the ESP timeout.
import { describe, expect, it } from 'vitest';

import { ServiceProblem } from '../../../protocol/node/https-client.js';
import { EnrollmentError } from '../../enrollment/errors.js';
import { JOINED, harness } from '../testing/fakes.js';
import { joiningStep } from './joining.js';
import { securingStep } from './securing.js';

describe('securing the hardware and joining', () => {
  it('attests, then joins with that attestation, and names the device', async () => {
    const h = harness();
    expect(await securingStep.run(h.context)).toEqual({ state: 'succeeded', detail: 'TPM attested' });
    expect(await joiningStep.run(h.context)).toEqual({ state: 'succeeded', detail: 'Joined as LOBBY-0042' });
    expect(h.enrollment.calls).toEqual(['reuse', 'ekCertificate', 'attest', 'reuse', 'join']);
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

  it('asks for the EK certificate with the profile’s vendor services, and says when it came from the vendor', async () => {
    const services = [{ manufacturer: 'INTC', format: 'intel', url: 'https://ek-mirror.contoso.example/ekcertservice/' }];
    const h = harness({ profile: { tpm: { ekCertificateServices: services } } });
    h.enrollment.ekSource = 'vendor';
    expect(await securingStep.run(h.context)).toEqual({ state: 'succeeded', detail: "TPM attested (EK certificate from the TPM vendor's service)" });
    expect(h.enrollment.ekServices).toEqual(services);
  });

  it('asks no vendor when the administrator registered the EK certificate with the device', async () => {
    const h = harness();
    h.context.run.profile = { ...h.context.run.profile!, ekCertificateRegistered: true };
    expect(await securingStep.run(h.context)).toEqual({ state: 'succeeded', detail: 'TPM attested (EK certificate registered by the administrator)' });
    expect(h.enrollment.calls).toEqual(['reuse', 'attest']);
  });

  it('waits out a vendor service that is away for a quarter of the ESP time left, then attests without a certificate', async () => {
    const h = harness();
    h.context.session.startEsp(60);
    h.enrollment.failures.ekCertificate = Array.from({ length: 1000 }, () => new EnrollmentError('EK_CERTIFICATE_SERVICE_UNREACHABLE', 'cannot reach https://ekop.intel.com (ECONNREFUSED)'));
    const started = h.clock.now();
    // The EK is allow-listed: the service trusts it without a certificate.
    h.enrollment.attestation = { ...h.enrollment.attestation, unverifiedHardware: true };
    expect(await securingStep.run(h.context)).toEqual({ state: 'succeeded', detail: 'Attested (hardware unverified: EK allow-listed)' });
    expect(h.clock.now() - started).toBe(15 * 60_000);
    expect(h.enrollment.calls.filter((c) => c === 'ekCertificate').length).toBeGreaterThan(3);
  });

  it('reports why the vendor gave no certificate when the service then does not trust the TPM', async () => {
    for (const [problem, waits] of [
      [new EnrollmentError('EK_CERTIFICATE_SERVICE_UNREACHABLE', 'cannot reach https://ekop.intel.com (ECONNREFUSED)'), true],
      [new EnrollmentError('EK_CERTIFICATE_NOT_AVAILABLE', 'the EK certificate service at https://ftpm.amd.com has no certificate for this TPM’s EK (HTTP 404)'), false],
    ] as const) {
      const h = harness();
      h.context.session.startEsp(4);
      h.enrollment.failures.ekCertificate = Array.from({ length: 1000 }, () => problem);
      h.enrollment.failures.attest = [new ServiceProblem('EK_NOT_TRUSTED', 'the TPM sent no EK certificate and its EK is not on the allow-list', 403)];
      await expect(securingStep.run(h.context)).rejects.toMatchObject({ code: problem.code, message: expect.stringContaining(problem.message) });
      // Away: waited out for a quarter of the ESP's 4 minutes; a verdict (404): not at all.
      expect(h.clock.slept).toBe(waits ? 60_000 : 0);
    }
  });

  it('does not wait out a verdict: an untrusted EK fails at once with its own code', async () => {
    const h = harness();
    h.context.session.startEsp(30);
    h.enrollment.failures.attest = [new ServiceProblem('EK_CERTIFICATE_UNTRUSTED', 'not a trusted TPM manufacturer', 403)];
    await expect(securingStep.run(h.context)).rejects.toMatchObject({ code: 'EK_CERTIFICATE_UNTRUSTED' });
    expect(h.clock.slept).toBe(0);
  });
});
