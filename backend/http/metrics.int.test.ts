// The metrics and the request log of a real run: swtpm devices self-deploy with the real agent
// against the service process on PostgreSQL; Debian's Prometheus scrapes /metrics over HTTPS with
// a read-only token, and its queries count what happened. The service's log names who made each
// request: the admin token by name, each device by id.
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

import { describe, expect, inject, it } from 'vitest';

import { admin } from '../../protocol/api/endpoints.js';
import { createDatabase } from '../../lab/postgres.js';
import { runFleet } from '../../lab/fleet.js';
import { startPrometheus } from '../../lab/prometheus.js';

interface LogLine {
  msg: string;
  level: number;
  route?: string;
  status?: number;
  actor?: { kind: string; id: string; name?: string; scope?: string };
}

describe('the service metrics and request log of a real self-deploy', () => {
  it('lets Prometheus count the enrollments, devices by state and requests by route; logs each admin call with its token and each device call with its device', async () => {
    const db = await createDatabase(inject('postgresAdminUrl'), `metrics_${randomBytes(4).toString('hex')}`);
    let inspected = false;
    const report = await runFleet({
      devices: 2,
      db,
      inspect: async ({ url, caFile, log, call, devices }) => {
        const reader = await call(admin.tenant.createToken, { body: { name: 'prometheus', scope: 'read-only', expiresInDays: null } });
        const prometheus = await startPrometheus({ targets: [url.host], caFile, token: reader.token });
        try {
          const one = async (expression: string): Promise<number | undefined> => {
            const result = await prometheus.query(expression);
            if (result.length > 1) throw new Error(`${expression}: ${result.length} series`);
            return result[0]?.value;
          };
          // Scraped over HTTPS with the token: the target is up.
          const deadline = Date.now() + 30_000;
          while ((await one('up{job="selfdeploy"}')) !== 1) {
            if (Date.now() > deadline) throw new Error(`Prometheus did not scrape the service: ${JSON.stringify(await prometheus.targets())}`);
            await new Promise((resolve) => setTimeout(resolve, 250));
          }
          expect(await one('selfdeploy_enrollments_total{outcome="joined"}')).toBe(2);
          expect(await one('selfdeploy_enrollments_total{outcome="refused"}')).toBe(0);
          expect(await one('selfdeploy_devices{state="deployed"}')).toBe(2);
          expect(await one('selfdeploy_devices{state="failed"}')).toBe(0);
          expect(await one('sum(selfdeploy_http_request_duration_seconds_count{route="/v1/join"})')).toBe(2);
          expect(await one('sum(selfdeploy_http_request_duration_seconds_count{route="/v1/mdm/enroll",status="200"})')).toBe(2);
          expect(await one('sum(selfdeploy_http_request_duration_seconds_count{status=~"5.."})')).toBeUndefined();
          expect(await one('selfdeploy_build_info{store="postgres"}')).toBe(1);
          expect(await one('selfdeploy_db_connections_max')).toBe(10);
          expect(await one('sum(selfdeploy_http_request_duration_seconds_bucket{route="/v1/join",le="+Inf"})')).toBe(2);
        } finally {
          await prometheus.stop();
        }

        const lines = readFileSync(log, 'utf8')
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as LogLine)
          .filter((line) => line.msg === 'answered');
        const adminCalls = lines.filter((line) => line.route?.startsWith('/v1/admin/'));
        expect(adminCalls.length).toBeGreaterThan(5);
        for (const line of adminCalls) expect(line.actor, JSON.stringify(line)).toMatchObject({ kind: 'token', name: 'initial-admin', scope: 'admin' });
        const deviceCalls = lines.filter((line) => line.route === '/v1/mdm/enroll');
        expect(deviceCalls.map((line) => line.actor?.id).sort()).toEqual(devices.map((d) => d.id).sort());
        for (const line of deviceCalls) expect(line.actor?.kind).toBe('device');
        // The scrapes (and the health probes) are logged at debug: the default level (info) leaves them out.
        expect(lines.some((line) => line.route === '/metrics' || line.route === '/v1/health')).toBe(false);
        inspected = true;
      },
    });
    expect(report.failed).toEqual([]);
    expect(report.succeeded).toBe(2);
    expect(inspected).toBe(true);
  });
});
