// The device's management API (docs/protocol.md#management): enroll, assignments, status,
// content, completion and diagnostics — all with the device's access token.
import { Readable } from 'node:stream';

import { z } from 'zod';

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
  MdmEnrollResponseSchema,
  StatusRequestSchema,
  StatusResponseSchema,
} from '../../../protocol/api/mdm.js';
import { ServiceError, notFound } from '../../errors.js';
import type { Management } from '../../management/mdm.js';
import type { Store } from '../../store/store.js';
import { sendContent } from '../range.js';
import { defineRoute, type AnyRoute } from '../route.js';

export const StreamBodySchema = z.custom<Readable>((value) => value instanceof Readable, 'must be a binary body');

export function mdmRoutes(store: Store, management: Management, rateLimitPerMinute: number): AnyRoute[] {
  const device = (id: string | null): string => {
    if (!id) throw new ServiceError('UNAUTHORIZED', 'this operation needs a device access token');
    return id;
  };
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/mdm/enroll',
      operationId: 'mdmEnroll',
      summary: 'Enroll the joined device in management (idempotent)',
      tag: 'device',
      access: 'device',
      rateLimitPerMinute,
      body: MdmEnrollRequestSchema,
      success: { status: 200, description: 'The enrollment', schema: MdmEnrollResponseSchema },
      handler: ({ body, device: id }) => management.enroll(device(id), body),
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/mdm/assignments',
      operationId: 'mdmAssignments',
      summary: "The policies, certificates, network connections, apps and scripts assigned to the device's groups",
      tag: 'device',
      access: 'device',
      rateLimitPerMinute,
      problems: [409],
      success: { status: 200, description: 'The items, in the order the ESP applies them', schema: AssignmentsResponseSchema },
      handler: ({ device: id }) => management.assignments(device(id)),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/mdm/certificates/:itemId',
      operationId: 'mdmClientCertificate',
      summary: 'Issue a client certificate for a key made in the device TPM and certified by the device key',
      tag: 'device',
      access: 'device',
      rateLimitPerMinute,
      params: ClientCertificateParamsSchema,
      body: ClientCertificateRequestSchema,
      problems: [403, 404, 409, 422],
      success: { status: 200, description: 'The certificate and the device CA above it', schema: ClientCertificateResponseSchema },
      handler: ({ params, body, device: id }) => management.clientCertificate(device(id), params.itemId, body),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/mdm/status',
      operationId: 'mdmStatus',
      summary: "Report the ESP snapshot; the service keeps the latest (by seq) and each item's state",
      tag: 'device',
      access: 'device',
      rateLimitPerMinute,
      bodyLimit: 512 * 1024,
      body: StatusRequestSchema,
      problems: [409, 413],
      success: { status: 200, description: 'Whether the snapshot was newer than the stored one', schema: StatusResponseSchema },
      handler: ({ body, device: id }) => management.status(device(id), body),
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/content/:sha256',
      operationId: 'getContent',
      summary: 'Download content by SHA-256 (HTTP Range: one range, 206 / 416)',
      tag: 'device',
      access: 'device',
      rateLimitPerMinute,
      params: ContentParamsSchema,
      problems: [404, 416],
      success: { status: 200, description: 'The content, or the range asked for (206)', binary: true },
      handler: async ({ params, request, reply }) => {
        const content = await store.contents.find(params.sha256);
        if (!content) throw notFound(`content ${params.sha256}`);
        return sendContent(store, content, request, reply, 'private, max-age=31536000, immutable');
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/deploy/complete',
      operationId: 'deployComplete',
      summary: 'The ESP finished: the device record becomes deployed (a new self-deployment is then blocked until it is deleted)',
      tag: 'device',
      access: 'device',
      rateLimitPerMinute,
      body: DeployCompleteRequestSchema,
      problems: [409],
      success: { status: 200, description: 'The device is deployed', schema: DeployCompleteResponseSchema },
      handler: ({ device: id }) => management.complete(device(id)),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/diagnostics',
      operationId: 'uploadDiagnostics',
      summary: `Upload a log bundle (gzip, at most ${DIAGNOSTICS_MAX_BYTES / 1024 / 1024} MiB; the newest ten per device are kept)`,
      tag: 'device',
      access: 'device',
      rateLimitPerMinute,
      body: StreamBodySchema,
      bodyMediaType: 'application/gzip',
      problems: [413],
      success: { status: 201, description: 'The bundle was stored', schema: DiagnosticsResponseSchema },
      handler: ({ body, device: id }) => management.diagnostics(device(id), body, 'application/gzip'),
    }),
  ];
}
