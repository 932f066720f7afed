// The web console's API: sign-in (an API token exchanged for a session cookie and a CSRF token),
// the session, sign-out, and the live views — the staging bench board and a device's ESP — as
// JSON and as server-sent events. The events are pushed to the browser; the service itself looks
// at the database once a second for what its streams show — streams showing the same thing share
// that read (shared-reads.ts) — so any replica can serve any stream.
import type { ServerResponse } from 'node:http';

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';

import type { BenchSchema } from '../../../protocol/api/fleet.js';
import { admin } from '../../../protocol/api/endpoints.js';
import { ServiceError, notFound } from '../../errors.js';
import type { Session } from '../../store/sessions.js';
import type { Store } from '../../store/store.js';
import { isScoped, type AdminToken } from '../../store/tokens.js';
import type { AuthFailures } from '../rate-limits.js';
import { route, type Route } from '../route.js';
import { deviceScope, visibleDevice } from '../scope.js';
import { SharedReads } from '../shared-reads.js';

export const SESSION_COOKIE = 'sd_session';

/** How recently a finished device still shows on the bench board. */
const BENCH_RECENT_MS = 15 * 60_000;
const POLL_MS = 1000;
const HEARTBEAT_MS = 15_000;

/** The value of one cookie of a request, or undefined. */
export function cookie(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

function sessionView(session: Session) {
  const { token } = session;
  return {
    csrfToken: session.csrf,
    expiresAt: session.expiresAt,
    idleUntil: session.idleUntil,
    token: { id: token.id, name: token.name, scope: token.scope, groups: token.groups, groupTags: token.groupTags },
  };
}

export async function benchBoard(store: Store, token: AdminToken | null): Promise<z.input<typeof BenchSchema>> {
  const since = new Date(Date.now() - BENCH_RECENT_MS).toISOString();
  let select = store.db
    .selectFrom('devices')
    .select(['id', 'serial', 'model', 'group_tag', 'state', 'device_name', 'esp_progress', 'failure', 'updated_at'])
    .where((eb) => eb.or([eb('state', '=', 'deploying'), eb.and([eb('state', 'in', ['deployed', 'failed']), eb('updated_at', '>=', since)])]));
  const scope = await deviceScope(store, token);
  if (scope) select = select.where(scope);
  const rows = await select.orderBy('serial').orderBy('id').limit(1000).execute();
  return {
    at: new Date().toISOString(),
    devices: rows.map((r) => ({
      id: r.id,
      serial: r.serial,
      model: r.model,
      groupTag: r.group_tag,
      state: r.state as 'deploying',
      deviceName: r.device_name,
      progress: r.esp_progress ? (JSON.parse(r.esp_progress) as never) : null,
      failure: r.failure ? (JSON.parse(r.failure) as never) : null,
      updatedAt: r.updated_at,
    })),
  };
}

/**
 * Streams `read()` as server-sent events named `event` — sent when it changes, a comment line as a
 * heartbeat — until the browser goes away or the service stops.
 */
async function stream(streams: Set<ServerResponse>, request: FastifyRequest, reply: FastifyReply, event: string, read: () => Promise<unknown>, allowed: () => Promise<boolean>): Promise<FastifyReply> {
  const first = JSON.stringify(await read());
  void reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  let last = first;
  raw.write(`retry: 3000\nevent: ${event}\ndata: ${first}\n\n`);
  let quietFor = 0;
  let closed = false;
  streams.add(raw);
  // The response's close: the browser went away (the request's own close fires once it is read).
  raw.once('close', () => {
    closed = true;
    streams.delete(raw);
  });
  void (async () => {
    while (!closed && !raw.destroyed) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      if (closed || raw.destroyed) break;
      try {
        // A revoked or expired token, or a signed-out session, ends the stream at once.
        if (!(await allowed())) break;
        const next = JSON.stringify(await read());
        if (next !== last) {
          last = next;
          quietFor = 0;
          raw.write(`event: ${event}\ndata: ${next}\n\n`);
        } else if ((quietFor += POLL_MS) >= HEARTBEAT_MS) {
          quietFor = 0;
          raw.write(': still here\n\n');
        }
      } catch (error) {
        // The device was deleted, the token revoked, the database away: the stream ends; the browser reconnects and is told why.
        request.log.info({ err: error }, 'event stream ended');
        break;
      }
    }
    raw.end();
  })();
  return reply;
}

/** `streams`: the open event streams, which the service ends when it stops. */
export function consoleRoutes(store: Store, authFailures: AuthFailures, streams: Set<ServerResponse>): Route[] {
  const shared = new SharedReads(POLL_MS);
  /** Whether the caller of a stream may still see it: its token live, its console session (if any) standing. */
  const stillAllowed = (request: FastifyRequest, token: AdminToken | null) => async () => {
    if (!token || !(await shared.read(`token:${token.id}`, () => store.tokens.live(token.id)))) return false;
    const session = request.headers.authorization ? undefined : cookie(request, SESSION_COOKIE);
    return session === undefined || shared.read(`session:${session}`, () => store.sessions.standing(session));
  };
  /** Tokens that see the same devices see the same board: the scope is the key. */
  const scopeKey = (token: AdminToken | null) => (token && isScoped(token) ? JSON.stringify([token.groups ?? [], token.groupTags ?? []]) : 'all');
  return [
    route(admin.console.signIn, async ({ body, request, reply }) => {
      const wait = await authFailures.waitFor(request.ip);
      if (wait > 0) {
        void reply.header('retry-after', String(Math.ceil(wait / 1000)));
        throw new ServiceError('RATE_LIMITED', `too many sign-ins with a wrong API token from ${request.ip}; retry after ${Math.ceil(wait / 1000)} s`);
      }
      const token = await store.tokens.verify(body.token.trim());
      if (!token) {
        await authFailures.fail(request.ip);
        throw new ServiceError('UNAUTHORIZED', 'the API token is not valid, has expired or was revoked');
      }
      const { id, session } = await store.sessions.open(token);
      void reply.header('set-cookie', `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; Secure; SameSite=Strict`).header('cache-control', 'no-store');
      return sessionView(session);
    }),
    route(admin.console.session, async ({ request }) => {
      const id = cookie(request, SESSION_COOKIE);
      const session = id ? await store.sessions.verify(id) : undefined;
      if (!session) throw notFound('console session (this request is not signed in to the console)');
      return sessionView(session);
    }),
    route(admin.console.signOut, async ({ request, reply }) => {
      const id = cookie(request, SESSION_COOKIE);
      if (id) await store.sessions.close(id);
      void reply.header('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0`);
      return undefined;
    }),
    route(admin.console.bench, ({ token }) => benchBoard(store, token)),
    route(admin.console.benchEvents, ({ token, request, reply }) =>
      stream(streams, request, reply, 'bench', () => shared.read(`bench:${scopeKey(token)}`, () => benchBoard(store, token)), stillAllowed(request, token)),
    ),
    route(admin.console.deviceEvents, async ({ params, token, request, reply }) => {
      await visibleDevice(store, token, params.id);
      return stream(
        streams,
        request,
        reply,
        'esp',
        () =>
          shared.read(`device:${params.id}:${scopeKey(token)}`, async () => {
            const device = await visibleDevice(store, token, params.id);
            const snapshot = await store.management.snapshot(params.id);
            return { state: device.state, progress: device.espProgress, failure: device.failure, snapshot };
          }),
        stillAllowed(request, token),
      );
    }),
  ];
}
