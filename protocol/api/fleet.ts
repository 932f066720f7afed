// The fleet picture in the admin API: deployment history and reports, the audit log, and the web
// console's sessions and live views. Split from admin.ts (registrations, documents, the tenant);
// the service validates with these schemas and every client checks its answers with them.
import { z } from 'zod';

import { DeviceFailureSchema, DeviceStateSchema, EspProgressSchema, TokenScopeSchema, timestamp } from './admin.js';

// ---- deployment history and reports ----

export const DeploymentOutcomeSchema = z.enum(['running', 'succeeded', 'failed']);

export const PhaseTimingSchema = z.object({
  id: z.string(),
  startedAt: timestamp.nullable(),
  endedAt: timestamp.nullable(),
  /** Null until the phase has finished. */
  durationMs: z.number().int().nullable(),
});

/** One deployment run of a device, kept from the ESP status its agent reports. */
export const DeploymentRunSchema = z.object({
  id: z.string(),
  deviceId: z.string(),
  serial: z.string(),
  manufacturer: z.string(),
  model: z.string(),
  groupTag: z.string().nullable(),
  profileName: z.string().nullable(),
  startedAt: timestamp,
  endedAt: timestamp.nullable(),
  outcome: DeploymentOutcomeSchema,
  durationMs: z.number().int().nullable(),
  phases: z.array(PhaseTimingSchema),
  failure: DeviceFailureSchema.nullable(),
});
export type DeploymentRun = z.output<typeof DeploymentRunSchema>;

const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be a date or an ISO-8601 time');

export const DeploymentReportQuerySchema = z.object({
  /** Runs started at or after this time (ISO 8601). */
  since: isoTime.optional(),
  /** Runs started before this time. */
  until: isoTime.optional(),
  outcome: DeploymentOutcomeSchema.optional(),
  /** Failed with this error code. */
  code: z.string().max(64).optional(),
  groupTag: z.string().max(64).optional(),
  serialPrefix: z.string().max(64).optional(),
  deviceId: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(512).optional(),
});

export const DeploymentListSchema = z.object({ items: z.array(DeploymentRunSchema), nextCursor: z.string().nullable() });

export const DeploymentSummaryQuerySchema = DeploymentReportQuerySchema.pick({ since: true, until: true, groupTag: true });

/** The fleet picture over a time window: outcomes, top failures with their remedies, time per phase. */
export const DeploymentSummarySchema = z.object({
  since: timestamp.nullable(),
  until: timestamp.nullable(),
  total: z.number().int(),
  outcomes: z.object({ succeeded: z.number().int(), failed: z.number().int(), running: z.number().int() }),
  topFailures: z.array(z.object({ code: z.string(), count: z.number().int(), title: z.string(), remedy: z.string() })),
  phases: z.array(z.object({ id: z.string(), runs: z.number().int(), medianMs: z.number().int().nullable(), p90Ms: z.number().int().nullable() })),
  /** Per UTC day, oldest first. */
  days: z.array(z.object({ date: z.string(), succeeded: z.number().int(), failed: z.number().int(), running: z.number().int() })),
  devicesByState: z.record(z.string(), z.number().int()),
});

// ---- audit log ----

export const AuditActorSchema = z.object({
  /** The token's id, or null for the service itself and devices. */
  id: z.string().nullable(),
  name: z.string(),
  /** The token's scope, "device" or "service". */
  kind: z.string(),
});

export const AuditEntrySchema = z.object({
  seq: z.number().int(),
  at: timestamp,
  actor: AuditActorSchema,
  /** The client address the change came from. */
  source: z.string(),
  /** The operation (updateDevice, assignProfile, …). */
  action: z.string(),
  /** The resource's path (/v1/admin/devices/…). */
  resource: z.string(),
  /** What the call asked for: its JSON body with secrets redacted, or {mediaType, bytes, sha256} of a CSV or upload. */
  request: z.unknown(),
  before: z.unknown(),
  after: z.unknown(),
  prevHash: z.string(),
  hash: z.string(),
});
export type AuditEntry = z.output<typeof AuditEntrySchema>;

export const AuditQuerySchema = z.object({
  since: isoTime.optional(),
  until: isoTime.optional(),
  /** Token name or id. */
  actor: z.string().max(128).optional(),
  action: z.string().max(64).optional(),
  /** Entries whose resource starts with this path. */
  resource: z.string().max(512).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** Entries before this seq (newest first). */
  before: z.coerce.number().int().min(1).optional(),
});

export const AuditListSchema = z.object({ items: z.array(AuditEntrySchema), nextBefore: z.number().int().nullable() });

export const AuditVerifySchema = z.object({
  ok: z.boolean(),
  entries: z.number().int(),
  /** The first entry that does not hash to what the chain says, or the head that does not match the last entry. */
  broken: z.object({ seq: z.number().int(), reason: z.string() }).nullable(),
});

// ---- the web console: sessions and live views ----

/** POST /v1/admin/session: an API token exchanged for a console session (an HttpOnly cookie). */
export const SessionRequestSchema = z.object({ token: z.string().min(1).max(100) });

export const SessionSchema = z.object({
  /** Send it as X-CSRF-Token on every request that changes something. */
  csrfToken: z.string(),
  /** The session ends then at the latest (12 hours, or the token's expiry). */
  expiresAt: timestamp,
  /** … and then if nothing more happens (15 minutes idle). */
  idleUntil: timestamp,
  token: z.object({ id: z.string(), name: z.string(), scope: TokenScopeSchema, groups: z.array(z.string()).nullable(), groupTags: z.array(z.string()).nullable() }),
});

/** One row of the staging bench board: a device deploying now (or that finished in the last minutes). */
export const BenchDeviceSchema = z.object({
  id: z.string(),
  serial: z.string(),
  model: z.string(),
  groupTag: z.string().nullable(),
  state: DeviceStateSchema,
  deviceName: z.string().nullable(),
  progress: EspProgressSchema.nullable(),
  failure: DeviceFailureSchema.nullable(),
  updatedAt: timestamp,
});

export const BenchSchema = z.object({
  at: timestamp,
  devices: z.array(BenchDeviceSchema),
});
