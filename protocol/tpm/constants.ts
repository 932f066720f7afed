// TPM 2.0 constants used on the wire (TPM 2.0 Library Part 2: Structures) and the handles and
// NV indices of the TCG EK Credential Profile and TCG TPM v2.0 Provisioning Guidance.

/** TPM_ALG_ID (Part 2 §6.3). */
export const TpmAlg = {
  RSA: 0x0001,
  SHA1: 0x0004,
  HMAC: 0x0005,
  MGF1: 0x0007,
  AES: 0x0006,
  KEYEDHASH: 0x0008,
  XOR: 0x000a,
  SHA256: 0x000b,
  SHA384: 0x000c,
  SHA512: 0x000d,
  NULL: 0x0010,
  SM3_256: 0x0012,
  SM4: 0x0013,
  RSASSA: 0x0014,
  RSAES: 0x0015,
  RSAPSS: 0x0016,
  OAEP: 0x0017,
  ECDSA: 0x0018,
  ECDH: 0x0019,
  ECDAA: 0x001a,
  SM2: 0x001b,
  ECSCHNORR: 0x001c,
  ECMQV: 0x001d,
  KDF1_SP800_56A: 0x0020,
  KDF2: 0x0021,
  KDF1_SP800_108: 0x0022,
  ECC: 0x0023,
  SYMCIPHER: 0x0025,
  CAMELLIA: 0x0026,
  CTR: 0x0040,
  OFB: 0x0041,
  CBC: 0x0042,
  CFB: 0x0043,
  ECB: 0x0044,
} as const;

/** TPM_ECC_CURVE (Part 2 §6.4). */
export const TpmEccCurve = {
  NIST_P256: 0x0003,
  NIST_P384: 0x0004,
  NIST_P521: 0x0005,
} as const;

/** TPMA_OBJECT bits (Part 2 §8.3). */
export const TpmaObject = {
  fixedTPM: 1 << 1,
  stClear: 1 << 2,
  fixedParent: 1 << 4,
  sensitiveDataOrigin: 1 << 5,
  userWithAuth: 1 << 6,
  adminWithPolicy: 1 << 7,
  noDA: 1 << 10,
  encryptedDuplication: 1 << 11,
  restricted: 1 << 16,
  decrypt: 1 << 17,
  sign: 1 << 18,
} as const;

/** TPM_ST structure tags (Part 2 §6.9). */
export const TpmSt = {
  ATTEST_CERTIFY: 0x8017,
  ATTEST_QUOTE: 0x8018,
} as const;

/** TPM_GENERATED_VALUE: every TPMS_ATTEST the TPM signs starts with it (Part 2 §6.2). */
export const TPM_GENERATED_VALUE = 0xff544347;

/** TPM_CAP and TPM_PT values for GetCapability (Part 2 §6.12, §6.13). */
export const TpmCap = {
  ALGS: 0x00000000,
  HANDLES: 0x00000001,
  PCRS: 0x00000005,
  TPM_PROPERTIES: 0x00000006,
} as const;

export const TpmPt = {
  FAMILY_INDICATOR: 0x100,
  LEVEL: 0x101,
  REVISION: 0x102,
  DAY_OF_YEAR: 0x103,
  YEAR: 0x104,
  MANUFACTURER: 0x105,
  VENDOR_STRING_1: 0x106,
  VENDOR_STRING_2: 0x107,
  VENDOR_STRING_3: 0x108,
  VENDOR_STRING_4: 0x109,
  VENDOR_TPM_TYPE: 0x10a,
  FIRMWARE_VERSION_1: 0x10b,
  FIRMWARE_VERSION_2: 0x10c,
  PCR_COUNT: 0x112,
  NV_BUFFER_MAX: 0x12c,
  // Variable properties (PT_VAR group): TPMA_PERMANENT and the dictionary-attack state.
  PERMANENT: 0x200,
  LOCKOUT_COUNTER: 0x20e,
  MAX_AUTH_FAIL: 0x20f,
  LOCKOUT_INTERVAL: 0x210,
  LOCKOUT_RECOVERY: 0x211,
} as const;

/** TPMA_PERMANENT bits (TPM 2.0 Part 2, 8.6). */
export const TpmaPermanent = {
  ownerAuthSet: 1 << 0,
  endorsementAuthSet: 1 << 1,
  lockoutAuthSet: 1 << 2,
  disableClear: 1 << 8,
  inLockout: 1 << 9,
  tpmGeneratedEPS: 1 << 10,
} as const;

/** Digest size of each hash algorithm the codecs accept. */
export const DIGEST_SIZES: ReadonlyMap<number, number> = new Map([
  [TpmAlg.SHA1, 20],
  [TpmAlg.SHA256, 32],
  [TpmAlg.SHA384, 48],
  [TpmAlg.SHA512, 64],
  [TpmAlg.SM3_256, 32],
]);

/** Node/OpenSSL names of the hash algorithms (for callers that hash). */
export const HASH_NAMES: ReadonlyMap<number, string> = new Map([
  [TpmAlg.SHA1, 'sha1'],
  [TpmAlg.SHA256, 'sha256'],
  [TpmAlg.SHA384, 'sha384'],
  [TpmAlg.SHA512, 'sha512'],
]);

export function digestSize(alg: number): number {
  const size = DIGEST_SIZES.get(alg);
  if (size === undefined) throw new RangeError(`unsupported hash algorithm 0x${alg.toString(16)}`);
  return size;
}

export function hashName(alg: number): string {
  const name = HASH_NAMES.get(alg);
  if (name === undefined) throw new RangeError(`unsupported hash algorithm 0x${alg.toString(16)}`);
  return name;
}
