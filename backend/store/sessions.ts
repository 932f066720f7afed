// The web console's sessions: a browser signs in with an API token and gets a session instead (an
// HttpOnly cookie; the token itself never stays in the browser). A session acts as its token —
// same scope, same limits — and ends when it is idle too long, when it reaches its absolute
// lifetime, when its token is revoked or expires, or at sign-out. Kept in the database, so any
// replica answers any request.
import { createHash, randomBytes } from 'node:crypto';

import { now, type Db } from './database.js';
import type { AdminToken, TokenRepository } from './tokens.js';

export const SESSION_IDLE_MS = 15 * 60_000;
export const SESSION_LIFETIME_MS = 12 * 3_600_000;
/** last_seen_at is written at most this often. */
const TOUCH_RESOLUTION_MS = 30_000;

const digest = (id: string) => createHash('sha256').update(id, 'utf8').digest('hex');

export interface Session {
  token: AdminToken;
  csrf: string;
  expiresAt: string;
  /** When it ends if nothing more happens. */
  idleUntil: string;
}

export class SessionRepository {
  constructor(
    private readonly db: Db,
    private readonly tokens: TokenRepository,
  ) {}

  /** A new session for a live token: its id (the cookie) and CSRF token. */
  async open(token: AdminToken): Promise<{ id: string; session: Session }> {
    const id = randomBytes(32).toString('base64url');
    const csrf = randomBytes(32).toString('base64url');
    const at = now();
    const lifetimeEnd = Date.parse(at) + SESSION_LIFETIME_MS;
    const expires = new Date(token.expiresAt ? Math.min(lifetimeEnd, Date.parse(token.expiresAt)) : lifetimeEnd).toISOString();
    await this.db.insertInto('admin_sessions').values({ id_hash: digest(id), token_id: token.id, csrf, created_at: at, last_seen_at: at, expires_at: expires }).execute();
    if (Math.random() < 0.05) await this.purge();
    return { id, session: { token, csrf, expiresAt: expires, idleUntil: new Date(Date.parse(at) + SESSION_IDLE_MS).toISOString() } };
  }

  /** The live session with this id — its token still live — or undefined; a use keeps it from idling out. */
  async verify(id: string): Promise<Session | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
    const row = await this.db.selectFrom('admin_sessions').selectAll().where('id_hash', '=', digest(id)).executeTakeFirst();
    if (!row) return undefined;
    const at = Date.now();
    if (Date.parse(row.expires_at) <= at || Date.parse(row.last_seen_at) + SESSION_IDLE_MS <= at) {
      await this.db.deleteFrom('admin_sessions').where('id_hash', '=', row.id_hash).execute();
      return undefined;
    }
    const token = await this.tokens.live(row.token_id);
    if (!token) return undefined;
    let seen = row.last_seen_at;
    if (at - Date.parse(seen) > TOUCH_RESOLUTION_MS) {
      seen = new Date(at).toISOString();
      await this.db.updateTable('admin_sessions').set({ last_seen_at: seen }).where('id_hash', '=', row.id_hash).execute();
    }
    return { token, csrf: row.csrf, expiresAt: row.expires_at, idleUntil: new Date(Math.min(Date.parse(seen) + SESSION_IDLE_MS, Date.parse(row.expires_at))).toISOString() };
  }

  /** Whether the session still stands (not signed out, not past its lifetime), without counting this as a use. */
  async standing(id: string): Promise<boolean> {
    const row = await this.db.selectFrom('admin_sessions').select(['expires_at']).where('id_hash', '=', digest(id)).executeTakeFirst();
    return row !== undefined && Date.parse(row.expires_at) > Date.now();
  }

  async close(id: string): Promise<void> {
    await this.db.deleteFrom('admin_sessions').where('id_hash', '=', digest(id)).execute();
  }

  private async purge(): Promise<void> {
    await this.db
      .deleteFrom('admin_sessions')
      .where((eb) => eb.or([eb('expires_at', '<=', now()), eb('last_seen_at', '<=', new Date(Date.now() - SESSION_IDLE_MS).toISOString())]))
      .execute();
  }
}
