// TPMT_PUBLIC / TPM2B_PUBLIC for RSA and ECC keys (TPM 2.0 Part 2 §12.2), object names
// (Part 1 §16: nameAlg || H(TPMT_PUBLIC)) and conversion of the public key to a JWK (RFC 7517).
import { base64url } from '../encoding.js';
import { ByteReader, ByteWriter, TpmDecodeError, concatBytes } from './bytes.js';
import { DIGEST_SIZES, TpmAlg, TpmEccCurve } from './constants.js';

export interface SymmetricDefinition {
  algorithm: number;
  keyBits?: number;
  mode?: number;
}

export interface SchemeDefinition {
  scheme: number;
  hashAlg?: number;
  /** ECDAA only. */
  count?: number;
}

interface PublicCommon {
  nameAlg: number;
  objectAttributes: number;
  authPolicy: Uint8Array;
  symmetric: SymmetricDefinition;
  scheme: SchemeDefinition;
}

export interface RsaPublic extends PublicCommon {
  type: typeof TpmAlg.RSA;
  keyBits: number;
  /** 0 means the default 2^16 + 1. */
  exponent: number;
  modulus: Uint8Array;
}

export interface EccPublic extends PublicCommon {
  type: typeof TpmAlg.ECC;
  curve: number;
  kdf: SchemeDefinition;
  x: Uint8Array;
  y: Uint8Array;
}

export type TpmtPublic = RsaPublic | EccPublic;

const MAX_DIGEST = 64;
const MAX_RSA_KEY_BYTES = 512;
const MAX_ECC_KEY_BYTES = 128;

const SYMMETRIC_OBJECT_ALGS = new Set<number>([TpmAlg.AES, TpmAlg.SM4, TpmAlg.CAMELLIA]);
const RSA_SCHEMES = new Set<number>([TpmAlg.RSASSA, TpmAlg.RSAES, TpmAlg.RSAPSS, TpmAlg.OAEP]);
const ECC_SCHEMES = new Set<number>([TpmAlg.ECDSA, TpmAlg.ECDH, TpmAlg.ECDAA, TpmAlg.SM2, TpmAlg.ECSCHNORR, TpmAlg.ECMQV]);
const KDF_SCHEMES = new Set<number>([TpmAlg.MGF1, TpmAlg.KDF1_SP800_56A, TpmAlg.KDF2, TpmAlg.KDF1_SP800_108]);

function readHashAlg(r: ByteReader, what: string, allowNull = false): number {
  const alg = r.u16(what);
  if (allowNull && alg === TpmAlg.NULL) return alg;
  if (!DIGEST_SIZES.has(alg)) throw new TpmDecodeError(r.structure, `${what} 0x${alg.toString(16)} is not a known hash`);
  return alg;
}

function readSymmetric(r: ByteReader): SymmetricDefinition {
  const algorithm = r.u16('symmetric.algorithm');
  if (algorithm === TpmAlg.NULL) return { algorithm };
  if (!SYMMETRIC_OBJECT_ALGS.has(algorithm)) {
    throw new TpmDecodeError(r.structure, `symmetric algorithm 0x${algorithm.toString(16)} is not allowed for an object`);
  }
  return { algorithm, keyBits: r.u16('symmetric.keyBits'), mode: r.u16('symmetric.mode') };
}

function readScheme(r: ByteReader, allowed: ReadonlySet<number>, what: string): SchemeDefinition {
  const scheme = r.u16(`${what}.scheme`);
  if (scheme === TpmAlg.NULL) return { scheme };
  if (!allowed.has(scheme)) throw new TpmDecodeError(r.structure, `${what} 0x${scheme.toString(16)} is not allowed here`);
  if (scheme === TpmAlg.RSAES) return { scheme };
  const hashAlg = readHashAlg(r, `${what}.hashAlg`);
  if (scheme === TpmAlg.ECDAA) return { scheme, hashAlg, count: r.u16(`${what}.count`) };
  return { scheme, hashAlg };
}

function readTpmtPublic(r: ByteReader): TpmtPublic {
  const type = r.u16('type');
  const nameAlg = readHashAlg(r, 'nameAlg');
  const objectAttributes = r.u32('objectAttributes');
  const authPolicy = r.sized('authPolicy', MAX_DIGEST);
  if (type === TpmAlg.RSA) {
    const symmetric = readSymmetric(r);
    const scheme = readScheme(r, RSA_SCHEMES, 'scheme');
    const keyBits = r.u16('keyBits');
    const exponent = r.u32('exponent');
    const modulus = r.sized('unique.rsa', MAX_RSA_KEY_BYTES);
    return { type, nameAlg, objectAttributes, authPolicy, symmetric, scheme, keyBits, exponent, modulus };
  }
  if (type === TpmAlg.ECC) {
    const symmetric = readSymmetric(r);
    const scheme = readScheme(r, ECC_SCHEMES, 'scheme');
    const curve = r.u16('curveID');
    const kdf = readScheme(r, KDF_SCHEMES, 'kdf');
    const x = r.sized('unique.ecc.x', MAX_ECC_KEY_BYTES);
    const y = r.sized('unique.ecc.y', MAX_ECC_KEY_BYTES);
    return { type, nameAlg, objectAttributes, authPolicy, symmetric, scheme, curve, kdf, x, y };
  }
  throw new TpmDecodeError(r.structure, `object type 0x${type.toString(16)} is not RSA or ECC`);
}

