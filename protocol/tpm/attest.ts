// TPMS_ATTEST for quotes and certifications (TPM 2.0 Part 2 §10.12.12): what the AK signs.
import { ByteReader, ByteWriter, TpmDecodeError } from './bytes.js';
import { TPM_GENERATED_VALUE, TpmSt } from './constants.js';
import { marshalPcrSelection, readPcrSelection, type PcrBankSelection } from './pcr.js';

interface AttestCommon {
  qualifiedSigner: Uint8Array;
  extraData: Uint8Array;
  clock: { clock: bigint; resetCount: number; restartCount: number; safe: boolean };
  firmwareVersion: bigint;
}

export interface QuoteAttest extends AttestCommon {
  type: typeof TpmSt.ATTEST_QUOTE;
  pcrSelection: PcrBankSelection[];
  pcrDigest: Uint8Array;
}

export interface CertifyAttest extends AttestCommon {
  type: typeof TpmSt.ATTEST_CERTIFY;
  name: Uint8Array;
  qualifiedName: Uint8Array;
}

export type TpmsAttest = QuoteAttest | CertifyAttest;

const MAX_NAME = 2 + 64;
const MAX_DATA = 64;

export function parseTpmsAttest(bytes: Uint8Array): TpmsAttest {
  const r = new ByteReader(bytes, 'TPMS_ATTEST');
  const magic = r.u32('magic');
  // Only TPM-generated structures carry this value; anything else was not produced by a TPM.
  if (magic !== TPM_GENERATED_VALUE) throw new TpmDecodeError(r.structure, 'magic is not TPM_GENERATED_VALUE');
  const type = r.u16('type');
  const qualifiedSigner = r.sized('qualifiedSigner', MAX_NAME);
  const extraData = r.sized('extraData', MAX_DATA);
  const clock = {
    clock: r.u64('clockInfo.clock'),
    resetCount: r.u32('clockInfo.resetCount'),
    restartCount: r.u32('clockInfo.restartCount'),
    safe: r.u8('clockInfo.safe') !== 0,
  };
  const firmwareVersion = r.u64('firmwareVersion');
  const common = { qualifiedSigner, extraData, clock, firmwareVersion };
  let result: TpmsAttest;
  if (type === TpmSt.ATTEST_QUOTE) {
    const pcrSelection = readPcrSelection(r);
    const pcrDigest = r.sized('pcrDigest', 64);
    result = { type, ...common, pcrSelection, pcrDigest };
  } else if (type === TpmSt.ATTEST_CERTIFY) {
    const name = r.sized('name', MAX_NAME);
    const qualifiedName = r.sized('qualifiedName', MAX_NAME);
    result = { type, ...common, name, qualifiedName };
  } else {
    throw new TpmDecodeError(r.structure, `attestation type 0x${type.toString(16)} is not a quote or a certification`);
  }
  r.finish();
  return result;
}

/** Marshals a TPMS_ATTEST (what a TPM signs); for software attesters and tests. */
export function marshalTpmsAttest(attest: TpmsAttest): Uint8Array {
  const w = new ByteWriter().u32(TPM_GENERATED_VALUE).u16(attest.type).sized(attest.qualifiedSigner).sized(attest.extraData);
  const u64 = (value: bigint) => w.u32(Number((value >> 32n) & 0xffffffffn)).u32(Number(value & 0xffffffffn));
  u64(attest.clock.clock);
  w.u32(attest.clock.resetCount).u32(attest.clock.restartCount).u8(attest.clock.safe ? 1 : 0);
  u64(attest.firmwareVersion);
  if (attest.type === TpmSt.ATTEST_QUOTE) w.raw(marshalPcrSelection(attest.pcrSelection)).sized(attest.pcrDigest);
  else w.sized(attest.name).sized(attest.qualifiedName);
  return w.finish();
}
