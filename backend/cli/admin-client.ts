// The admin API over HTTPS, trusting only the service CA it was given. Every answer is checked
// against the protocol's schemas; problems come back as catalogue errors.
import { request as httpsRequest, Agent } from 'node:https';

import type { z } from 'zod';

import { isErrorCode, type ErrorCode } from '../../protocol/errors/catalogue.js';
import type { CodedError } from '../../protocol/errors/report.js';
import { ProblemSchema, type FieldError } from '../../protocol/problem.js';

export class AdminApiError extends Error implements CodedError {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly errors?: FieldError[],
    readonly status?: number,
  ) {
    super(message);
    this.name = 'AdminApiError';
  }
}

export interface AdminConnection {
  server: URL;
  /** PEM of the CA the service's HTTPS certificate must chain to. */
  ca: string;
  token: string;
}

const TIMEOUT_MS = 60_000;

export class AdminClient {
  private readonly agent: Agent;

  constructor(private readonly connection: AdminConnection) {
    this.agent = new Agent({ ca: connection.ca, keepAlive: true, maxSockets: 4 });
  }

  close(): void {
    this.agent.destroy();
  }

  async call<S extends z.ZodType>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    options: { schema?: S; json?: unknown; text?: string; contentType?: string; query?: Record<string, string | number | undefined> } = {},
  ): Promise<z.output<S>> {
    const url = new URL(path, this.connection.server);
    for (const [key, value] of Object.entries(options.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    const body = options.text ?? (options.json === undefined ? undefined : JSON.stringify(options.json));
    const headers: Record<string, string> = { authorization: `Bearer ${this.connection.token}`, accept: 'application/json, application/problem+json' };
    if (body !== undefined) {
      headers['content-type'] = options.contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const { status, type, text } = await new Promise<{ status: number; type: string; text: string }>((resolve, reject) => {
      const req = httpsRequest(url, { method, headers, agent: this.agent, timeout: TIMEOUT_MS }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
      req.on('error', (error: NodeJS.ErrnoException) =>
        reject(new AdminApiError('SERVICE_UNREACHABLE', `cannot reach ${this.connection.server.origin}: ${error.code ? `${error.code}: ` : ''}${error.message}`)),
      );
      req.end(body);
    });
    if (status >= 400) {
      let problem;
      try {
        problem = ProblemSchema.parse(JSON.parse(text));
      } catch {
        throw new AdminApiError('SERVICE_RESPONSE_INVALID', `HTTP ${status} without a problem description (${type || 'no content type'})`, undefined, status);
      }
      throw new AdminApiError(isErrorCode(problem.code) ? problem.code : 'INTERNAL', problem.detail ?? problem.title, problem.errors, status);
    }
    if (!options.schema) return undefined as z.output<S>;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new AdminApiError('SERVICE_RESPONSE_INVALID', `HTTP ${status} with a body that is not JSON`);
    }
    const parsed = options.schema.safeParse(json);
    if (!parsed.success) {
      throw new AdminApiError('SERVICE_RESPONSE_INVALID', `the answer to ${method} ${url.pathname} does not match the protocol: ${parsed.error.issues[0]?.message ?? ''}`);
    }
    return parsed.data;
  }
}
