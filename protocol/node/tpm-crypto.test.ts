// TPM public keys as node:crypto sees them: imported once and kept (the most recently used), the
// same key object for the same key whatever area it came in, and a signature checked with a kept
// key the same as with a fresh one.
import { createECDH, generateKeyPairSync, sign } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { TpmAlg, TpmEccCurve, TpmaObject } from '../tpm/constants.js';
import type { EccPublic } from '../tpm/public.js';
import { marshalTpmtSignature } from '../tpm/signature.js';
import { PUBLIC_KEY_CACHE, publicKeyObject, verifyTpmSignature } from './tpm-crypto.js';

function eccArea(point = createECDH('prime256v1').generateKeys()): EccPublic {
  return {
    type: TpmAlg.ECC,
    nameAlg: TpmAlg.SHA256,
    objectAttributes: TpmaObject.sign | TpmaObject.fixedTPM | TpmaObject.fixedParent,
    authPolicy: new Uint8Array(),
    symmetric: { algorithm: TpmAlg.NULL },
    scheme: { scheme: TpmAlg.ECDSA, hashAlg: TpmAlg.SHA256 },
    curve: TpmEccCurve.NIST_P256,
    kdf: { scheme: TpmAlg.NULL },
    x: new Uint8Array(point.subarray(1, 33)),
    y: new Uint8Array(point.subarray(33)),
  };
}

describe('publicKeyObject', () => {
  it('gives the same key object for the same key, from another area with other attributes, and another for another key', () => {
    const area = eccArea();
    const again = { ...eccArea(), x: area.x.slice(), y: area.y.slice(), objectAttributes: TpmaObject.decrypt };
    expect(publicKeyObject(again)).toBe(publicKeyObject(area));
    expect(publicKeyObject(eccArea())).not.toBe(publicKeyObject(area));
    expect(publicKeyObject(area).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('keeps only the most recently used keys: one used again stays, the oldest goes', () => {
    const first = eccArea();
    const second = eccArea();
    const firstKey = publicKeyObject(first);
    const secondKey = publicKeyObject(second);
    for (let i = 0; i < PUBLIC_KEY_CACHE - 2; i++) publicKeyObject(eccArea());
    expect(publicKeyObject(first)).toBe(firstKey); // used again: now the most recent
    publicKeyObject(eccArea()); // one more than fits: the least recently used (second) goes
    expect(publicKeyObject(second)).not.toBe(secondKey);
    expect(publicKeyObject(second).equals(secondKey)).toBe(true);
  });

  it('refuses a point that is not on the curve, every time (nothing kept)', () => {
    const area = eccArea();
    const off = { ...area, y: area.y.map((b, i) => (i === area.y.length - 1 ? b ^ 1 : b)) };
    expect(() => publicKeyObject(off)).toThrow();
    expect(() => publicKeyObject(off)).toThrow();
  });

  it('verifies with a kept key exactly as with a fresh one: a good signature holds, a changed message does not', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const area = eccArea(Buffer.concat([Buffer.of(4), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]));
    const message = Buffer.from('quoted');
    const raw = sign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const signature = marshalTpmtSignature({ sigAlg: TpmAlg.ECDSA, hashAlg: TpmAlg.SHA256, r: raw.subarray(0, 32), s: raw.subarray(32) });
    expect(verifyTpmSignature(area, message, signature)).toBe(true);
    expect(verifyTpmSignature(area, message, signature)).toBe(true); // the key kept from the first
    expect(verifyTpmSignature(area, Buffer.from('quoted!'), signature)).toBe(false);
  });
});
