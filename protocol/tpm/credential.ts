// Credential protection on the wire (TPM 2.0 Part 1 §24, Part 2 §10.8, §11.4): the
// TPM2B_ID_OBJECT and TPM2B_ENCRYPTED_SECRET a verifier makes with MakeCredential and a TPM
// opens with ActivateCredential, and the TPMS_ECC_POINT an ECC EK's secret is.
import { ByteReader, ByteWriter, TpmDecodeError } from './bytes.js';

/** TPMS_ID_OBJECT: the HMAC over (encIdentity || AK name), and the encrypted credential. */
export interface IdObject {
  integrityHmac: Uint8Array;
  encIdentity: Uint8Array;
}

const MAX_DIGEST = 64;
/** sizeof(TPMS_ID_OBJECT) in tpm2-tss: TPM2B_DIGEST + TPM2B_DIGEST. */
const MAX_ID_OBJECT = 2 * (2 + MAX_DIGEST);
/** sizeof(TPMU_ENCRYPTED_SECRET): an RSA-4096 block, or an ECC point. */
const MAX_ENCRYPTED_SECRET = 512;
const MAX_ECC_COORDINATE = 128;

export function marshalIdObject(id: IdObject): Uint8Array {
  const inner = new ByteWriter().sized(id.integrityHmac).raw(id.encIdentity).finish();
  return new ByteWriter().sized(inner).finish();
}

export function parseIdObject(bytes: Uint8Array): IdObject {
  const r = new ByteReader(bytes, 'TPM2B_ID_OBJECT');
  const inner = r.sub(r.u16('size'), 'TPMS_ID_OBJECT');
  r.finish();
  if (inner.remaining > MAX_ID_OBJECT) throw new TpmDecodeError('TPM2B_ID_OBJECT', `${inner.remaining} bytes exceed TPMS_ID_OBJECT (${MAX_ID_OBJECT})`);
  const integrityHmac = inner.sized('integrityHMAC', MAX_DIGEST);
  const encIdentity = inner.raw(inner.remaining, 'encIdentity');
  return { integrityHmac, encIdentity };
}

export function marshalEncryptedSecret(secret: Uint8Array): Uint8Array {
  return new ByteWriter().sized(secret).finish();
}

export function parseEncryptedSecret(bytes: Uint8Array): Uint8Array {
  const r = new ByteReader(bytes, 'TPM2B_ENCRYPTED_SECRET');
  const secret = r.sized('secret', MAX_ENCRYPTED_SECRET);
  r.finish();
  return secret;
}

export interface EccPoint {
  x: Uint8Array;
  y: Uint8Array;
}

export function marshalEccPoint(point: EccPoint): Uint8Array {
  return new ByteWriter().sized(point.x).sized(point.y).finish();
}

export function parseEccPoint(bytes: Uint8Array): EccPoint {
  const r = new ByteReader(bytes, 'TPMS_ECC_POINT');
  const x = r.sized('x', MAX_ECC_COORDINATE);
  const y = r.sized('y', MAX_ECC_COORDINATE);
  r.finish();
  return { x, y };
}
