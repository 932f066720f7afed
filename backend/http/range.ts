// HTTP Range (RFC 9110 §14): one byte range of a representation, or the whole of it.
import { Readable } from 'node:stream';

import type { FastifyReply, FastifyRequest } from 'fastify';

import { ServiceError } from '../errors.js';
import type { Content } from '../store/contents.js';
import type { Store } from '../store/store.js';

export type RangeRequest = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

/**
 * What to send for a Range header over `size` bytes. Only a single `bytes=` range is served;
 * anything else (several ranges, other units, bad syntax) is ignored, as the RFC allows, and the
 * whole representation is sent. `If-Range` with another validator also gets the whole.
 */
export function parseRange(header: string | undefined, size: number, ifRange?: string, etag?: string): RangeRequest {
  if (!header) return { kind: 'full' };
  if (ifRange !== undefined && ifRange !== etag) return { kind: 'full' };
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return { kind: 'full' };
  const [, first, last] = match;
  if (first === '' && last === '') return { kind: 'full' };
  if (first === '') {
    // Suffix: the last N bytes.
    const length = Number(last);
    if (length === 0) return { kind: 'unsatisfiable' };
    if (size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? Number.MAX_SAFE_INTEGER : Number(last);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return { kind: 'full' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: Math.min(end, size - 1) };
}

/** Sends stored content whole or as the one range asked for (206, or 416 with Content-Range), with its digest as ETag. */
export function sendContent(store: Store, content: Content, request: FastifyRequest, reply: FastifyReply, cacheControl: string): FastifyReply {
  const etag = `"${content.sha256}"`;
  const ifRange = request.headers['if-range'];
  const range = parseRange(request.headers.range, content.size, typeof ifRange === 'string' ? ifRange : undefined, etag);
  void reply.header('accept-ranges', 'bytes').header('etag', etag).header('cache-control', cacheControl);
  if (range.kind === 'unsatisfiable') {
    void reply.header('content-range', `bytes */${content.size}`);
    throw new ServiceError('RANGE_NOT_SATISFIABLE', `the content has ${content.size} bytes`);
  }
  const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, content.size - 1];
  if (range.kind === 'partial') void reply.code(206).header('content-range', `bytes ${start}-${end}/${content.size}`);
  void reply.header('content-length', String(Math.max(0, end - start + 1))).type(content.mediaType);
  return reply.send(content.size === 0 ? '' : Readable.from(store.contents.read(content.sha256, start, end)));
}
