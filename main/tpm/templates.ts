// Key templates: the TCG EK Credential Profile (v2.5 §2.2.1) endorsement keys with their NV
// certificate indices and persistent handles, the TCG Provisioning Guidance ECC SRK, and the
// agent's own keys (AK: restricted signing; device key: unrestricted ECDSA P-256 for ES256).
import { TpmAlg, TpmEccCurve, TpmaObject } from '../../protocol/tpm/constants.js';
import type { EccPublic, RsaPublic, TpmtPublic } from '../../protocol/tpm/public.js';

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));

/** PolicyA (SHA-256) = PolicySecret(TPM_RH_ENDORSEMENT): authorizes the low-range EKs. */
export const EK_POLICY_A_SHA256 = hex('837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa');
/** PolicyB (SHA-384) of the high-range templates: PolicyOR(PolicyA, PolicyC). */
export const EK_POLICY_B_SHA384 = hex(
  'b26e7d28d11a50bc53d882bcf5fd3a1a074148bb35d3b4e4cb1c0ad9bde419cacb47ba09699646150f9fc000f3f80e12',
);

/**
 * PolicyB (SHA-512) of the high-range ECC P-521 template (H-4), as the EK Credential Profile gives
 * it (Appendix B.4.4.4).
 */
export const EK_POLICY_B_SHA512 = hex(
  'b8221ca69e8550a4914de3faa6a18c072cc01208073a928d5d66d59ef79e49a429c41a6b269571d57edb25fbdb1838425608b413cd616a5f6db5b6071af99bea',
);

const { fixedTPM, fixedParent, sensitiveDataOrigin, userWithAuth, adminWithPolicy, noDA, restricted, decrypt, sign } =
  TpmaObject;

const EK_LOW_ATTRIBUTES = fixedTPM | fixedParent | sensitiveDataOrigin | adminWithPolicy | restricted | decrypt;
const EK_HIGH_ATTRIBUTES = EK_LOW_ATTRIBUTES | userWithAuth;

/** What the low-range templates share: SHA-256 names, PolicyA, AES-128-CFB, no scheme. */
const lowRangeEk = {
  nameAlg: TpmAlg.SHA256,
  objectAttributes: EK_LOW_ATTRIBUTES,
  authPolicy: EK_POLICY_A_SHA256,
  symmetric: { algorithm: TpmAlg.AES, keyBits: 128, mode: TpmAlg.CFB },
  scheme: { scheme: TpmAlg.NULL },
};

const rsaEk: RsaPublic = {
  type: TpmAlg.RSA,
  ...lowRangeEk,
  keyBits: 2048,
  exponent: 0,
  modulus: new Uint8Array(256),
};

const eccP256Ek: EccPublic = {
  type: TpmAlg.ECC,
  ...lowRangeEk,
  curve: TpmEccCurve.NIST_P256,
  kdf: { scheme: TpmAlg.NULL },
  x: new Uint8Array(32),
  y: new Uint8Array(32),
};

/** What the high-range templates share: SHA-384 names, PolicyB, AES-256-CFB, no scheme. */
const highRangeEk = {
  nameAlg: TpmAlg.SHA384,
  objectAttributes: EK_HIGH_ATTRIBUTES,
  authPolicy: EK_POLICY_B_SHA384,
  symmetric: { algorithm: TpmAlg.AES, keyBits: 256, mode: TpmAlg.CFB },
  scheme: { scheme: TpmAlg.NULL },
};

const eccP384Ek: EccPublic = {
  type: TpmAlg.ECC,
  ...highRangeEk,
  curve: TpmEccCurve.NIST_P384,
  kdf: { scheme: TpmAlg.NULL },
  x: new Uint8Array(0),
  y: new Uint8Array(0),
};

/**
 * RSA 3072 (high range H-6): SHA-384 names, PolicyB, AES-256-CFB, userWithAuth — as swtpm
 * --rsa-keysize 3072 and TPMs with the high-range templates make it (persistent at 0x8101001C).
 */
const rsa3072Ek: RsaPublic = {
  type: TpmAlg.RSA,
  ...highRangeEk,
  keyBits: 3072,
  exponent: 0,
  modulus: new Uint8Array(0),
};

/** ECC P-521 (high range H-4): SHA-512 names, PolicyB (SHA-512), AES-256-CFB, userWithAuth. */
const eccP521Ek: EccPublic = {
  type: TpmAlg.ECC,
  ...highRangeEk,
  nameAlg: TpmAlg.SHA512,
  authPolicy: EK_POLICY_B_SHA512,
  curve: TpmEccCurve.NIST_P521,
  kdf: { scheme: TpmAlg.NULL },
  x: new Uint8Array(0),
  y: new Uint8Array(0),
};

