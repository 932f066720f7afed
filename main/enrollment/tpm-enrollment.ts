// The enrollment port over the real parts: the TPM, the device API and the enrollment state in the
// state directory (key blobs and the certificate persist after each step, so a restart resumes).
import type { BackendPort } from '../backend-client/port.js';
import type { TpmPort } from '../tpm/port.js';
import { requestClientCertificate } from './client-certificates.js';
import { attest, deviceToken, join, reusableEnrollment, type Attestation, type EnrollmentResult, type Registration } from './enroll.js';
import type { EnrollmentPort } from './port.js';
import type { EnrollmentStatePort } from './state.js';
import { EnrollmentError } from './errors.js';
import type { VendorEkCertificates } from './vendor-ek-certificates.js';
import type { EkCertificateService } from '../../protocol/profile.js';

export class TpmEnrollment implements EnrollmentPort {
  constructor(
    private readonly parts: {
      tpm: TpmPort;
      api: Pick<BackendPort, 'server' | 'tokenUrl' | 'challenge' | 'respond' | 'join' | 'token' | 'clientCertificate'>;
      store: EnrollmentStatePort;
      /** What the TPM says of itself and whether it is virtual (reported at attestation). */
      tpmReport?: () => Promise<{ manufacturer: string; vendor: string; virtual: string | null }>;
      /** The TPM vendors' EK certificate services, for a TPM without a certificate in NV (none: only NV). */
      vendorCertificates?: VendorEkCertificates;
      log?: (event: string, detail?: Record<string, unknown>) => void;
    },
  ) {}

  async ekCertificate(services: readonly EkCertificateService[]): Promise<'nv' | 'vendor'> {
    const { tpm, vendorCertificates } = this.parts;
    const { ek, certificate } = await tpm.primaryEk();
    if (certificate) return 'nv';
    if (!vendorCertificates) throw new EnrollmentError('EK_CERTIFICATE_NOT_AVAILABLE', 'the TPM keeps no EK certificate, and this agent asks no vendor service');
    await vendorCertificates.certificate(await tpm.manufacturer(), ek, services);
    return 'vendor';
  }

  private options(registration: Registration) {
    return { ...this.parts, registration, log: (event: string, detail?: Record<string, unknown>) => this.parts.log?.(`enroll.${event}`, detail) };
  }

  reuse(): Promise<EnrollmentResult | undefined> {
    return reusableEnrollment(this.options({ serial: '' }));
  }

  attest(registration: Registration): Promise<Attestation> {
    return attest(this.options(registration));
  }

  join(registration: Registration, attestation?: Attestation): Promise<EnrollmentResult> {
    return join(this.options(registration), attestation);
  }

  signIn(): Promise<{ accessToken: string; expiresIn: number }> {
    return deviceToken(this.parts);
  }

  clientCertificate(accessToken: string, itemId: string, commonName: string): Promise<{ certificate: string; chain: string; keyFile: string }> {
    return requestClientCertificate({ tpm: this.parts.tpm, store: this.parts.store, api: this.parts.api, token: accessToken, itemId, commonName });
  }
}
