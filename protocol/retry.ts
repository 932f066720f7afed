// The one retry policy of every client of the service and of the helper: which failures are worth
// another attempt (the catalogue's `retryable`, an HTTP status that means "not now", a connection
// that failed on the way) and how long to wait before it — exponential backoff with equal jitter
// (AWS Architecture Blog, "Exponential Backoff And Jitter": half the step fixed, half random, so
// clients spread out but never hammer), or the server's Retry-After (RFC 9110 §10.2.3) when given.
import { catalogueEntry, isErrorCode } from './errors/catalogue.js';

export interface RetryPolicy {
  /** Attempts in all, the first included (1: never retry; Infinity: until a deadline says stop). */
  attempts: number;
  /** The first wait's upper bound; each further wait doubles it, up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  /**
   * Whether a POST is sent again after a failure that may have come after the service did the work
   * (a reset connection, a 500). The device API's operations are built to be asked twice (join
   * answers the same join again, a token attempt signs a new assertion); an admin's are not, so the
   * admin CLI sends a POST again only when it cannot have arrived or was refused unread.
   */
  repeatPosts?: boolean;
}

/** One attempt, no waiting: probes, tests, and requests that must not be sent twice. */
export const NO_RETRY: RetryPolicy = { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 };

/** The agent's and the helper's HTTPS requests: a few quick attempts inside one call. */
export const DEVICE_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 500, maxDelayMs: 30_000 };

/** The admin CLI: a person is waiting, so a few short attempts, then the error. */
export const ADMIN_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 500, maxDelayMs: 4_000, repeatPosts: false };

/** The engine waiting out a service (or helper) that is away: until the ESP timeout, at most 30 s apart. */
export const SERVICE_WAIT: RetryPolicy = { attempts: Number.POSITIVE_INFINITY, baseDelayMs: 2_000, maxDelayMs: 30_000 };

/** The network step before the profile is known: network, DNS and the service, checked often. */
export const PREFLIGHT_WAIT: RetryPolicy = { attempts: Number.POSITIVE_INFINITY, baseDelayMs: 1_000, maxDelayMs: 5_000 };

/** The wait before attempt `attempt + 1` (attempt counts from 1): between half and all of the step. */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  return step / 2 + (random() * step) / 2;
}

/** The wait before the next attempt: the server's Retry-After when it gave one (bounded by the policy), else the backoff. */
export function delayBeforeRetry(policy: RetryPolicy, attempt: number, retryAfter?: number): number {
  return Math.min(policy.maxDelayMs, retryAfter ?? backoffMs(policy, attempt));
}

/** Retry-After as seconds or an HTTP date (RFC 9110 §10.2.3), in milliseconds; undefined if absent or nonsense. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * HTTP statuses that say "not now" rather than "no": 429 and every 5xx. A load balancer or proxy in
 * front of the service answers these without the service's codes; the service's own retryable
 * codes map to exactly these statuses (a test holds the catalogue to it).
 */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/** System error codes of a connection that failed on the way, which a new connection may not meet. */
const TRANSIENT_NETWORK_ERRORS: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ECONNABORTED', 'UND_ERR_SOCKET']);

export function isTransientNetworkError(errno: string | undefined): boolean {
  return errno !== undefined && TRANSIENT_NETWORK_ERRORS.has(errno);
}

/** Failures after which the request certainly was not carried out: it never arrived, or was refused unread. */
const NEVER_ARRIVED: ReadonlySet<string> = new Set(['ECONNREFUSED', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH']);

/** Whether the policy lets a request of `method` go again after this failure (a connection error, or an HTTP status). */
export function mayResend(policy: RetryPolicy, method: string, failure: { errno?: string | undefined; status?: number | undefined }): boolean {
  if (method !== 'POST' || policy.repeatPosts !== false) return true;
  return (failure.errno !== undefined && NEVER_ARRIVED.has(failure.errno)) || failure.status === 429 || failure.status === 503;
}

/**
 * Whether a failure is worth waiting out: its catalogue code is retryable (the service or the helper
 * is away, overloaded or rate-limiting), or it carries an HTTP status that is.
 */
export function isRetryable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const { code, status } = error as { code?: unknown; status?: unknown };
  if (isErrorCode(code) && catalogueEntry(code).retryable) return true;
  return typeof status === 'number' && isRetryableStatus(status);
}
