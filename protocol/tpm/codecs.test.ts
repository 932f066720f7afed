// The TPM structure codecs against real bytes captured from swtpm (testdata/swtpm.json), and
// property tests: no input crashes a parser with anything but TpmDecodeError, trailing and
// missing bytes are rejected, and valid structures survive a marshal/parse round trip.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { marshalTpmsAttest, parseTpmsAttest } from './attest.js';
import { marshalEccPoint, marshalEncryptedSecret, marshalIdObject, parseEccPoint, parseEncryptedSecret, parseIdObject } from './credential.js';
import { base64url, toHex } from '../encoding.js';
import { TpmDecodeError, equalBytes, unsized } from './bytes.js';
import { TPM_GENERATED_VALUE, TpmAlg, TpmEccCurve, TpmSt, TpmaObject, hashName } from './constants.js';
import {
  marshalPcrSelection,
  namedPcrSelection,
  parseDigestList,
  parsePcrSelection,
  pcrSelectionOfNames,
  pcrValuesFromReads,
  quotedPcrConcatenation,
} from './pcr.js';
import {
  marshalTpm2bPublic,
  marshalTpmtPublic,
  objectName,
  parseTpm2bPublic,
  parseTpmtPublic,
  publicKeyJwk,
  type TpmtPublic,
} from './public.js';
import { marshalTpmtSignature, parseTpmtSignature, signatureBytes } from './signature.js';

const fixture = JSON.parse(readFileSync(new URL('./testdata/swtpm.json', import.meta.url), 'utf8')) as Record<string, string>;
const bytes = (key: string) => Uint8Array.from(Buffer.from(fixture[key]!, 'hex'));
const nodeHash = (alg: number, data: Uint8Array) => new Uint8Array(createHash(hashName(alg)).update(data).digest());

const parsers: [string, (b: Uint8Array) => unknown][] = [
  ['TPM2B_PUBLIC', parseTpm2bPublic],
  ['TPMT_PUBLIC', parseTpmtPublic],
  ['TPMS_ATTEST', parseTpmsAttest],
  ['TPMT_SIGNATURE', parseTpmtSignature],
  ['TPML_PCR_SELECTION', parsePcrSelection],
  ['TPML_DIGEST', parseDigestList],
  ['TPM2B_ID_OBJECT', parseIdObject],
  ['TPM2B_ENCRYPTED_SECRET', parseEncryptedSecret],
  ['TPMS_ECC_POINT', parseEccPoint],
];

const realInputs: [string, Uint8Array][] = [
  ['TPM2B_PUBLIC', bytes('rsaEkPublic')],
  ['TPM2B_PUBLIC', bytes('eccP384EkPublic')],
  ['TPM2B_PUBLIC', bytes('eccAkPublic')],
  ['TPM2B_PUBLIC', bytes('rsaAkPublic')],
  ['TPMS_ATTEST', bytes('eccQuoteAttest')],
  ['TPMS_ATTEST', bytes('rsaQuoteAttest')],
  ['TPMS_ATTEST', bytes('certifyAttest')],
  ['TPMT_SIGNATURE', bytes('eccQuoteSignature')],
  ['TPMT_SIGNATURE', bytes('rsaQuoteSignature')],
];

function parserFor(structure: string) {
  return parsers.find(([name]) => name === structure)![1];
}

/** Runs a parser; anything thrown must be a TpmDecodeError. */
function parsesOrRejects(parse: (b: Uint8Array) => unknown, input: Uint8Array): void {
  try {
    parse(input);
  } catch (error) {
    if (!(error instanceof TpmDecodeError)) throw error;
  }
}

