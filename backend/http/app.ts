// The service's HTTP application: Fastify with every route declared in routes/, zod validation
// at the boundary, bearer-token scopes, per-client rate limits, RFC 9457 problem responses and
// the OpenAPI document generated from the same declarations.
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';

import rateLimit from '@fastify/rate-limit';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { z } from 'zod';

import { isBinaryBody } from '../../protocol/api/endpoint.js';
import { ENDPOINTS, device as deviceApi } from '../../protocol/api/endpoints.js';
import { catalogueEntry, type ErrorCode } from '../../protocol/errors/catalogue.js';
import { PROBLEM_MEDIA_TYPE, problemType, type Problem } from '../../protocol/problem.js';
import { ServiceError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { AdminToken } from '../store/tokens.js';
import { Enrollment } from '../attestation/enrollment.js';
import { Management } from '../management/mdm.js';
import type { LogLevel } from '../tenant/data-dir.js';
import type { IssuedCertificate } from '../tenant/pki.js';
import { attestRoutes } from './routes/attest.js';
import { deployRoutes } from './routes/deploy.js';
import { deviceRoutes } from './routes/devices.js';
import { groupRoutes } from './routes/groups.js';
import { itemAndContentRoutes } from './routes/items.js';
import { secretFingerprint } from './routes/secrets.js';
import { mdmRoutes } from './routes/mdm.js';
import { policyRoutes, profileRoutes } from './routes/profiles.js';
import { reportRoutes } from './routes/reports.js';
import { tenantRoutes } from './routes/tenant.js';
import { SESSION_COOKIE, consoleRoutes, cookie } from './routes/console.js';
import { consoleFiles } from './console-files.js';
import { updateRoutes } from './routes/updates.js';
import { serviceRoutes } from './routes/service.js';
import { ServiceMetrics } from './metrics.js';
import { AuditTrail, readerInput } from './audit.js';
import { LocalAuthFailures, SharedAuthFailures, sharedRateLimitStore } from './rate-limits.js';
import { StreamBodySchema, openApiDocument, type Access, type Route } from './route.js';

export interface AppOptions {
  store: Store;
  version: string;
  /** PEM key and certificate chain; without them the app serves plain HTTP (tests inject requests). */
  https?: { key: string; cert: string };
  /**
   * The https:// origins devices reach the service at (config.json `publicUrls`): client
   * assertions must be for the token endpoint at one of them. A function, for a service that
   * learns its port when it listens.
   */
  publicUrls: () => readonly string[];
  /** The tenant's device CA (certificate and key, PEM): it signs device certificates at join. */
  deviceCa: IssuedCertificate;
  /** Requests per minute one client address may make to the device API. */
  deviceRateLimitPerMinute?: number;
  /** Failed admin-token checks one client address may make per minute before it is refused (429) for the rest of the minute; default 10. */
  adminAuthFailuresPerMinute?: number;
  /** Behind a load balancer: take the client address from X-Forwarded-For (Fastify trustProxy). */
  trustProxy?: boolean | string[];
  /** The built web console (admin.html and assets/); default: the build's own (dist/renderer). */
  consoleDir?: string;
  /** A pino logger, false for none; default: JSON lines on stdout at `logLevel`. */
  logger?: FastifyBaseLogger | false;
  /** The default logger's level (config.json `logLevel`, start --log-level); default info. */
  logLevel?: LogLevel;
}

/** Who made a request: an API token (or the console session standing for one), or a device. */
type Actor = { kind: 'token' | 'console'; id: string; name: string; scope: string } | { kind: 'device'; id: string };

/** Answers logged at debug, not info, when they succeed: probes, scrapes and the console's files. */
const QUIET_ROUTES = new Set<string>([deviceApi.health.path, deviceApi.liveness.path, deviceApi.readiness.path, deviceApi.metrics.path, deviceApi.openApi.path]);
const quietRoute = (method: string, route: string | undefined) => route !== undefined && (QUIET_ROUTES.has(route) || (method === 'GET' && (route === '/admin' || route.startsWith('/admin/'))));

/** Which token scopes may call each access level (protocol/api/endpoint.ts). */
const SCOPES: Record<Exclude<Access, 'public' | 'device'>, readonly string[]> = {
  read: ['admin', 'technician', 'read-only'],
  technician: ['admin', 'technician'],
  admin: ['admin'],
};

function problemFor(error: ServiceError, requestId: string): Problem & { instance: string } {
  return {
    type: problemType(error.code),
    title: catalogueEntry(error.code).title,
    status: error.status,
    detail: error.message,
    code: error.code,
    instance: `urn:uuid:${requestId}`,
    ...(error.errors?.length ? { errors: error.errors } : {}),
  };
}

function sendProblem(reply: FastifyReply, error: ServiceError, count?: (code: ErrorCode) => void): FastifyReply {
  count?.(error.code);
  if (error.status === 401) void reply.header('www-authenticate', 'Bearer realm="selfdeploy"');
  return reply.code(error.status).type(PROBLEM_MEDIA_TYPE).send(problemFor(error, String(reply.request.id)));
}

/** Fastify's own errors (parsing, limits) as catalogue errors. */
function fromFastify(error: FastifyError): ServiceError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ServiceError('PAYLOAD_TOO_LARGE', 'the request body is larger than this operation accepts');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ServiceError('VALIDATION_FAILED', `unsupported media type: ${error.message}`, undefined, 415);
    default:
      if (error.statusCode === 429) return new ServiceError('RATE_LIMITED', error.message);
      if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
        return new ServiceError('VALIDATION_FAILED', error.message, undefined, error.statusCode);
      }
      return undefined;
  }
}

