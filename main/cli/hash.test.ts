import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { CSV_HEADER_LINE, parseCsv } from '../../protocol/csv.js';
import { encodeHardwareHash } from '../../protocol/hardware-hash.js';
import { appendToCollection, printHash } from './hash.js';

const identity = (serial: string) => ({ serial, manufacturer: 'Contoso', model: 'K1', smbiosUuid: null, macs: [], diskSerials: [], tpmManufacturer: 'IFX', ekDigest: null });
const device = (serial: string) => ({ identity: identity(serial), hardwareHash: encodeHardwareHash(identity(serial)) });

describe('selfdeploy hash', () => {
  const dir = mkdtempSync(join(tmpdir(), 'selfdeploy-hash-'));

  it('creates a collection file with one header, appends, and refuses a serial already there', () => {
    const file = join(dir, 'room-1.csv');
    expect(appendToCollection(file, ['SN1', device('SN1').hardwareHash, 'Lobby', ''])).toBe('created');
    expect(appendToCollection(file, ['SN2', device('SN2').hardwareHash, 'Lobby', ''])).toBe('appended');
    expect(() => appendToCollection(file, ['SN1', device('SN1').hardwareHash, '', ''])).toThrow(/already lists serial number SN1 \(row 2\)/);
    const records = parseCsv(readFileSync(file, 'utf8'));
    expect(records.map((r) => r.fields[0])).toEqual(['Device Serial Number', 'SN1', 'SN2']);
  });

  it('keeps a file whose last line lacks its end, and its line ends', () => {
    const file = join(dir, 'lf.csv');
    writeFileSync(file, `${CSV_HEADER_LINE}\nSN1,${device('SN1').hardwareHash},,`);
    appendToCollection(file, ['SN3', device('SN3').hardwareHash, '', '']);
    expect(readFileSync(file, 'utf8')).toBe(`${CSV_HEADER_LINE}\nSN1,${device('SN1').hardwareHash},,\nSN3,${device('SN3').hardwareHash},,\n`);
  });

  it('refuses to append to a file that is not a hardware-hash CSV', () => {
    const file = join(dir, 'other.csv');
    writeFileSync(file, 'name,email\nx,y\n');
    expect(() => appendToCollection(file, ['SN1', 'h', '', ''])).toThrow(expect.objectContaining({ code: 'HASH_FILE_CONFLICT' }));
    expect(readFileSync(file, 'utf8')).toBe('name,email\nx,y\n');
  });

  it('quotes fields that need it and validates the group tag', () => {
    let out = '';
    printHash(device('SN,4'), { csv: true, json: false, groupTag: 'Lobby 1' }, { stdout: (t) => (out += t), stderr: () => undefined });
    expect(parseCsv(out)[1]!.fields).toEqual(['SN,4', device('SN,4').hardwareHash, 'Lobby 1', '']);
    expect(() => printHash(device('SN5'), { csv: true, json: false, groupTag: 'bad/tag' }, { stdout: () => undefined, stderr: () => undefined })).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });
});
