// A route is an endpoint of the shared protocol (protocol/api/endpoints/) with the service's
// handler for it: the declaration validates requests, types the handler, enforces the token scope
// and becomes the OpenAPI document; the same declaration builds every client's requests.
import { Readable } from 'node:stream';

import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

import { device } from '../../protocol/api/endpoints.js';
import { isBinaryBody, type AnswerInput, type Endpoint, type ParsedBody, type ParsedParams, type ParsedQuery } from '../../protocol/api/endpoint.js';
import type { AdminToken } from '../store/tokens.js';

export type { Access } from '../../protocol/api/endpoint.js';

/** A binary body (an upload) reaches the handler as the request stream; the handler bounds its size. */
export const StreamBodySchema = z.custom<Readable>((value) => value instanceof Readable, 'must be a binary body');

export interface HandlerInput<E extends Endpoint> {
  params: ParsedParams<E>;
  query: ParsedQuery<E>;
  body: E extends { readonly bodyMediaType: 'application/octet-stream' | 'application/gzip' } ? Readable : ParsedBody<E>;
  token: AdminToken | null;
  /** The device id of a device-access route. */
  device: string | null;
  request: FastifyRequest;
  reply: FastifyReply;
}

export interface Route {
  endpoint: Endpoint;
  /** Requests per minute per client address (the device API's limit). */
  rateLimitPerMinute?: number | undefined;
  handler: (input: HandlerInput<Endpoint>) => Promise<unknown>;
}

/** The service's handler of an endpoint, typed by its declaration. */
export function route<E extends Endpoint>(
  endpoint: E,
  handler: (input: HandlerInput<E>) => Promise<AnswerInput<E> | undefined | FastifyReply>,
  options: { rateLimitPerMinute?: number } = {},
): Route {
  return { endpoint, handler: handler, rateLimitPerMinute: options.rateLimitPerMinute };
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
  503: 'Not ready (the store does not answer, or the service is stopping)',
};

function requestBody(endpoint: Endpoint): Record<string, unknown> | undefined {
  const type = endpoint.bodyMediaType ?? 'application/json';
  if (isBinaryBody(endpoint)) return { required: true, content: { [type]: { schema: { type: 'string', format: 'binary' } } } };
  if (!endpoint.body) return undefined;
  if (type === 'text/csv') return { required: true, content: { 'text/csv': { schema: { type: 'string' } } } };
  return { required: true, content: { [type]: { schema: jsonSchema(endpoint.body, 'input') } } };
}

/** The OpenAPI 3.0 document of the service, generated from the endpoint declarations. */
export function openApiDocument(endpoints: readonly Endpoint[], info: { version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const endpoint of endpoints) {
    const path = endpoint.path.replace(/:([A-Za-z0-9]+)/g, '{$1}');
    const problems = [400, 422, ...(endpoint.access === 'public' ? [] : [401, 403]), ...(endpoint.problems ?? [])];
    const responses: Record<string, unknown> = {
      [endpoint.success.status]: {
        description: endpoint.success.description,
        ...(endpoint.success.binary
          ? { content: { [endpoint.success.mediaType ?? 'application/octet-stream']: { schema: { type: 'string', format: 'binary' } } } }
          : endpoint.success.schema
            ? { content: { 'application/json': { schema: jsonSchema(endpoint.success.schema, 'output') } } }
            : {}),
      },
    };
    for (const status of [...new Set(problems)].sort()) {
      responses[status] = { description: STATUS_TEXT[status] ?? 'Error', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
    }
    (paths[path] ??= {})[endpoint.method.toLowerCase()] = {
      operationId: endpoint.operationId,
      summary: endpoint.summary,
      tags: [endpoint.tag],
      ...(endpoint.access === 'public' ? { security: [] } : endpoint.access === 'device' ? { security: [{ deviceAuth: [] }] } : {}),
      parameters: [...parameters(endpoint.params, 'path'), ...parameters(endpoint.query, 'query')],
      ...(requestBody(endpoint) ? { requestBody: requestBody(endpoint) } : {}),
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
        deviceAuth: { type: 'http', scheme: 'bearer', description: `Device access token (POST ${device.token.path}, docs/protocol.md)` },
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
