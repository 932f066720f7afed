// The device API (docs/protocol.md): what a device calls before it is trusted (its profile,
// attestation, join, sign-in), with its access token once joined (management, content, status,
// completion, diagnostics), the agents' update feed, and the service's health. Declared once;
// the service and the agent both use these declarations.
import { z } from 'zod';

import { HealthSchema, LivenessSchema } from '../admin.js';
import {
  AttestChallengeRequestSchema,
  EkCheckRequestSchema,
  EkCheckResponseSchema,
  AttestChallengeResponseSchema,
  AttestResponseRequestSchema,
  AttestResponseResponseSchema,
  JoinRequestSchema,
  JoinResponseSchema,
  TokenRequestSchema,
  TokenResponseSchema,
} from '../attest.js';
import { DeployProfileRequestSchema, DeployProfileResponseSchema } from '../deploy.js';
import { endpoint } from '../endpoint.js';
import {
  AssignmentsResponseSchema,
  ClientCertificateParamsSchema,
  ClientCertificateRequestSchema,
  ClientCertificateResponseSchema,
  ContentParamsSchema,
  DIAGNOSTICS_MAX_BYTES,
  DeployCompleteRequestSchema,
  DeployCompleteResponseSchema,
  DiagnosticsResponseSchema,
  MdmEnrollRequestSchema,
  CheckInRequestSchema,
  CheckInResponseSchema,
  MdmEnrollResponseSchema,
  StatusRequestSchema,
  StatusResponseSchema,
} from '../mdm.js';
import { releaseFileName } from '../updates.js';

export const health = endpoint({
  method: 'GET',
  path: '/v1/health',
  operationId: 'health',
  summary: 'The service and its store answer (the same check as readiness)',
  tag: 'service',
  access: 'public',
  problems: [503],
  success: { status: 200, description: 'The service and its store answer', schema: HealthSchema },
});

export const liveness = endpoint({
  method: 'GET',
  path: '/v1/health/live',
  operationId: 'liveness',
  summary: 'Liveness: the process answers (restart it when this fails); the database is not asked',
  tag: 'service',
  access: 'public',
  success: { status: 200, description: 'The process answers', schema: LivenessSchema },
});

export const readiness = endpoint({
  method: 'GET',
  path: '/v1/health/ready',
  operationId: 'readiness',
  summary: "Readiness: the store answers within 2 s, its schema is this version's, and the service is not stopping (send it requests only while this answers 200)",
  tag: 'service',
  access: 'public',
  problems: [503],
  success: { status: 200, description: 'Ready for requests', schema: HealthSchema },
});

export const metrics = endpoint({
  method: 'GET',
  path: '/metrics',
  operationId: 'metrics',
  summary: 'Prometheus metrics (text exposition format): enrollments, failures by code, request latency by route, rate-limit refusals, devices by state, database connections, the process',
  tag: 'service',
  access: 'read',
  success: { status: 200, description: 'Prometheus text format 0.0.4', binary: true, mediaType: 'text/plain; version=0.0.4; charset=utf-8' },
});

export const openApi = endpoint({
  method: 'GET',
  path: '/v1/openapi.json',
  operationId: 'openApi',
  summary: 'This document',
  tag: 'service',
  access: 'public',
  success: { status: 200, description: 'OpenAPI 3.0 document' },
});

export const profile = endpoint({
  method: 'POST',
  path: '/v1/deploy/profile',
  operationId: 'getDeploymentProfile',
  summary: "A device's deployment profile and branding, by its hardware hash",
  tag: 'device',
  access: 'public',
  body: DeployProfileRequestSchema,
  problems: [404, 409, 429],
  success: { status: 200, description: 'The resolved profile', schema: DeployProfileResponseSchema },
});

export const attestChallenge = endpoint({
  method: 'POST',
  path: '/v1/attest/challenge',
  operationId: 'attestChallenge',
  summary: 'Present the EK (and its certificate) and an AK; receive a credential only that TPM can activate, and a nonce to quote',
  tag: 'device',
  access: 'public',
  body: AttestChallengeRequestSchema,
  problems: [403, 404, 409, 429],
  success: { status: 200, description: 'The challenge (single-use, five minutes)', schema: AttestChallengeResponseSchema },
});

export const ekCheck = endpoint({
  method: 'POST',
  path: '/v1/attest/ek-check',
  operationId: 'checkEk',
  summary: 'Would this TPM be trusted (its EK certificate chain, the allow-list, a virtual TPM)? For selfdeploy tpm check: registers and changes nothing',
  tag: 'device',
  access: 'public',
  body: EkCheckRequestSchema,
  problems: [422, 429],
  success: { status: 200, description: 'The verdict, and why', schema: EkCheckResponseSchema },
});

export const attestResponse = endpoint({
  method: 'POST',
  path: '/v1/attest/response',
  operationId: 'attestResponse',
  summary: 'Answer a challenge with the activated secret and a PCR quote over its nonce; receive an attestation token',
  tag: 'device',
  access: 'public',
  body: AttestResponseRequestSchema,
  problems: [403, 404, 409, 429],
  success: { status: 200, description: 'The attestation token (single-use, ten minutes)', schema: AttestResponseResponseSchema },
});

