// The audit log: every change made through the admin API (and the few a device makes on its own,
// such as re-provisioning), appended in one chain — each entry carries the SHA-256 of the one
// before it, and the head row holds the last — so an entry edited, removed or cut off the end
// shows when the chain is verified. Appends lock the head row, so the entries of every replica
// form one chain. Secrets never reach it: what is recorded passes through `redacted` first.
import { createHash } from 'node:crypto';

import type { AuditEntry } from '../../protocol/api/fleet.js';
import { now, type AuditLogTable, type Db, type StoreKind, transact } from './database.js';
import { AUDIT_GENESIS } from './migrations.js';

export interface AuditActor {
  id: string | null;
  name: string;
  /** The token's scope, "device" or "service". */
  kind: string;
}

export interface NewAuditEntry {
  actor: AuditActor;
  source: string;
  action: string;
  resource: string;
  before: unknown;
  after: unknown;
  /** What the call asked for: its JSON body (or a summary of a CSV or binary one). */
  request?: unknown;
}

export interface AuditQuery {
  since?: string | undefined;
  until?: string | undefined;
  actor?: string | undefined;
  action?: string | undefined;
  resource?: string | undefined;
  limit: number;
  before?: number | undefined;
}

/** Keys whose values are secrets (a Wi-Fi key, a token's value, a password): never recorded. */
const SECRET_KEY = /^(token|psk|password|passphrase|secret|privateKey|privateKeyPem|clientSecret|bindPassword)$/i;

/** A copy of `value` with every secret field's value replaced by "[redacted]". */
export function redacted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redacted);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, SECRET_KEY.test(key) && v !== null && v !== undefined ? '[redacted]' : redacted(v)]));
  }
  return value;
}

/** The hash of an entry as stored: its fields (JSON text as stored) after the previous hash. */
export function entryHash(row: Omit<AuditLogTable, 'hash'>): string {
  const fields = [row.seq, row.at, row.actor_id, row.actor_name, row.actor_kind, row.source, row.action, row.resource, row.request, row.before, row.after];
  return createHash('sha256').update(row.prev_hash).update('\n').update(JSON.stringify(fields)).digest('hex');
}

function toEntry(row: AuditLogTable): AuditEntry {
  return {
    seq: Number(row.seq),
    at: row.at,
    actor: { id: row.actor_id, name: row.actor_name, kind: row.actor_kind },
    source: row.source,
    action: row.action,
    resource: row.resource,
    request: row.request === null ? null : (JSON.parse(row.request) as unknown),
    before: row.before === null ? null : (JSON.parse(row.before) as unknown),
    after: row.after === null ? null : (JSON.parse(row.after) as unknown),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

export class AuditRepository {
  constructor(
    private readonly db: Db,
    private readonly kind: StoreKind,
  ) {}

  async append(entry: NewAuditEntry): Promise<AuditEntry> {
    return transact(this.db, async (trx) => {
      let head = trx.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1);
      // PostgreSQL: replicas append one at a time. SQLite: the write transaction is already exclusive.
      if (this.kind === 'postgres') head = head.forUpdate();
      const { seq, hash } = await head.executeTakeFirstOrThrow();
      const row: Omit<AuditLogTable, 'hash'> = {
        seq: Number(seq) + 1,
        at: now(),
        actor_id: entry.actor.id,
        actor_name: entry.actor.name,
        actor_kind: entry.actor.kind,
        source: entry.source,
        action: entry.action,
        resource: entry.resource,
        before: entry.before === null || entry.before === undefined ? null : JSON.stringify(redacted(entry.before)),
        after: entry.after === null || entry.after === undefined ? null : JSON.stringify(redacted(entry.after)),
        request: entry.request === null || entry.request === undefined ? null : JSON.stringify(redacted(entry.request)),
        prev_hash: hash,
      };
      const stored: AuditLogTable = { ...row, hash: entryHash(row) };
      await trx.insertInto('audit_log').values(stored).execute();
      await trx.updateTable('audit_head').set({ seq: stored.seq, hash: stored.hash }).where('id', '=', 1).execute();
      return toEntry(stored);
    });
  }

  /** Entries newest first, filtered, a page at a time (`before`: the seq to continue below). */
  async list(query: AuditQuery): Promise<{ items: AuditEntry[]; nextBefore: number | null }> {
    let select = this.db.selectFrom('audit_log').selectAll();
    if (query.since) select = select.where('at', '>=', new Date(query.since).toISOString());
    if (query.until) select = select.where('at', '<', new Date(query.until).toISOString());
    if (query.actor) select = select.where((eb) => eb.or([eb('actor_name', '=', query.actor!), eb('actor_id', '=', query.actor!)]));
    if (query.action) select = select.where('action', '=', query.action);
    if (query.resource) {
      const prefix = query.resource;
      select = select.where((eb) => eb(eb.fn('substr', ['resource', eb.val(1), eb.val(prefix.length)]), '=', prefix));
    }
    if (query.before) select = select.where('seq', '<', query.before);
    const rows = await select.orderBy('seq', 'desc').limit(query.limit + 1).execute();
    const items = rows.slice(0, query.limit).map(toEntry);
    return { items, nextBefore: rows.length > query.limit ? (items.at(-1)?.seq ?? null) : null };
  }

  /**
   * Walks the whole chain: every entry must follow the one before (seq, previous hash), hash to
   * what it says, and the last must be the head. Returns the first break.
   */
  async verify(): Promise<{ ok: boolean; entries: number; broken: { seq: number; reason: string } | null }> {
    let previous = { seq: 0, hash: AUDIT_GENESIS };
    let entries = 0;
    const PAGE = 1000;
    for (;;) {
      const rows = await this.db.selectFrom('audit_log').selectAll().where('seq', '>', previous.seq).orderBy('seq').limit(PAGE).execute();
      for (const row of rows) {
        const seq = Number(row.seq);
        const broken = (reason: string) => ({ ok: false, entries, broken: { seq, reason } });
        if (seq !== previous.seq + 1) return broken(`entry ${previous.seq + 1} is missing (the next is ${seq})`);
        if (row.prev_hash !== previous.hash) return broken(`entry ${seq} does not chain to entry ${previous.seq}`);
        const { hash, ...rest } = row;
        if (entryHash({ ...rest, seq }) !== hash) return broken(`entry ${seq} was changed after it was written`);
        previous = { seq, hash };
        entries++;
      }
      if (rows.length < PAGE) break;
    }
    const head = await this.db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirst();
    if (!head || Number(head.seq) !== previous.seq || head.hash !== previous.hash) {
      return { ok: false, entries, broken: { seq: head ? Number(head.seq) : 0, reason: `the log ends at entry ${previous.seq} but its head says ${head ? Number(head.seq) : 'nothing'}: entries were removed from its end` } };
    }
    return { ok: true, entries, broken: null };
  }
}
