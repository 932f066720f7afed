// The management API a joined device calls with its access token (Authorization: Bearer sdd_…,
// from POST /v1/token): MDM enrollment, its assignments, ESP progress, content, completion and
// diagnostics.
import { z } from 'zod';

import { EspSnapshotSchema } from '../esp.js';
import { AssignedItemSchema } from '../items.js';
import { base64Field } from './attest.js';

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

/** POST /v1/mdm/checkin: a joined device says it is there (`selfdeploy checkin`, on a timer). */
export const CheckInRequestSchema = z.object({ agentVersion: z.string().min(1).max(64) }).strict();
export type CheckInRequest = z.output<typeof CheckInRequestSchema>;

/** What the service asks of the device at this contact. */
export const CheckInResponseSchema = z.object({
  deviceId: z.string(),
  checkInIntervalSeconds: z.number().int().min(60),
  /** An administrator or technician asked for the device's logs: upload a bundle (POST /v1/diagnostics), which answers the request. */
  collectLogs: z.object({ requestedAt: timestamp }).nullable(),
  /** The device's primary user (its registration's assigned user), which sign-in rules may name; null when none is set. */
  primaryUser: z.string().nullable().default(null),
});
export type CheckInResponse = z.output<typeof CheckInResponseSchema>;

/** GET /v1/mdm/assignments */
export const AssignmentsResponseSchema = z.object({
  deviceId: z.string(),
  items: z.array(AssignedItemSchema),
  generatedAt: timestamp,
  /** The device's primary user (its registration's assigned user); null when none is set. */
  primaryUser: z.string().nullable().default(null),
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

/** POST /v1/mdm/certificates/{itemId}: a client certificate for a key made in the device's TPM. */
export const ClientCertificateParamsSchema = z.object({ itemId: z.uuid() });
export const ClientCertificateRequestSchema = z.object({
  key: z.object({
    /** TPM2B_PUBLIC of the new key (ECC P-256, ECDSA-SHA256, unrestricted signing, fixed to the TPM). */
    public: base64Field(1024),
    /** TPMS_ATTEST of TPM2_Certify of the new key by the device key, over clientCertificateNonce(itemId). */
    certifyInfo: base64Field(2048),
    certifySignature: base64Field(1024),
  }),
  /** PKCS#10 request (PEM) for the new key, signed by it. */
  csr: z.string().min(1).max(16_384),
});
export type ClientCertificateRequest = z.output<typeof ClientCertificateRequestSchema>;
export const ClientCertificateResponseSchema = z.object({
  certificate: z.string(),
  /** The device CA certificate(s) above it (PEM). */
  chain: z.string(),
  notAfter: timestamp,
});
export type ClientCertificateResponse = z.output<typeof ClientCertificateResponseSchema>;

/**
 * What the device key certifies the new key over (TPM2_Certify qualifyingData, at most 64 bytes):
 * binds the certification to the item it is for.
 */
export function clientCertificateNonce(itemId: string): Uint8Array {
  // ASCII: item ids are UUIDs (the route's schema says so).
  return Uint8Array.from(`sdcc:${itemId}`, (c) => c.charCodeAt(0) & 0x7f);
}
