// The hardware hash: canonical (one identity, one hash), versioned, strict about what it accepts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { base64Decode, base64Encode, utf8Encode } from './encoding.js';
import { HardwareHashError, canonicalHardwareHash, decodeHardwareHash, encodeHardwareHash, type HardwareIdentityInput } from './hardware-hash.js';

const identity: HardwareIdentityInput = {
  serial: ' PF3XK9 ',
  manufacturer: 'LENOVO',
  model: '21HD  ThinkPad',
  smbiosUuid: '4C4C4544-0042-3510-8052-B4C04F4E3332',
  macs: ['A4-BB-6D-01-02-03', '04:7b:cb:00:11:22', 'a4:bb:6d:01:02:03'],
  diskSerials: ['S6P7NS0T', 'A1B2'],
  tpmManufacturer: 'NTC',
  ekDigest: 'AA'.repeat(32),
};

describe('hardware hash', () => {
  it('encodes "SDH", the version and the canonical identity, and decodes it back', () => {
    const hash = encodeHardwareHash(identity);
    const bytes = base64Decode(hash);
    expect(String.fromCharCode(...bytes.subarray(0, 3))).toBe('SDH');
    expect(bytes[3]).toBe(1);
    expect(decodeHardwareHash(hash)).toEqual({
      serial: 'PF3XK9',
      manufacturer: 'LENOVO',
      model: '21HD ThinkPad',
      smbiosUuid: '4c4c4544-0042-3510-8052-b4c04f4e3332',
      macs: ['04:7b:cb:00:11:22', 'a4:bb:6d:01:02:03'],
      diskSerials: ['A1B2', 'S6P7NS0T'],
      tpmManufacturer: 'NTC',
      ekDigest: 'aa'.repeat(32),
    });
  });

  it('gives one hash for one identity however it is written (order, case, spacing, padding)', () => {
    const reordered = { ...identity, macs: [...identity.macs].reverse(), diskSerials: ['A1B2', 'S6P7NS0T'], serial: 'PF3XK9', ekDigest: 'aa'.repeat(32) };
    expect(encodeHardwareHash(reordered)).toBe(encodeHardwareHash(identity));
    const padded = encodeHardwareHash(identity);
    expect(canonicalHardwareHash(padded.replace(/=+$/, ''))).toBe(padded);
  });

  it('round-trips any valid identity (property)', () => {
    // eslint-disable-next-line no-control-regex
    const control = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
    const printable = fc.string({ minLength: 1, maxLength: 30 }).filter((s) => s.trim().length > 0 && !control.test(s));
    const hex = (n: number) => fc.array(fc.integer({ min: 0, max: 15 }), { minLength: n, maxLength: n }).map((d) => d.map((x) => x.toString(16)).join(''));
    const arbitrary = fc.record({
      serial: printable,
      manufacturer: printable,
      model: fc.string({ maxLength: 30 }).filter((s) => !control.test(s)),
      smbiosUuid: fc.option(fc.uuid()),
      macs: fc.array(hex(12).map((h) => h.match(/../g)!.join(':')), { maxLength: 4 }),
      diskSerials: fc.array(printable, { maxLength: 4 }),
      tpmManufacturer: fc.option(fc.constantFrom('IFX', 'NTC', 'STM', 'IBM')),
      ekDigest: fc.option(hex(64)),
    });
    fc.assert(
      fc.property(arbitrary, (input) => {
        const hash = encodeHardwareHash(input);
        expect(encodeHardwareHash(decodeHardwareHash(hash))).toBe(hash);
      }),
    );
  });

  it('refuses what is not a hash of this format, with a reason', () => {
    const valid = encodeHardwareHash(identity);
    const json = (value: unknown) => base64Encode(Uint8Array.from([0x53, 0x44, 0x48, 1, ...utf8Encode(JSON.stringify(value))]));
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['not base64!', /not base64/],
      [valid.slice(0, -5) + '*' + valid.slice(-4), /not base64/],
      [base64Encode(Uint8Array.from([0x41, 0x42, 0x43, 1, 0x5b, 0x5d])), /no SDH header/],
      [base64Encode(Uint8Array.from([0x53, 0x44, 0x48, 2, 0x5b, 0x5d])), /version 2 is not supported/],
      [base64Encode(Uint8Array.from([0x53, 0x44, 0x48, 1, 0xff, 0xfe])), /not UTF-8 JSON/],
      [json(['too', 'short']), /must hold 8 fields/],
      [json(['', 'M', '', null, [], [], null, null]), /serial is empty/],
      [json(['S', 'M', '', 'not-a-uuid', [], [], null, null]), /smbiosUuid not a UUID/],
      [json(['S', 'M', '', null, ['00:11'], [], null, null]), /macs.0 not a MAC/],
      [json(['S', 'M', '', null, [], [], null, 'abc']), /ekDigest not a SHA-256/],
      [json(['S\u0007', 'M', '', null, [], [], null, null]), /control characters/],
      ['A'.repeat(9000), /longer than 8192/],
    ];
    for (const [hash, reason] of cases) {
      expect(() => decodeHardwareHash(hash), hash.slice(0, 40)).toThrow(HardwareHashError);
      expect(() => decodeHardwareHash(hash)).toThrow(reason);
    }
  });
});
