// TPMS_CAPABILITY_DATA (TPM 2.0 Part 2 §10.10) for the two capabilities the agent reads:
// fixed TPM properties (manufacturer, firmware, spec level) and the allocated PCR banks.
import { ByteReader, TpmDecodeError } from '../../protocol/tpm/bytes.js';
import { TpmCap } from '../../protocol/tpm/constants.js';
import { readPcrSelection, type PcrBankSelection } from '../../protocol/tpm/pcr.js';

const MAX_PROPERTIES = 256;

export function parseTpmProperties(bytes: Uint8Array): Map<number, number> {
  const r = new ByteReader(bytes, 'TPMS_CAPABILITY_DATA');
  const capability = r.u32('capability');
  if (capability !== TpmCap.TPM_PROPERTIES) throw new TpmDecodeError(r.structure, `capability ${capability} is not TPM_PROPERTIES`);
  const count = r.u32('count');
  if (count > MAX_PROPERTIES) throw new TpmDecodeError(r.structure, `${count} properties exceed ${MAX_PROPERTIES}`);
  const properties = new Map<number, number>();
  for (let i = 0; i < count; i++) properties.set(r.u32('property'), r.u32('value'));
  r.finish();
  return properties;
}

const MAX_HANDLES = 256;

/** TPML_HANDLE of a TPM_CAP_HANDLES answer: the handles (NV indices, persistent objects …) in the range asked. */
export function parseHandles(bytes: Uint8Array): number[] {
  const r = new ByteReader(bytes, 'TPMS_CAPABILITY_DATA');
  const capability = r.u32('capability');
  if (capability !== TpmCap.HANDLES) throw new TpmDecodeError(r.structure, `capability ${capability} is not HANDLES`);
  const count = r.u32('count');
  if (count > MAX_HANDLES) throw new TpmDecodeError(r.structure, `${count} handles exceed ${MAX_HANDLES}`);
  const handles: number[] = [];
  for (let i = 0; i < count; i++) handles.push(r.u32('handle'));
  r.finish();
  return handles;
}

export function parsePcrBanks(bytes: Uint8Array): PcrBankSelection[] {
  const r = new ByteReader(bytes, 'TPMS_CAPABILITY_DATA');
  const capability = r.u32('capability');
  if (capability !== TpmCap.PCRS) throw new TpmDecodeError(r.structure, `capability ${capability} is not PCRS`);
  const banks = readPcrSelection(r);
  r.finish();
  return banks;
}

/** A UINT32 property holding up to four ASCII characters (TPM_PT_MANUFACTURER, vendor strings). */
export function propertyText(value: number | undefined): string {
  if (value === undefined) return '';
  let text = '';
  for (const shift of [24, 16, 8, 0]) {
    const byte = (value >>> shift) & 0xff;
    if (byte === 0) continue;
    text += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '?';
  }
  return text;
}
