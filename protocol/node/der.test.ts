// The DER reader (and writer) behind the service's certificate-request check and its device
// certificates: exact bytes in, exact bytes out; anything malformed refused.
import { describe, expect, it } from 'vitest';

import { DerError, children, element, encodeOid, encodeTime, encodeUnsigned, oid, readElement, sequence } from './der.js';

const bytes = (...values: number[]) => new Uint8Array(values);

describe('the DER reader', () => {
  it('reads short and long lengths, and the children that fill a SEQUENCE exactly', () => {
    const sequence = readElement(bytes(0x30, 0x06, 0x02, 0x01, 0x05, 0x04, 0x01, 0xff, 0xaa));
    expect(sequence.bytes).toHaveLength(8);
    expect(children(sequence).map((c) => [c.tag, [...c.content]])).toEqual([
      [0x02, [5]],
      [0x04, [0xff]],
    ]);
    const long = new Uint8Array([0x04, 0x81, 0x80, ...new Array<number>(0x80).fill(1)]);
    expect(readElement(long).content).toHaveLength(0x80);
  });

  it('refuses what is truncated, lengths not in their shortest form, and children that overrun their parent', () => {
    expect(() => readElement(bytes(0x30, 0x05, 0x02, 0x01))).toThrow(DerError);
    expect(() => readElement(bytes(0x04, 0x81, 0x05, 1, 2, 3, 4, 5))).toThrow(/shortest/);
    expect(() => children(readElement(bytes(0x30, 0x03, 0x02, 0x05, 0x01)))).toThrow(DerError);
    expect(() => readElement(bytes(0x04))).toThrow(DerError);
  });

  it('names OIDs in dotted form', () => {
    expect(oid(readElement(bytes(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02)))).toBe('1.2.840.10045.4.3.2');
    expect(() => oid(readElement(bytes(0x04, 0x01, 0x00)))).toThrow(DerError);
  });
});

describe('the DER writer', () => {
  it('writes short and long lengths that the reader reads back', () => {
    const short = element(0x04, bytes(1, 2, 3));
    expect([...short]).toEqual([0x04, 0x03, 1, 2, 3]);
    const long = element(0x04, new Uint8Array(300));
    expect([...long.subarray(0, 4)]).toEqual([0x04, 0x82, 0x01, 0x2c]);
    expect(readElement(long).content).toHaveLength(300);
    expect(children(readElement(sequence(short, element(0x05))))).toHaveLength(2);
  });

  it('writes OIDs the reader names back, arcs above 127 included', () => {
    for (const dotted of ['1.2.840.10045.4.3.2', '2.5.29.37', '1.3.6.1.5.5.7.3.2', '2.999.1']) expect(oid(readElement(encodeOid(dotted)))).toBe(dotted);
  });

  it('writes non-negative integers in their shortest form', () => {
    expect([...encodeUnsigned(bytes(0, 0, 0x12))]).toEqual([0x02, 0x01, 0x12]);
    expect([...encodeUnsigned(bytes(0x80))]).toEqual([0x02, 0x02, 0x00, 0x80]);
    expect([...encodeUnsigned(bytes(0, 0x80))]).toEqual([0x02, 0x02, 0x00, 0x80]);
    expect([...encodeUnsigned(bytes(0))]).toEqual([0x02, 0x01, 0x00]);
  });

  it('writes UTCTime until 2049 and GeneralizedTime from 2050', () => {
    expect(new TextDecoder().decode(readElement(encodeTime(new Date('2026-12-07T09:18:30.500Z'))).content)).toBe('261207091830Z');
    expect(encodeTime(new Date('2026-12-07T09:18:30Z'))[0]).toBe(0x17);
    expect(new TextDecoder().decode(readElement(encodeTime(new Date('2050-01-01T00:00:00Z'))).content)).toBe('20500101000000Z');
    expect(encodeTime(new Date('2050-01-01T00:00:00Z'))[0]).toBe(0x18);
  });
});
