// Registering devices: the hardware-hash CSV a technician collects (header `Device Serial
// Number,Hardware Hash,Group Tag,Assigned User`, up to 10,000 rows) or one device at a time.
// All or nothing: a file with any bad row imports nothing and says which row, which column, why.
import { AssignedUserSchema, GroupTagSchema } from '../../protocol/api/admin.js';
import type { Device } from '../../protocol/api/admin.js';
import { CSV_HEADER, CsvSyntaxError, parseCsv } from '../../protocol/csv.js';
import { HardwareHashError, decodeHardwareHash, encodeHardwareHash, type HardwareIdentity } from '../../protocol/hardware-hash.js';
import type { FieldError } from '../../protocol/problem.js';
import type { LintFinding } from '../../protocol/profile.js';
import { requireNoLintErrors } from '../deployment/assignments.js';
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

/** Checks a registration passes before it is stored (the token's scope; the lint of what it would receive). */
export interface RegistrationChecks {
  /** Why this registration may not be made, or null. */
  scope: (registration: NewRegistration) => Promise<string | null>;
  lint: (registrations: readonly NewRegistration[]) => Promise<LintFinding[]>;
}

const NO_CHECKS: RegistrationChecks = { scope: () => Promise.resolve(null), lint: () => Promise.resolve([]) };

/** One row of a CSV as it would be imported: what it registers, or why it cannot. */
export interface RowReport {
  row: number;
  serial: string | null;
  manufacturer: string | null;
  model: string | null;
  groupTag: string | null;
  assignedUser: string | null;
  errors: { column: string | null; reason: string }[];
}

interface CheckedCsv {
  rows: RowReport[];
  registrations: NewRegistration[];
  errors: FieldError[];
  lint: LintFinding[];
}

/** Reads and checks a CSV through to the lint, storing nothing; a file that is not a CSV of devices at all fails here. */
async function checkCsv(store: Store, text: string, checks: RegistrationChecks): Promise<CheckedCsv> {
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
  const reports: RowReport[] = [];
  const valid: { row: number; registration: Omit<NewRegistration, 'unverifiedHardware'> }[] = [];
  for (const { row, fields } of rows) {
    const [serial, hardwareHash, groupTag, assignedUser] = fields as [string?, string?, string?, string?];
    const report: RowReport = { row, serial: serial?.trim() || null, manufacturer: null, model: null, groupTag: groupTag?.trim() || null, assignedUser: assignedUser?.trim() || null, errors: [] };
    reports.push(report);
    if (fields.length !== CSV_HEADER.length) {
      const reason = `has ${fields.length} fields; the header has ${CSV_HEADER.length}`;
      errors.push({ row, reason });
      report.errors.push({ column: null, reason });
      continue;
    }
    const result = validate({ serial: serial!, hardwareHash: hardwareHash!, groupTag: groupTag!.trim(), assignedUser: assignedUser!.trim() });
    if ('errors' in result) {
      errors.push(...result.errors.map((e) => ({ row, ...e })));
      report.errors.push(...result.errors);
    } else {
      valid.push({ row, registration: result.registration });
      Object.assign(report, { serial: result.registration.identity.serial, manufacturer: result.registration.identity.manufacturer, model: result.registration.identity.model });
    }
  }
  const registrations = await withTrust(store, valid.map((v) => v.registration));
  const byRow = new Map(reports.map((r) => [r.row, r]));
  const rowError = (row: number, column: Column | null, reason: string) => {
    errors.push({ row, ...(column ? { column } : {}), reason });
    byRow.get(row)!.errors.push({ column, reason });
  };
  const duplicates = await store.devices.findDuplicates(registrations);
  for (const duplicate of duplicates) {
    rowError(valid[duplicate.index]!.row, duplicate.same === 'serial' ? 'Device Serial Number' : 'Hardware Hash', describeDuplicate(duplicate, (i) => `row ${valid[i]!.row}`));
  }
  for (const [index, registration] of registrations.entries()) {
    const refused = await checks.scope(registration);
    if (refused) rowError(valid[index]!.row, 'Group Tag', refused);
  }
  const lint = errors.length === 0 ? await checks.lint(registrations) : [];
  return { rows: reports, registrations, errors: errors.sort((a, b) => (a.row ?? 0) - (b.row ?? 0)), lint };
}

/** Imports a CSV, all or nothing: every row valid, no duplicates, in the token's scope, and no lint errors. */
export async function importCsv(store: Store, text: string, checks: RegistrationChecks = NO_CHECKS): Promise<{ devices: Device[]; lint: LintFinding[] }> {
  const checked = await checkCsv(store, text, checks);
  if (checked.errors.length > 0) fail(checked.errors);
  const lint = requireNoLintErrors(checked.lint, 'nothing was imported');
  return { devices: await store.devices.insertAll(checked.registrations), lint };
}

/** What an import of this CSV would do, row by row, without storing anything. */
export async function previewCsv(store: Store, text: string, checks: RegistrationChecks = NO_CHECKS): Promise<{ valid: boolean; devices: number; rows: RowReport[]; lint: LintFinding[] }> {
  const checked = await checkCsv(store, text, checks);
  const valid = checked.errors.length === 0 && !checked.lint.some((f) => f.severity === 'error');
  return { valid, devices: checked.registrations.length, rows: checked.rows, lint: checked.lint };
}

export async function addDevice(store: Store, input: RowInput, checks: RegistrationChecks = NO_CHECKS): Promise<Device> {
  const result = validate(input);
  if ('errors' in result) {
    const hashError = result.errors.find((e) => e.column === 'Hardware Hash');
    throw new ServiceError(
      hashError ? 'HARDWARE_HASH_INVALID' : 'VALIDATION_FAILED',
      hashError?.reason ?? 'the device is not valid',
      result.errors.map((e) => ({ path: { 'Device Serial Number': 'serial', 'Hardware Hash': 'hardwareHash', 'Group Tag': 'groupTag', 'Assigned User': 'assignedUser' }[e.column], reason: e.reason })),
    );
  }
  const registrations = await withTrust(store, [result.registration]);
  const refused = await checks.scope(registrations[0]!);
  if (refused) throw new ServiceError('FORBIDDEN', refused);
  requireNoLintErrors(await checks.lint(registrations), 'the device was not registered');
  const [device] = await store.devices.insertAll(registrations);
  return device!;
}
