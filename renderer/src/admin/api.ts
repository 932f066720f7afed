// The console's connection to the service: same origin, the session cookie (HttpOnly: the page
// never sees it, nor the API token after sign-in), the CSRF token on every change, JSON in and
// out, problems (RFC 9457) as ApiError with the service's code and detail.
import type { SessionSchema } from '../../../protocol/api/fleet.js';
import { endpointPath, type AnswerOf, type Endpoint } from '../../../protocol/api/endpoint.js';
import { admin } from '../../../protocol/api/endpoints.js';
import type { z } from 'zod';

export type Session = z.output<typeof SessionSchema>;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly errors: { path?: string; row?: number; reason: string }[] = [],
  ) {
    super(message);
  }
}

let csrf = '';
let onSignedOut: (() => void) | undefined;

/** What happens when the session ends under the console (idle, revoked): back to sign-in. */
export function whenSignedOut(listener: () => void): void {
  onSignedOut = listener;
}

/** A request to a path of this origin (use `call` with an endpoint; `useApi` reads paths made by `pathOf`). */
export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') headers['x-csrf-token'] = csrf;
  if (body !== undefined) headers['content-type'] = contentType;
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body !== undefined ? { body: contentType === 'application/json' ? JSON.stringify(body) : (body as string) } : {}),
  });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const json: unknown = text ? JSON.parse(text) : undefined;
  if (!response.ok) {
    const problem = (json ?? {}) as { code?: string; detail?: string; title?: string; errors?: ApiError['errors'] };
    if (response.status === 401 && path !== endpointPath(admin.console.signIn)) onSignedOut?.();
    throw new ApiError(response.status, problem.code ?? 'HTTP_' + response.status, problem.detail ?? problem.title ?? response.statusText, problem.errors ?? []);
  }
  return json as T;
}

export async function signIn(token: string): Promise<Session> {
  const session = await call(admin.console.signIn, { body: { token } });
  csrf = session.csrfToken;
  return session;
}

/** The session this browser already has (a reload), or null. */
export async function currentSession(): Promise<Session | null> {
  try {
    const session = await call(admin.console.session);
    csrf = session.csrfToken;
    return session;
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 404)) return null;
    throw error;
  }
}

export async function signOut(): Promise<void> {
  await call(admin.console.signOut);
  csrf = '';
}

/**
 * Sends a file's bytes to an endpoint that takes them as its body, reporting how much has gone
 * (fetch cannot say so for uploads; XMLHttpRequest can). The answer is parsed like `call`'s.
 */
export function upload<E extends Endpoint>(
  endpoint: E,
  file: Blob,
  input: { query?: Record<string, string | number | undefined | null>; onProgress?: (sent: number, total: number) => void } = {},
): Promise<AnswerOf<E>> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open(endpoint.method, pathOf(endpoint, undefined, input.query));
    request.setRequestHeader('accept', 'application/json');
    request.setRequestHeader('content-type', endpoint.bodyMediaType ?? 'application/octet-stream');
    request.setRequestHeader('x-csrf-token', csrf);
    request.withCredentials = true;
    request.upload.onprogress = (event) => input.onProgress?.(event.loaded, event.lengthComputable ? event.total : file.size);
    request.onerror = () => reject(new ApiError(0, 'NETWORK', 'the upload did not reach the service'));
    request.onload = () => {
      let json: unknown;
      try {
        json = request.responseText ? JSON.parse(request.responseText) : undefined;
      } catch {
        json = undefined;
      }
      if (request.status >= 200 && request.status < 300) {
        input.onProgress?.(file.size, file.size);
        resolve(json as AnswerOf<E>);
        return;
      }
      const problem = (json ?? {}) as { code?: string; detail?: string; title?: string; errors?: ApiError['errors'] };
      if (request.status === 401) onSignedOut?.();
      reject(new ApiError(request.status, problem.code ?? 'HTTP_' + request.status, problem.detail ?? problem.title ?? request.statusText, problem.errors ?? []));
    };
    request.send(file);
  });
}

/** A file's bytes as base64 (for JSON bodies that carry files: trust-anchor bundles, the logo). */
export async function base64Of(file: Blob): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** What a failed call says to the person: the service's code and message, and each field's reason. */
export function describeError(error: unknown): string {
  if (!(error instanceof ApiError)) return String(error);
  // A reason the message already says (lint findings folded into it) is not said twice.
  const reasons = error.errors.filter((x) => !error.message.includes(x.reason)).map((x) => `${x.path ? `${x.path.replace(/^body\.?/, '')}: ` : ''}${x.reason}`);
  return `${error.code}: ${error.message}${reasons.length ? ` — ${reasons.join('; ')}` : ''}`;
}

/** A query string from the filters that are set. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** A text field of a submitted form (a file field counts as empty). */
export function field(data: FormData, name: string): string {
  const value = data.get(name);
  return typeof value === 'string' ? value.trim() : '';
}

/** The path of an endpoint of the shared protocol (protocol/api/endpoints/), with its query. */
export function pathOf(endpoint: Endpoint, params?: Readonly<Record<string, string | number>>, search?: Record<string, string | number | undefined | null>): string {
  return endpointPath(endpoint, params) + query(search ?? {});
}

/** Calls an endpoint as the protocol declares it: its method, path, body and media type; its answer typed. */
export function call<E extends Endpoint>(
  endpoint: E,
  input: { params?: Readonly<Record<string, string | number>>; query?: Record<string, string | number | undefined | null>; body?: unknown } = {},
): Promise<AnswerOf<E>> {
  return api<AnswerOf<E>>(endpoint.method, pathOf(endpoint, input.params, input.query), input.body, endpoint.bodyMediaType ?? 'application/json');
}
