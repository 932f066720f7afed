// Byte encodings the wire relies on, checked against Node's own implementations.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { EncodingError, base64Decode, base64Encode, base64url, fromHex, toHex, utf8Decode, utf8Encode } from './encoding.js';

describe('encodings', () => {
  it('agree with Node for any bytes and any text (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const node = Buffer.from(bytes);
        expect(base64Encode(bytes)).toBe(node.toString('base64'));
        expect(base64url(bytes)).toBe(node.toString('base64url'));
        expect(toHex(bytes)).toBe(node.toString('hex'));
        expect(base64Decode(node.toString('base64'))).toEqual(bytes);
        expect(base64Decode(node.toString('base64').replace(/=+$/, ''))).toEqual(bytes);
        expect(fromHex(node.toString('hex'))).toEqual(bytes);
      }),
    );
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme-composite', maxLength: 50 }), (text) => {
        expect(Buffer.from(utf8Encode(text)).equals(Buffer.from(text, 'utf8'))).toBe(true);
        expect(utf8Decode(utf8Encode(text))).toBe(text);
      }),
    );
  });

  it('refuses malformed base64 and UTF-8 that Node would silently accept', () => {
    for (const bad of ['QQ=', 'QQ===', 'Q', 'QR==', 'Q Q==', 'QQ-_', 'QUJD\n']) expect(() => base64Decode(bad), bad).toThrow(EncodingError);
    for (const bad of [[0xc0, 0x80], [0xe0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80]]) {
      expect(() => utf8Decode(Uint8Array.from(bad)), JSON.stringify(bad)).toThrow(EncodingError);
    }
    expect(() => utf8Encode('\ud800')).toThrow(EncodingError);
  });
});
