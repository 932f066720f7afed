// The profile step: the hardware identity and hash from the firmware and the TPM, the profile the
// service answers, kept beside the journal; refusals are the service's codes.
import { describe, expect, it } from 'vitest';

import { decodeHardwareHash } from '../../../protocol/hardware-hash.js';
import { ServiceProblem } from '../../../protocol/node/https-client.js';
import { harness, profileResponse, softTpm } from '../testing/fakes.js';
import { profileStep } from './profile.js';

describe('the profile step', () => {
  it('sends the hardware hash of the firmware and the TPM, and keeps the profile the service answers', async () => {
    const tpm = await softTpm();
    let sent = '';
    const h = harness({ profile: null, engine: { tpm }, api: { profile: (hash) => ((sent = hash), Promise.resolve(profileResponse({ description: 'Lobby' }))) } });
    expect(await profileStep.run(h.context)).toEqual({ state: 'succeeded', detail: 'Profile lobby-kiosk' });
    expect(decodeHardwareHash(sent)).toMatchObject({ serial: 'SN-UNIT-1', manufacturer: 'Contoso', model: 'Kiosk 5', tpmManufacturer: await tpm.manufacturer() });
    expect(h.journal.loadProfile()?.profile.description).toBe('Lobby');
    expect(h.context.run.profile?.profileName).toBe('lobby-kiosk');
    expect(h.context.progress.journal.device).toMatchObject({ serial: 'SN-UNIT-1', hardwareHash: sent, deviceId: profileResponse().deviceId });
    expect(h.snapshot()).toMatchObject({ profileName: 'lobby-kiosk', rules: { allowReset: false }, endState: { type: 'sign-in' } });
  });

  it('fails with the service’s own code when the device is not registered — at once, not after waiting', async () => {
    const tpm = await softTpm();
    let asked = 0;
    const h = harness({ profile: null, engine: { tpm }, api: { profile: () => (asked++, Promise.reject(new ServiceProblem('DEVICE_NOT_REGISTERED', 'no device SN-UNIT-1', 404))) } });
    await expect(profileStep.run(h.context)).rejects.toMatchObject({ code: 'DEVICE_NOT_REGISTERED' });
    expect(asked).toBe(1);
    expect(h.context.progress.journal.device.hardwareHash).toBeTruthy(); // shown to the technician to register
  });

  it('waits out a service that is down until the preflight time, then says so', async () => {
    const tpm = await softTpm();
    let asked = 0;
    const h = harness({ profile: null, engine: { tpm, preflightWaitMs: 60_000 }, api: { profile: () => (asked++, Promise.reject(new ServiceProblem('SERVICE_UNREACHABLE', 'ECONNREFUSED'))) } });
    await expect(profileStep.run(h.context)).rejects.toMatchObject({ code: 'SERVICE_UNREACHABLE' });
    expect(asked).toBeGreaterThan(2);
    expect(h.clock.slept).toBeLessThanOrEqual(60_000);
  });
});
