// TPM keys as files: the "TSS2 PRIVATE KEY" PEM format of the ASN.1 Specification for TPM 2.0 Key
// Files (the format of the tpm2-openssl provider and tpm2-tss-engine): the key's TPM2B_PUBLIC and
// its TPM2B_PRIVATE, which only the parent key in that TPM can unwrap. Nothing secret leaves the TPM.
import { EncodingError, base64Decode, base64Encode } from '../encoding.js';

/** id-loadablekey: a key to TPM2_Load under `parent`. */
const LOADABLE_KEY_OID = Uint8Array.from([0x06, 0x06, 0x67, 0x81, 0x05, 0x0a, 0x01, 0x03]);
const LABEL = 'TSS2 PRIVATE KEY';

function length(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

function tlv(tag: number, value: Uint8Array): Uint8Array {
  return Uint8Array.from([tag, ...length(value.length), ...value]);
}

function integer(value: number): Uint8Array {
  const bytes: number[] = [];
  for (let rest = value; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  if (bytes.length === 0 || bytes[0]! & 0x80) bytes.unshift(0); // DER: positive, minimal
  return tlv(0x02, Uint8Array.from(bytes));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((part) => [...part]));
}

/** The key file for a key under `parent` (the persistent SRK, 0x81000001, for the agent's keys), with an empty authorization. */
export function tss2PrivateKeyPem(key: { public: Uint8Array; private: Uint8Array }, parent: number): string {
  const der = tlv(0x30, concat(LOADABLE_KEY_OID, tlv(0xa0, Uint8Array.from([0x01, 0x01, 0xff])), integer(parent), tlv(0x04, key.public), tlv(0x04, key.private)));
  const base64 = base64Encode(der).replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${LABEL}-----\n${base64}\n-----END ${LABEL}-----\n`;
}

export class KeyFileError extends Error {
  override name = 'KeyFileError';
}

/** The same key file as DER: the PEM's body, checked to be a loadable key. */
export function tss2PrivateKeyDer(pem: string): Uint8Array {
  const body = new RegExp(`-----BEGIN ${LABEL}-----([A-Za-z0-9+/=\\s]+)-----END ${LABEL}-----`).exec(pem)?.[1];
  if (!body) throw new KeyFileError(`not a ${LABEL} PEM`);
  let der: Uint8Array;
  try {
    der = base64Decode(body.replace(/\s+/g, ''));
  } catch (error) {
    if (error instanceof EncodingError) throw new KeyFileError(`its base64 is damaged: ${error.message}`);
    throw error;
  }
  parseTss2PrivateKeyDer(der);
  return der;
}

/** Reads a key file back: its parent handle and the two blobs. */
export function parseTss2PrivateKeyPem(pem: string): { parent: number; public: Uint8Array; private: Uint8Array } {
  return parseTss2PrivateKeyDer(tss2PrivateKeyDer(pem));
}

/** Reads a key file in DER: its parent handle and the two blobs. */
export function parseTss2PrivateKeyDer(der: Uint8Array): { parent: number; public: Uint8Array; private: Uint8Array } {
  let at = 0;
  const read = (expected: number): Uint8Array => {
    if (der[at] !== expected) throw new KeyFileError(`expected tag 0x${expected.toString(16)} at ${at}`);
    let size = der[at + 1]!;
    at += 2;
    if (size & 0x80) {
      const count = size & 0x7f;
      if (count > 3) throw new KeyFileError('length too large');
      size = 0;
      for (let i = 0; i < count; i++) size = size * 256 + der[at++]!;
    }
    if (at + size > der.length) throw new KeyFileError('truncated');
    const value = der.subarray(at, at + size);
    at += size;
    return value;
  };
  const sequence = read(0x30);
  if (at !== der.length) throw new KeyFileError('trailing bytes');
  at = der.length - sequence.length;
  const oid = read(0x06);
  const expected = LOADABLE_KEY_OID.subarray(2);
  if (oid.length !== expected.length || oid.some((byte, i) => byte !== expected[i])) throw new KeyFileError('not a loadable key');
  for (const optional of [0xa0, 0xa1, 0xa2]) if (der[at] === optional) read(optional);
  const parent = read(0x02).reduce((value, byte) => value * 256 + byte, 0);
  return { parent, public: Uint8Array.from(read(0x04)), private: Uint8Array.from(read(0x04)) };
}
