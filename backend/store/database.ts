// The service's one query layer: Kysely over SQLite (better-sqlite3, WAL; the embedded default)
// or PostgreSQL (pg; for several service replicas), chosen by URL. Both hold the same tables,
// created by the same versioned migrations (migrations.ts); timestamps are ISO-8601 UTC text,
// booleans 0/1 integers and JSON documents text, so every query means the same on both.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresAdapter, PostgresDialect, SqliteDialect, sql, type Compilable, type CompiledQuery, type DialectAdapter, type QueryResult, type RawBuilder } from 'kysely';
import pg from 'pg';

import type { Database } from './tables.js';

// The tables' row types: tables.ts.
export type * from './tables.js';

export type StoreKind = 'sqlite' | 'postgres';

export type Db = Kysely<Database>;

/**
 * Runs `work` in a transaction of `db`, or in `db` itself when it is one already: a repository's
 * own transaction then joins the one Store.transaction opened (Kysely does not nest them).
 */
export function transact<T>(db: Db, work: (trx: Db) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db) : db.transaction().execute(work);
}

export class StoreUrlError extends Error {
  readonly code = 'SERVICE_CONFIG_INVALID' as const;
}

export type StoreLocation = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/** `sqlite:PATH` (relative to `base`) or `postgres://…` / `postgresql://…`. */
export function parseStoreUrl(url: string, base = process.cwd()): StoreLocation {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!path) throw new StoreUrlError('sqlite: needs a file path, e.g. sqlite:/var/lib/selfdeploy/selfdeploy.db');
    return { kind: 'sqlite', path: resolve(base, path) };
  }
  if (/^postgres(ql)?:\/\//.test(url)) return { kind: 'postgres', url };
  throw new StoreUrlError(`unsupported database URL "${url.replace(/:[^:@/]*@/, ':***@')}": use sqlite:PATH or postgres://USER@HOST:PORT/DB`);
}

/** The database connections a store holds: open (of at most `max`), idle, and queries waiting for one. */
export interface ConnectionUse {
  max: number;
  open: number;
  /** PostgreSQL only: SQLite has one connection, used in turn. */
  idle?: number;
  waiting?: number;
}

export interface OpenedDatabase {
  db: Db;
  kind: StoreKind;
  connections(): ConnectionUse;
  close(): Promise<void>;
}

export function openDatabase(location: StoreLocation): OpenedDatabase {
  if (location.kind === 'sqlite') {
    mkdirSync(dirname(location.path), { recursive: true });
    const database = new SqliteDatabase(location.path);
    database.pragma('journal_mode = WAL');
    database.pragma('foreign_keys = ON');
    database.pragma('busy_timeout = 5000');
    database.pragma('synchronous = NORMAL'); // durable with WAL at checkpoints; survives process crashes
    cachePreparedStatements(database);
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
    return { db, kind: 'sqlite', connections: () => ({ max: 1, open: database.open ? 1 : 0 }), close: () => db.destroy() };
  }
  const max = 10;
  const pool = new pg.Pool({ connectionString: location.url, max });
  pool.on('connect', namePreparedStatements);
  // An idle connection the server drops (restart, failover, idle timeout) must not take the
  // service down: the pool replaces it on the next query.
  pool.on('error', (error) => process.emitWarning(`PostgreSQL connection lost: ${error.message}`, 'StoreWarning'));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, kind: 'postgres', connections: () => ({ max, open: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }), close: () => db.destroy() };
}

/**
 * Kysely prepares every statement anew; preparing is a measurable share of the service's CPU
 * (bench:attest). The same SQL text always gives the same statement, so keep them (bounded).
 */
function cachePreparedStatements(database: SqliteDatabase.Database, limit = 1000): void {
  const prepare = database.prepare.bind(database);
  const statements = new Map<string, SqliteDatabase.Statement>();
  database.prepare = ((sql: string) => {
    let statement = statements.get(sql);
    if (!statement) {
      if (statements.size >= limit) statements.delete(statements.keys().next().value!);
      statement = prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  }) as typeof database.prepare;
}

export interface Prepared<A, O> {
  run(db: Db, values: A): Promise<QueryResult<O>>;
}

/** The SQL of prepared queries on PostgreSQL, with the name each is prepared under on a connection. */
const statementNames = new Map<string, string>();

/**
 * A PostgreSQL connection runs the SQL of a prepared query as a named statement: parsed and
 * planned once per connection, not on every call (Kysely sends the text each time).
 */
function namePreparedStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((text: unknown, ...rest: unknown[]) => {
    const name = typeof text === 'string' ? statementNames.get(text) : undefined;
    return name && Array.isArray(rest[0]) ? query({ name, text, values: rest[0] }, ...rest.slice(1)) : query(text, ...rest);
  }) as typeof client.query;
}

/** Where a prepared query takes the value of argument `name`. */
class Slot {
  constructor(readonly name: string) {}
}

/**
 * A query Kysely builds and compiles once per dialect, then runs with new values: building and
 * compiling cost more than SQLite's own work for a lookup by key (about 25 µs a statement in the
 * service under load), which the enrollment path pays some twenty times per device.
 *
 * `build` gets the argument names as stand-ins (`$.id`) and must use them only as values — never
 * look at them, branch on them or build SQL text from them. Values that never change (a state, a
 * limit) may be written in directly. `run` takes the values and gives Kysely's result: `rows`,
 * and `numAffectedRows` for an insert, update or delete.
 */
export function prepared<A extends object, O>(build: (db: Db, $: A) => Compilable<O>): Prepared<A, O> {
  // One compilation per dialect; a transaction shares its database's adapter.
  const compiled = new WeakMap<DialectAdapter, CompiledQuery<O>>();
  const stand = new Proxy({} as A, { get: (_, name) => new Slot(String(name)) });
  return {
    async run(db, values) {
      const adapter = db.getExecutor().adapter;
      let query = compiled.get(adapter);
      if (!query) {
        query = build(db, stand).compile();
        compiled.set(adapter, query);
        if (adapter instanceof PostgresAdapter && !statementNames.has(query.sql)) statementNames.set(query.sql, `selfdeploy_${statementNames.size + 1}`);
      }
      const parameters = query.parameters.map((parameter) => {
        if (!(parameter instanceof Slot)) return parameter;
        const value = (values as Record<string, unknown>)[parameter.name];
        if (value === undefined) throw new Error(`prepared query: no value for ${parameter.name}`);
        return value;
      });
      return db.executeQuery<O>({ ...query, parameters });
    },
  };
}

/**
 * The strings of a JSON array (`["a","b"]`) as a one-column subquery, for `in`: a list of any
 * length as one value, so that a prepared query can take it.
 */
export function jsonList(db: Db, list: unknown): RawBuilder<string> {
  return db.getExecutor().adapter instanceof PostgresAdapter ? sql<string>`(select jsonb_array_elements_text(${list}::jsonb))` : sql<string>`(select value from json_each(${list}))`;
}

/** A column compared byte-wise on both stores (PostgreSQL collations would reorder text). */
export function bytewise(kind: StoreKind, column: string): RawBuilder<string> {
  return kind === 'postgres' ? sql<string>`${sql.ref(column)} collate "C"` : sql<string>`${sql.ref(column)}`;
}

export function now(): string {
  return new Date().toISOString();
}
