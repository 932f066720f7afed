// The device's enrollment as the engine drives it: reuse what an earlier run left, attest
// ("Securing your hardware"), join ("Joining your organization's network"), sign in for an access
// token, and get client certificates for TPM-held keys. TpmEnrollment (tpm-enrollment.ts) is the
// real one, over the TPM, the device API and the state directory.
import type { EkCertificateService } from '../../protocol/profile.js';
import type { Attestation, EnrollmentResult, Registration } from './enroll.js';

export interface EnrollmentPort {
  /**
   * Where the EK certificate attestation sends comes from: the TPM's NV, or — for a TPM that keeps
   * none — its vendor's EK certificate service (`services`: the profile's, over the defaults),
   * asked once and remembered. Throws EnrollmentError (EK_CERTIFICATE_*) when the vendor's
   * service cannot give one; attestation can still go on without (an allow-listed EK).
   */
  ekCertificate(services: readonly EkCertificateService[]): Promise<'nv' | 'vendor'>;
  /** The enrollment an earlier run left, when it still holds (certificate valid, keys load in this TPM). */
  reuse(): Promise<EnrollmentResult | undefined>;
  attest(registration: Registration): Promise<Attestation>;
  /** Joins with this run's attestation, or attests again first (a resumed run has none). */
  join(registration: Registration, attestation?: Attestation): Promise<EnrollmentResult>;
  /** A device access token (RFC 7523 client assertion signed in the TPM). */
  signIn(): Promise<{ accessToken: string; expiresIn: number }>;
  /** A new TPM key certified by the device key, and the client certificate the service issues for it. */
  clientCertificate(accessToken: string, itemId: string, commonName: string): Promise<{ certificate: string; chain: string; keyFile: string }>;
}
