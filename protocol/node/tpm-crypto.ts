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

/** How many TPM public keys stay imported (the most recently used). */
export const PUBLIC_KEY_CACHE = 1024;
const importedKeys = new Map<string, KeyObject>();

/**
 * The area's public key as a KeyObject. Importing one costs OpenSSL about as much as the
 * signature check it serves (it checks the point), and an attestation uses the same keys in
 * consecutive requests — the AK for the quote, then for the certification at join — so the most
 * recently used stay imported, keyed by the key itself (its curve and point, or modulus and
 * exponent): the same key, whatever area it came in.
 */
export function publicKeyObject(area: TpmtPublic): KeyObject {
  const jwk = publicKeyJwk(area);
  const id = jwk.kty === 'EC' ? `EC ${jwk.crv} ${jwk.x} ${jwk.y}` : `RSA ${jwk.n} ${jwk.e}`;
  let key = importedKeys.get(id);
  if (key) importedKeys.delete(id);
  else {
    key = createPublicKey({ key: jwk, format: 'jwk' });
    if (importedKeys.size >= PUBLIC_KEY_CACHE) importedKeys.delete(importedKeys.keys().next().value!);
  }
  importedKeys.set(id, key);
  return key;
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
