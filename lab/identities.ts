// Simulated devices: plausible hardware identities and hashes, distinct per index, for tests,
// benchmarks and the lab.
import { createHash } from 'node:crypto';

import { CSV_HEADER_LINE } from '../protocol/csv.js';
import { encodeHardwareHash, type HardwareIdentityInput } from '../protocol/hardware-hash.js';

export function identity(i: number, overrides: Partial<HardwareIdentityInput> = {}): HardwareIdentityInput {
  const hex = createHash('sha256').update(`device-${i}`).digest('hex');
  return {
    serial: `SN${String(i).padStart(8, '0')}`,
    manufacturer: 'Contoso Devices',
    model: 'Kiosk 15',
    smbiosUuid: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`,
    macs: [`02:00:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}:${hex.slice(6, 8)}`],
    diskSerials: [`DISK-${hex.slice(32, 44).toUpperCase()}`],
    tpmManufacturer: 'IFX',
    ekDigest: createHash('sha256').update(`ek-${i}`).digest('hex'),
    ...overrides,
  };
}

export function hash(i: number, overrides: Partial<HardwareIdentityInput> = {}): string {
  return encodeHardwareHash(identity(i, overrides));
}

export { CSV_HEADER_LINE } from '../protocol/csv.js';

export function csv(rows: readonly (readonly string[])[], eol = '\n'): string {
  return [CSV_HEADER_LINE, ...rows.map((r) => r.join(','))].join(eol) + eol;
}

export function deviceRows(from: number, count: number, groupTag = ''): string[][] {
  return Array.from({ length: count }, (_, k) => [identity(from + k).serial, hash(from + k), groupTag, '']);
}
