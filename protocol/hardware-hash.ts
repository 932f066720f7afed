// The hardware hash: a device's hardware identity as one versioned, canonical, base64 string —
// what a technician exports from a device and an administrator imports into the service
// (docs/protocol.md#hardware-hash). Canonical means one identity has exactly one hash: text is
// trimmed and NFC-normalised, identifiers lower-cased, lists sorted and de-duplicated.
import { z } from 'zod';

import type { EncodingError} from './encoding.js';
import { base64Decode, base64Encode, utf8Decode, utf8Encode } from './encoding.js';
import { describeIssues } from './validation.js';

export const HARDWARE_HASH_VERSION = 1;
const MAGIC = [0x53, 0x44, 0x48]; // "SDH"
/** Longest hash text accepted (a full identity is well under 2 KB). */
export const HARDWARE_HASH_MAX_LENGTH = 8192;

export class HardwareHashError extends Error {
  readonly code = 'HARDWARE_HASH_INVALID';
  override name = 'HardwareHashError';
}

// Printable text: no control characters (C0, DEL, C1), no line or paragraph separators.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const text = (max: number) =>
  z
    .string()
    .transform((s) => s.normalize('NFC').trim().replace(/\s+/g, ' '))
    .refine((s) => !CONTROL.test(s), 'contains control characters')
    .refine((s) => s.length <= max, `longer than ${max} characters`);

const uuid = z
  .string()
  .transform((s) => s.trim().toLowerCase())
  .refine((s) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(s), 'not a UUID');

const mac = z
  .string()
  .transform((s) => s.trim().toLowerCase().replaceAll('-', ':'))
  .refine((s) => /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(s), 'not a MAC address (aa:bb:cc:dd:ee:ff)');

const sortedUnique = (values: string[]) => [...new Set(values)].sort();

export const HardwareIdentitySchema = z.object({
  /** SMBIOS system serial number (type 1). */
  serial: text(64).refine((s) => s.length > 0, 'is empty'),
  manufacturer: text(128).refine((s) => s.length > 0, 'is empty'),
  model: text(128),
  /** SMBIOS system UUID, or null where the firmware has none (all zeros or all ones). */
  smbiosUuid: uuid.nullable(),
  /** Permanent MAC addresses of physical network interfaces. */
  macs: z.array(mac).max(32).transform(sortedUnique),
  diskSerials: z.array(text(128).refine((s) => s.length > 0, 'is empty')).max(32).transform(sortedUnique),
  /** TPM_PT_MANUFACTURER as text ("IFX", "NTC", "IBM" for swtpm), or null without a TPM. */
  tpmManufacturer: text(16).nullable(),
  /** SHA-256 of the EK's marshalled TPMT_PUBLIC, lower-case hex, or null without a TPM. */
  ekDigest: z
    .string()
    .transform((s) => s.trim().toLowerCase())
    .refine((s) => /^[0-9a-f]{64}$/.test(s), 'not a SHA-256 hex digest')
    .nullable(),
});

export type HardwareIdentity = z.output<typeof HardwareIdentitySchema>;
export type HardwareIdentityInput = z.input<typeof HardwareIdentitySchema>;

/** Field order of the encoded tuple; never reorder within a version. */
const FIELDS = ['serial', 'manufacturer', 'model', 'smbiosUuid', 'macs', 'diskSerials', 'tpmManufacturer', 'ekDigest'] as const;


/** Canonicalises an identity (throws HardwareHashError when it is not valid). */
export function canonicalIdentity(input: HardwareIdentityInput): HardwareIdentity {
  const parsed = HardwareIdentitySchema.safeParse(input);
  if (!parsed.success) throw new HardwareHashError(`invalid hardware identity: ${describeIssues(parsed.error, 'identity')}`);
  return parsed.data;
}

/**
 * Encodes: "SDH", version byte, then the UTF-8 JSON array of the canonical fields in FIELDS
 * order; the whole in standard padded base64.
 */
export function encodeHardwareHash(input: HardwareIdentityInput): string {
  const identity = canonicalIdentity(input);
  const json = JSON.stringify(FIELDS.map((field) => identity[field]));
  return base64Encode(Uint8Array.from([...MAGIC, HARDWARE_HASH_VERSION, ...utf8Encode(json)]));
}

/** Decodes padded or unpadded base64; any deviation is a HardwareHashError naming the reason. */
export function decodeHardwareHash(hash: string): HardwareIdentity {
  if (hash.length === 0) throw new HardwareHashError('the hardware hash is empty');
  if (hash.length > HARDWARE_HASH_MAX_LENGTH) throw new HardwareHashError(`the hardware hash is longer than ${HARDWARE_HASH_MAX_LENGTH} characters`);
  let bytes: Uint8Array;
  try {
    bytes = base64Decode(hash);
  } catch (error) {
    throw new HardwareHashError(`the hardware hash is not base64: ${(error as EncodingError).message}`);
  }
  if (bytes.length < 5 || MAGIC.some((b, i) => bytes[i] !== b)) throw new HardwareHashError('not a selfdeploy hardware hash (no SDH header)');
  if (bytes[3] !== HARDWARE_HASH_VERSION) throw new HardwareHashError(`hardware hash version ${bytes[3]} is not supported (expected ${HARDWARE_HASH_VERSION})`);
  let values: unknown;
  try {
    values = JSON.parse(utf8Decode(bytes.subarray(4)));
  } catch {
    throw new HardwareHashError('the hardware hash content is not UTF-8 JSON');
  }
  if (!Array.isArray(values) || values.length !== FIELDS.length) {
    throw new HardwareHashError(`the hardware hash must hold ${FIELDS.length} fields`);
  }
  return canonicalIdentity(Object.fromEntries(FIELDS.map((field, i) => [field, values[i]])) as HardwareIdentityInput);
}

/** The canonical text of any accepted hash (what the service stores and compares). */
export function canonicalHardwareHash(hash: string): string {
  return encodeHardwareHash(decodeHardwareHash(hash));
}
