// "Getting the deployment profile": the hardware identity (firmware and TPM) and its hash, sent to
// the service, which answers with the profile and branding — or that the device is not
// registered, or already deployed. Waited for as long as the network step waits.
import { readDeviceIdentity } from '../../identity/identity.js';
import type { Step } from '../context.js';
import { DEFAULT_PREFLIGHT_WAIT_MS } from './network.js';

export const profileStep: Step = {
  id: 'profile',
  async run(context) {
    const { identity, tpm, api, journal, clock } = context.options;
    const { progress } = context;
    const device = await readDeviceIdentity(identity, tpm);
    const { identity: hardware } = device;
    progress.journal.device = { ...progress.journal.device, serial: hardware.serial, manufacturer: hardware.manufacturer, model: hardware.model, hardwareHash: device.hardwareHash };
    progress.emit({ type: 'context', context: { device: progress.journal.device } });
    const until = clock.now() + (context.options.preflightWaitMs ?? DEFAULT_PREFLIGHT_WAIT_MS);
    const profile = await context.session.patiently('getting the deployment profile', () => api.profile(device.hardwareHash), until);
    journal.saveProfile(profile);
    context.run.profile = profile;
    progress.journal.device.deviceId = profile.deviceId;
    progress.showDevice();
    progress.showProfile(profile);
    return { state: 'succeeded', detail: `Profile ${profile.profileName}` };
  },
};
