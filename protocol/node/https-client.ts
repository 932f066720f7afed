// HTTPS to the deployment service, for the agent, the helper and the admin tool alike: trusts only
// the service CA it is given, bounds every request in time, retries what protocol/retry.ts says is
// worth retrying (network errors, 5xx, 429 with Retry-After) with its backoff, turns problem
// responses into catalogue errors, and validates every answer against its schema.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, fsyncSync, ftruncateSync, openSync, statSync, writeSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';

import type { z } from 'zod';

import { endpointPath, isBinaryBody, type AnswerOf, type Endpoint, type InputArgs, type RequestInput, type UploadFile } from '../api/endpoint.js';
import { isErrorCode, type ErrorCode } from '../errors/catalogue.js';
import type { CodedError } from '../errors/report.js';
import { ProblemSchema, type FieldError } from '../problem.js';
import { NO_RETRY, delayBeforeRetry, isRetryable, isRetryableStatus, isTransientNetworkError, mayResend, retryAfterMs, type RetryPolicy } from '../retry.js';

export class ServiceProblem extends Error implements CodedError {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly status?: number,
    readonly errors?: FieldError[],
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ServiceProblem';
  }
}

export interface ServiceClientOptions {
  /** https://host:port — the service's origin. */
  server: URL;
  /** PEM of the CA the service certificate must chain to; nothing else is trusted. */
  ca: string;
  /** How long the connection may stay silent (no answer, no next byte): default 30 s. */
  timeoutMs?: number;
  /** How long a whole answer may take, however steadily it trickles in: default 120 s. */
  deadlineMs?: number;
  retry?: RetryPolicy;
  /** Default headers (e.g. Authorization). */
  headers?: Record<string, string>;
  /** For tests: how to wait. */
  sleep?: (ms: number) => Promise<void>;
  /** Told of each retry (for logs and the ESP). */
  onRetry?: (event: { attempt: number; delayMs: number; reason: string }) => void;
}

/** What a call adds to its endpoint's input: headers (a bearer token) and another retry policy. */
export interface RequestOptions {
  headers?: Record<string, string>;
  /** Overrides the client's retry policy for this call. */
  retry?: RetryPolicy;
  /** The most this answer may hold (default: RESPONSE_MAX_BYTES for its kind). */
  maxBytes?: number;
}

/** A request body as it goes out: text, bytes, or a file streamed from disk. */
type OutgoingBody = string | Uint8Array | { file: string; size: number; onProgress?: UploadFile['onProgress'] };

/**
 * The most an answer may hold, by kind: a JSON answer, a binary one read whole (a log bundle, the
 * update feed), a probe. Downloads are bounded by the size they expect. Past the bound the answer
 * is cut off and refused (SERVICE_RESPONSE_INVALID): memory stays flat whatever a server sends.
 */
export const RESPONSE_MAX_BYTES = { json: 8 * 1024 * 1024, binary: 64 * 1024 * 1024, probe: 64 * 1024 } as const;

export interface ExchangeResponse {
  status: number;
  type: string;
  text: string;
  body?: Buffer;
  retryAfter: string | undefined;
  /** The server's Date header, when it sent one. */
  date: string | undefined;
}

export interface DownloadOptions {
  /** Where the bytes go; a partial file from an earlier attempt is resumed with a Range request. */
  file: string;
  size: number;
  sha256: string;
  onProgress?: (received: number, total: number) => void;
}

/** What one exchange sends, through which agent, and how long and how much its answer may take. */
export interface ExchangeOptions {
  method: string;
  url: URL;
  body?: OutgoingBody | undefined;
  headers: Record<string, string>;
  /** The HTTPS agent (its trust); none for plain http:// (an AIA caIssuers URL, whose content is signed). */
  agent?: Agent;
  /** How long the connection may stay silent. */
  timeoutMs: number;
  /** How long the whole answer may take, however steadily it trickles in. */
  deadlineMs: number;
  /** The most the answer may hold: past it the answer is cut off (SERVICE_RESPONSE_INVALID). */
  maxBytes: number;
}

/**
 * One HTTPS (or, for signed content, HTTP) request and its whole answer, bounded in time (silence
 * and total) and size: what the service client sends, what the agent asks a TPM vendor's EK
 * certificate service, and what the service fetches from an EK certificate's caIssuers URL.
 */
