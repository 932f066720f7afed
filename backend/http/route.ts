// Routes are declared once, with their zod schemas: the same declaration validates requests,
// types the handler, enforces the token scope, and becomes the OpenAPI document.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

import type { AdminToken } from '../store/tokens.js';

/**
 * Who may call: anyone, any admin token (read), technician or admin (import), admin only, or a
 * joined device with its access token (device).
 */
export type Access = 'public' | 'read' | 'import' | 'admin' | 'device';

export interface HandlerInput<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  params: z.output<P>;
  query: z.output<Q>;
  body: z.output<B>;
  token: AdminToken | null;
  /** The device id of a device-access route. */
  device: string | null;
  request: FastifyRequest;
  reply: FastifyReply;
}

export interface RouteDefinition<P extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType, B extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Fastify syntax: /v1/admin/devices/:id */
  url: string;
  operationId: string;
  summary: string;
  tag: string;
  access: Access;
  params?: P;
  query?: Q;
  body?: B;
  /** Request body media type (JSON unless said otherwise). */
  bodyMediaType?: 'application/json' | 'text/csv' | 'application/x-www-form-urlencoded' | 'application/octet-stream' | 'application/gzip';
  bodyLimit?: number;
  /** Requests per minute per client address. */
  rateLimitPerMinute?: number;
  /** `binary`: the handler sends the body itself (a stream) with its own headers; 206 and 416 may follow. */
  success: { status: 200 | 201 | 204; description: string; schema?: R; binary?: true };
  /** Problem codes this operation documents beyond the common ones. */
  problems?: readonly number[];
  handler: (input: HandlerInput<P, Q, B>) => Promise<z.input<R> | undefined | FastifyReply>;
}

export type AnyRoute = RouteDefinition<z.ZodType, z.ZodType, z.ZodType, z.ZodType>;

/** Declares a route with its types inferred from its schemas. */
export function defineRoute<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType>(
  route: RouteDefinition<P, Q, B, R>,
): AnyRoute {
  return route;
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const document: Record<string, unknown> = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'openapi-3.0' });
  delete document['$schema'];
  return document;
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): Record<string, unknown>[] {
  if (!schema) return [];
  const object = jsonSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(object.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || (object.required ?? []).includes(name),
    schema: property,
  }));
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Malformed request',
  401: 'Missing or invalid API token',
  403: "The token's scope does not allow this",
  404: 'Not found',
  409: 'Conflict with the current state',
  413: 'Request body too large',
  416: 'Range not satisfiable',
  422: 'Validation failed',
  429: 'Rate limited (see Retry-After)',
};

/** The OpenAPI 3.0 document of the service, generated from the route declarations. */
export function openApiDocument(routes: readonly AnyRoute[], info: { version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.url.replace(/:([A-Za-z0-9]+)/g, '{$1}');
    const problems = [400, 422, ...(route.access === 'public' ? [] : [401, 403]), ...(route.problems ?? [])];
    const responses: Record<string, unknown> = {
      [route.success.status]: {
        description: route.success.description,
        ...(route.success.binary
          ? { content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } }
          : route.success.schema
            ? { content: { 'application/json': { schema: jsonSchema(route.success.schema, 'output') } } }
            : {}),
      },
    };
    for (const status of [...new Set(problems)].sort()) {
      responses[status] = { description: STATUS_TEXT[status] ?? 'Error', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
    }
    (paths[path] ??= {})[route.method.toLowerCase()] = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      ...(route.access === 'public' ? { security: [] } : route.access === 'device' ? { security: [{ deviceAuth: [] }] } : {}),
      parameters: [...parameters(route.params, 'path'), ...parameters(route.query, 'query')],
      ...(route.body
        ? {
            requestBody: {
              required: true,
              content:
                route.bodyMediaType === 'text/csv'
                  ? { 'text/csv': { schema: { type: 'string' } } }
                  : route.bodyMediaType === 'application/octet-stream' || route.bodyMediaType === 'application/gzip'
                    ? { [route.bodyMediaType]: { schema: { type: 'string', format: 'binary' } } }
                    : { [route.bodyMediaType ?? 'application/json']: { schema: jsonSchema(route.body, 'input') } },
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.0.3',
    info: { title: 'selfdeploy deployment service', version: info.version },
    security: [{ bearerAuth: [] }],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'Admin API token (selfdeploy-admin tokens create)' },
        deviceAuth: { type: 'http', scheme: 'bearer', description: 'Device access token (POST /v1/token, docs/protocol.md)' },
      },
      schemas: {
        Problem: {
          type: 'object',
          description: 'RFC 9457 problem details with the stable selfdeploy error code (docs/errors.md)',
          required: ['type', 'title', 'status', 'code'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            code: { type: 'string' },
            instance: { type: 'string' },
            errors: {
              type: 'array',
              items: { type: 'object', properties: { path: { type: 'string' }, row: { type: 'integer' }, column: { type: 'string' }, reason: { type: 'string' } } },
            },
          },
        },
      },
    },
  };
}