describe('TPMT_PUBLIC', () => {
  it('reads the swtpm RSA EK as the TCG low-range RSA 2048 template', () => {
    const ek = parseTpm2bPublic(bytes('rsaEkPublic'));
    expect(ek.type).toBe(TpmAlg.RSA);
    if (ek.type !== TpmAlg.RSA) return;
    expect(ek.keyBits).toBe(2048);
    expect(ek.modulus).toHaveLength(256);
    expect(ek.objectAttributes).toBe(0x000300b2);
    expect(toHex(ek.authPolicy)).toBe('837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa');
    expect(ek.symmetric).toEqual({ algorithm: TpmAlg.AES, keyBits: 128, mode: TpmAlg.CFB });
    expect(publicKeyJwk(ek)).toMatchObject({ kty: 'RSA', e: 'AQAB' });
  });

  it('reads the swtpm ECC EK as NIST P-384 with a SHA-384 name', () => {
    const ek = parseTpm2bPublic(bytes('eccP384EkPublic'));
    expect(ek.type).toBe(TpmAlg.ECC);
    if (ek.type !== TpmAlg.ECC) return;
    expect(ek.curve).toBe(TpmEccCurve.NIST_P384);
    expect(ek.nameAlg).toBe(TpmAlg.SHA384);
    expect(ek.x).toHaveLength(48);
    expect(publicKeyJwk(ek)).toMatchObject({ kty: 'EC', crv: 'P-384' });
  });

  it('re-marshals every captured public area to the identical bytes', () => {
    for (const key of ['rsaEkPublic', 'eccP384EkPublic', 'eccAkPublic', 'rsaAkPublic', 'deviceKeyPublic']) {
      expect(toHex(marshalTpm2bPublic(parseTpm2bPublic(bytes(key)))), key).toBe(fixture[key]);
    }
  });

  it('computes the name the TPM computed for the certified device key', () => {
    const certified = parseTpmsAttest(bytes('certifyAttest'));
    if (certified.type !== TpmSt.ATTEST_CERTIFY) throw new Error('not a certification');
    const name = objectName(parseTpm2bPublic(bytes('deviceKeyPublic')), nodeHash);
    expect(toHex(name)).toBe(toHex(certified.name));
  });

  it('rejects a TPM2B_PUBLIC whose size prefix does not cover exactly the rest', () => {
    const ek = bytes('eccAkPublic');
    expect(() => parseTpm2bPublic(Uint8Array.from([...ek, 0]))).toThrow(/trailing/);
    expect(() => parseTpm2bPublic(ek.slice(0, -1))).toThrow(TpmDecodeError);
    expect(() => parseTpmtPublic(unsized(ek, 'TPM2B_PUBLIC').slice(0, -2))).toThrow(/truncated/);
  });

  it('rejects object types other than RSA and ECC, and unknown name algorithms', () => {
    const area = unsized(bytes('eccAkPublic'), 'TPM2B_PUBLIC');
    const keyedHash = Uint8Array.from(area);
    keyedHash[1] = TpmAlg.KEYEDHASH;
    expect(() => parseTpmtPublic(keyedHash)).toThrow(/not RSA or ECC/);
    const badName = Uint8Array.from(area);
    badName[3] = 0x99;
    expect(() => parseTpmtPublic(badName)).toThrow(/nameAlg/);
  });

  const hashAlg = fc.constantFrom(TpmAlg.SHA1, TpmAlg.SHA256, TpmAlg.SHA384, TpmAlg.SHA512);
  const digest = fc.uint8Array({ maxLength: 64 });
  const symmetric = fc.oneof(
    fc.constant({ algorithm: TpmAlg.NULL }),
    fc.record({ algorithm: fc.constant(TpmAlg.AES), keyBits: fc.constantFrom(128, 256), mode: fc.constant(TpmAlg.CFB) }),
  );
  const publicArea: fc.Arbitrary<TpmtPublic> = fc.oneof(
    fc.record({
      type: fc.constant(TpmAlg.RSA),
      nameAlg: hashAlg,
      objectAttributes: fc.nat(),
      authPolicy: digest,
      symmetric,
      scheme: fc.oneof(
        fc.constant({ scheme: TpmAlg.NULL }),
        fc.constant({ scheme: TpmAlg.RSAES }),
        fc.record({ scheme: fc.constantFrom(TpmAlg.RSASSA, TpmAlg.RSAPSS, TpmAlg.OAEP), hashAlg }),
      ),
      keyBits: fc.constantFrom(1024, 2048, 3072, 4096),
      exponent: fc.nat(),
      modulus: fc.uint8Array({ maxLength: 512 }),
    }),
    fc.record({
      type: fc.constant(TpmAlg.ECC),
      nameAlg: hashAlg,
      objectAttributes: fc.nat(),
      authPolicy: digest,
      symmetric,
      scheme: fc.oneof(
        fc.constant({ scheme: TpmAlg.NULL }),
        fc.record({ scheme: fc.constantFrom(TpmAlg.ECDSA, TpmAlg.ECDH, TpmAlg.SM2), hashAlg }),
        fc.record({ scheme: fc.constant(TpmAlg.ECDAA), hashAlg, count: fc.integer({ min: 0, max: 0xffff }) }),
      ),
      curve: fc.constantFrom(TpmEccCurve.NIST_P256, TpmEccCurve.NIST_P384),
      kdf: fc.oneof(fc.constant({ scheme: TpmAlg.NULL }), fc.record({ scheme: fc.constant(TpmAlg.KDF2), hashAlg })),
      x: fc.uint8Array({ maxLength: 66 }),
      y: fc.uint8Array({ maxLength: 66 }),
    }),
  );

  it('round-trips any valid RSA or ECC public area (property)', () => {
    fc.assert(
      fc.property(publicArea, (area) => {
        const marshalled = marshalTpmtPublic(area);
        expect(parseTpmtPublic(marshalled)).toEqual(area);
        expect(parseTpm2bPublic(marshalTpm2bPublic(area))).toEqual(area);
      }),
    );
  });

  it('rejects every strict prefix of a valid public area (property)', () => {
    fc.assert(
      fc.property(publicArea, fc.nat(), (area, cut) => {
        const marshalled = marshalTpmtPublic(area);
        const prefix = marshalled.slice(0, cut % marshalled.length);
        expect(() => parseTpmtPublic(prefix)).toThrow(TpmDecodeError);
      }),
    );
  });
});

