// A deployment service for tests, on either store: initialised like `selfdeploy-server init`
// in a temporary data directory, with an admin and a technician token. Requests go through
// Fastify's inject (no socket) unless a test starts it on HTTPS.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { FastifyInstance, FastifyReply, FastifyRequest, InjectOptions, LightMyRequestResponse } from 'fastify';
import { createDatabase } from '../../lab/postgres.js';

import { endpointPath, isBinaryBody, type AnswerOf, type Endpoint, type InputArgs } from '../../protocol/api/endpoint.js';
import { isErrorCode } from '../../protocol/errors/catalogue.js';
import { ServiceProblem } from '../../protocol/node/https-client.js';
import { buildApp } from '../http/app.js';
import type { StoreKind } from '../store/database.js';
import { Store } from '../store/store.js';
import { DataDir } from '../tenant/data-dir.js';
import { initTenant, type InitOptions } from '../tenant/init.js';

export interface TestService {
  kind: StoreKind;
  dataDir: string;
  dbUrl: string;
  store: Store;
  app: FastifyInstance;
  adminToken: string;
  technicianToken: string;
  /** https://127.0.0.1:PORT when started with `https: true`. */
  url?: URL;
  /** The service CA (PEM) agents trust. */
  serviceCa: string;
  /**
   * The origins client assertions may be for: "https://localhost:80" (inject) and the URL; a test
   * that puts a proxy in front adds the proxy's, as an operator adds a load balancer's.
   */
  publicUrls: string[];
  /** app.inject with the admin token unless `token` says otherwise (null: none). */
  request(options: InjectOptions & { token?: string | null }): Promise<LightMyRequestResponse>;
  /** An endpoint through inject, as a client calls it (admin token): the answer checked by its schema, a problem thrown as ServiceProblem. */
  call<E extends Endpoint>(endpoint: E, ...input: InputArgs<E>): Promise<AnswerOf<E>>;
  close(): Promise<void>;
}

/** A fresh database URL on the given store. */
export async function freshDatabase(kind: StoreKind, dataDir: string, postgresAdminUrl?: string): Promise<string> {
  if (kind === 'sqlite') return `sqlite:${join(dataDir, 'selfdeploy.db')}`;
  if (!postgresAdminUrl) throw new Error('no PostgreSQL server (integration suite global setup)');
  return createDatabase(postgresAdminUrl, `t_${randomBytes(6).toString('hex')}`);
}

export async function startTestService(
  kind: StoreKind,
  postgresAdminUrl?: string,
  init: Partial<InitOptions> = {},
  app: {
    deviceRateLimitPerMinute?: number;
    https?: boolean;
    /** Fault injection: runs before every request; may answer it (503) or delay it. */
    onRequest?: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  } = {},
): Promise<TestService> {
  const dataDir = mkdtempSync(join(tmpdir(), 'selfdeploy-service-'));
  const dbUrl = await freshDatabase(kind, dataDir, postgresAdminUrl);
  const result = await initTenant({ dataDir, organizationName: 'Contoso Test', db: dbUrl, ...init });
  const store = await Store.open(dbUrl, dataDir);
  const technician = await store.tokens.create({ name: 'bench-technician', scope: 'technician', expiresInDays: 1 });
  const dir = new DataDir(dataDir);
  const publicUrls = ['https://localhost:80'];
  const fastify = await buildApp({
    store,
    version: 'test',
    logger: false,
    publicUrls: () => publicUrls,
    deviceCa: dir.deviceCa(),
    ...(app.deviceRateLimitPerMinute ? { deviceRateLimitPerMinute: app.deviceRateLimitPerMinute } : {}),
    ...(app.https ? { https: { key: dir.read(dir.tlsKeyPath, 'key'), cert: dir.read(dir.tlsCertPath, 'certificate') } } : {}),
  });
  if (app.onRequest) fastify.addHook('onRequest', app.onRequest);
  await fastify.ready();
  let url: URL | undefined;
  if (app.https) {
    await fastify.listen({ host: '127.0.0.1', port: 0 });
    url = new URL(`https://127.0.0.1:${(fastify.server.address() as { port: number }).port}`);
    publicUrls.push(url.origin);
  }
  return {
    kind,
    dataDir,
    dbUrl,
    store,
    app: fastify,
    adminToken: result.adminToken,
    technicianToken: technician.token,
    serviceCa: dir.read(dir.serviceCaPath, 'service CA'),
    publicUrls,
    ...(url ? { url } : {}),
    request: ({ token, ...options }) => {
      const bearer = token === undefined ? result.adminToken : token;
      return fastify.inject({ ...options, headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...options.headers } });
    },
    async call(endpoint, ...[input]) {
      const given = (input ?? {}) as { params?: Record<string, string>; query?: Record<string, unknown>; body?: unknown };
      const pairs = Object.entries(given.query ?? {}).flatMap(([k, v]): [string, string][] => (v === undefined ? [] : [[k, String(v as string)]]));
      const query = new URLSearchParams(pairs).toString();
      const options: InjectOptions = { method: endpoint.method, url: `${endpointPath(endpoint, given.params)}${query ? `?${query}` : ''}` };
      const type = endpoint.bodyMediaType ?? 'application/json';
      if (isBinaryBody(endpoint) || type === 'text/csv') Object.assign(options, { payload: given.body as string | Uint8Array, headers: { 'content-type': type } });
      else if (given.body !== undefined) Object.assign(options, { payload: given.body as object });
      const response = await fastify.inject({ ...options, headers: { authorization: `Bearer ${result.adminToken}`, ...options.headers } });
      if (response.statusCode >= 400) {
        const problem = response.json<{ code?: string; detail?: string }>();
        throw new ServiceProblem(isErrorCode(problem.code) ? problem.code : 'INTERNAL', `${endpoint.operationId}: ${problem.detail ?? response.body}`, response.statusCode);
      }
      return (endpoint.success.schema && response.statusCode !== 204 ? endpoint.success.schema.parse(response.json()) : undefined) as AnswerOf<typeof endpoint>;
    },
    async close() {
      await fastify.close();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Another replica of a test service: its own store connection and app over the same database and
 * data directory (keys, public URLs), as a second service process behind a load balancer is.
 */
export async function startReplica(service: TestService, app: { deviceRateLimitPerMinute?: number; adminAuthFailuresPerMinute?: number } = {}): Promise<{ app: FastifyInstance; store: Store; close(): Promise<void> }> {
  const store = await Store.open(service.dbUrl, service.dataDir);
  const dir = new DataDir(service.dataDir);
  const fastify = await buildApp({
    store,
    version: 'test',
    logger: false,
    publicUrls: () => service.publicUrls,
    deviceCa: dir.deviceCa(),
    ...app,
  });
  await fastify.ready();
  return {
    app: fastify,
    store,
    async close() {
      await fastify.close();
      await store.close();
    },
  };
}
