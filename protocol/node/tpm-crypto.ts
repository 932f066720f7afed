// TPM public areas, names and signatures as node:crypto sees them — the same for the agent
// (checking what its TPM produced, building a CSR) and the service (verifying quotes, certify
// attestations, device signatures).
import { constants, createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';

import { TpmAlg, hashName } from '../tpm/constants.js';
import { curveInfo, objectName, publicKeyJwk, type TpmtPublic } from '../tpm/public.js';
import { parseTpmtSignature, signatureBytes } from '../tpm/signature.js';

/** The hash function the codecs take, over node:crypto. */
export function nodeHash(hashAlg: number, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(hashName(hashAlg)).update(data).digest());
}

export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

/** The object's TPM name (nameAlg || H(TPMT_PUBLIC)). */
export function tpmName(area: TpmtPublic): Uint8Array {
  return objectName(area, nodeHash);
}

export function publicKeyObject(area: TpmtPublic): KeyObject {
  return createPublicKey({ key: publicKeyJwk(area), format: 'jwk' });
}

/** Verifies a marshalled TPMT_SIGNATURE over `data` (the TPM signed H(data)) with `area`'s key. */
export function verifyTpmSignature(area: TpmtPublic, data: Uint8Array, tpmtSignature: Uint8Array): boolean {
  const signature = parseTpmtSignature(tpmtSignature);
  const key = publicKeyObject(area);
  const algorithm = hashName(signature.hashAlg);
  if (signature.sigAlg === TpmAlg.ECDSA) {
    if (area.type !== TpmAlg.ECC) return false;
    return verify(algorithm, data, { key, dsaEncoding: 'ieee-p1363' }, signatureBytes(signature, curveInfo(area.curve).size));
  }
  if (area.type !== TpmAlg.RSA) return false;
  if (signature.sigAlg === TpmAlg.RSAPSS) {
    // TPMs salt with the digest length or the maximum (TPM 2.0 Part 1 §B.7): accept either.
    const options = { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO };
    return verify(algorithm, data, options, signature.signature);
  }
  return verify(algorithm, data, key, signature.signature);
}