export function exchange({ method, url, body, headers, agent, timeoutMs, deadlineMs, maxBytes }: ExchangeOptions): Promise<ExchangeResponse> {
  return new Promise((resolve, reject) => {
    // However slowly it comes, the whole answer has a deadline (the idle timeout alone would let a trickle run forever).
    const deadline = setTimeout(
      () => req.destroy(Object.assign(new Error(`the answer to ${method} ${url.pathname} did not finish within ${deadlineMs / 1000} s`), { code: 'ETIMEDOUT' })),
      deadlineMs,
    );
    const settle = <A extends unknown[]>(fn: (...args: A) => void) => (...args: A) => {
      clearTimeout(deadline);
      fn(...args);
    };
    resolve = settle(resolve);
    reject = settle(reject);
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    const req = send(url, { method, headers, ...(agent ? { agent } : {}), timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > maxBytes) {
          res.destroy();
          reject(new ServiceProblem('SERVICE_RESPONSE_INVALID', `the answer to ${method} ${url.pathname} is larger than ${maxBytes} bytes; it was cut off`, res.statusCode));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: String(res.headers['content-type'] ?? ''),
          text: Buffer.concat(chunks).toString('utf8'),
          body: Buffer.concat(chunks),
          retryAfter: res.headers['retry-after'],
          date: res.headers.date,
        }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    if (body === undefined || typeof body === 'string' || body instanceof Uint8Array) {
      req.end(body);
      return;
    }
    // A file goes out as it is read, never whole in memory; its progress as it leaves.
    let sent = 0;
    const stream = createReadStream(body.file);
    stream.on('data', (chunk) => {
      sent += chunk.length;
      body.onProgress?.(sent, body.size);
    });
    stream.on('error', (error) => req.destroy(error));
    stream.pipe(req);
  });
}

export class ServiceClient {
  private readonly agent: Agent;
  private readonly timeoutMs: number;
  private readonly deadlineMs: number;
  private readonly retry: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: ServiceClientOptions) {
    if (options.server.protocol !== 'https:') throw new RangeError('the service URL must be https://');
    this.agent = new Agent({ ca: options.ca, keepAlive: true, maxSockets: 8 });
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.deadlineMs = Math.max(options.deadlineMs ?? 120_000, this.timeoutMs);
    this.retry = options.retry ?? NO_RETRY;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  get server(): URL {
    return this.options.server;
  }

  close(): void {
    this.agent.destroy();
  }

  private send(method: string, url: URL, body: OutgoingBody | undefined, headers: Record<string, string>, maxBytes: number = RESPONSE_MAX_BYTES.json): Promise<ExchangeResponse> {
    return exchange({ method, url, body, headers, agent: this.agent, timeoutMs: this.timeoutMs, deadlineMs: this.deadlineMs, maxBytes });
  }

  /** The URL of a call to `endpoint` with these path parameters and query. */
  private urlOf(endpoint: Endpoint, input: { params?: Readonly<Record<string, string | number>> | undefined; query?: Readonly<Record<string, string | number | boolean | null | undefined>> | undefined }): URL {
    const url = new URL(endpointPath(endpoint, input.params), this.options.server);
    for (const [key, value] of Object.entries(input.query ?? {})) if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
    return url;
  }

  /**
   * Calls an endpoint of the service (protocol/api/endpoints/): its path parameters filled in, its
   * body sent as its media type says, retried as the policy allows, and its answer checked against
   * its schema before it is returned.
   */
  async request<E extends Endpoint>(endpoint: E, ...[input]: InputArgs<E, RequestOptions>): Promise<AnswerOf<E>> {
    const given = (input ?? {}) as { params?: Record<string, string | number>; query?: Record<string, string | number | boolean | undefined>; body?: unknown } & RequestOptions;
    const url = this.urlOf(endpoint, given);
    const type = endpoint.bodyMediaType ?? 'application/json';
    const encode = (form?: Record<string, string>): { body: OutgoingBody | undefined; headers: Record<string, string> } => {
      const headers: Record<string, string> = { accept: 'application/json, application/problem+json', ...this.options.headers, ...given.headers };
      let body: OutgoingBody | undefined;
      if (form) body = new URLSearchParams(form).toString();
      else if (isBinaryBody(endpoint)) body = given.body instanceof Uint8Array ? given.body : { ...(given.body as UploadFile), size: statSync((given.body as UploadFile).file).size };
      else if (given.body !== undefined) body = type === 'text/csv' ? (given.body as string) : JSON.stringify(given.body);
      if (body !== undefined) {
        headers['content-type'] = type;
        headers['content-length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body instanceof Uint8Array ? body.byteLength : body.size);
      }
      return { body, headers };
    };
    // A form made per attempt (a single-use credential) is made again for each retry.
    const formOf = typeof given.body === 'function' ? (given.body as () => Promise<Record<string, string>>) : undefined;
    const fixed = formOf ? undefined : encode(type === 'application/x-www-form-urlencoded' ? (given.body as Record<string, string>) : undefined);

    const policy = given.retry ?? this.retry;
    for (let attempt = 1; ; attempt++) {
      let response: ExchangeResponse | undefined;
      let reason: string;
      try {
        const { body, headers } = fixed ?? encode(await formOf!());
        response = await this.send(endpoint.method, url, body, headers, given.maxBytes ?? RESPONSE_MAX_BYTES.json);
        reason = `HTTP ${response.status}`;
      } catch (error) {
        if (error instanceof ServiceProblem) throw error; // an answer refused as it came (too large)
        const code = (error as NodeJS.ErrnoException).code ?? '';
        const message = `cannot reach ${url.origin}: ${code ? `${code}: ` : ''}${(error as Error).message}`;
        if (!isTransientNetworkError(code) || attempt >= policy.attempts || !mayResend(policy, endpoint.method, { errno: code })) throw new ServiceProblem('SERVICE_UNREACHABLE', message);
        reason = code;
      }
      const again = response === undefined || (isRetryableStatus(response.status) && mayResend(policy, endpoint.method, { status: response.status }));
      if (response && (!again || attempt >= policy.attempts)) return this.interpret(endpoint.method, url, response, endpoint.success.schema) as AnswerOf<E>;
      const delayMs = delayBeforeRetry(policy, attempt, retryAfterMs(response?.retryAfter));
      this.options.onRetry?.({ attempt, delayMs, reason });
      await this.sleep(delayMs);
    }
  }

  /** One GET of a binary answer (a log bundle, the update feed), whole, in memory. */
  async fetchBytes<E extends Endpoint & { success: { binary: true } }>(endpoint: E, ...[input]: InputArgs<E, RequestOptions>): Promise<Buffer> {
    const given = (input ?? {}) as { params?: Record<string, string | number> } & RequestOptions;
    const url = this.urlOf(endpoint, given);
    let response: ExchangeResponse;
    try {
      response = await this.send('GET', url, undefined, { accept: '*/*', ...this.options.headers, ...given.headers }, given.maxBytes ?? RESPONSE_MAX_BYTES.binary);
    } catch (error) {
      if (error instanceof ServiceProblem) throw error;
      throw new ServiceProblem('SERVICE_UNREACHABLE', `cannot reach ${url.origin}: ${(error as Error).message}`, undefined, undefined, { cause: error });
    }
    if (response.status >= 400) this.interpret('GET', url, response, undefined);
    return response.body ?? Buffer.alloc(0);
  }

  /**
   * One request, no retries, for probing the service: its status, Date header and round-trip
   * time. Network failures are SERVICE_UNREACHABLE with the system's error code in `cause`.
   */
  async probe(endpoint: Endpoint & { method: 'GET' }): Promise<{ status: number; date: string | undefined; roundTripMs: number }> {
    const url = this.urlOf(endpoint, {});
    const started = performance.now();
    try {
      const response = await this.send('GET', url, undefined, { accept: 'application/json', ...this.options.headers }, RESPONSE_MAX_BYTES.probe);
      return { status: response.status, date: response.date, roundTripMs: performance.now() - started };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      throw new ServiceProblem('SERVICE_UNREACHABLE', `cannot reach ${url.origin}: ${code ? `${code}: ` : ''}${(error as Error).message}`, undefined, undefined, { cause: error });
    }
  }

  /**
   * Downloads content to a file, resuming what an earlier attempt (or run) left with a Range
   * request, retrying network failures and 5xx with the client's policy, and checking size and
   * SHA-256 before it returns. The file is fsynced; a mismatch removes nothing but is reported.
   */
  async download<E extends Endpoint & { success: { binary: true } }>(endpoint: E, options: DownloadOptions & RequestInput<E> & RequestOptions): Promise<void> {
    const url = this.urlOf(endpoint, options as { params?: Record<string, string | number> });
    const headers = options.headers ?? {};
    const fd = openSync(options.file, 'a+', 0o600);
    try {
      for (let attempt = 1; ; attempt++) {
        const have = fstatSync(fd).size;
        if (have > options.size) ftruncateSync(fd, 0);
        const offset = Math.min(fstatSync(fd).size, options.size);
        let failure: unknown;
        if (offset < options.size || options.size === 0) {
          try {
            await this.receive(url, fd, offset, options, headers);
          } catch (error) {
            failure = error;
          }
        }
        if (!failure) {
          fsyncSync(fd);
          const got = fstatSync(fd).size;
          if (got === options.size) {
            const digest = await digestOf(options.file);
            if (digest === options.sha256) return;
            ftruncateSync(fd, 0);
            throw new ServiceProblem('CONTENT_DIGEST_MISMATCH', `${url.pathname}: received ${got} bytes with SHA-256 ${digest}, expected ${options.sha256}`);
          }
          failure = new ServiceProblem('SERVICE_UNREACHABLE', `${url.pathname}: the connection ended after ${got} of ${options.size} bytes`);
        }
        // As call(): a connection that failed, 5xx and 429 are worth another attempt, after the server's Retry-After if it gave one.
        const retryable = failure instanceof ServiceProblem ? isRetryable(failure) : true;
        if (!retryable || attempt >= this.retry.attempts) {
          if (failure instanceof ServiceProblem) throw failure;
          throw new ServiceProblem('SERVICE_UNREACHABLE', `cannot download ${url.pathname}: ${(failure as Error).message}`);
        }
        const delayMs = delayBeforeRetry(this.retry, attempt, (failure as { retryAfterMs?: number }).retryAfterMs);
        this.options.onRetry?.({ attempt, delayMs, reason: failure instanceof Error ? failure.message : String(failure) });
        await this.sleep(delayMs);
      }
    } finally {
      closeSync(fd);
    }
  }

  private receive(url: URL, fd: number, offset: number, options: DownloadOptions, extra: Record<string, string>): Promise<void> {
    const headers: Record<string, string> = { accept: '*/*', ...this.options.headers, ...extra, ...(offset > 0 ? { range: `bytes=${offset}-`, 'if-range': `"${options.sha256}"` } : {}) };
    return new Promise((resolve, reject) => {
      // A download may take as long as the deadline plus the time for its bytes at 16 KiB/s: a
      // trickle slower than that is cut off (ETIMEDOUT), and the next attempt resumes where it stopped.
      const allowedMs = this.deadlineMs + ((options.size - offset) / (16 * 1024)) * 1000;
      const deadline = setTimeout(() => req.destroy(Object.assign(new Error(`the download of ${url.pathname} did not finish within ${Math.round(allowedMs / 1000)} s`), { code: 'ETIMEDOUT' })), allowedMs);
      const settle = <A extends unknown[]>(fn: (...args: A) => void) => (...args: A) => {
        clearTimeout(deadline);
        fn(...args);
      };
      resolve = settle(resolve);
      reject = settle(reject);
      const req = httpsRequest(url, { method: 'GET', headers, agent: this.agent, timeout: this.timeoutMs }, (res) => {
        const status = res.statusCode ?? 0;
        if (status !== 200 && status !== 206) {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size <= RESPONSE_MAX_BYTES.json) chunks.push(chunk); // a refusal's problem document; past that, ignored
          });
          res.on('end', () => {
            const retryAfter = retryAfterMs(res.headers['retry-after']);
            try {
              this.interpret('GET', url, { status, type: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8'), retryAfter: undefined, date: undefined }, undefined);
              reject(new ServiceProblem('SERVICE_RESPONSE_INVALID', `HTTP ${status} from GET ${url.pathname}`, status));
            } catch (error) {
              reject(Object.assign(error instanceof Error ? error : new Error(String(error)), retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}));
            }
          });
          return;
        }
        let position = offset;
        if (status === 200) {
          ftruncateSync(fd, 0); // the server sent the whole: start over
          position = 0;
        } else if (!String(res.headers['content-range'] ?? '').startsWith(`bytes ${offset}-`)) {
          res.destroy();
          reject(new ServiceProblem('SERVICE_RESPONSE_INVALID', `GET ${url.pathname}: a range other than the one asked for`, status));
          return;
        }
        res.on('data', (chunk: Buffer) => {
          if (position + chunk.length > options.size) {
            res.destroy(new ServiceProblem('CONTENT_DIGEST_MISMATCH', `${url.pathname}: more than the ${options.size} bytes expected`));
            return;
          }
          writeSync(fd, chunk, 0, chunk.length, null);
          position += chunk.length;
          options.onProgress?.(position, options.size);
        });
        let ended = false;
        res.on('end', () => {
          ended = true;
          resolve();
        });
        res.on('error', reject);
        res.on('close', () => {
          if (!ended) reject(Object.assign(new Error('the connection closed mid-transfer'), { code: 'ECONNRESET' }));
        });
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no data within ${this.timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end();
    });
  }

  private interpret<S extends z.ZodType>(method: string, url: URL, response: ExchangeResponse, schema: S | undefined): z.output<S> {
    if (response.status >= 400) {
      let problem;
      try {
        problem = ProblemSchema.parse(JSON.parse(response.text));
      } catch {
        throw new ServiceProblem('SERVICE_RESPONSE_INVALID', `HTTP ${response.status} from ${method} ${url.pathname} without a problem description`, response.status);
      }
      throw new ServiceProblem(isErrorCode(problem.code) ? problem.code : 'INTERNAL', problem.detail ?? problem.title, response.status, problem.errors);
    }
    if (!schema || response.status === 204) return undefined as z.output<S>;
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

async function digestOf(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
