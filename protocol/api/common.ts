// What the admin API's schemas share (admin.ts, documents.ts): timestamps, resource names, digests.
import { z } from 'zod';

export const timestamp = z.string();

/** Names of groups, profiles, policies and tokens: what the CLI and URLs use. */
export const ResourceNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'use 1-64 letters, digits, ".", "_" or "-"');

/** A SHA-256 digest in hex, as given (any case, spaces around it). */
export const sha256Hex = z
  .string()
  .transform((s) => s.trim().toLowerCase())
  .pipe(z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 digest in hex'));

/** A device's group tag (Autopilot's Group Tag, the CSV's "Group Tag"). */
export const GroupTagSchema = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9 ._-]{1,64}$/, 'use 1-64 letters, digits, spaces, ".", "_" or "-"');