describe('TPMS_ATTEST', () => {
  it('reads a swtpm quote: TPM-generated, nonce as extraData, the PCR selection quoted', () => {
    const quote = parseTpmsAttest(bytes('eccQuoteAttest'));
    expect(quote.type).toBe(TpmSt.ATTEST_QUOTE);
    if (quote.type !== TpmSt.ATTEST_QUOTE) return;
    expect(toHex(quote.extraData)).toBe(fixture['nonce']);
    expect(quote.pcrSelection).toEqual([{ hashAlg: TpmAlg.SHA256, pcrs: [0, 1, 2, 3, 4, 5, 6, 7] }]);
    expect(quote.pcrDigest).toHaveLength(32);
  });

  it('reads a swtpm certification naming the certified key', () => {
    const certify = parseTpmsAttest(bytes('certifyAttest'));
    expect(certify.type).toBe(TpmSt.ATTEST_CERTIFY);
    if (certify.type !== TpmSt.ATTEST_CERTIFY) return;
    expect(toHex(certify.name)).toBe(fixture['deviceKeyName']);
  });

  it('rejects a structure that does not start with TPM_GENERATED_VALUE', () => {
    const forged = bytes('eccQuoteAttest');
    forged[3]! ^= 1;
    expect(TPM_GENERATED_VALUE).toBe(0xff544347);
    expect(() => parseTpmsAttest(forged)).toThrow(/TPM_GENERATED_VALUE/);
  });
});

describe('TPMT_SIGNATURE', () => {
  it('reads ECDSA and RSASSA signatures and marshals them back unchanged', () => {
    const ecdsa = parseTpmtSignature(bytes('eccQuoteSignature'));
    expect(ecdsa).toMatchObject({ sigAlg: TpmAlg.ECDSA, hashAlg: TpmAlg.SHA256 });
    expect(signatureBytes(ecdsa, 32)).toHaveLength(64);
    const rsassa = parseTpmtSignature(bytes('rsaQuoteSignature'));
    expect(rsassa).toMatchObject({ sigAlg: TpmAlg.RSASSA, hashAlg: TpmAlg.SHA256 });
    for (const key of ['eccQuoteSignature', 'rsaQuoteSignature', 'deviceKeySignature']) {
      expect(toHex(marshalTpmtSignature(parseTpmtSignature(bytes(key))))).toBe(fixture[key]);
    }
  });

  it('rejects HMAC and other signature schemes', () => {
    expect(() => parseTpmtSignature(Uint8Array.from([0x00, 0x05, 0x00, 0x0b]))).toThrow(/not RSASSA, RSAPSS or ECDSA/);
  });
});

describe('credential structures', () => {
  it('round-trip TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET and TPMS_ECC_POINT (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 512 }), (hmac, identity, secret) => {
        expect(parseIdObject(marshalIdObject({ integrityHmac: hmac, encIdentity: identity }))).toEqual({ integrityHmac: hmac, encIdentity: identity });
        expect(parseEncryptedSecret(marshalEncryptedSecret(secret))).toEqual(secret);
        const point = { x: secret.slice(0, 48), y: hmac.slice(0, 48) };
        expect(parseEccPoint(marshalEccPoint(point))).toEqual(point);
      }),
    );
  });

  it('refuses an ID object larger than TPMS_ID_OBJECT and a secret larger than any EK block', () => {
    expect(() => parseIdObject(marshalIdObject({ integrityHmac: new Uint8Array(32), encIdentity: new Uint8Array(200) }))).toThrow(TpmDecodeError);
    expect(() => parseEncryptedSecret(marshalEncryptedSecret(new Uint8Array(513)))).toThrow(/more than its maximum/);
    expect(() => parseIdObject(Uint8Array.of(0, 4, 0, 9, 1, 2))).toThrow(/truncated/);
  });

  it('marshals captured quotes and certifications back to the bytes the TPM signed', () => {
    for (const key of ['eccQuoteAttest', 'rsaQuoteAttest', 'certifyAttest']) {
      expect(toHex(marshalTpmsAttest(parseTpmsAttest(bytes(key)))), key).toBe(fixture[key]);
    }
  });
});

