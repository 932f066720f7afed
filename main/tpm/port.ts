// The TPM as the rest of the agent sees it: the operations enrollment and the engine use. `Tpm`
// (tpm.ts) is the real one over the native addon; lab/soft-tpm.ts is a software stand-in for
// unit tests of the code above and for load generators — never the product path.
import type { CertifyAttest, QuoteAttest } from '../../protocol/tpm/attest.js';
import type { PcrBankSelection, PcrBankValues } from '../../protocol/tpm/pcr.js';
import type { TpmtPublic } from '../../protocol/tpm/public.js';
import type { AkAlgorithm, EkKind } from './templates.js';

export interface EkCertificate {
  kind: EkKind;
  /** The NV index it was read from; null when it came from the vendor's service (`fetchedFrom`). */
  nvIndex: number | null;
  fetchedFrom?: string;
  /** DER, without the padding some TPMs leave after it. */
  der: Uint8Array;
}

export interface EndorsementKey {
  kind: EkKind;
  /** Marshalled TPM2B_PUBLIC. */
  public: Uint8Array;
  area: TpmtPublic;
  name: Uint8Array;
  /** SHA-256 of the marshalled TPMT_PUBLIC: the EK digest of registrations and allow-lists. */
  digest: Uint8Array;
  /** Whether the TPM held it at its persistent handle (else it was re-created from the template). */
  persistent: boolean;
}

/** A key that lives in the TPM: only these blobs leave it, the private part encrypted under the SRK. */
export interface KeyBlob {
  /** Marshalled TPM2B_PUBLIC. */
  public: Uint8Array;
  /** Marshalled TPM2B_PRIVATE, wrapped by the parent: useless outside this TPM. */
  private: Uint8Array;
  name: Uint8Array;
  parentName: Uint8Array;
}

export interface Quote {
  /** Marshalled TPMS_ATTEST: what the AK signed. */
  attest: Uint8Array;
  /** Marshalled TPMT_SIGNATURE. */
  signature: Uint8Array;
  parsed: QuoteAttest;
  pcrs: PcrBankValues[];
}

export interface Certification {
  attest: Uint8Array;
  signature: Uint8Array;
  parsed: CertifyAttest;
}


export interface TpmPort {
  /** The TPM's manufacturer as text ("IFX", "NTC", "IBM" for swtpm): part of the hardware hash. */
  manufacturer(): Promise<string>;
  primaryEk(certificates?: EkCertificate[]): Promise<{ ek: EndorsementKey; certificate?: EkCertificate }>;
  /** Intermediate certificates of the EK's chain the TPM keeps in NV (DER), if any. */
  ekChainCertificates?(): Promise<Uint8Array[]>;
  createAk(alg?: AkAlgorithm): Promise<KeyBlob>;
  createDeviceKey(): Promise<KeyBlob>;
  /**
   * Makes the key's parent (the SRK) persistent at 0x81000001 if the TPM does not hold it there
   * yet, so that a key file naming that handle loads elsewhere (the tpm2-openssl provider).
   */
  persistParent(key: KeyBlob): Promise<void>;
  loadKey(key: KeyBlob): Promise<Uint8Array>;
  activateCredential(args: { ak: KeyBlob; ek: EkKind; credentialBlob: Uint8Array; secret: Uint8Array }): Promise<Uint8Array>;
  quote(args: { ak: KeyBlob; qualifyingData: Uint8Array; pcrs: PcrBankSelection[] }): Promise<Quote>;
  certify(args: { key: KeyBlob; ak: KeyBlob; qualifyingData: Uint8Array }): Promise<Certification>;
  /** Signs SHA-256(message) with an unrestricted key; returns the marshalled TPMT_SIGNATURE. */
  signMessage(args: { key: KeyBlob; message: Uint8Array }): Promise<Uint8Array>;
  pcrRead?(pcrs: PcrBankSelection[]): Promise<PcrBankValues[]>;
}
