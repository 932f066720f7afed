// "Securing your hardware": TPM attestation — the EK certificate chain, an AK bound to the EK by
// credential activation, a PCR quote over the service's nonce. An enrollment an earlier run left
// that still holds is reused: nothing is attested (or joined) again. A TPM that keeps no EK
// certificate in NV gets one from its vendor's service first (the profile's tpm.ekCertificateServices).
import { EnrollmentError } from '../../enrollment/errors.js';
import { profileOf, type Step, type StepContext } from '../context.js';

/** The registration the device attests and joins as: its serial and hardware hash (from the profile step). */
export function registrationOf(journal: { device: { serial: string | null; hardwareHash: string | null } }) {
  return { serial: journal.device.serial!, hardwareHash: journal.device.hardwareHash! };
}

/** A vendor's EK certificate service that is away is waited out for at most this share of the ESP's time left (at least 15 s). */
const VENDOR_SHARE = 0.25;
const VENDOR_MIN_WAIT_MS = 15_000;

/**
 * The EK certificate's source, or why the vendor's service gave none: attestation goes on without
 * (the service may allow-list the EK), and the reason is what the device reports if it does not.
 */
async function ekCertificate(context: StepContext): Promise<{ source: 'nv' | 'vendor' | 'registered' | null; problem?: EnrollmentError }> {
  const { session } = context;
  const { clock, log } = context.options;
  const { profile, ekCertificateRegistered } = profileOf(context);
  // The service has the certificate already (registered offline): attestation sends none and the service uses it.
  if (ekCertificateRegistered) return { source: 'registered' };
  const services = profile.tpm.ekCertificateServices;
  // A quarter of the ESP's time left (at least 15 s), never past the ESP's deadline; no ESP deadline, no limit.
  const deadline = session.deadline;
  const until = deadline === null ? null : Math.min(deadline, clock.now() + Math.max(VENDOR_MIN_WAIT_MS, Math.floor((deadline - clock.now()) * VENDOR_SHARE)));
  try {
    return { source: await session.patiently("getting the TPM's certificate from its vendor", () => context.options.enrollment.ekCertificate(services), until) };
  } catch (error) {
    if (error instanceof EnrollmentError) {
      log('ek-certificate.none', { code: error.code, reason: error.message });
      return { source: null, problem: error };
    }
    throw error;
  }
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
    const ek = await ekCertificate(context);
    let attestation;
    try {
      attestation = await context.session.patiently('securing the hardware', () => enrollment.attest(registrationOf(context.progress.journal)));
    } catch (error) {
      // Without a certificate the service trusts only an allow-listed EK: when it does not, why the
      // vendor's service gave none is the failure to report (its code says what to fix).
      if (ek.problem && (error as { code?: unknown }).code === 'EK_NOT_TRUSTED') throw new EnrollmentError(ek.problem.code, `${ek.problem.message}; without an EK certificate the service does not trust this TPM (its EK is not on the allow-list)`, { cause: error });
      throw error;
    }
    context.run.attestation = attestation;
    const from = ek.source === 'vendor' ? " (EK certificate from the TPM vendor's service)" : ek.source === 'registered' ? ' (EK certificate registered by the administrator)' : '';
    return { state: 'succeeded', detail: attestation.unverifiedHardware ? 'Attested (hardware unverified: EK allow-listed)' : `TPM attested${from}` };
  },
};
