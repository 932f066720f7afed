// PCR selections and values: TPML_PCR_SELECTION and TPML_DIGEST (TPM 2.0 Part 2 §10.6, §10.9),
// and the PCR digest a quote signs (Part 3 §18.4: H(PCR values in selection order)).
import { ByteReader, ByteWriter, TpmDecodeError, concatBytes } from './bytes.js';
import { DIGEST_SIZES, TpmAlg } from './constants.js';

/** PCR indices selected in one bank. */
export interface PcrBankSelection {
  hashAlg: number;
  pcrs: number[];
}

/** PCR values of one bank, by index. */
export interface PcrBankValues {
  hashAlg: number;
  values: Map<number, Uint8Array>;
}

/** The PCR banks' hashes by the names the device API gives them (docs/protocol.md#attestation; PcrHashSchema). */
const PCR_HASH_ALGS = { sha1: TpmAlg.SHA1, sha256: TpmAlg.SHA256, sha384: TpmAlg.SHA384, sha512: TpmAlg.SHA512 } as const;
export type PcrHashName = keyof typeof PCR_HASH_ALGS;
export const PCR_HASH_NAMES = Object.keys(PCR_HASH_ALGS) as [PcrHashName, ...PcrHashName[]];
const PCR_HASH_BY_ALG = new Map(PCR_HASH_NAMES.map((name) => [PCR_HASH_ALGS[name] as number, name]));

export function pcrHashAlg(name: PcrHashName): number {
  return PCR_HASH_ALGS[name];
}

export function pcrHashName(hashAlg: number): PcrHashName {
  const name = PCR_HASH_BY_ALG.get(hashAlg);
  if (!name) throw new RangeError(`PCR bank hash 0x${hashAlg.toString(16)} has no name in the device API`);
  return name;
}

/** A selection as the device API writes it: each bank's hash by name. */
export function namedPcrSelection(selection: readonly PcrBankSelection[]): { hash: PcrHashName; pcrs: number[] }[] {
  return selection.map((bank) => ({ hash: pcrHashName(bank.hashAlg), pcrs: bank.pcrs }));
}

export function pcrSelectionOfNames(banks: readonly { hash: PcrHashName; pcrs: number[] }[]): PcrBankSelection[] {
  return banks.map((bank) => ({ hashAlg: pcrHashAlg(bank.hash), pcrs: bank.pcrs }));
}

const MAX_BANKS = 16;
const MAX_SIZEOF_SELECT = 4; // TPM2_PCR_SELECT_MAX in tpm2-tss: 32 PCRs
const MAX_DIGESTS = 8; // TPML_DIGEST holds at most eight digests (Part 2 §10.9.2)

export function marshalPcrSelection(banks: readonly PcrBankSelection[]): Uint8Array {
  if (banks.length > MAX_BANKS) throw new RangeError(`at most ${MAX_BANKS} PCR banks`);
  const w = new ByteWriter().u32(banks.length);
  for (const bank of banks) {
    const bits = new Uint8Array(3);
    for (const pcr of bank.pcrs) {
      if (!Number.isInteger(pcr) || pcr < 0 || pcr >= 24) throw new RangeError(`PCR index ${pcr} is outside 0..23`);
      bits[pcr >> 3]! |= 1 << (pcr & 7);
    }
    w.u16(bank.hashAlg).u8(bits.length).raw(bits);
  }
  return w.finish();
}

/** Reads a TPML_PCR_SELECTION in place (it is embedded in TPMS_QUOTE_INFO). */
export function readPcrSelection(r: ByteReader): PcrBankSelection[] {
  const count = r.u32('count');
  if (count > MAX_BANKS) throw new TpmDecodeError(r.structure, `${count} PCR banks exceed ${MAX_BANKS}`);
  const banks: PcrBankSelection[] = [];
  for (let i = 0; i < count; i++) {
    const hashAlg = r.u16('hash');
    if (!DIGEST_SIZES.has(hashAlg)) throw new TpmDecodeError(r.structure, `PCR bank hash 0x${hashAlg.toString(16)} is unknown`);
    const sizeofSelect = r.u8('sizeofSelect');
    if (sizeofSelect > MAX_SIZEOF_SELECT) throw new TpmDecodeError(r.structure, `sizeofSelect ${sizeofSelect} exceeds ${MAX_SIZEOF_SELECT}`);
    const bits = r.raw(sizeofSelect, 'pcrSelect');
    const pcrs: number[] = [];
    for (let pcr = 0; pcr < sizeofSelect * 8; pcr++) {
      if (bits[pcr >> 3]! & (1 << (pcr & 7))) pcrs.push(pcr);
    }
    banks.push({ hashAlg, pcrs });
  }
  return banks;
}

export function parsePcrSelection(bytes: Uint8Array): PcrBankSelection[] {
  const r = new ByteReader(bytes, 'TPML_PCR_SELECTION');
  const banks = readPcrSelection(r);
  r.finish();
  return banks;
}

export function parseDigestList(bytes: Uint8Array): Uint8Array[] {
  const r = new ByteReader(bytes, 'TPML_DIGEST');
  const count = r.u32('count');
  if (count > MAX_DIGESTS) throw new TpmDecodeError(r.structure, `${count} digests exceed ${MAX_DIGESTS}`);
  const digests: Uint8Array[] = [];
  for (let i = 0; i < count; i++) digests.push(r.sized('digest', 64));
  r.finish();
  return digests;
}

/**
 * Pairs the chunks TPM2_PCR_Read returned (selection read + digests, in selection order) into
 * values by bank; every digest must have its bank's size and every selected PCR exactly one value.
 */
export function pcrValuesFromReads(reads: readonly { selection: Uint8Array; digests: Uint8Array }[]): PcrBankValues[] {
  const banks = new Map<number, PcrBankValues>();
  for (const read of reads) {
    const selection = parsePcrSelection(read.selection);
    const digests = parseDigestList(read.digests);
    let next = 0;
    for (const bank of selection) {
      const size = DIGEST_SIZES.get(bank.hashAlg)!;
      const entry = banks.get(bank.hashAlg) ?? { hashAlg: bank.hashAlg, values: new Map<number, Uint8Array>() };
      banks.set(bank.hashAlg, entry);
      for (const pcr of bank.pcrs) {
        const digest = digests[next++];
        if (!digest) throw new TpmDecodeError('TPML_DIGEST', 'fewer digests than selected PCRs');
        if (digest.length !== size) throw new TpmDecodeError('TPML_DIGEST', `PCR ${pcr} digest is ${digest.length} bytes, not ${size}`);
        if (entry.values.has(pcr)) throw new TpmDecodeError('TPML_DIGEST', `PCR ${pcr} was returned twice`);
        entry.values.set(pcr, digest);
      }
    }
    if (next !== digests.length) throw new TpmDecodeError('TPML_DIGEST', 'more digests than selected PCRs');
  }
  return [...banks.values()];
}

/**
 * The concatenation a quote's pcrDigest hashes: each selected PCR's value, banks in selection
 * order, PCRs in ascending order within a bank. Throws when a selected value is missing.
 */
export function quotedPcrConcatenation(selection: readonly PcrBankSelection[], values: readonly PcrBankValues[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const bank of selection) {
    const bankValues = values.find((v) => v.hashAlg === bank.hashAlg);
    for (const pcr of [...bank.pcrs].sort((a, b) => a - b)) {
      const value = bankValues?.values.get(pcr);
      if (!value) throw new RangeError(`no value for PCR ${pcr} of bank 0x${bank.hashAlg.toString(16)}`);
      parts.push(value);
    }
  }
  return concatBytes(...parts);
}

