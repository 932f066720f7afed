// Throttling guessed tokens: the admin API and the console's sign-in count failed token checks per
// client address, in one-minute windows: past the limit, the address is refused (429 with
// Retry-After) until its window ends — a guessed token gets few tries. One process counts in
// memory; replicas on PostgreSQL count together in the database (rate_windows), so a guesser gains
// nothing by spreading tries over them.
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';

import type { RateWindowRepository } from '../store/rate-windows.js';

const WINDOW_MS = 60_000;

export interface AuthFailures {
  /** Milliseconds until `address` may try again (0: now). */
  waitFor(address: string): Promise<number>;
  fail(address: string): Promise<void>;
}

/** One process's count, at most 10,000 addresses. */
export class LocalAuthFailures implements AuthFailures {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  waitFor(address: string): Promise<number> {
    const window = this.windows.get(address);
    if (!window) return Promise.resolve(0);
    const left = window.start + WINDOW_MS - this.now();
    if (left <= 0) {
      this.windows.delete(address);
      return Promise.resolve(0);
    }
    return Promise.resolve(window.count >= this.perMinute ? left : 0);
  }

  fail(address: string): Promise<void> {
    const window = this.windows.get(address);
    if (window && this.now() - window.start < WINDOW_MS) window.count++;
    else {
      this.windows.delete(address);
      if (this.windows.size >= 10_000) this.windows.delete(this.windows.keys().next().value!);
      this.windows.set(address, { start: this.now(), count: 1 });
    }
    return Promise.resolve();
  }
}

/** Every replica's count, in the database. */
export class SharedAuthFailures implements AuthFailures {
  constructor(
    private readonly windows: RateWindowRepository,
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  async waitFor(address: string): Promise<number> {
    const window = await this.windows.peek('admin-auth', address, WINDOW_MS, this.now());
    return window && window.count >= this.perMinute ? window.startMs + WINDOW_MS - this.now() : 0;
  }

  async fail(address: string): Promise<void> {
    await this.windows.hit('admin-auth', address, WINDOW_MS, this.now());
  }
}

/**
 * The device API's requests per minute per address, counted in the database for
 * @fastify/rate-limit (its `store` option) — each route its own count, as its in-memory store
 * keeps them — so that replicas count a client together.
 */
export function sharedRateLimitStore(windows: RateWindowRepository, now: () => number = Date.now): FastifyRateLimitStoreCtor {
  const storeFor = (scope: string): FastifyRateLimitStore => ({
    incr(key, callback, timeWindow) {
      const at = now();
      windows.hit(scope, key, timeWindow, at).then(
        (window) => callback(null, { current: window.count, ttl: Math.max(0, window.startMs + timeWindow - at) }),
        (error: Error) => callback(error),
      );
    },
    child(options) {
      // The plugin passes its merged settings, the route among them (typed as the route itself).
      const route = (options as unknown as { routeInfo?: { method?: string | string[]; url?: string } }).routeInfo ?? options;
      const method = Array.isArray(route.method) ? route.method.join(',') : (route.method ?? '');
      return storeFor(`device ${method} ${route.url ?? ''}`);
    },
  });
  return function SharedRateLimitStore() {
    return storeFor('device');
  } as unknown as FastifyRateLimitStoreCtor;
}
