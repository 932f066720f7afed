// The TPM as the rest of the agent sees it: the operations enrollment and the engine use. `Tpm`
// (tpm.ts) is the real one over the native addon; lab/soft-tpm.ts is a software stand-in for
// unit tests of the code above and for load generators — never the product path.
import type { PcrBankSelection, PcrBankValues } from '../../protocol/tpm/pcr.js';
import type { AkAlgorithm, EkKind } from './templates.js';
import type { Certification, EkCertificate, EndorsementKey, KeyBlob, Quote } from './tpm.js';

export interface TpmPort {
  /** The TPM's manufacturer as text ("IFX", "NTC", "IBM" for swtpm): part of the hardware hash. */
  manufacturer(): Promise<string>;
  primaryEk(certificates?: EkCertificate[]): Promise<{ ek: EndorsementKey; certificate?: EkCertificate }>;
  createAk(alg?: AkAlgorithm): Promise<KeyBlob>;
  createDeviceKey(): Promise<KeyBlob>;
  loadKey(key: KeyBlob): Promise<Uint8Array>;
  activateCredential(args: { ak: KeyBlob; ek: EkKind; credentialBlob: Uint8Array; secret: Uint8Array }): Promise<Uint8Array>;
  quote(args: { ak: KeyBlob; qualifyingData: Uint8Array; pcrs: PcrBankSelection[] }): Promise<Quote>;
  certify(args: { key: KeyBlob; ak: KeyBlob; qualifyingData: Uint8Array }): Promise<Certification>;
  /** Signs SHA-256(message) with an unrestricted key; returns the marshalled TPMT_SIGNATURE. */
  signMessage(args: { key: KeyBlob; message: Uint8Array }): Promise<Uint8Array>;
  pcrRead?(pcrs: PcrBankSelection[]): Promise<PcrBankValues[]>;
}