/** RSA 4096 (high range H-7): as RSA 3072 (H-6), with a 4096-bit key. */
const rsa4096Ek: RsaPublic = { ...rsa3072Ek, keyBits: 4096 };

export type EkKind = 'rsa-2048' | 'ecc-p256' | 'ecc-p384' | 'ecc-p521' | 'rsa-3072' | 'rsa-4096';
export const EK_KINDS = ['ecc-p256', 'ecc-p384', 'ecc-p521', 'rsa-3072', 'rsa-4096', 'rsa-2048'] as const satisfies readonly EkKind[];

export interface EkProfile {
  kind: EkKind;
  /** NV index of the EK certificate (EK Credential Profile §2.2.1.5). */
  certificateIndex: number;
  /** Where provisioning tools persist this EK (swtpm, Windows, tpm2-tools). */
  persistentHandle: number;
  template: TpmtPublic;
}

/** Every EK kind the agent knows, in the order it prefers them (the first with a certificate is used). */
export const EK_PROFILES: readonly EkProfile[] = [
  { kind: 'ecc-p256', certificateIndex: 0x01c0000a, persistentHandle: 0x81010002, template: eccP256Ek },
  { kind: 'ecc-p384', certificateIndex: 0x01c00016, persistentHandle: 0x81010016, template: eccP384Ek },
  { kind: 'ecc-p521', certificateIndex: 0x01c00018, persistentHandle: 0x81010018, template: eccP521Ek },
  { kind: 'rsa-3072', certificateIndex: 0x01c0001c, persistentHandle: 0x8101001c, template: rsa3072Ek },
  { kind: 'rsa-4096', certificateIndex: 0x01c0001e, persistentHandle: 0x8101001e, template: rsa4096Ek },
  { kind: 'rsa-2048', certificateIndex: 0x01c00002, persistentHandle: 0x81010001, template: rsaEk },
];

export function ekProfile(kind: EkKind): EkProfile {
  return EK_PROFILES.find((p) => p.kind === kind)!;
}

/** The ECC P-256 storage root key (TCG TPM v2.0 Provisioning Guidance §7.5.1); persistent at 0x81000001. */
export const SRK_PERSISTENT_HANDLE = 0x81000001;
export const SRK_TEMPLATE: EccPublic = {
  type: TpmAlg.ECC,
  nameAlg: TpmAlg.SHA256,
  objectAttributes: fixedTPM | fixedParent | sensitiveDataOrigin | userWithAuth | noDA | restricted | decrypt,
  authPolicy: new Uint8Array(0),
  symmetric: { algorithm: TpmAlg.AES, keyBits: 128, mode: TpmAlg.CFB },
  scheme: { scheme: TpmAlg.NULL },
  curve: TpmEccCurve.NIST_P256,
  kdf: { scheme: TpmAlg.NULL },
  x: new Uint8Array(32),
  y: new Uint8Array(32),
};

const KEY_BASE = fixedTPM | fixedParent | sensitiveDataOrigin | userWithAuth;

export type AkAlgorithm = 'ecc' | 'rsa';

/** Attestation key: restricted signing key, so it signs only TPM-generated structures. */
export function akTemplate(alg: AkAlgorithm): TpmtPublic {
  const common = {
    nameAlg: TpmAlg.SHA256,
    objectAttributes: KEY_BASE | restricted | sign,
    authPolicy: new Uint8Array(0),
    symmetric: { algorithm: TpmAlg.NULL },
  };
  if (alg === 'rsa') {
    return {
      type: TpmAlg.RSA,
      ...common,
      scheme: { scheme: TpmAlg.RSASSA, hashAlg: TpmAlg.SHA256 },
      keyBits: 2048,
      exponent: 0,
      modulus: new Uint8Array(0),
    };
  }
  return {
    type: TpmAlg.ECC,
    ...common,
    scheme: { scheme: TpmAlg.ECDSA, hashAlg: TpmAlg.SHA256 },
    curve: TpmEccCurve.NIST_P256,
    kdf: { scheme: TpmAlg.NULL },
    x: new Uint8Array(0),
    y: new Uint8Array(0),
  };
}

/** Device key: unrestricted ECDSA P-256/SHA-256 signing key (ES256 client assertions, CSRs). */
export const DEVICE_KEY_TEMPLATE: EccPublic = {
  type: TpmAlg.ECC,
  nameAlg: TpmAlg.SHA256,
  objectAttributes: KEY_BASE | sign,
  authPolicy: new Uint8Array(0),
  symmetric: { algorithm: TpmAlg.NULL },
  scheme: { scheme: TpmAlg.ECDSA, hashAlg: TpmAlg.SHA256 },
  curve: TpmEccCurve.NIST_P256,
  kdf: { scheme: TpmAlg.NULL },
  x: new Uint8Array(0),
  y: new Uint8Array(0),
};