/** Parses a marshalled TPMT_PUBLIC (no size prefix). */
export function parseTpmtPublic(bytes: Uint8Array): TpmtPublic {
  const r = new ByteReader(bytes, 'TPMT_PUBLIC');
  const result = readTpmtPublic(r);
  r.finish();
  return result;
}

/** Parses a marshalled TPM2B_PUBLIC; the size prefix must cover exactly the rest. */
export function parseTpm2bPublic(bytes: Uint8Array): TpmtPublic {
  const outer = new ByteReader(bytes, 'TPM2B_PUBLIC');
  const size = outer.u16('size');
  const inner = outer.sub(size, 'TPMT_PUBLIC');
  outer.finish();
  const result = readTpmtPublic(inner);
  inner.finish();
  return result;
}

function writeScheme(w: ByteWriter, s: SchemeDefinition): void {
  w.u16(s.scheme);
  if (s.scheme === TpmAlg.NULL || s.scheme === TpmAlg.RSAES) return;
  w.u16(s.hashAlg ?? TpmAlg.NULL);
  if (s.scheme === TpmAlg.ECDAA) w.u16(s.count ?? 0);
}

export function marshalTpmtPublic(pub: TpmtPublic): Uint8Array {
  const w = new ByteWriter().u16(pub.type).u16(pub.nameAlg).u32(pub.objectAttributes).sized(pub.authPolicy);
  w.u16(pub.symmetric.algorithm);
  if (pub.symmetric.algorithm !== TpmAlg.NULL) w.u16(pub.symmetric.keyBits ?? 0).u16(pub.symmetric.mode ?? TpmAlg.NULL);
  writeScheme(w, pub.scheme);
  if (pub.type === TpmAlg.RSA) {
    w.u16(pub.keyBits).u32(pub.exponent).sized(pub.modulus);
  } else {
    w.u16(pub.curve);
    writeScheme(w, pub.kdf);
    w.sized(pub.x).sized(pub.y);
  }
  return w.finish();
}

export function marshalTpm2bPublic(pub: TpmtPublic): Uint8Array {
  return new ByteWriter().sized(marshalTpmtPublic(pub)).finish();
}

/** A hash function supplied by the caller (this module imports no crypto). */
export type HashFunction = (hashAlg: number, data: Uint8Array) => Uint8Array;

/** The object's Name: nameAlg (UINT16) || H_nameAlg(marshalled TPMT_PUBLIC) (Part 1 §16). */
export function objectName(pub: TpmtPublic, hash: HashFunction): Uint8Array {
  const alg = new ByteWriter().u16(pub.nameAlg).finish();
  return concatBytes(alg, hash(pub.nameAlg, marshalTpmtPublic(pub)));
}

export type PublicJwk =
  | { kty: 'RSA'; n: string; e: string }
  | { kty: 'EC'; crv: 'P-256' | 'P-384' | 'P-521'; x: string; y: string };

const CURVES = new Map<number, { crv: 'P-256' | 'P-384' | 'P-521'; size: number }>([
  [TpmEccCurve.NIST_P256, { crv: 'P-256', size: 32 }],
  [TpmEccCurve.NIST_P384, { crv: 'P-384', size: 48 }],
  [TpmEccCurve.NIST_P521, { crv: 'P-521', size: 66 }],
]);

export function curveInfo(curve: number): { crv: 'P-256' | 'P-384' | 'P-521'; size: number } {
  const info = CURVES.get(curve);
  if (!info) throw new RangeError(`unsupported ECC curve 0x${curve.toString(16)}`);
  return info;
}

function leftPad(bytes: Uint8Array, size: number): Uint8Array {
  if (bytes.length > size) throw new RangeError(`coordinate of ${bytes.length} bytes exceeds ${size}`);
  const out = new Uint8Array(size);
  out.set(bytes, size - bytes.length);
  return out;
}

/** The public key as a JWK, for any X.509/JOSE library (node: createPublicKey({format:'jwk'})). */
export function publicKeyJwk(pub: TpmtPublic): PublicJwk {
  if (pub.type === TpmAlg.RSA) {
    const exponent = pub.exponent === 0 ? 65537 : pub.exponent;
    const e = new ByteWriter().u32(exponent).finish();
    let first = 0;
    while (first < 3 && e[first] === 0) first++;
    return { kty: 'RSA', n: base64url(pub.modulus), e: base64url(e.slice(first)) };
  }
  const { crv, size } = curveInfo(pub.curve);
  return { kty: 'EC', crv, x: base64url(leftPad(pub.x, size)), y: base64url(leftPad(pub.y, size)) };
}

export function hasAttributes(pub: TpmtPublic, ...bits: number[]): boolean {
  return bits.every((bit) => (pub.objectAttributes & bit) === bit);
}
