// /v1/attest/*, /v1/join and /v1/token: how a device comes to be trusted and signs in.
import { endpointPath } from '../../../protocol/api/endpoint.js';
import { device } from '../../../protocol/api/endpoints.js';
import type { Enrollment } from '../../attestation/enrollment.js';
import { route, type Route } from '../route.js';

export function attestRoutes(enrollment: Enrollment, rateLimitPerMinute: number): Route[] {
  const limit = { rateLimitPerMinute };
  return [
    route(device.attestChallenge, ({ body }) => enrollment.challenge(body), limit),
    route(device.attestResponse, ({ body }) => enrollment.respond(body), limit),
    route(device.join, ({ body }) => enrollment.join(body), limit),
    route(
      device.token,
      async ({ body, request, reply }) => {
        void reply.header('cache-control', 'no-store');
        return enrollment.token(body.client_assertion, `https://${request.host}${endpointPath(device.token)}`);
      },
      limit,
    ),
  ];
}
