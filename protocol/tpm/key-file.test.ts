import { execFileSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { KeyFileError, parseTss2PrivateKeyPem, tss2PrivateKeyPem } from './key-file.js';

describe('TSS2 PRIVATE KEY files', () => {
  const key = { public: Uint8Array.from({ length: 90 }, (_, i) => i), private: Uint8Array.from({ length: 200 }, (_, i) => 255 - (i % 256)) };

  it('holds the loadable-key OID, empty auth, the SRK as parent and both blobs, as openssl reads the DER', () => {
    const pem = tss2PrivateKeyPem(key, 0x81000001);
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const parsed = execFileSync('openssl', ['asn1parse', '-inform', 'DER'], { input: der, encoding: 'utf8' });
    expect(parsed).toContain('OBJECT            :2.23.133.10.1.3');
    expect(parsed).toContain('BOOLEAN           :255');
    expect(parsed).toContain('INTEGER           :81000001');
    expect(parsed.match(/OCTET STRING/g)).toHaveLength(2);
    expect(pem.split('\n').every((line) => line.length <= 64)).toBe(true);
  });

  it('reads back what it wrote', () => {
    const parsed = parseTss2PrivateKeyPem(tss2PrivateKeyPem(key, 0x40000001));
    expect(parsed.parent).toBe(0x40000001);
    expect(Buffer.from(parsed.public).equals(Buffer.from(key.public))).toBe(true);
    expect(Buffer.from(parsed.private).equals(Buffer.from(key.private))).toBe(true);
  });

  it('refuses another PEM and a truncated one', () => {
    expect(() => parseTss2PrivateKeyPem('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n')).toThrow(KeyFileError);
    const pem = tss2PrivateKeyPem(key, 0x81000001);
    const lines = pem.split('\n');
    expect(() => parseTss2PrivateKeyPem([lines[0], lines[1], lines.at(-2), ''].join('\n'))).toThrow(KeyFileError);
  });
});
