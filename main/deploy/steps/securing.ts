// "Securing your hardware": TPM attestation — the EK certificate chain, an AK bound to the EK by
// credential activation, a PCR quote over the service's nonce. An enrollment an earlier run left
// that still holds is reused: nothing is attested (or joined) again.
import type { Step } from '../context.js';

/** The registration the device attests and joins as: its serial and hardware hash (from the profile step). */
export function registrationOf(journal: { device: { serial: string | null; hardwareHash: string | null } }) {
  return { serial: journal.device.serial!, hardwareHash: journal.device.hardwareHash! };
}

export const securingStep: Step = {
  id: 'securing-hardware',
  async run(context) {
    const { enrollment } = context.options;
    const reused = await context.session.patiently('securing the hardware', () => enrollment.reuse());
    if (reused) {
      context.run.reused = reused;
      return { state: 'succeeded', detail: 'Attested earlier' };
    }
    const attestation = await context.session.patiently('securing the hardware', () => enrollment.attest(registrationOf(context.progress.journal)));
    context.run.attestation = attestation;
    return { state: 'succeeded', detail: attestation.unverifiedHardware ? 'Attested (hardware unverified: EK allow-listed)' : 'TPM attested' };
  },
};