describe('PCR selections and values', () => {
  it('marshals a selection as the TPM does and parses it back', () => {
    const selection = [
      { hashAlg: TpmAlg.SHA256, pcrs: [0, 7, 23] },
      { hashAlg: TpmAlg.SHA1, pcrs: [] },
    ];
    expect(toHex(marshalPcrSelection(selection))).toBe('00000002000b03810080000403000000');
    expect(parsePcrSelection(marshalPcrSelection(selection))).toEqual(selection);
    expect(() => marshalPcrSelection([{ hashAlg: TpmAlg.SHA256, pcrs: [24] }])).toThrow(RangeError);
  });

  it('pairs PCR_Read chunks into values and refuses a digest count that does not match', () => {
    const selection = marshalPcrSelection([{ hashAlg: TpmAlg.SHA256, pcrs: [1, 2] }]);
    const d = (fill: number) => [0x00, 0x20, ...new Array<number>(32).fill(fill)];
    const two = Uint8Array.from([0, 0, 0, 2, ...d(1), ...d(2)]);
    const [bank] = pcrValuesFromReads([{ selection, digests: two }]);
    expect(bank!.values.get(2)![0]).toBe(2);
    expect(quotedPcrConcatenation([{ hashAlg: TpmAlg.SHA256, pcrs: [2, 1] }], [bank!])).toHaveLength(64);
    const one = Uint8Array.from([0, 0, 0, 1, ...d(1)]);
    expect(() => pcrValuesFromReads([{ selection, digests: one }])).toThrow(/fewer digests/);
    const shortDigest = Uint8Array.from([0, 0, 0, 2, ...d(1), 0x00, 0x14, ...new Array<number>(20).fill(0)]);
    expect(() => pcrValuesFromReads([{ selection, digests: shortDigest }])).toThrow(/not 32/);
  });

  it('names each bank’s hash as the device API does, and back; a hash the API has no name for is refused', () => {
    const selection = [
      { hashAlg: TpmAlg.SHA256, pcrs: [0, 7] },
      { hashAlg: TpmAlg.SHA384, pcrs: [4] },
    ];
    expect(namedPcrSelection(selection)).toEqual([
      { hash: 'sha256', pcrs: [0, 7] },
      { hash: 'sha384', pcrs: [4] },
    ]);
    expect(pcrSelectionOfNames(namedPcrSelection(selection))).toEqual(selection);
    expect(() => namedPcrSelection([{ hashAlg: TpmAlg.SM3_256, pcrs: [0] }])).toThrow(RangeError);
  });
});

describe('every parser', () => {
  it.each(parsers)('%s throws only TpmDecodeError on arbitrary bytes (property)', (_name, parse) => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 700 }), (input) => parsesOrRejects(parse, input)), { numRuns: 2000 });
  });

  it('throws only TpmDecodeError on mutated and truncated real structures (property)', () => {
    const mutation = fc.record({
      input: fc.constantFrom(...realInputs),
      edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      cut: fc.option(fc.nat()),
    });
    fc.assert(
      fc.property(mutation, ({ input: [structure, original], edits, cut }) => {
        const mutated = Uint8Array.from(original);
        for (const [at, value] of edits) mutated[at % mutated.length] = value;
        const input = cut === null ? mutated : mutated.slice(0, cut % (mutated.length + 1));
        parsesOrRejects(parserFor(structure), input);
      }),
      { numRuns: 3000 },
    );
  });

  it('rejects one trailing byte after each real structure', () => {
    for (const [structure, input] of realInputs) {
      expect(() => parserFor(structure)(Uint8Array.from([...input, 0])), structure).toThrow(/trailing/);
    }
  });
});

describe('byte helpers', () => {
  it('encodes base64url as RFC 4648 §5 without padding', () => {
    for (const length of [0, 1, 2, 3, 4, 31, 32, 33]) {
      const data = Uint8Array.from({ length }, (_, i) => (i * 37 + 250) & 0xff);
      expect(base64url(data)).toBe(Buffer.from(data).toString('base64url'));
    }
  });

  it('compares bytes by value', () => {
    expect(equalBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
    expect(equalBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false);
    expect(equalBytes(Uint8Array.of(1), Uint8Array.of(1, 0))).toBe(false);
  });

  it('knows the object attributes the agent relies on', () => {
    expect(TpmaObject.restricted | TpmaObject.sign).toBe(0x50000);
  });
});
