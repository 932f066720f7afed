// Byte encodings used on the wire, without Node or DOM: UTF-8, base64 (RFC 4648 §4, padded or
// not on input), base64url (§5) and hex. The protocol module runs in the agent, the service and
// the renderer alike, so it cannot rely on Buffer or TextEncoder.

export class EncodingError extends Error {
  override name = 'EncodingError';
}

export function utf8Encode(text: string): Uint8Array {
  const out: number[] = [];
  for (const char of text) {
    const cp = char.codePointAt(0)!;
    if (cp >= 0xd800 && cp <= 0xdfff) throw new EncodingError('lone surrogate in text');
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  }
  return Uint8Array.from(out);
}

/** Strict UTF-8: overlong forms, surrogates and truncated sequences are errors. */
export function utf8Decode(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const b0 = bytes[i]!;
    let cp: number;
    let extra: number;
    let min: number;
    if (b0 < 0x80) [cp, extra, min] = [b0, 0, 0];
    else if ((b0 & 0xe0) === 0xc0) [cp, extra, min] = [b0 & 0x1f, 1, 0x80];
    else if ((b0 & 0xf0) === 0xe0) [cp, extra, min] = [b0 & 0x0f, 2, 0x800];
    else if ((b0 & 0xf8) === 0xf0) [cp, extra, min] = [b0 & 0x07, 3, 0x10000];
    else throw new EncodingError(`invalid UTF-8 lead byte at ${i}`);
    for (let k = 1; k <= extra; k++) {
      const b = bytes[i + k];
      if (b === undefined) throw new EncodingError('truncated UTF-8 sequence');
      if ((b & 0xc0) !== 0x80) throw new EncodingError(`invalid UTF-8 continuation at ${i + k}`);
      cp = (cp << 6) | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new EncodingError(`invalid UTF-8 code point at ${i}`);
    out += String.fromCodePoint(cp);
    i += extra + 1;
  }
  return out;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function encode(bytes: Uint8Array, alphabet: string, pad: boolean): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const b0 = bytes[i]!;
    const b1 = bytes[i + 1];
    const b2 = bytes[i + 2];
    out += alphabet[b0 >> 2]!;
    out += alphabet[((b0 & 3) << 4) | ((b1 ?? 0) >> 4)]!;
    out += b1 === undefined ? (pad ? '=' : '') : alphabet[((b1 & 15) << 2) | ((b2 ?? 0) >> 6)]!;
    out += b2 === undefined ? (pad ? '=' : '') : alphabet[b2 & 63]!;
  }
  return out;
}

/** Standard base64 with padding (RFC 4648 §4). */
export function base64Encode(bytes: Uint8Array): string {
  return encode(bytes, ALPHABET, true);
}

/** base64url without padding (RFC 4648 §5; JWK and JWS members, RFC 7515 §2). */
export function base64url(bytes: Uint8Array): string {
  return encode(bytes, URL_ALPHABET, false);
}

/**
 * Decodes standard base64, padded or unpadded. Whitespace, the URL alphabet, misplaced padding
 * and non-zero trailing bits are rejected, so one byte string has exactly one accepted text.
 */
export function base64Decode(text: string): Uint8Array {
  let body = text;
  if (body.length % 4 === 0 && body.endsWith('==')) body = body.slice(0, -2);
  else if (body.length % 4 === 0 && body.endsWith('=')) body = body.slice(0, -1);
  if (body.length % 4 === 1) throw new EncodingError('base64 text has an impossible length');
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (let i = 0; i < body.length; i++) {
    const value = ALPHABET.indexOf(body[i]!);
    if (value < 0) throw new EncodingError(`invalid base64 character at ${i}`);
    buffer = (buffer << 6) | value;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((buffer >> bits) & 0xff);
    }
  }
  if (bits > 0 && (buffer & ((1 << bits) - 1)) !== 0) throw new EncodingError('base64 text has non-zero trailing bits');
  return Uint8Array.from(out);
}

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}

export function fromHex(text: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) throw new EncodingError('not an even-length hex string');
  return Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}
