// TPM public areas and signatures as node:crypto objects: the agent checks what its TPM
// produced (a quote, a certification, a device-key signature) the same way a verifier will.
import { constants, createPublicKey, verify, type KeyObject } from 'node:crypto';

import { TpmAlg, hashName } from '../../protocol/tpm/constants.js';
import { curveInfo, publicKeyJwk, type TpmtPublic } from '../../protocol/tpm/public.js';
import { parseTpmtSignature, signatureBytes } from '../../protocol/tpm/signature.js';

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
