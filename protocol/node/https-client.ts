// HTTPS to the deployment service, for the agent and the admin tool alike: trusts only the
// service CA it is given, bounds every request in time, retries what is worth retrying (network
// errors, 5xx, 429 with Retry-After) with exponential backoff and full jitter, turns problem
// responses into catalogue errors, and validates every answer against its schema.
import { Agent, request as httpsRequest } from 'node:https';

import type { z } from 'zod';

import { isErrorCode, type ErrorCode } from '../errors/catalogue.js';
import type { CodedError } from '../errors/report.js';
import { ProblemSchema, type FieldError } from '../problem.js';

export class ServiceProblem extends Error implements CodedError {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly status?: number,
    readonly errors?: FieldError[],
  ) {
    super(message);
    this.name = 'ServiceProblem';
  }
}

export interface RetryPolicy {
  /** Attempts in all, the first included (1: never retry). */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const NO_RETRY: RetryPolicy = { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 };
export const DEVICE_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 500, maxDelayMs: 30_000 };

export interface ServiceClientOptions {
  /** https://host:port — the service's origin. */
  server: URL;
  /** PEM of the CA the service certificate must chain to; nothing else is trusted. */
  ca: string;
  timeoutMs?: number;
  retry?: RetryPolicy;
  /** Default headers (e.g. Authorization). */
  headers?: Record<string, string>;
  /** For tests: how to wait. */
  sleep?: (ms: number) => Promise<void>;
  /** Told of each retry (for logs and the ESP). */
  onRetry?: (event: { attempt: number; delayMs: number; reason: string }) => void;
}

export interface CallOptions<S extends z.ZodType> {
  schema?: S;
  json?: unknown;
  form?: Record<string, string>;
  text?: string;
  contentType?: string;
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  /** Overrides the client's retry policy for this call. */
  retry?: RetryPolicy;
}

interface RawResponse {
  status: number;
  type: string;
  text: string;
  retryAfter: string | undefined;
}

const RETRYABLE_NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ECONNABORTED', 'UND_ERR_SOCKET']);

/** Retry-After as seconds or an HTTP date (RFC 9110 §10.2.3), in milliseconds; undefined if absent or nonsense. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export class ServiceClient {
  private readonly agent: Agent;
  private readonly timeoutMs: number;
  private readonly retry: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: ServiceClientOptions) {
    if (options.server.protocol !== 'https:') throw new RangeError('the service URL must be https://');
    this.agent = new Agent({ ca: options.ca, keepAlive: true, maxSockets: 8 });
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retry = options.retry ?? NO_RETRY;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  get server(): URL {
    return this.options.server;
  }

  close(): void {
    this.agent.destroy();
  }

  private send(method: string, url: URL, body: string | undefined, headers: Record<string, string>): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(url, { method, headers, agent: this.agent, timeout: this.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type'] ?? ''),
            text: Buffer.concat(chunks).toString('utf8'),
            retryAfter: res.headers['retry-after'],
          }),
        );
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${this.timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end(body);
    });
  }

  async call<S extends z.ZodType>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, options: CallOptions<S> = {}): Promise<z.output<S>> {
    const url = new URL(path, this.options.server);
    for (const [key, value] of Object.entries(options.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    let body: string | undefined;
    let contentType = options.contentType;
    if (options.form) {
      body = new URLSearchParams(options.form).toString();
      contentType ??= 'application/x-www-form-urlencoded';
    } else if (options.text !== undefined) {
      body = options.text;
    } else if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      contentType ??= 'application/json';
    }
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json', ...this.options.headers, ...options.headers };
    if (body !== undefined) {
      headers['content-type'] = contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }

    const policy = options.retry ?? this.retry;
    for (let attempt = 1; ; attempt++) {
      let response: RawResponse | undefined;
      let reason: string;
      try {
        response = await this.send(method, url, body, headers);
        reason = `HTTP ${response.status}`;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? '';
        const message = `cannot reach ${url.origin}: ${code ? `${code}: ` : ''}${(error as Error).message}`;
        if (!RETRYABLE_NETWORK.has(code) || attempt >= policy.attempts) throw new ServiceProblem('SERVICE_UNREACHABLE', message);
        reason = code;
      }
      const retryable = response === undefined || response.status >= 500 || response.status === 429;
      if (response && (!retryable || attempt >= policy.attempts)) return this.interpret(method, url, response, options.schema);
      // Full jitter (AWS architecture blog, "Exponential Backoff And Jitter"), or the server's word.
      const backoff = Math.random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      const delayMs = Math.min(policy.maxDelayMs, retryAfterMs(response?.retryAfter) ?? backoff);
      this.options.onRetry?.({ attempt, delayMs, reason });
      await this.sleep(delayMs);
    }
  }

  private interpret<S extends z.ZodType>(method: string, url: URL, response: RawResponse, schema: S | undefined): z.output<S> {
    if (response.status >= 400) {
      let problem;
      try {
        problem = ProblemSchema.parse(JSON.parse(response.text));
      } catch {
        throw new ServiceProblem('SERVICE_RESPONSE_INVALID', `HTTP ${response.status} from ${method} ${url.pathname} without a problem description`, response.status);
      }
      throw new ServiceProblem(isErrorCode(problem.code) ? problem.code : 'INTERNAL', problem.detail ?? problem.title, response.status, problem.errors);
    }
    if (!schema) return undefined as z.output<S>;
    let json: unknown;
    try {
      json = JSON.parse(response.text);
    } catch {
      throw new ServiceProblem('SERVICE_RESPONSE_INVALID', `HTTP ${response.status} from ${method} ${url.pathname} with a body that is not JSON`, response.status);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ServiceProblem('SERVICE_RESPONSE_INVALID', `the answer to ${method} ${url.pathname} does not match the protocol: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`, response.status);
    }
    return parsed.data;
  }
}
