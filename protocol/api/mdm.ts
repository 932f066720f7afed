// The management API a joined device calls with its access token (Authorization: Bearer sdd_…,
// from POST /v1/token): MDM enrollment, its assignments, ESP progress, content, completion and
// diagnostics.
import { z } from 'zod';

import { EspSnapshotSchema } from '../esp.js';
import { AssignedItemSchema } from '../items.js';

const timestamp = z.string();

/** POST /v1/mdm/enroll */
export const MdmEnrollRequestSchema = z.object({
  agentVersion: z.string().min(1).max(64),
  os: z.object({ name: z.string().max(128), version: z.string().max(128), kernel: z.string().max(128) }),
  hostname: z.string().max(253),
});
export type MdmEnrollRequest = z.output<typeof MdmEnrollRequestSchema>;

export const MdmEnrollResponseSchema = z.object({
  deviceId: z.string(),
  /** When the device first enrolled; enrolling again changes nothing and returns the same. */
  enrolledAt: timestamp,
  checkInIntervalSeconds: z.number().int().min(60),
});
export type MdmEnrollResponse = z.output<typeof MdmEnrollResponseSchema>;

/** GET /v1/mdm/assignments */
export const AssignmentsResponseSchema = z.object({
  deviceId: z.string(),
  items: z.array(AssignedItemSchema),
  generatedAt: timestamp,
});
export type AssignmentsResponse = z.output<typeof AssignmentsResponseSchema>;

/** POST /v1/mdm/status: the ESP as the device sees it (without the branding it was given). */
export const StatusRequestSchema = z.object({
  snapshot: EspSnapshotSchema.extend({ branding: z.null() }),
});
export type StatusRequest = z.output<typeof StatusRequestSchema>;

export const StatusResponseSchema = z.object({ accepted: z.boolean(), seq: z.number().int() });

/** POST /v1/deploy/complete */
export const DeployCompleteRequestSchema = z.object({
  endState: z.enum(['sign-in', 'kiosk']),
  /** The failure the ESP continued past, when the profile allowed it. */
  continuedPastFailure: z.string().nullable().default(null),
});
export const DeployCompleteResponseSchema = z.object({ deviceId: z.string(), state: z.literal('deployed'), deployedAt: timestamp });

/** POST /v1/diagnostics: a log bundle (application/gzip or application/octet-stream). */
export const DIAGNOSTICS_MAX_BYTES = 16 * 1024 * 1024;
export const DiagnosticsResponseSchema = z.object({ id: z.string(), size: z.number().int(), sha256: z.string(), receivedAt: timestamp });

/** The content a device downloads: GET /v1/content/{sha256}, with HTTP Range. */
export const ContentParamsSchema = z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a lower-case SHA-256 hex digest') });
