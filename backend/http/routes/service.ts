// The service about itself: health (readiness and liveness, for load balancers and service
// managers) and its Prometheus metrics.
import { device } from '../../../protocol/api/endpoints.js';
import { ServiceError } from '../../errors.js';
import { LATEST_MIGRATION } from '../../store/migrations.js';
import type { Store } from '../../store/store.js';
import type { ServiceMetrics } from '../metrics.js';
import { route, type Route } from '../route.js';

/** How long readiness waits for the database. */
export const READINESS_TIMEOUT_MS = 2_000;

export interface ServiceState {
  version: string;
  /** True once the service has begun to stop. */
  stopping(): boolean;
}

/** Ready: the store answers in time with this version's schema, and the service is not stopping. */
async function ready(store: Store, state: ServiceState): Promise<{ status: 'ok'; version: string; store: 'sqlite' | 'postgres' }> {
  if (state.stopping()) throw new ServiceError('SERVICE_NOT_READY', 'the service is stopping');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ServiceError('SERVICE_NOT_READY', `the ${store.kind} database did not answer within ${READINESS_TIMEOUT_MS / 1000} s`)), READINESS_TIMEOUT_MS);
  });
  try {
    const schema = await Promise.race([
      store.schema().catch((error: unknown) => {
        throw new ServiceError('SERVICE_NOT_READY', `the ${store.kind} database does not answer: ${error instanceof Error ? error.message : String(error)}`);
      }),
      late,
    ]);
    if (schema !== LATEST_MIGRATION) {
      throw new ServiceError(
        'SERVICE_NOT_READY',
        `the database's schema is ${schema ?? 'empty'}, this version (${state.version}) needs ${LATEST_MIGRATION}: ${schema !== null && schema > LATEST_MIGRATION ? 'a newer version migrated it; upgrade this replica' : 'run selfdeploy-server migrate'}`,
      );
    }
  } finally {
    clearTimeout(timer);
  }
  return { status: 'ok', version: state.version, store: store.kind };
}

export function serviceRoutes(store: Store, metrics: ServiceMetrics, state: ServiceState): Route[] {
  return [
    route(device.health, () => ready(store, state)),
    route(device.readiness, () => ready(store, state)),
    route(device.liveness, () => Promise.resolve({ status: 'ok' as const, version: state.version })),
    route(device.metrics, async ({ token, reply }) => {
      if (token?.groups || token?.groupTags) throw new ServiceError('FORBIDDEN', 'the metrics cover every device; scrape them with a token not limited to groups or group tags');
      const { contentType, body } = await metrics.text();
      return reply.header('cache-control', 'no-store').type(contentType).send(body);
    }),
  ];
}
