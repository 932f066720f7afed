// Replicas of the service on one PostgreSQL database count and forget together: the device API's
// rate limit and the lockout after wrong API tokens hold however a client's requests are spread
// over them, and a token revoked through one is refused by the others at once. (Replays of
// challenges, attestation tokens and client assertions through another replica:
// backend/attestation/attacks.int.test.ts; devices enrolling through HAProxy while a replica dies:
// lab/replicas.int.test.ts.)
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { hash } from '../../lab/identities.js';
import { startReplica, startTestService, type TestService } from '../testing/service.js';

describe('three replicas on one PostgreSQL database', () => {
  let service: TestService;
  let replicas: Awaited<ReturnType<typeof startReplica>>[];

  beforeAll(async () => {
    service = await startTestService('postgres', inject('postgresAdminUrl'), {}, { deviceRateLimitPerMinute: 5 });
    replicas = [await startReplica(service, { deviceRateLimitPerMinute: 5 }), await startReplica(service, { deviceRateLimitPerMinute: 5 })];
  });

  afterAll(async () => {
    for (const replica of replicas ?? []) await replica.close();
    await service?.close();
  });

  const apps = () => [service.app, ...replicas.map((r) => r.app)];

  it('holds the device rate limit for a client whose requests go round the replicas', async () => {
    const statuses = [];
    for (let i = 0; i < 6; i++) {
      const app = apps()[i % 3]!;
      statuses.push((await app.inject({ method: 'POST', url: '/v1/deploy/profile', payload: { hardwareHash: hash(4242) }, remoteAddress: '10.90.0.1' })).statusCode);
    }
    expect(statuses).toEqual([404, 404, 404, 404, 404, 429]);
    // Another client, and another route for the same client, have their own counts.
    expect((await apps()[1]!.inject({ method: 'POST', url: '/v1/deploy/profile', payload: { hardwareHash: hash(4242) }, remoteAddress: '10.90.0.2' })).statusCode).toBe(404);
    expect((await apps()[2]!.inject({ method: 'POST', url: '/v1/attest/challenge', payload: {}, remoteAddress: '10.90.0.1' })).statusCode).toBe(422);
  });

  it('locks out an address that spreads wrong API tokens over the replicas, on every replica', async () => {
    const from = (app: number, token: string) => apps()[app]!.inject({ method: 'GET', url: '/v1/admin/devices', remoteAddress: '10.91.0.1', headers: { authorization: `Bearer ${token}` } });
    const guesses = [];
    for (let i = 0; i < 10; i++) guesses.push((await from(i % 3, `sdp_guess${i}`)).statusCode);
    expect(guesses).toEqual(Array(10).fill(401));
    for (const app of [0, 1, 2]) {
      const blocked = await from(app, service.adminToken);
      expect(blocked.statusCode, `replica ${app}`).toBe(429);
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect((await apps()[1]!.inject({ method: 'GET', url: '/v1/admin/devices', remoteAddress: '10.91.0.2', headers: { authorization: `Bearer ${service.adminToken}` } })).statusCode).toBe(200);
  });

  it('refuses a token revoked through one replica on the others at once', async () => {
    const created = await apps()[0]!.inject({ method: 'POST', url: '/v1/admin/tokens', payload: { name: 'short-lived', scope: 'read-only' }, headers: { authorization: `Bearer ${service.adminToken}` } });
    const { token, id } = created.json<{ token: string; id: string }>();
    const list = (app: number) => apps()[app]!.inject({ method: 'GET', url: '/v1/admin/devices', headers: { authorization: `Bearer ${token}` } });
    expect((await list(1)).statusCode).toBe(200);
    expect((await apps()[2]!.inject({ method: 'DELETE', url: `/v1/admin/tokens/${id}`, headers: { authorization: `Bearer ${service.adminToken}` } })).statusCode).toBe(204);
    for (const app of [0, 1, 2]) expect((await list(app)).statusCode, `replica ${app}`).toBe(401);
  });
});