function validation(schema: z.ZodType | undefined, value: unknown, where: string): unknown {
  if (!schema) return undefined;
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ServiceError(
    'VALIDATION_FAILED',
    `the ${where} is not valid: ${parsed.error.issues.map((i) => `${[where, ...i.path].join('.')} ${i.message}`).join('; ')}`,
    parsed.error.issues.map((i) => ({ path: [where, ...i.path].join('.'), reason: i.message })),
  );
}

/** How deep a JSON body may nest: deeper is refused (422) before it is parsed, never a stack overflow (500). */
export const JSON_MAX_DEPTH = 64;

/** Whether `text` (JSON) nests arrays and objects deeper than `limit`; strings are skipped. */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** Requests that change nothing: a console session needs no CSRF token for them. */
const SAFE_METHODS = new Set(['GET', 'HEAD']);

/** Refuses a token whose scope does not reach the endpoint's access level. */
function requireScope(token: AdminToken, access: Exclude<Access, 'public' | 'device'>): AdminToken {
  if (SCOPES[access].includes(token.scope)) return token;
  throw new ServiceError('FORBIDDEN', `a ${token.scope} token cannot do this; it needs ${access === 'technician' ? 'a technician or an admin' : 'an admin'} token`);
}

async function authenticate(store: Store, request: FastifyRequest, access: Access): Promise<{ token: AdminToken | null; device: string | null; console?: true }> {
  if (access === 'public') return { token: null, device: null };
  const header = request.headers.authorization ?? '';
  const sessionId = access !== 'device' && !header ? cookie(request, SESSION_COOKIE) : undefined;
  if (sessionId !== undefined) {
    // The web console: the session cookie stands for its token; a change must carry the session's CSRF token too.
    const session = await store.sessions.verify(sessionId);
    if (!session) throw new ServiceError('UNAUTHORIZED', 'the console session has ended (signed out, idle too long, or its token expired or was revoked); sign in again');
    if (!SAFE_METHODS.has(request.method)) {
      const sent = String(request.headers['x-csrf-token'] ?? '');
      if (sent.length !== session.csrf.length || !timingSafeEqual(Buffer.from(sent), Buffer.from(session.csrf))) {
        throw new ServiceError('FORBIDDEN', 'this change carries no valid X-CSRF-Token for the console session');
      }
    }
    return { token: requireScope(session.token, access as Exclude<Access, 'public' | 'device'>), device: null, console: true };
  }
  const match = /^Bearer ([A-Za-z0-9_-]{1,100})$/.exec(header);
  if (access === 'device') {
    const device = match ? await store.certificates.verifyAccessToken(match[1]!) : undefined;
    if (!device) throw new ServiceError('UNAUTHORIZED', `${header ? 'the device access token is not valid or has expired; get a new one' : 'this operation needs a device access token'} (POST ${deviceApi.token.path})`);
    return { token: null, device };
  }
  const token = match ? await store.tokens.verify(match[1]!) : undefined;
  if (!token) throw new ServiceError('UNAUTHORIZED', header ? 'the API token is not valid, has expired or was revoked' : 'this operation needs an API token (Authorization: Bearer …)');
  return { token: requireScope(token, access), device: null };
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { store } = options;
  const app = Fastify({
    ...(options.https ? { https: { key: options.https.key, cert: options.https.cert, minVersion: 'TLSv1.2' as const } } : {}),
    ...(options.logger === undefined
      ? { logger: { level: options.logLevel ?? 'info', redact: ['req.headers.authorization', 'req.headers.cookie'] } }
      : options.logger === false
        ? { logger: false }
        : { loggerInstance: options.logger }),
    trustProxy: options.trustProxy ?? false,
    genReqId: () => randomUUID(),
    bodyLimit: 1024 * 1024,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // One line per request, written when it is answered (below), naming who made it.
    logController: new LogController({ disableRequestLogging: true }),
  }) as unknown as FastifyInstance;

  const metrics = new ServiceMetrics(store, options.version);
  const countProblem = (code: ErrorCode) => metrics.problem(code);
  const actors = new WeakMap<FastifyRequest, Actor>();
  let stopping = false;
  app.addHook('preClose', (done) => {
    stopping = true;
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url;
    const status = reply.statusCode;
    metrics.answered(request.method, route, status, reply.elapsedTime / 1000);
    const line = { method: request.method, path: request.url.split('?')[0], route, status, ms: Math.round(reply.elapsedTime * 10) / 10, client: request.ip, actor: actors.get(request) };
    if (status >= 500) request.log[quietRoute(request.method, route) ? 'warn' : 'error'](line, 'answered');
    else if (status < 400 && quietRoute(request.method, route)) request.log.debug(line, 'answered');
    else request.log.info(line, 'answered');
    done();
  });

  // Binary uploads reach the handler as the request stream; the handler bounds their size.
  for (const type of ['application/octet-stream', 'application/gzip']) {
    app.addContentTypeParser(type, (_request, payload, done) => done(null, payload));
  }
  // JSON as Fastify parses it (prototype poisoning refused), after a depth check.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (nestsDeeperThan(body as string, JSON_MAX_DEPTH)) {
      done(new ServiceError('VALIDATION_FAILED', `the JSON body nests deeper than ${JSON_MAX_DEPTH} levels`, undefined, 422), undefined);
      return;
    }
    void parseJson(request, body as string, done);
  });
  app.addContentTypeParser('text/csv', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_request, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );
  await app.register(rateLimit, {
    global: false,
    ...(store.kind === 'postgres' ? { store: sharedRateLimitStore(store.rateWindows) } : {}),
    errorResponseBuilder: (_request, context) => {
      metrics.refused('device');
      return new ServiceError('RATE_LIMITED', `more than ${context.max} requests in ${context.after}; retry after ${Math.ceil(context.ttl / 1000)} s`);
    },
  });

  app.setErrorHandler((error: FastifyError | ServiceError, request, reply) => {
    const known = error instanceof ServiceError ? error : fromFastify(error);
    if (known) {
      if (known.status >= 500 && known.code !== 'SERVICE_NOT_READY') request.log.error({ err: error }, 'request failed');
      return sendProblem(reply, known, countProblem);
    }
    request.log.error({ err: error }, 'unexpected error');
    return sendProblem(reply, new ServiceError('INTERNAL', `unexpected error (request ${String(request.id)})`), countProblem);
  });
  app.setNotFoundHandler((request, reply) => sendProblem(reply, new ServiceError('NOT_FOUND', `no such endpoint: ${request.method} ${request.url.split('?')[0]}`), countProblem));

  const deviceRate = options.deviceRateLimitPerMinute ?? 120;
  // One process counts in memory; replicas (PostgreSQL) count together in the database.
  const authFailures =
    store.kind === 'postgres' ? new SharedAuthFailures(store.rateWindows, options.adminAuthFailuresPerMinute ?? 10) : new LocalAuthFailures(options.adminAuthFailuresPerMinute ?? 10);
  // Event streams (the console's live views) end when the service stops, so it stops at once.
  const streams = new Set<ServerResponse>();
  app.addHook('preClose', (done) => {
    for (const stream of streams) stream.end();
    done();
  });
  // The fingerprints of secrets are keyed with a key derived from the device CA's: the same on every replica, unknown outside.
  const fingerprint = secretFingerprint(createHash('sha256').update('selfdeploy item secret fingerprints\0').update(options.deviceCa.privateKeyPem).digest());
  const routes: Route[] = [
    ...deployRoutes(store, deviceRate),
    ...attestRoutes(new Enrollment(store, options.deviceCa), deviceRate, options.publicUrls),
    ...mdmRoutes(store, new Management(store, options.deviceCa), deviceRate),
    ...deviceRoutes(store),
    ...groupRoutes(store),
    ...profileRoutes(store),
    ...policyRoutes(store, fingerprint),
    ...itemAndContentRoutes(store, fingerprint),
    ...tenantRoutes(store),
    ...reportRoutes(store),
    ...consoleRoutes(store, authFailures, streams),
    ...updateRoutes(store, deviceRate),
    ...serviceRoutes(store, metrics, { version: options.version, stopping: () => stopping }),
  ];
  const auditTrail = new AuditTrail(store, routes);
  const openApi = openApiDocument(ENDPOINTS, { version: options.version });
  app.get(deviceApi.openApi.path, () => openApi);
  consoleFiles(app, options.consoleDir);

  for (const { endpoint, handler, rateLimitPerMinute } of routes) {
    const binaryBody = isBinaryBody(endpoint);
    app.route({
      method: endpoint.method,
      url: endpoint.path,
      ...(endpoint.bodyLimit ? { bodyLimit: endpoint.bodyLimit } : {}),
      ...(rateLimitPerMinute ? { config: { rateLimit: { max: rateLimitPerMinute, timeWindow: 60_000 } } } : {}),
      handler: async (request, reply) => {
        const adminApi = endpoint.access !== 'public' && endpoint.access !== 'device';
        const wait = adminApi ? await authFailures.waitFor(request.ip) : 0;
        if (wait > 0) {
          metrics.refused('admin-auth');
          void reply.header('retry-after', String(Math.ceil(wait / 1000)));
          throw new ServiceError('RATE_LIMITED', `too many requests with a wrong API token from ${request.ip}; retry after ${Math.ceil(wait / 1000)} s`);
        }
        const { token, device, console: viaConsole } = await authenticate(store, request, endpoint.access).catch(async (error: unknown) => {
          if (adminApi && error instanceof ServiceError && error.code === 'UNAUTHORIZED') await authFailures.fail(request.ip);
          throw error;
        });
        if (token) actors.set(request, { kind: viaConsole ? 'console' : 'token', id: token.id, name: token.name, scope: token.scope });
        else if (device) actors.set(request, { kind: 'device', id: device });
        if (endpoint.body || binaryBody) {
          const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
          const expected = endpoint.bodyMediaType ?? 'application/json';
          if (type !== expected) throw new ServiceError('VALIDATION_FAILED', `send the body as ${expected}`, undefined, 415);
        }
        const input = {
          params: validation(endpoint.params, request.params, 'params'),
          query: validation(endpoint.query, request.query, 'query'),
          body: validation(binaryBody ? StreamBodySchema : endpoint.body, request.body, 'body'),
          token,
          device,
          request,
          reply,
        } as Parameters<Route['handler']>[0];
        const result =
          token && AuditTrail.audited(endpoint)
            ? await auditTrail.record({
                endpoint,
                token,
                request,
                change: () => handler(input),
                read: (reader, params) => reader.handler(readerInput(input, validation(reader.endpoint.params, params, 'params'), validation(reader.endpoint.query, {}, 'query'))),
              })
            : await handler(input);
        if (endpoint.success.binary) return reply;
        if (endpoint.success.status === 204) return reply.code(204).send();
        if (reply.statusCode === 200) void reply.code(endpoint.success.status);
        return reply.type('application/json').send(result);
      },
    });
  }
  return app;
}
