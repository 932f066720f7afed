// Auditing the admin API: every call that changes something (any method but GET) is recorded with
// who made it (the token's name, id and scope), from where, the operation, the resource, and the
// resource as it was before and after — read through the resource's own GET route, so an entry
// shows what an administrator would have seen. A collection's create records what was created.
import { createHash } from 'node:crypto';

import type { FastifyRequest } from 'fastify';

import type { Endpoint } from '../../protocol/api/endpoint.js';
import { ServiceError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { AdminToken } from '../store/tokens.js';
import type { HandlerInput, Route } from './route.js';

interface Reader {
  route: Route;
  segments: string[];
  /** A list (listDevices …): it shows many resources, not the one changed. */
  collection: boolean;
}

export interface AuditedCall {
  endpoint: Endpoint;
  token: AdminToken;
  request: FastifyRequest;
  /** Runs the change; its answer is the "after" when there is no reader. */
  change: () => Promise<unknown>;
  /** Runs a reader's handler as this call's token would. */
  read: (route: Route, params: Record<string, string>) => Promise<unknown>;
}

export class AuditTrail {
  private readonly readers: Reader[];

  constructor(
    private readonly store: Store,
    routes: readonly Route[],
  ) {
    this.readers = routes
      .filter((r) => r.endpoint.method === 'GET' && r.endpoint.access !== 'public' && r.endpoint.access !== 'device' && !r.endpoint.success.binary)
      .map((route) => ({ route, segments: route.endpoint.path.split('/'), collection: route.endpoint.operationId.startsWith('list') }));
  }

  /** Changes: a call that is not a GET, by a technician or an admin (a read-level POST, a preview, changes nothing). */
  static audited(endpoint: Endpoint): boolean {
    return endpoint.method !== 'GET' && (endpoint.access === 'technician' || endpoint.access === 'admin');
  }

  /** The GET route that shows the resource at `path` (or the nearest resource above it), with its parameters. */
  private reader(path: string): { reader: Reader; params: Record<string, string>; path: string } | undefined {
    const segments = path.split('/');
    for (let length = segments.length; length >= 3; length--) {
      const prefix = segments.slice(0, length);
      for (const reader of this.readers) {
        if (reader.segments.length !== length) continue;
        const params: Record<string, string> = {};
        const matches = reader.segments.every((s, i) => {
          if (s.startsWith(':')) {
            params[s.slice(1)] = decodeURIComponent(prefix[i]!);
            return true;
          }
          return s === prefix[i];
        });
        if (matches) return { reader, params, path: prefix.join('/') };
      }
    }
    return undefined;
  }

  async record(call: AuditedCall): Promise<unknown> {
    const path = call.request.url.split('?')[0]!;
    const found = this.reader(path);
    const single = found && !found.reader.collection ? found : undefined;
    const snapshot = async () => {
      if (!single) return null;
      try {
        return await call.read(single.reader.route, single.params);
      } catch (error) {
        if (error instanceof ServiceError && error.code === 'NOT_FOUND') return null;
        throw error;
      }
    };
    const before = await snapshot();
    const answer = await call.change();
    // A path that only looks like a resource's (devices/bulk, devices/import) has none: its answer says what happened.
    const after = single ? ((await snapshot()) ?? (before === null ? (answer ?? null) : null)) : (answer ?? null);
    await this.store.audit.append({
      actor: { id: call.token.id, name: call.token.name, kind: call.token.scope },
      source: call.request.ip,
      action: call.endpoint.operationId,
      resource: single?.path ?? path,
      request: requestOf(call.request),
      before,
      after,
    });
    return answer;
  }
}

/** What a call asked for: its JSON body as parsed, or what a CSV or binary body was (its size and digest). */
function requestOf(request: FastifyRequest): unknown {
  const body = request.body;
  if (body === undefined || body === null) return null;
  if (typeof body === 'string') return { mediaType: request.headers['content-type'] ?? null, bytes: Buffer.byteLength(body), sha256: createHash('sha256').update(body).digest('hex') };
  if (typeof body === 'object' && !Buffer.isBuffer(body) && typeof (body as { pipe?: unknown }).pipe !== 'function') return body;
  return { mediaType: request.headers['content-type'] ?? null, bytes: Number(request.headers['content-length'] ?? 0) || null };
}

/** The input a reader's handler gets, built from the audited call's. */
export function readerInput(input: HandlerInput<Endpoint>, params: unknown, query: unknown): HandlerInput<Endpoint> {
  return { ...input, params, query, body: undefined } as HandlerInput<Endpoint>;
}
