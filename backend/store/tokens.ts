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
}

const toToken = (row: AdminTokenTable): AdminToken => ({
  id: row.id,
  name: row.name,
  scope: row.scope as TokenScope,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
  revokedAt: row.revoked_at,
});

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Writes last_used_at at most this often, not on every request. */
const LAST_USED_RESOLUTION_MS = 60_000;

export class TokenRepository {
  constructor(private readonly db: Db) {}

  async create(name: string, scope: TokenScope): Promise<{ token: string; record: AdminToken }> {
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const row: AdminTokenTable = {
      id: randomUUID(),
      name,
      scope,
      token_hash: hashToken(token),
      created_at: now(),
      last_used_at: null,
      revoked_at: null,
    };
    await this.db.insertInto('admin_tokens').values(row).execute();
    return { token, record: toToken(row) };
  }

  /** The live token this secret belongs to, or undefined. */
  async verify(token: string): Promise<AdminToken | undefined> {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > 100) return undefined;
    const row = await this.db
      .selectFrom('admin_tokens')
      .selectAll()
      .where('token_hash', '=', hashToken(token))
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (!row) return undefined;
    const at = now();
    if (!row.last_used_at || Date.parse(at) - Date.parse(row.last_used_at) > LAST_USED_RESOLUTION_MS) {
      await this.db.updateTable('admin_tokens').set({ last_used_at: at }).where('id', '=', row.id).execute();
      row.last_used_at = at;
    }
    return toToken(row);
  }

  async list(): Promise<AdminToken[]> {
    return (await this.db.selectFrom('admin_tokens').selectAll().orderBy('created_at').execute()).map(toToken);
  }

  async revoke(id: string): Promise<boolean> {
    const result = await this.db.updateTable('admin_tokens').set({ revoked_at: now() }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }
}
