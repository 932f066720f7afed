// /v1/attest/*, /v1/join and /v1/token: how a device comes to be trusted and signs in.
import {
  AttestChallengeRequestSchema,
  AttestChallengeResponseSchema,
  AttestResponseRequestSchema,
  AttestResponseResponseSchema,
  JoinRequestSchema,
  JoinResponseSchema,
  TokenRequestSchema,
  TokenResponseSchema,
} from '../../../protocol/api/attest.js';
import type { Enrollment } from '../../attestation/enrollment.js';
import { defineRoute, type AnyRoute } from '../route.js';

export function attestRoutes(enrollment: Enrollment, rateLimitPerMinute: number): AnyRoute[] {
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/attest/challenge',
      operationId: 'attestChallenge',
      summary: 'Present the EK (and its certificate) and an AK; receive a credential only that TPM can activate, and a nonce to quote',
      tag: 'device',
      access: 'public',
      rateLimitPerMinute,
      body: AttestChallengeRequestSchema,
      problems: [403, 404, 409, 429],
      success: { status: 200, description: 'The challenge (single-use, five minutes)', schema: AttestChallengeResponseSchema },
      handler: ({ body }) => enrollment.challenge(body),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/attest/response',
      operationId: 'attestResponse',
      summary: 'Answer a challenge with the activated secret and a PCR quote over its nonce; receive an attestation token',
      tag: 'device',
      access: 'public',
      rateLimitPerMinute,
      body: AttestResponseRequestSchema,
      problems: [403, 404, 409, 429],
      success: { status: 200, description: 'The attestation token (single-use, ten minutes)', schema: AttestResponseResponseSchema },
      handler: ({ body }) => enrollment.respond(body),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/join',
      operationId: 'join',
      summary: 'Present the TPM-resident device key certified by the attested AK and a CSR for it; receive the device certificate',
      tag: 'device',
      access: 'public',
      rateLimitPerMinute,
      body: JoinRequestSchema,
      problems: [401, 403, 404, 409, 429],
      success: { status: 200, description: 'The device certificate, its chain and the device name', schema: JoinResponseSchema },
      handler: ({ body }) => enrollment.join(body),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/token',
      operationId: 'token',
      summary: 'OAuth 2.0 client credentials with private_key_jwt (RFC 7523): an ES256 assertion signed by the device key',
      tag: 'device',
      access: 'public',
      rateLimitPerMinute,
      body: TokenRequestSchema,
      bodyMediaType: 'application/x-www-form-urlencoded',
      problems: [401, 429],
      success: { status: 200, description: 'A device access token', schema: TokenResponseSchema },
      handler: async ({ body, request, reply }) => {
        void reply.header('cache-control', 'no-store');
        return enrollment.token(body.client_assertion, `https://${request.host}/v1/token`);
      },
    }),
  ];
}
