// `selfdeploy hash`: the device's hardware hash — printed, as the CSV row the service imports, or
// appended to a technician's collection file (one header per file; a device already in the file
// is refused, so collecting a room of devices twice cannot register one twice).
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';

import { GroupTagSchema } from '../../protocol/api/admin.js';
import { CSV_HEADER_LINE, CsvSyntaxError, csvLine, parseCsv } from '../../protocol/csv.js';
import { UsageError, type CliIo, type CodedError } from '../../protocol/errors/report.js';
import type { DeviceIdentity } from '../identity/identity.js';

export class HashFileError extends Error implements CodedError {
  readonly code = 'HASH_FILE_CONFLICT' as const;
}

export interface HashOptions {
  csv: boolean;
  json: boolean;
  append?: string | undefined;
  groupTag?: string | undefined;
}

export function csvRow(device: DeviceIdentity, groupTag: string): string[] {
  return [device.identity.serial, device.hardwareHash, groupTag, ''];
}

/** Appends the row to a collection file, creating it with the header; refuses a serial already there. */
export function appendToCollection(path: string, row: readonly string[]): 'created' | 'appended' {
  let existing: string | undefined;
  try {
    existing = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new HashFileError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code}`);
  }
  let fd: number;
  let text: string;
  if (existing === undefined || existing.replace(/^\uFEFF/, '').trim() === '') {
    try {
      fd = openSync(path, existing === undefined ? 'wx' : 'w', 0o644);
    } catch (error) {
      throw new HashFileError(`cannot create ${path}: ${(error as NodeJS.ErrnoException).code}`);
    }
    text = `${CSV_HEADER_LINE}\r\n${csvLine(row)}\r\n`;
  } else {
    let records;
    try {
      records = parseCsv(existing);
    } catch (error) {
      if (error instanceof CsvSyntaxError) throw new HashFileError(`${path} is not a valid CSV file (${error.message})`);
      throw error;
    }
    const header = records[0]?.fields.map((f) => f.trim().toLowerCase()).join(',');
    if (header !== CSV_HEADER_LINE.toLowerCase()) throw new HashFileError(`${path} is not a hardware-hash file: its first line is not "${CSV_HEADER_LINE}"`);
    const same = records.slice(1).find((r) => r.fields[0]?.trim() === row[0]);
    if (same) throw new HashFileError(`${path} already lists serial number ${row[0]} (row ${same.row})`);
    const eol = existing.includes('\r\n') ? '\r\n' : '\n';
    text = `${existing.endsWith('\n') ? '' : eol}${csvLine(row)}${eol}`;
    try {
      fd = openSync(path, 'a');
    } catch (error) {
      throw new HashFileError(`cannot append to ${path}: ${(error as NodeJS.ErrnoException).code}`);
    }
  }
  try {
    writeSync(fd, text);
    fsyncSync(fd); // a USB stick pulled right after the command still has the row
  } finally {
    closeSync(fd);
  }
  return existing === undefined ? 'created' : 'appended';
}

export function printHash(device: DeviceIdentity, options: HashOptions, io: CliIo): void {
  let groupTag = '';
  if (options.groupTag !== undefined) {
    const parsed = GroupTagSchema.safeParse(options.groupTag);
    if (!parsed.success) throw new UsageError(`--group-tag ${parsed.error.issues[0]?.message ?? 'is not valid'}`);
    groupTag = parsed.data;
  }
  const row = csvRow(device, groupTag);
  const { identity } = device;
  if (options.append) {
    const how = appendToCollection(options.append, row);
    if (options.json) io.stdout(JSON.stringify({ file: options.append, [how]: true, serial: identity.serial, hardwareHash: device.hardwareHash }, null, 2) + '\n');
    else io.stdout(`${how === 'created' ? 'Created' : 'Appended to'} ${options.append}: ${identity.serial} (${identity.manufacturer} ${identity.model})\n`);
    return;
  }
  if (options.json) {
    io.stdout(JSON.stringify({ serial: identity.serial, hardwareHash: device.hardwareHash, groupTag: groupTag || null, identity }, null, 2) + '\n');
  } else if (options.csv) {
    io.stdout(`${CSV_HEADER_LINE}\r\n${csvLine(row)}\r\n`);
  } else {
    io.stdout(
      [
        `Serial number  ${identity.serial}`,
        `Manufacturer   ${identity.manufacturer}`,
        `Model          ${identity.model || '-'}`,
        `SMBIOS UUID    ${identity.smbiosUuid ?? '-'}`,
        `MACs           ${identity.macs.join(', ') || '-'}`,
        `Disks          ${identity.diskSerials.join(', ') || '-'}`,
        `TPM            ${identity.tpmManufacturer ?? '-'}, EK ${identity.ekDigest ?? '-'}`,
        'Hardware hash',
        device.hardwareHash,
        '',
      ].join('\n'),
    );
  }
}
