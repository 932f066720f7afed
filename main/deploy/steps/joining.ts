// "Joining your organization's network": a TPM-resident device key, certified by the AK over the
// attestation's nonce, gets the device certificate and the name the profile's template gives. A
// resumed run, which holds no attestation of its own, attests again first.
import type { Step } from '../context.js';
import { registrationOf } from './securing.js';

export const joiningStep: Step = {
  id: 'joining',
  async run(context) {
    const { enrollment } = context.options;
    const { progress, run } = context;
    const result =
      run.reused ??
      (await context.session.patiently('securing the hardware and joining', () => enrollment.reuse())) ??
      (await context.session.patiently('joining', () => enrollment.join(registrationOf(progress.journal), run.attestation)));
    run.attestation = undefined; // single-use
    progress.journal.device = { ...progress.journal.device, deviceId: result.deviceId, deviceName: result.deviceName };
    progress.showDevice();
    return { state: 'succeeded', detail: result.deviceName ? `Joined as ${result.deviceName}` : 'Joined' };
  },
};
