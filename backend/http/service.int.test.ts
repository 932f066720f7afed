// The service about itself, on both stores: liveness and readiness (a schema another version
// migrated makes a replica not ready), and the Prometheus metrics — who may read them, that they
// move with what the service does, and that promtool accepts them.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { ProblemSchema } from '../../protocol/problem.js';
import { csv, deviceRows, hash } from '../../lab/identities.js';
import { parseMetrics, promtoolCheck, sampleValue, type Sample } from '../../lab/prometheus.js';
import { LATEST_MIGRATION } from '../store/migrations.js';
import { startTestService, type TestService } from '../testing/service.js';

describe.each(['sqlite', 'postgres'] as const)('the service about itself on %s', (kind) => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService(kind, kind === 'postgres' ? inject('postgresAdminUrl') : undefined, {}, { deviceRateLimitPerMinute: 3 });
  });

  afterAll(async () => {
    await service?.close();
  });

  const scrape = async (token: string | null = service.adminToken): Promise<Sample[]> => {
    const response = await service.request({ method: 'GET', url: '/metrics', token });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    return parseMetrics(response.body);
  };

  it('is live without asking the database, and ready with its store and schema', async () => {
    const live = await service.request({ method: 'GET', url: '/v1/health/live', token: null });
    expect(live.json()).toEqual({ status: 'ok', version: 'test' });
    const ready = await service.request({ method: 'GET', url: '/v1/health/ready', token: null });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ok', version: 'test', store: kind });
  });

  it('is not ready (503, SERVICE_NOT_READY) once a newer version has migrated the database, and ready again when that is undone', async () => {
    const newer = `${LATEST_MIGRATION}_from_a_newer_version`;
    await sql`insert into kysely_migration (name, timestamp) values (${newer}, ${new Date().toISOString()})`.execute(service.store.db);
    try {
      for (const url of ['/v1/health/ready', '/v1/health']) {
        const response = await service.request({ method: 'GET', url, token: null });
        expect(response.statusCode, url).toBe(503);
        expect(ProblemSchema.parse(response.json())).toMatchObject({ code: 'SERVICE_NOT_READY', detail: expect.stringContaining('a newer version migrated it; upgrade this replica') });
      }
      expect((await service.request({ method: 'GET', url: '/v1/health/live', token: null })).statusCode).toBe(200);
    } finally {
      await sql`delete from kysely_migration where name = ${newer}`.execute(service.store.db);
    }
    expect((await service.request({ method: 'GET', url: '/v1/health/ready', token: null })).statusCode).toBe(200);
  });

  it('shows its metrics to any unrestricted token, read-only included, and to no one else', async () => {
    expect((await service.request({ method: 'GET', url: '/metrics', token: null })).statusCode).toBe(401);
    const readOnly = await service.store.tokens.create({ name: 'prometheus', scope: 'read-only', expiresInDays: null });
    expect(sampleValue(await scrape(readOnly.token), 'selfdeploy_build_info', { version: 'test', store: kind })).toBe(1);
    const limited = await service.store.tokens.create({ name: 'lobby-reader', scope: 'read-only', expiresInDays: 1, groupTags: ['Lobby'] });
    const refused = await service.request({ method: 'GET', url: '/metrics', token: limited.token });
    expect(refused.statusCode).toBe(403);
    expect(ProblemSchema.parse(refused.json())).toMatchObject({ code: 'FORBIDDEN', detail: expect.stringContaining('not limited to groups') });
  });

  it('counts requests by route, problems by code, rate-limit refusals and devices by state', async () => {
    const before = await scrape();
    const count = (samples: Sample[], name: string, labels: Record<string, string>) => sampleValue(samples, name, labels) ?? 0;
    const imported = await service.request({ method: 'POST', url: '/v1/admin/devices/import', payload: csv(deviceRows(700, 3, 'Metrics')), headers: { 'content-type': 'text/csv' } });
    expect(imported.statusCode).toBe(201);
    expect((await service.request({ method: 'GET', url: '/v1/admin/no-such-thing' })).statusCode).toBe(404);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await service.app.inject({ method: 'POST', url: '/v1/deploy/profile', payload: { hardwareHash: hash(799) }, remoteAddress: '10.77.0.1' })).statusCode);
    expect(statuses).toEqual([404, 404, 404, 429]);
    const after = await scrape();

    expect(count(after, 'selfdeploy_http_request_duration_seconds_count', { method: 'POST', route: '/v1/admin/devices/import', status: '201' })).toBe(
      count(before, 'selfdeploy_http_request_duration_seconds_count', { method: 'POST', route: '/v1/admin/devices/import', status: '201' }) + 1,
    );
    expect(count(after, 'selfdeploy_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status: '404' })).toBe(count(before, 'selfdeploy_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status: '404' }) + 1);
    expect(count(after, 'selfdeploy_failures_total', { code: 'NOT_FOUND' })).toBe(count(before, 'selfdeploy_failures_total', { code: 'NOT_FOUND' }) + 1);
    expect(count(after, 'selfdeploy_failures_total', { code: 'DEVICE_NOT_REGISTERED' })).toBe(count(before, 'selfdeploy_failures_total', { code: 'DEVICE_NOT_REGISTERED' }) + 3);
    expect(count(after, 'selfdeploy_rate_limited_total', { limit: 'device' })).toBe(count(before, 'selfdeploy_rate_limited_total', { limit: 'device' }) + 1);
    expect(count(after, 'selfdeploy_failures_total', { code: 'RATE_LIMITED' })).toBe(count(before, 'selfdeploy_failures_total', { code: 'RATE_LIMITED' }) + 1);
    // Devices by state: what the database holds when scraped.
    const byState = await service.store.devices.countByState();
    for (const state of ['registered', 'deploying', 'deployed', 'failed']) expect(sampleValue(after, 'selfdeploy_devices', { state }), state).toBe(byState[state] ?? 0);
    expect(sampleValue(after, 'selfdeploy_devices', { state: 'registered' })).toBe(sampleValue(before, 'selfdeploy_devices', { state: 'registered' })! + 3);
    // The histogram's buckets are cumulative, ending at the count.
    const buckets = after.filter((s) => s.name === 'selfdeploy_http_request_duration_seconds_bucket' && s.labels['route'] === '/v1/admin/devices/import' && s.labels['status'] === '201');
    expect(buckets.map((b) => b.value)).toEqual([...buckets.map((b) => b.value)].sort((a, b) => a - b));
    expect(buckets.at(-1)).toMatchObject({ labels: { le: '+Inf' }, value: count(after, 'selfdeploy_http_request_duration_seconds_count', { method: 'POST', route: '/v1/admin/devices/import', status: '201' }) });
    // Database connections: SQLite has its one; a PostgreSQL pool says how many are open, idle and waited for.
    expect(sampleValue(after, 'selfdeploy_db_connections_max')).toBe(kind === 'sqlite' ? 1 : 10);
    expect(sampleValue(after, 'selfdeploy_db_connections', { state: 'open' })).toBeGreaterThanOrEqual(1);
    for (const state of ['idle', 'waiting']) {
      if (kind === 'postgres') expect(sampleValue(after, 'selfdeploy_db_connections', { state }), state).toBeGreaterThanOrEqual(0);
      else expect(sampleValue(after, 'selfdeploy_db_connections', { state }), state).toBeUndefined();
    }
    // And the process.
    expect(sampleValue(after, 'process_cpu_seconds_total')).toBeGreaterThan(0);
  });

  it('counts the wrong-token lockout of the admin API', async () => {
    const before = sampleValue(await scrape(), 'selfdeploy_rate_limited_total', { limit: 'admin-auth' })!;
    for (let i = 0; i < 11; i++) await service.app.inject({ method: 'GET', url: '/v1/admin/devices', remoteAddress: '10.78.0.1', headers: { authorization: `Bearer sdp_wrong${i}` } });
    expect(sampleValue(await scrape(), 'selfdeploy_rate_limited_total', { limit: 'admin-auth' })).toBe(before + 1);
  });

  it('writes an exposition that promtool accepts', async () => {
    const response = await service.request({ method: 'GET', url: '/metrics' });
    const checked = await promtoolCheck(response.body);
    expect(checked.output).toBe('');
    expect(checked.status).toBe(0);
  });
});
