// /v1/attest/*, /v1/join and /v1/token: how a device comes to be trusted and signs in.
import { device } from '../../../protocol/api/endpoints.js';
import type { Enrollment } from '../../attestation/enrollment.js';
import { tokenAudiences } from '../../tenant/public-urls.js';
import { route, type Route } from '../route.js';

/** `publicUrls`: the service's configured origins — a client assertion's audience is checked against them, not the Host header. */
export function attestRoutes(enrollment: Enrollment, rateLimitPerMinute: number, publicUrls: () => readonly string[]): Route[] {
  const limit = { rateLimitPerMinute };
  return [
    route(device.ekCheck, ({ body }) => enrollment.checkEk(body), limit),
    route(device.attestChallenge, ({ body }) => enrollment.challenge(body), limit),
    route(device.attestResponse, ({ body, request }) => enrollment.respond(body, request.ip), limit),
    route(device.join, ({ body }) => enrollment.join(body), limit),
    route(
      device.token,
      async ({ body, reply }) => {
        void reply.header('cache-control', 'no-store');
        return enrollment.token(body.client_assertion, tokenAudiences(publicUrls()));
      },
      limit,
    ),
  ];
}
