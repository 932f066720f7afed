// Rate limits shared by every replica: a fixed counting window per limit ("scope") and client
// address, counted in the database with one atomic upsert per request, so that replicas behind a
// load balancer count one client together. Windows long over are swept now and then.
import { sql } from 'kysely';

import type { Db } from './database.js';

/** Windows that ended this long ago go at the next sweep. */
const KEEP_MS = 10 * 60_000;
/** A sweep every this many counts (per process). */
const SWEEP_EVERY = 500;

export interface RateWindow {
  /** Requests counted in the window, this one included. */
  count: number;
  /** When the window began (ms since the epoch). */
  startMs: number;
}

export class RateWindowRepository {
  private counted = 0;

  constructor(private readonly db: Db) {}

  /** Counts a request of `key` under `scope`: a window of `windowMs` starts at the first request after the last one ended. */
  async hit(scope: string, key: string, windowMs: number, now = Date.now()): Promise<RateWindow> {
    const expired = sql<boolean>`rate_windows.window_start + ${windowMs} <= ${now}`;
    const row = await this.db
      .insertInto('rate_windows')
      .values({ scope, key, window_start: now, count: 1 })
      .onConflict((oc) =>
        oc.columns(['scope', 'key']).doUpdateSet({
          count: sql`case when ${expired} then 1 else rate_windows.count + 1 end`,
          window_start: sql`case when ${expired} then ${now} else rate_windows.window_start end`,
        }),
      )
      .returning(['count', 'window_start'])
      .executeTakeFirstOrThrow();
    if (++this.counted % SWEEP_EVERY === 0) await this.sweep(now);
    return { count: Number(row.count), startMs: Number(row.window_start) };
  }

  /** The window of `key` under `scope` if it is still running, without counting. */
  async peek(scope: string, key: string, windowMs: number, now = Date.now()): Promise<RateWindow | undefined> {
    const row = await this.db.selectFrom('rate_windows').select(['count', 'window_start']).where('scope', '=', scope).where('key', '=', key).executeTakeFirst();
    if (!row || Number(row.window_start) + windowMs <= now) return undefined;
    return { count: Number(row.count), startMs: Number(row.window_start) };
  }

  async sweep(now = Date.now()): Promise<void> {
    await this.db.deleteFrom('rate_windows').where('window_start', '<', now - KEEP_MS).execute();
  }
}
