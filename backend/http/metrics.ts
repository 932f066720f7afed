// The service's Prometheus metrics (GET /metrics, docs/operations.md "Metrics"): one registry per
// service instance, so that several in one process (tests) keep their own counts. Counters move
// as requests end; the devices by state and the database connections are read when scraped.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

import { device } from '../../protocol/api/endpoints.js';
import { DeviceStateSchema } from '../../protocol/api/admin.js';
import type { ErrorCode } from '../../protocol/errors/catalogue.js';
import type { Store } from '../store/store.js';

/** The steps of an enrollment: it ends at the first that answers a problem, or when join answers. */
const ENROLLMENT_STEPS = new Set<string>([device.attestChallenge.path, device.attestResponse.path, device.join.path]);

/** Which limit refused a request: the device API's per-address rate, or the wrong-token lockout of the admin API. */
export type RateLimit = 'device' | 'admin-auth';

export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly requests: Histogram<'method' | 'route' | 'status'>;
  private readonly enrollments: Counter<'outcome'>;
  private readonly failures: Counter<'code'>;
  private readonly rateLimited: Counter<'limit'>;

  constructor(store: Store, version: string) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    // Gauges whose names end in _total, which Prometheus keeps for counters (promtool refuses them);
    // nodejs_active_handles and its kin say the same.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
    new Gauge({ name: 'selfdeploy_build_info', help: 'The running version and its store (always 1)', labelNames: ['version', 'store'], registers }).set({ version, store: store.kind }, 1);
    this.requests = new Histogram({
      name: 'selfdeploy_http_request_duration_seconds',
      help: 'Time from a request arriving to its answer being sent, by method, route (the endpoint path template; "unmatched" for none) and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.enrollments = new Counter({
      name: 'selfdeploy_enrollments_total',
      help: 'Enrollments (attestation challenge, response, join) by how they ended: joined (a device certificate issued), refused (a 4xx problem) or failed (a 5xx problem)',
      labelNames: ['outcome'],
      registers,
    });
    this.failures = new Counter({ name: 'selfdeploy_failures_total', help: 'Problem answers by error code (docs/errors.md)', labelNames: ['code'], registers });
    this.rateLimited = new Counter({
      name: 'selfdeploy_rate_limited_total',
      help: "Requests refused by a rate limit: device (the device API's requests per minute per address) or admin-auth (too many wrong API tokens from an address)",
      labelNames: ['limit'],
      registers,
    });
    for (const limit of ['device', 'admin-auth'] satisfies RateLimit[]) this.rateLimited.inc({ limit }, 0);
    for (const outcome of ['joined', 'refused', 'failed']) this.enrollments.inc({ outcome }, 0);
    new Gauge({
      name: 'selfdeploy_devices',
      help: 'Registered devices by state (read from the database when scraped)',
      labelNames: ['state'],
      registers,
      async collect() {
        const counts = await store.devices.countByState();
        for (const state of DeviceStateSchema.options) this.set({ state }, counts[state] ?? 0);
      },
    });
    new Gauge({
      name: 'selfdeploy_db_connections',
      help: 'Database connections: open and (PostgreSQL) idle, and queries waiting for a connection',
      labelNames: ['state'],
      registers,
      collect() {
        const use = store.connections();
        this.set({ state: 'open' }, use.open);
        if (use.idle !== undefined) this.set({ state: 'idle' }, use.idle);
        if (use.waiting !== undefined) this.set({ state: 'waiting' }, use.waiting);
      },
    });
    new Gauge({
      name: 'selfdeploy_db_connections_max',
      help: 'The most database connections the service opens (SQLite: one)',
      registers,
      collect() {
        this.set(store.connections().max);
      },
    });
  }

  /** A request was answered: `route` is its endpoint's path template (undefined when it matched none). */
  answered(method: string, route: string | undefined, status: number, seconds: number): void {
    this.requests.observe({ method, route: route ?? 'unmatched', status: String(status) }, seconds);
    if (route !== undefined && ENROLLMENT_STEPS.has(route)) {
      if (status >= 500) this.enrollments.inc({ outcome: 'failed' });
      else if (status >= 400) this.enrollments.inc({ outcome: 'refused' });
      else if (route === device.join.path) this.enrollments.inc({ outcome: 'joined' });
    }
  }

  problem(code: ErrorCode): void {
    this.failures.inc({ code });
  }

  refused(limit: RateLimit): void {
    this.rateLimited.inc({ limit });
  }

  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
