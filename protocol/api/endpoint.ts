// What an endpoint of the service is, declared once for both ends of the wire: method, path,
// parameters, body and its media type, the answer, and who may call it. The service registers its
// routes from these declarations (backend/http/route.ts) and renders them as its OpenAPI document;
// every client (protocol/node/https-client.ts) builds its requests and checks the answers from the
// same ones. The declarations themselves are in protocol/api/endpoints/.
import type { z } from 'zod';

/**
 * Who may call: anyone; any API token (read: admin, technician or read-only); a technician or an
 * admin (technician: register devices, collect logs, delete a device record); an admin only; or a
 * joined device with its access token (device).
 */
export type Access = 'public' | 'read' | 'technician' | 'admin' | 'device';

/** Binary bodies have no schema: the service streams them, the client sends bytes or a file. */
export const BINARY_MEDIA_TYPES = ['application/octet-stream', 'application/gzip'] as const;
export type BinaryMediaType = (typeof BINARY_MEDIA_TYPES)[number];
export type BodyMediaType = 'application/json' | 'text/csv' | 'application/x-www-form-urlencoded' | BinaryMediaType;

export interface Endpoint {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Fastify syntax: /v1/admin/devices/:id */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly tag: string;
  readonly access: Access;
  readonly params?: z.ZodType;
  readonly query?: z.ZodType;
  /** JSON, CSV text or a form. A binary body (BINARY_MEDIA_TYPES) has none. */
  readonly body?: z.ZodType;
  /** The request body's media type: JSON unless said otherwise. */
  readonly bodyMediaType?: BodyMediaType;
  /** The largest body the service takes, when it is not the default 1 MiB. */
  readonly bodyLimit?: number;
  /**
   * `binary`: the answer is bytes (a download, a file) or text, not JSON; 206 and 416 may follow.
   * `mediaType`: a binary answer's type, when it is always the same.
   */
  readonly success: { readonly status: 200 | 201 | 204; readonly description: string; readonly schema?: z.ZodType; readonly binary?: true; readonly mediaType?: string };
  /** Problem statuses this operation documents beyond the common ones. */
  readonly problems?: readonly number[];
}

/** Declares an endpoint, keeping its literal types (which params, body and answer it has). */
export function endpoint<const E extends Endpoint>(declaration: E): E {
  return declaration;
}

export function isBinaryBody(e: Endpoint): boolean {
  return (BINARY_MEDIA_TYPES as readonly string[]).includes(e.bodyMediaType ?? '');
}

/** The path with its parameters filled in, each percent-encoded; a missing one is a programming error. */
export function endpointPath(e: Endpoint, params?: Readonly<Record<string, string | number>>): string {
  return e.path.replace(/:([A-Za-z0-9]+)/g, (_, name: string) => {
    const value = params?.[name];
    if (value === undefined) throw new TypeError(`${e.operationId} needs the path parameter "${name}"`);
    return encodeURIComponent(String(value));
  });
}

/** The schema an endpoint declares under `key`, or undefined. */
type SchemaAt<E, K extends 'params' | 'query' | 'body'> = E extends { readonly [P in K]: infer S extends z.ZodType } ? S : undefined;

/** What the service's handler receives, parsed. */
export type ParsedParams<E> = SchemaAt<E, 'params'> extends z.ZodType ? z.output<SchemaAt<E, 'params'>> : undefined;
export type ParsedQuery<E> = SchemaAt<E, 'query'> extends z.ZodType ? z.output<SchemaAt<E, 'query'>> : undefined;
export type ParsedBody<E> = SchemaAt<E, 'body'> extends z.ZodType ? z.output<SchemaAt<E, 'body'>> : undefined;

/** What a handler returns (before the answer's schema is applied), and what a client receives (after). */
export type AnswerInput<E> = E extends { readonly success: { readonly schema: infer R extends z.ZodType } } ? z.input<R> : undefined;
export type AnswerOf<E> = E extends { readonly success: { readonly schema: infer R extends z.ZodType } } ? z.output<R> : undefined;

/** A file a client uploads as a binary body, streamed (never read whole), with its progress. */
export interface UploadFile {
  file: string;
  onProgress?: (sent: number, total: number) => void;
}

type BodyInput<E> = E extends { readonly bodyMediaType: BinaryMediaType }
  ? { body: Uint8Array | UploadFile }
  : E extends { readonly bodyMediaType: 'application/x-www-form-urlencoded' }
    ? // A form made per attempt: a single-use credential (a client assertion) is made again for each retry.
      { body: Record<string, string> | (() => Promise<Record<string, string>>) }
    : SchemaAt<E, 'body'> extends z.ZodType
      ? { body: z.input<SchemaAt<E, 'body'>> }
      : { body?: undefined };

/** What a client gives to call `E`: its path parameters, query, body. */
export type RequestInput<E> = (SchemaAt<E, 'params'> extends z.ZodType ? { params: z.input<SchemaAt<E, 'params'>> } : { params?: undefined }) &
  (SchemaAt<E, 'query'> extends z.ZodType ? { query?: z.input<SchemaAt<E, 'query'>> } : { query?: undefined }) &
  BodyInput<E>;

/** The arguments after the endpoint in a call: none when the endpoint needs no input. */
export type InputArgs<E, Extra = unknown> = Record<never, never> extends RequestInput<E> ? [input?: RequestInput<E> & Extra] : [input: RequestInput<E> & Extra];
