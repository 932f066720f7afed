// The enrollment port over the real parts: the TPM, the device API and the enrollment state in the
// state directory (key blobs and the certificate persist after each step, so a restart resumes).
import type { BackendPort } from '../backend-client/port.js';
import type { TpmPort } from '../tpm/port.js';
import { requestClientCertificate } from './client-certificates.js';
import { attest, deviceToken, join, reusableEnrollment, type Attestation, type EnrollmentResult, type Registration } from './enroll.js';
import type { EnrollmentPort } from './port.js';
import type { EnrollmentStatePort } from './state.js';

export class TpmEnrollment implements EnrollmentPort {
  constructor(
    private readonly parts: {
      tpm: TpmPort;
      api: Pick<BackendPort, 'server' | 'tokenUrl' | 'challenge' | 'respond' | 'join' | 'token' | 'clientCertificate'>;
      store: EnrollmentStatePort;
      log?: (event: string, detail?: Record<string, unknown>) => void;
    },
  ) {}

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
