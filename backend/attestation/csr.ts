// The device's certificate request (PKCS#10, PEM) at join: its signature verified by Node's crypto
// over the request info's exact bytes, and its key the TPM-certified device key — both read with
// the DER reader, no ASN.1 library and no OpenSSL decoding of the key on this path.
import { createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';

import { DerError, children, oid, readElement, type DerElement } from '../../protocol/node/der.js';
import { publicKeyObject } from '../../protocol/node/tpm-crypto.js';
import { TpmAlg } from '../../protocol/tpm/constants.js';
import { publicKeyJwk, type TpmtPublic } from '../../protocol/tpm/public.js';
import { ServiceError } from '../errors.js';

/** Named curves of a SubjectPublicKeyInfo by OID, as JWK names them. */
const SPKI_CURVES = new Map([
  ['1.2.840.10045.3.1.7', 'P-256'],
  ['1.3.132.0.34', 'P-384'],
  ['1.3.132.0.35', 'P-521'],
]);

/**
 * Whether a DER SubjectPublicKeyInfo is the ECC area's key: id-ecPublicKey on the same named curve
 * and the uncompressed point (x, y). Read with the DER reader — OpenSSL's decoder would cost more
 * than the signature check it serves.
 */
function spkiIsKeyOf(spki: DerElement, area: TpmtPublic): boolean {
  if (area.type !== TpmAlg.ECC) return false;
  try {
    const [algorithm, bits, ...extra] = children(spki);
    if (extra.length || algorithm?.tag !== 0x30 || bits?.tag !== 0x03) return false;
    const [kind, curve, ...more] = children(algorithm);
    if (more.length || !kind || !curve || oid(kind) !== '1.2.840.10045.2.1') return false;
    const jwk = publicKeyJwk(area);
    if (jwk.kty !== 'EC' || SPKI_CURVES.get(oid(curve)) !== jwk.crv) return false;
    const point = Buffer.from([0, 4, ...Buffer.from(jwk.x, 'base64url'), ...Buffer.from(jwk.y, 'base64url')]);
    return point.equals(bits.content);
  } catch (error) {
    if (error instanceof DerError) return false;
    throw error;
  }
}

/** The CSR parses, its signature is valid, and its key is the device key. */
/** The signature algorithms a device key's request may use: ECDSA with SHA-2 (the device key is ECDSA P-256). */
const CSR_SIGNATURES = new Map([
  ['1.2.840.10045.4.3.2', 'sha256'],
  ['1.2.840.10045.4.3.3', 'sha384'],
  ['1.2.840.10045.4.3.4', 'sha512'],
]);

/** A verified certificate request: the key it asks a certificate for (SubjectPublicKeyInfo, DER). */
export interface VerifiedCsr {
  /** The request's SubjectPublicKeyInfo (DER). */
  publicKey: Uint8Array;
  /** The same key, ready to verify the device's signatures. */
  key: KeyObject;
}

/**
 * A PKCS#10 request (PEM) for `key`, its signature verified by Node's crypto over the request
 * info's exact bytes (no ASN.1 library on this path): CSR_INVALID when it is not one or its
 * signature does not hold, CSR_KEY_MISMATCH when it is for another key.
 */
export function verifyCsr(pem: string, key: TpmtPublic): VerifiedCsr {
  const body = /^\s*-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END (?:NEW )?CERTIFICATE REQUEST-----\s*$/.exec(pem)?.[1];
  let info: DerElement;
  let spki: DerElement;
  let algorithm: string | undefined;
  let signature: Uint8Array;
  try {
    if (!body) throw new DerError('not PEM');
    const request = readElement(new Uint8Array(Buffer.from(body.replace(/\s+/g, ''), 'base64')));
    const [requestInfo, signatureAlgorithm, signatureBits, ...extra] = children(request);
    if (request.tag !== 0x30 || !requestInfo || !signatureAlgorithm || !signatureBits || extra.length || requestInfo.tag !== 0x30 || signatureAlgorithm.tag !== 0x30 || signatureBits.tag !== 0x03) throw new DerError('not a request');
    const [version, subject, subjectKey] = children(requestInfo);
    if (version?.tag !== 0x02 || subject?.tag !== 0x30 || subjectKey?.tag !== 0x30) throw new DerError('not a request');
    info = requestInfo;
    spki = subjectKey;
    algorithm = CSR_SIGNATURES.get(oid(children(signatureAlgorithm)[0]!));
    if (signatureBits.content[0] !== 0) throw new DerError('signature with unused bits');
    signature = signatureBits.content.subarray(1);
  } catch (error) {
    if (!(error instanceof DerError)) throw error;
    throw new ServiceError('CSR_INVALID', 'the certificate request is not a PEM PKCS#10 request');
  }
  // The usual case, the request for the certified key: its signature checked with that key.
  if (spkiIsKeyOf(spki, key)) {
    const publicKey = publicKeyObject(key);
    let valid = false;
    try {
      valid = algorithm !== undefined && verifySignature(algorithm, info.bytes, { key: publicKey, dsaEncoding: 'der' }, signature);
    } catch {
      valid = false;
    }
    if (!valid) throw csrSignatureInvalid(algorithm);
    return { publicKey: new Uint8Array(spki.bytes), key: publicKey };
  }
  // Another key: a request that is not even signed by it is invalid; one that is, is for the wrong key.
  let valid = false;
  try {
    const publicKey = createPublicKey({ key: Buffer.from(spki.bytes), format: 'der', type: 'spki' });
    valid = algorithm !== undefined && verifySignature(algorithm, info.bytes, { key: publicKey, dsaEncoding: 'der' }, signature);
  } catch {
    valid = false;
  }
  if (!valid) throw csrSignatureInvalid(algorithm);
  throw new ServiceError('CSR_KEY_MISMATCH', 'the certificate request is for another key than the certified device key');
}

const csrSignatureInvalid = (algorithm: string | undefined) =>
  new ServiceError('CSR_INVALID', `the certificate request signature is not valid${algorithm ? '' : ' (it must be ECDSA with SHA-256, SHA-384 or SHA-512)'}`);
