// The device's management API (docs/protocol.md#management): enroll, check-in, assignments, status,
// content, completion and diagnostics — all with the device's access token, each about the device
// itself: its own assignments, its own status and diagnostics, only the content assigned to it.
import { device } from '../../../protocol/api/endpoints.js';
import { ServiceError } from '../../errors.js';
import type { Management } from '../../management/mdm.js';
import type { Store } from '../../store/store.js';
import { sendContent } from '../range.js';
import { route, type Route } from '../route.js';

export function mdmRoutes(store: Store, management: Management, rateLimitPerMinute: number): Route[] {
  const joined = (id: string | null): string => {
    if (!id) throw new ServiceError('UNAUTHORIZED', 'this operation needs a device access token');
    return id;
  };
  return [
    route(device.mdmEnroll, ({ body, device: id }) => management.enroll(joined(id), body), { rateLimitPerMinute }),
    route(device.checkIn, ({ body, device: id }) => management.checkIn(joined(id), body), { rateLimitPerMinute }),
    route(device.mdmAssignments, ({ device: id }) => management.assignments(joined(id)), { rateLimitPerMinute }),
    route(device.clientCertificate, ({ params, body, device: id }) => management.clientCertificate(joined(id), params.itemId, body), { rateLimitPerMinute }),
    route(device.status, ({ body, device: id }) => management.status(joined(id), body), { rateLimitPerMinute }),
    route(
      device.content,
      async ({ params, request, reply, device: id }) => {
        // A device downloads only what is assigned to it (answered alike for content of others and for none).
        await management.requireAssignedContent(joined(id), params.sha256);
        const content = await store.contents.find(params.sha256);
        if (!content) throw new ServiceError('NOT_FOUND', `content ${params.sha256} is not assigned to this device`);
        return sendContent(store, content, request, reply, 'private, max-age=31536000, immutable');
      },
      { rateLimitPerMinute },
    ),
    route(device.complete, ({ device: id }) => management.complete(joined(id)), { rateLimitPerMinute }),
    route(device.diagnostics, ({ body, device: id }) => management.diagnostics(joined(id), body, 'application/gzip'), { rateLimitPerMinute }),
  ];
}