export const join = endpoint({
  method: 'POST',
  path: '/v1/join',
  operationId: 'join',
  summary: 'Present the TPM-resident device key certified by the attested AK and a CSR for it; receive the device certificate',
  tag: 'device',
  access: 'public',
  body: JoinRequestSchema,
  problems: [401, 403, 404, 409, 429],
  success: { status: 200, description: 'The device certificate, its chain and the device name', schema: JoinResponseSchema },
});

export const token = endpoint({
  method: 'POST',
  path: '/v1/token',
  operationId: 'token',
  summary: 'OAuth 2.0 client credentials with private_key_jwt (RFC 7523): an ES256 assertion signed by the device key',
  tag: 'device',
  access: 'public',
  body: TokenRequestSchema,
  bodyMediaType: 'application/x-www-form-urlencoded',
  problems: [401, 429],
  success: { status: 200, description: 'A device access token', schema: TokenResponseSchema },
});

export const mdmEnroll = endpoint({
  method: 'POST',
  path: '/v1/mdm/enroll',
  operationId: 'mdmEnroll',
  summary: 'Enroll the joined device in management (idempotent)',
  tag: 'device',
  access: 'device',
  body: MdmEnrollRequestSchema,
  success: { status: 200, description: 'The enrollment', schema: MdmEnrollResponseSchema },
});

export const checkIn = endpoint({
  method: 'POST',
  path: '/v1/mdm/checkin',
  operationId: 'mdmCheckIn',
  summary: 'A joined device checks in: the service records the contact and answers what it asks of the device (its logs)',
  tag: 'device',
  access: 'device',
  body: CheckInRequestSchema,
  success: { status: 200, description: 'What the device is to do now', schema: CheckInResponseSchema },
});

export const mdmAssignments = endpoint({
  method: 'GET',
  path: '/v1/mdm/assignments',
  operationId: 'mdmAssignments',
  summary: "The policies, certificates, network connections, apps and scripts assigned to the device's groups",
  tag: 'device',
  access: 'device',
  problems: [409],
  success: { status: 200, description: 'The items, in the order the ESP applies them', schema: AssignmentsResponseSchema },
});

export const clientCertificate = endpoint({
  method: 'POST',
  path: '/v1/mdm/certificates/:itemId',
  operationId: 'mdmClientCertificate',
  summary: 'Issue a client certificate for a key made in the device TPM and certified by the device key',
  tag: 'device',
  access: 'device',
  params: ClientCertificateParamsSchema,
  body: ClientCertificateRequestSchema,
  problems: [403, 404, 409, 422],
  success: { status: 200, description: 'The certificate and the device CA above it', schema: ClientCertificateResponseSchema },
});

export const status = endpoint({
  method: 'POST',
  path: '/v1/mdm/status',
  operationId: 'mdmStatus',
  summary: "Report the ESP snapshot; the service keeps the latest (by seq) and each item's state",
  tag: 'device',
  access: 'device',
  bodyLimit: 512 * 1024,
  body: StatusRequestSchema,
  problems: [409, 413],
  success: { status: 200, description: 'Whether the snapshot was newer than the stored one', schema: StatusResponseSchema },
});

export const content = endpoint({
  method: 'GET',
  path: '/v1/content/:sha256',
  operationId: 'getContent',
  summary: 'Download content by SHA-256 (HTTP Range: one range, 206 / 416)',
  tag: 'device',
  access: 'device',
  params: ContentParamsSchema,
  problems: [404, 416],
  success: { status: 200, description: 'The content, or the range asked for (206)', binary: true },
});

export const complete = endpoint({
  method: 'POST',
  path: '/v1/deploy/complete',
  operationId: 'deployComplete',
  summary: 'The ESP finished: the device record becomes deployed (a new self-deployment is then blocked until it is deleted)',
  tag: 'device',
  access: 'device',
  body: DeployCompleteRequestSchema,
  problems: [409],
  success: { status: 200, description: 'The device is deployed', schema: DeployCompleteResponseSchema },
});

export const diagnostics = endpoint({
  method: 'POST',
  path: '/v1/diagnostics',
  operationId: 'uploadDiagnostics',
  summary: `Upload a log bundle (gzip, at most ${DIAGNOSTICS_MAX_BYTES / 1024 / 1024} MiB; the newest ten per device are kept)`,
  tag: 'device',
  access: 'device',
  bodyMediaType: 'application/gzip',
  problems: [413],
  success: { status: 201, description: 'The bundle was stored', schema: DiagnosticsResponseSchema },
});

export const updateFeed = endpoint({
  method: 'GET',
  path: '/v1/updates/linux/latest-linux.yml',
  operationId: 'updateFeed',
  summary: 'The newest agent release, as electron-updater’s generic provider reads it (plus `critical`)',
  tag: 'updates',
  access: 'public',
  problems: [404],
  success: { status: 200, description: 'latest-linux.yml', binary: true },
});

export const updateFile = endpoint({
  method: 'GET',
  path: '/v1/updates/linux/:file',
  operationId: 'updateFile',
  summary: 'A release file the feed names (HTTP Range: one range, 206 / 416)',
  tag: 'updates',
  access: 'public',
  params: z.object({ file: releaseFileName }),
  problems: [404, 416],
  success: { status: 200, description: 'The file, or the range asked for (206)', binary: true },
});
