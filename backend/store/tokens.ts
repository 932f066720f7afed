// Admin API tokens. The token itself is shown once; the store keeps only its SHA-256 (tokens are
// 256-bit random, so a slow password hash would add nothing), its scope and its use.
import { createHash, randomBytes, randomUUID } from 'node:crypto';

import type { TokenScope } from '../../protocol/api/admin.js';
import { now, type AdminTokenTable, type Db } from './database.js';

export const TOKEN_PREFIX = 'sdp_';

export interface AdminToken {
  id: string;
  name: string;
  scope: TokenScope;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  expiresAt: string | null;
  /** A technician or read-only token limited to these groups' devices (null: every device). */
  groups: string[] | null;
  /** … or to these group tags' devices. */
  groupTags: string[] | null;
}

export interface NewToken {
  name: string;
  scope: TokenScope;
  /** null: never. */
  expiresInDays: number | null;
  groups?: string[] | undefined;
  groupTags?: string[] | undefined;
}

const list = (text: string | null) => (text === null ? null : (JSON.parse(text) as string[]));

const toToken = (row: AdminTokenTable): AdminToken => ({
  id: row.id,
  name: row.name,
  scope: row.scope as TokenScope,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
  revokedAt: row.revoked_at,
  expiresAt: row.expires_at,
  groups: list(row.scope_groups),
  groupTags: list(row.scope_group_tags),
});

/** Whether the token sees only some devices. */
export function isScoped(token: Pick<AdminToken, 'groups' | 'groupTags'>): boolean {
  return token.groups !== null || token.groupTags !== null;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Writes last_used_at at most this often, not on every request. */
const LAST_USED_RESOLUTION_MS = 60_000;

export class TokenRepository {
  constructor(private readonly db: Db) {}

  async create(input: NewToken): Promise<{ token: string; record: AdminToken }> {
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const at = now();
    const scoped = input.scope !== 'admin' && (input.groups?.length || input.groupTags?.length);
    const row: AdminTokenTable = {
      id: randomUUID(),
      name: input.name,
      scope: input.scope,
      token_hash: hashToken(token),
      created_at: at,
      last_used_at: null,
      revoked_at: null,
      expires_at: input.expiresInDays === null ? null : new Date(Date.parse(at) + input.expiresInDays * 86_400_000).toISOString(),
      scope_groups: scoped ? JSON.stringify(input.groups ?? []) : null,
      scope_group_tags: scoped ? JSON.stringify(input.groupTags ?? []) : null,
    };
    await this.db.insertInto('admin_tokens').values(row).execute();
    return { token, record: toToken(row) };
  }

  /**
   * The token this secret belongs to, if it is live: not revoked and not expired. Read from the
   * database on every request, so a revocation holds at once on every replica.
   */
  async verify(token: string): Promise<AdminToken | undefined> {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > 100) return undefined;
    const at = now();
    const row = await this.db
      .selectFrom('admin_tokens')
      .selectAll()
      .where('token_hash', '=', hashToken(token))
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', at)]))
      .executeTakeFirst();
    if (!row) return undefined;
    if (!row.last_used_at || Date.parse(at) - Date.parse(row.last_used_at) > LAST_USED_RESOLUTION_MS) {
      await this.db.updateTable('admin_tokens').set({ last_used_at: at }).where('id', '=', row.id).execute();
      row.last_used_at = at;
    }
    return toToken(row);
  }

  async list(): Promise<AdminToken[]> {
    return (await this.db.selectFrom('admin_tokens').selectAll().orderBy('created_at').execute()).map(toToken);
  }

  /** The token with this id if it is live (not revoked, not expired). */
  async live(id: string): Promise<AdminToken | undefined> {
    const row = await this.db
      .selectFrom('admin_tokens')
      .selectAll()
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now())]))
      .executeTakeFirst();
    return row && toToken(row);
  }

  async get(id: string): Promise<AdminToken | undefined> {
    if (!/^[0-9a-f-]{36}$/.test(id)) return undefined;
    const row = await this.db.selectFrom('admin_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toToken(row);
  }

  async revoke(id: string): Promise<boolean> {
    const result = await this.db.updateTable('admin_tokens').set({ revoked_at: now() }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }
}
