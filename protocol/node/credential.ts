// MakeCredential in software (TPM 2.0 Part 1 §24; Part 1 §11.4.10 for the KDFs): what a verifier
// does so that only the TPM holding this EK, with this AK loaded, can recover the secret. The
// hash is the EK's name algorithm and the AES key size the EK's symmetric key size — deriving
// with the AK's hash makes the TPM answer TPM_RC_INTEGRITY whenever the two differ.
import { constants, createCipheriv, createECDH, createHash, createHmac, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';

import { concatBytes } from '../tpm/bytes.js';
import { TpmAlg, digestSize, hashName } from '../tpm/constants.js';
import { marshalEccPoint, marshalEncryptedSecret, marshalIdObject } from '../tpm/credential.js';
import { curveInfo, publicKeyJwk, type TpmtPublic } from '../tpm/public.js';

const u32 = (n: number) => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
const label = (text: string) => new TextEncoder().encode(`${text}\0`); // labels include their NUL (Part 1 §11.4.10.1)

/** KDFa: SP 800-108 counter mode with HMAC (Part 1 §11.4.10.2). */
export function kdfa(hashAlg: number, key: Uint8Array, use: string, contextU: Uint8Array, contextV: Uint8Array, bits: number): Uint8Array {
  const bytes = Math.ceil(bits / 8);
  const blocks: Uint8Array[] = [];
  for (let counter = 1, length = 0; length < bytes; counter++) {
    const block = createHmac(hashName(hashAlg), key).update(u32(counter)).update(label(use)).update(contextU).update(contextV).update(u32(bits)).digest();
    blocks.push(block);
    length += block.length;
  }
  return concatBytes(...blocks).slice(0, bytes);
}

/** KDFe: SP 800-56A concatenation KDF (Part 1 §11.4.10.3). */
export function kdfe(hashAlg: number, z: Uint8Array, use: string, partyU: Uint8Array, partyV: Uint8Array, bits: number): Uint8Array {
  const bytes = Math.ceil(bits / 8);
  const blocks: Uint8Array[] = [];
  for (let counter = 1, length = 0; length < bytes; counter++) {
    const block = createHash(hashName(hashAlg)).update(u32(counter)).update(z).update(label(use)).update(partyU).update(partyV).digest();
    blocks.push(block);
    length += block.length;
  }
  return concatBytes(...blocks).slice(0, bytes);
}

export interface Credential {
  /** Marshalled TPM2B_ID_OBJECT. */
  idObject: Uint8Array;
  /** Marshalled TPM2B_ENCRYPTED_SECRET. */
  encryptedSecret: Uint8Array;
}

/** OpenSSL's names of the curves EKs use. */
const ECDH_CURVES: Record<string, string> = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' };

/** A coordinate as the curve's fixed-size big-endian field element. */
function fieldElement(bytes: Uint8Array, size: number): Buffer {
  if (bytes.length > size) throw new RangeError('the EK point does not fit its curve');
  return Buffer.concat([Buffer.alloc(size - bytes.length), bytes]);
}

/**
 * The seed and its encryption to the EK: RSA-OAEP with label "IDENTITY", or ECDH + KDFe. The
 * ephemeral ECDH key is made with crypto.createECDH, never as a KeyObject from generateKeyPairSync
 * whose JWK is exported: Node 20 can deadlock when the key's generation job is garbage-collected
 * while its JWK is being exported (both take the key's lock), which hung a service process once.
 */
function seedFor(ek: TpmtPublic): { seed: Uint8Array; encryptedSeed: Uint8Array } {
  const hash = ek.nameAlg;
  const size = digestSize(hash);
  if (ek.type === TpmAlg.RSA) {
    const ekKey = createPublicKey({ key: publicKeyJwk(ek), format: 'jwk' });
    const seed = randomBytes(size);
    const encryptedSeed = publicEncrypt({ key: ekKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hashName(hash), oaepLabel: label('IDENTITY') }, seed);
    return { seed, encryptedSeed };
  }
  const { crv, size: field } = curveInfo(ek.curve);
  const ecdh = createECDH(ECDH_CURVES[crv]!);
  const ephemeral = ecdh.generateKeys(); // uncompressed: 04 || x || y
  // computeSecret refuses a point that is not on the curve.
  const z = ecdh.computeSecret(Buffer.concat([Buffer.of(4), fieldElement(ek.x, field), fieldElement(ek.y, field)]));
  const point = { x: ephemeral.subarray(1, 1 + field), y: ephemeral.subarray(1 + field) };
  // PartyUInfo is the ephemeral point's x as sent, PartyVInfo the EK's x as the TPM holds it.
  return { seed: kdfe(hash, z, 'IDENTITY', point.x, ek.x, size * 8), encryptedSeed: marshalEccPoint(point) };
}

/** Protects `secret` so that only ActivateCredential with this EK and an object named `akName` recovers it. */
export function makeCredential(ek: TpmtPublic, akName: Uint8Array, secret: Uint8Array): Credential {
  if (ek.symmetric.algorithm !== TpmAlg.AES || ek.symmetric.mode !== TpmAlg.CFB || !ek.symmetric.keyBits) {
    throw new RangeError('the EK must be a storage key with AES-CFB symmetric protection');
  }
  if (secret.length === 0 || secret.length > digestSize(ek.nameAlg)) throw new RangeError('the secret must be 1 to digest-size bytes');
  const hash = ek.nameAlg;
  const { seed, encryptedSeed } = seedFor(ek);
  const symmetricKey = kdfa(hash, seed, 'STORAGE', akName, new Uint8Array(0), ek.symmetric.keyBits);
  const cipher = createCipheriv(`aes-${ek.symmetric.keyBits}-cfb`, symmetricKey, Buffer.alloc(16));
  const plain = concatBytes(Uint8Array.of(secret.length >> 8, secret.length & 0xff), secret); // TPM2B_DIGEST
  const encIdentity = concatBytes(cipher.update(plain), cipher.final());
  const hmacKey = kdfa(hash, seed, 'INTEGRITY', new Uint8Array(0), new Uint8Array(0), digestSize(hash) * 8);
  const integrityHmac = createHmac(hashName(hash), hmacKey).update(encIdentity).update(akName).digest();
  return { idObject: marshalIdObject({ integrityHmac, encIdentity }), encryptedSecret: marshalEncryptedSecret(encryptedSeed) };
}
