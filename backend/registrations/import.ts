// Registering devices: the hardware-hash CSV a technician collects (header `Device Serial
// Number,Hardware Hash,Group Tag,Assigned User`, up to 10,000 rows) or one device at a time.
// All or nothing: a file with any bad row imports nothing and says which row, which column, why.
import { AssignedUserSchema, GroupTagSchema } from '../../protocol/api/admin.js';
import type { Device } from '../../protocol/api/admin.js';
import { CSV_HEADER, CsvSyntaxError, parseCsv } from '../../protocol/csv.js';
import { HardwareHashError, decodeHardwareHash, encodeHardwareHash, type HardwareIdentity } from '../../protocol/hardware-hash.js';
import type { FieldError } from '../../protocol/problem.js';
import { ServiceError } from '../errors.js';
import { describeDuplicate, type NewRegistration } from '../store/devices.js';
import type { Store } from '../store/store.js';

export const MAX_IMPORT_ROWS = 10_000;
const MAX_REPORTED_ERRORS = 1_000;

type Column = (typeof CSV_HEADER)[number];

interface RowInput {
  serial?: string | undefined;
  hardwareHash: string;
  groupTag?: string | null | undefined;
  assignedUser?: string | null | undefined;
}

/** Validates one registration; returns it, or the reasons per column. */
function validate(input: RowInput): { registration: Omit<NewRegistration, 'unverifiedHardware'> } | { errors: { column: Column; reason: string }[] } {
  const errors: { column: Column; reason: string }[] = [];
  let identity: HardwareIdentity | undefined;
  try {
    identity = decodeHardwareHash(input.hardwareHash.trim());
  } catch (error) {
    errors.push({ column: 'Hardware Hash', reason: error instanceof HardwareHashError ? error.message : String(error) });
  }
  const serial = input.serial?.trim();
  if (input.serial !== undefined && !serial) errors.push({ column: 'Device Serial Number', reason: 'is empty' });
  else if (serial && serial.length > 64) errors.push({ column: 'Device Serial Number', reason: 'is longer than 64 characters' });
  else if (serial && identity && serial !== identity.serial) {
    errors.push({ column: 'Device Serial Number', reason: `"${serial}" is not the serial number inside the hardware hash ("${identity.serial}")` });
  }
  let groupTag: string | null = null;
  if (input.groupTag) {
    const parsed = GroupTagSchema.safeParse(input.groupTag);
    if (parsed.success) groupTag = parsed.data;
    else errors.push({ column: 'Group Tag', reason: parsed.error.issues[0]!.message });
  }
  let assignedUser: string | null = null;
  if (input.assignedUser) {
    const parsed = AssignedUserSchema.safeParse(input.assignedUser);
    if (parsed.success) assignedUser = parsed.data;
    else errors.push({ column: 'Assigned User', reason: parsed.error.issues[0]!.message });
  }
  if (errors.length > 0 || !identity) return { errors };
  return { registration: { identity, hardwareHash: encodeHardwareHash(identity), groupTag, assignedUser } };
}

/** Decodes a hash a request carries; an invalid one is HARDWARE_HASH_INVALID naming the field. */
export function identityFromHash(hash: string, path: string): HardwareIdentity {
  try {
    return decodeHardwareHash(hash);
  } catch (error) {
    if (error instanceof HardwareHashError) throw new ServiceError('HARDWARE_HASH_INVALID', error.message, [{ path, reason: error.message }]);
    throw error;
  }
}

function fail(errors: FieldError[]): never {
  const shown = errors.slice(0, MAX_REPORTED_ERRORS);
  if (errors.length > shown.length) shown.push({ reason: `and ${errors.length - shown.length} more errors` });
  const rows = new Set(errors.map((e) => e.row).filter((r) => r !== undefined)).size;
  throw new ServiceError('CSV_INVALID', `${rows || errors.length} row(s) cannot be imported; nothing was imported`, shown);
}

/** Devices on the EK allow-list are registered as unverified hardware. */
async function withTrust(store: Store, registrations: Omit<NewRegistration, 'unverifiedHardware'>[]): Promise<NewRegistration[]> {
  const digests = registrations.map((r) => r.identity.ekDigest).filter((d): d is string => d !== null);
  const allowed = await store.trustAnchors.allowedEkDigests(digests);
  return registrations.map((r) => ({ ...r, unverifiedHardware: r.identity.ekDigest !== null && allowed.has(r.identity.ekDigest) }));
}

export async function importCsv(store: Store, text: string): Promise<Device[]> {
  let records;
  try {
    records = parseCsv(text);
  } catch (error) {
    if (error instanceof CsvSyntaxError) fail([{ row: error.row, reason: error.message.replace(/^row \d+: /, '') }]);
    throw error;
  }
  const [header, ...rows] = records;
  const expected = CSV_HEADER.join(',');
  if (!header || header.row !== 1 || header.fields.map((f) => f.trim().toLowerCase()).join(',') !== expected.toLowerCase()) {
    fail([{ row: header?.row ?? 1, reason: `the first line must be the header "${expected}"` }]);
  }
  if (rows.length === 0) fail([{ row: 2, reason: 'the file lists no devices' }]);
  if (rows.length > MAX_IMPORT_ROWS) fail([{ reason: `the file lists ${rows.length} devices; at most ${MAX_IMPORT_ROWS} can be imported at once` }]);

  const errors: FieldError[] = [];
  const valid: { row: number; registration: Omit<NewRegistration, 'unverifiedHardware'> }[] = [];
  for (const { row, fields } of rows) {
    if (fields.length !== CSV_HEADER.length) {
      errors.push({ row, reason: `has ${fields.length} fields; the header has ${CSV_HEADER.length}` });
      continue;
    }
    const [serial, hardwareHash, groupTag, assignedUser] = fields as [string, string, string, string];
    const result = validate({ serial, hardwareHash, groupTag: groupTag.trim(), assignedUser: assignedUser.trim() });
    if ('errors' in result) errors.push(...result.errors.map((e) => ({ row, ...e })));
    else valid.push({ row, registration: result.registration });
  }
  const registrations = await withTrust(store, valid.map((v) => v.registration));
  const duplicates = await store.devices.findDuplicates(registrations);
  for (const duplicate of duplicates) {
    const reason = describeDuplicate(duplicate, (i) => `row ${valid[i]!.row}`);
    errors.push({ row: valid[duplicate.index]!.row, column: duplicate.same === 'serial' ? 'Device Serial Number' : 'Hardware Hash', reason });
  }
  if (errors.length > 0) fail(errors.sort((a, b) => (a.row ?? 0) - (b.row ?? 0)));
  return store.devices.insertAll(registrations);
}

export async function addDevice(store: Store, input: RowInput): Promise<Device> {
  const result = validate(input);
  if ('errors' in result) {
    const hashError = result.errors.find((e) => e.column === 'Hardware Hash');
    throw new ServiceError(
      hashError ? 'HARDWARE_HASH_INVALID' : 'VALIDATION_FAILED',
      hashError?.reason ?? 'the device is not valid',
      result.errors.map((e) => ({ path: { 'Device Serial Number': 'serial', 'Hardware Hash': 'hardwareHash', 'Group Tag': 'groupTag', 'Assigned User': 'assignedUser' }[e.column], reason: e.reason })),
    );
  }
  const [device] = await store.devices.insertAll(await withTrust(store, [result.registration]));
  return device!;
}
