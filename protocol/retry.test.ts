// The one retry policy: which failures are waited out, and how long each wait is.
import { describe, expect, it } from 'vitest';

import { CATALOGUE } from './errors/catalogue.js';
import { ADMIN_RETRY, DEVICE_RETRY, PREFLIGHT_WAIT, SERVICE_WAIT, backoffMs, delayBeforeRetry, isRetryable, isRetryableStatus, isTransientNetworkError, mayResend, retryAfterMs } from './retry.js';

const coded = (code: string, status?: number) => Object.assign(new Error(code), { code, ...(status === undefined ? {} : { status }) });

describe('the retry policy', () => {
  it('doubles each wait up to the cap, between half and all of the step (equal jitter)', () => {
    const policy = { attempts: 10, baseDelayMs: 1_000, maxDelayMs: 5_000 };
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(policy, n, () => 0))).toEqual([500, 1_000, 2_000, 2_500, 2_500]);
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(policy, n, () => 1))).toEqual([1_000, 2_000, 4_000, 5_000, 5_000]);
    for (let n = 1; n < 60; n++) {
      const wait = backoffMs(policy, n);
      expect(wait).toBeGreaterThanOrEqual(Math.min(5_000, 1_000 * 2 ** (n - 1)) / 2);
      expect(wait).toBeLessThanOrEqual(5_000);
    }
  });

  it("takes the server's Retry-After over the backoff, never beyond the policy's longest wait", () => {
    expect(delayBeforeRetry(DEVICE_RETRY, 1, 2_000)).toBe(2_000);
    expect(delayBeforeRetry(ADMIN_RETRY, 1, 60_000)).toBe(ADMIN_RETRY.maxDelayMs);
    expect(delayBeforeRetry(DEVICE_RETRY, 1)).toBeLessThanOrEqual(DEVICE_RETRY.baseDelayMs);
    expect(retryAfterMs('7')).toBe(7_000);
    expect(retryAfterMs(new Date(Date.now() + 5_000).toUTCString(), Date.now())).toBeGreaterThan(3_000);
    expect(retryAfterMs('soon')).toBeUndefined();
  });

  it('waits out the service or helper being away, overloaded or rate-limiting — and nothing that is a verdict', () => {
    for (const code of ['SERVICE_UNREACHABLE', 'RATE_LIMITED', 'INTERNAL', 'TENANT_NOT_INITIALIZED', 'HELPER_UNAVAILABLE']) expect(isRetryable(coded(code)), code).toBe(true);
    for (const code of ['DEVICE_NOT_REGISTERED', 'ITEM_FAILED', 'VALIDATION_FAILED', 'USAGE', 'AGENT_INTERNAL', 'CONTENT_DIGEST_MISMATCH']) expect(isRetryable(coded(code)), code).toBe(false);
    // A proxy in front of the service answers 502 or 429 without the service's codes.
    expect(isRetryable(coded('SERVICE_RESPONSE_INVALID', 502))).toBe(true);
    expect(isRetryable(coded('SERVICE_RESPONSE_INVALID', 429))).toBe(true);
    expect(isRetryable(coded('SERVICE_RESPONSE_INVALID', 404))).toBe(false);
    expect(isRetryable('SERVICE_UNREACHABLE')).toBe(false);
    expect(isTransientNetworkError('ECONNRESET')).toBe(true);
    expect(isTransientNetworkError('CERT_HAS_EXPIRED')).toBe(false);
  });

  it("holds the catalogue to it: a service code is retryable exactly when its HTTP status is", () => {
    for (const entry of CATALOGUE.values()) {
      if (entry.http !== undefined && entry.origin === 'service') expect(entry.retryable, entry.code).toBe(isRetryableStatus(entry.http));
    }
  });

  it('has the engine wait longer than one request retries, and the network step check more often', () => {
    expect(SERVICE_WAIT.attempts).toBe(Number.POSITIVE_INFINITY);
    expect(PREFLIGHT_WAIT.maxDelayMs).toBeLessThan(SERVICE_WAIT.maxDelayMs);
    expect(ADMIN_RETRY.attempts).toBeLessThan(DEVICE_RETRY.attempts);
  });

  it('sends an admin POST again only when it cannot have been carried out; reads and the device API always', () => {
    expect(mayResend(ADMIN_RETRY, 'POST', { errno: 'ECONNREFUSED' })).toBe(true);
    expect(mayResend(ADMIN_RETRY, 'POST', { status: 429 })).toBe(true);
    expect(mayResend(ADMIN_RETRY, 'POST', { errno: 'ECONNRESET' })).toBe(false); // it may have arrived
    expect(mayResend(ADMIN_RETRY, 'POST', { status: 500 })).toBe(false);
    expect(mayResend(ADMIN_RETRY, 'GET', { errno: 'ECONNRESET' })).toBe(true);
    expect(mayResend(ADMIN_RETRY, 'PUT', { status: 502 })).toBe(true);
    expect(mayResend(DEVICE_RETRY, 'POST', { errno: 'ECONNRESET' })).toBe(true);
  });
});
