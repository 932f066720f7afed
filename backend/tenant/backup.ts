// `selfdeploy-server backup FILE` / `restore FILE` (docs/operations.md "Backup and restore"): one
// file that holds what a tenant is — the data directory's configuration, certificates and private
// keys, and, on SQLite, the database itself, copied online while the service runs. The file is an
// SQLite database: the copy plus two tables of our own (the manifest, the data directory's files),
// so it is written with SQLite's own backup API and checked with its integrity check. PostgreSQL
// databases are dumped with pg_dump beside it (the documented route): the file then holds the data
// directory only. Nothing is overwritten by a restore without being kept: what it replaces is
// renamed NAME.before-restore-TIME.
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

import SqliteDatabase from 'better-sqlite3';
import { z } from 'zod';

import type { ErrorCode } from '../../protocol/errors/catalogue.js';
import type { CodedError } from '../../protocol/errors/report.js';
import { parseStoreUrl } from '../store/database.js';
import { LATEST_MIGRATION, migrations } from '../store/migrations.js';
import { DataDir, ServiceConfigSchema } from './data-dir.js';

export class BackupError extends Error implements CodedError {
  constructor(
    readonly code: Extract<ErrorCode, 'BACKUP_INVALID' | 'OUTPUT_FILE_EXISTS' | 'BACKUP_NEWER_VERSION' | 'SERVICE_RUNNING' | 'SERVICE_CONFIG_INVALID'>,
    message: string,
  ) {
    super(message);
  }
}

/** A data directory file in a backup: its path (relative, forward slashes), mode and digest. */
const BackupFileSchema = z.object({
  path: z
    .string()
    .max(255)
    .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/)
    .refine((p) => p.split('/').every((part) => part !== '.' && part !== '..'), 'must stay inside the data directory'),
  mode: z.number().int().min(0).max(0o777),
  size: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export const BackupManifestSchema = z.object({
  format: z.literal(1),
  createdAt: z.string(),
  /** The selfdeploy-server version that made it. */
  version: z.string(),
  store: z.enum(['sqlite', 'postgres']),
  /** The database's schema (its newest migration) at the time; null when the database is not in the file (PostgreSQL). */
  schema: z.string().nullable(),
  organization: z.string().nullable(),
  files: z.array(BackupFileSchema).max(1000),
});
export type BackupManifest = z.output<typeof BackupManifestSchema>;

/** The tables a backup adds to the database copy (dropped again on restore). */
const MANIFEST_TABLE = 'selfdeploy_backup';
const FILES_TABLE = 'selfdeploy_backup_files';
/** Data directory files larger than this are not the tenant's (keys and configuration are a few KB). */
const FILE_MAX_BYTES = 16 * 1024 * 1024;

export type Progress = (donePages: number, totalPages: number) => void;

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const stamp = (at: Date) => at.toISOString().replace(/[:.]/g, '-');

/** The SQLite database file of a data directory, or null when its store is PostgreSQL. */
function sqlitePath(dir: DataDir, db: string): string | null {
  const location = parseStoreUrl(db, dir.path);
  return location.kind === 'sqlite' ? location.path : null;
}

/** The database files SQLite keeps beside `path`. */
const sqliteFiles = (path: string) => [path, `${path}-wal`, `${path}-shm`, `${path}-journal`];

/** The data directory's own files: everything regular in it but the database, logs, and what restores and atomic writes leave. */
function dataFiles(dir: DataDir, database: string | null): string[] {
  const skip = new Set(database ? sqliteFiles(database) : []);
  const found: string[] = [];
  const walk = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && !skip.has(full) && !/\.before-restore-|\.tmp-\d+$|\.partial$|\.log$/.test(entry.name)) found.push(full);
    }
  };
  walk(dir.path);
  return found.sort();
}

/**
 * SQLite's online backup from `source` to the file `to`, in steps (for progress). A step that
 * finds the source changed by another connection starts over; once that happens the rest is copied
 * in one step, so a busy service cannot keep the copy from finishing.
 */
async function copyDatabase(source: SqliteDatabase.Database, to: string, progress?: Progress): Promise<void> {
  let lastRemaining = Number.POSITIVE_INFINITY;
  let restarted = false;
  await source.backup(to, {
    progress: ({ totalPages, remainingPages }) => {
      progress?.(totalPages - remainingPages, totalPages);
      if (remainingPages > lastRemaining) restarted = true;
      lastRemaining = remainingPages;
      return restarted ? totalPages : Math.max(64, Math.ceil(totalPages / 50));
    },
  });
  // The last step reports nothing: the copy is whole.
  const total = source.pragma('page_count', { simple: true }) as number;
  progress?.(total, total);
}

function fsyncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface BackupResult {
  file: string;
  manifest: BackupManifest;
  /** The database's size in the file (bytes; 0 on PostgreSQL). */
  databaseBytes: number;
}

/** Writes the backup of the tenant in `dataDir` to `file` (mode 0600; written beside it, then renamed into place). */
export async function backupTenant(options: { dataDir: string; file: string; version: string; progress?: Progress; at?: Date }): Promise<BackupResult> {
  const dir = new DataDir(options.dataDir);
  const config = dir.readConfig();
  const database = sqlitePath(dir, config.db);
  if (existsSync(options.file)) throw new BackupError('OUTPUT_FILE_EXISTS', `${options.file} exists already; give a new file name (a backup never overwrites a file)`);
  mkdirSync(dirname(options.file), { recursive: true });
  const partial = `${options.file}.partial`;
  rmSync(partial, { force: true });
  try {
    let schema: string | null = null;
    let organization: string | null = null;
    if (database) {
      if (!existsSync(database)) throw new BackupError('SERVICE_CONFIG_INVALID', `the database ${database} (config.json "db") does not exist`);
      const source = new SqliteDatabase(database, { readonly: true, fileMustExist: true });
      try {
        source.pragma('busy_timeout = 5000');
        await copyDatabase(source, partial, options.progress);
      } finally {
        source.close();
      }
    }
    const copy = new SqliteDatabase(partial);
    try {
      chmodSync(partial, 0o600);
      if (database) {
        schema = (copy.prepare('select max(name) as name from kysely_migration').get() as { name: string | null }).name;
        organization = (copy.prepare('select organization_name as name from tenant limit 1').get() as { name: string } | undefined)?.name ?? null;
      }
      copy.pragma('journal_mode = DELETE');
      copy.exec(`create table ${MANIFEST_TABLE} (manifest text not null); create table ${FILES_TABLE} (path text primary key, content blob not null)`);
      const files = dataFiles(dir, database).map((path) => {
        const stat = lstatSync(path);
        if (stat.size > FILE_MAX_BYTES) throw new BackupError('SERVICE_CONFIG_INVALID', `${path} is ${stat.size} bytes: the data directory holds only keys and configuration; move that file out of it`);
        const content = readFileSync(path);
        return { path: relative(dir.path, path).split(sep).join('/'), mode: stat.mode & 0o777, size: content.length, sha256: sha256(content), content };
      });
      const manifest: BackupManifest = BackupManifestSchema.parse({
        format: 1,
        createdAt: (options.at ?? new Date()).toISOString(),
        version: options.version,
        store: database ? 'sqlite' : 'postgres',
        schema,
        organization,
        files: files.map(({ content: _content, ...file }) => file),
      });
      copy.transaction(() => {
        copy.prepare(`insert into ${MANIFEST_TABLE} (manifest) values (?)`).run(JSON.stringify(manifest));
        const insert = copy.prepare(`insert into ${FILES_TABLE} (path, content) values (?, ?)`);
        for (const file of files) insert.run(file.path, file.content);
      })();
      copy.close();
      fsyncFile(partial);
      renameSync(partial, options.file);
      return { file: options.file, manifest, databaseBytes: database ? lstatSync(options.file).size : 0 };
    } finally {
      if (copy.open) copy.close();
    }
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  }
}

/** Opens a backup file and checks it whole: SQLite, intact, a manifest this version reads, every file as the manifest says. */
export function readBackup(file: string): { db: SqliteDatabase.Database; manifest: BackupManifest; files: Map<string, Buffer> } {
  if (!existsSync(file)) throw new BackupError('BACKUP_INVALID', `there is no file ${file}`);
  let db: SqliteDatabase.Database;
  try {
    db = new SqliteDatabase(file, { readonly: true, fileMustExist: true });
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new BackupError('BACKUP_INVALID', `${file} is damaged (SQLite: ${String(check)})`);
  } catch (error) {
    if (error instanceof BackupError) throw error;
    throw new BackupError('BACKUP_INVALID', `${file} is not a selfdeploy-server backup (${(error as Error).message})`);
  }
  try {
    // An SQLite file without our table is some other database.
    const hasManifest = db.prepare("select 1 from sqlite_master where type = 'table' and name = ?").get(MANIFEST_TABLE) !== undefined;
    const row = hasManifest ? (db.prepare(`select manifest from ${MANIFEST_TABLE}`).get() as { manifest: string } | undefined) : undefined;
    if (!row) throw new BackupError('BACKUP_INVALID', `${file} is an SQLite database but not a selfdeploy-server backup (no manifest)`);
    let raw: unknown;
    try {
      raw = JSON.parse(row.manifest);
    } catch {
      throw new BackupError('BACKUP_INVALID', `${file}: its manifest is not JSON`);
    }
    if ((raw as { format?: unknown }).format !== 1) throw new BackupError('BACKUP_NEWER_VERSION', `${file} is in backup format ${JSON.stringify((raw as { format?: unknown }).format)}; this version reads format 1: restore it with the version that made it`);
    const parsed = BackupManifestSchema.safeParse(raw);
    if (!parsed.success) throw new BackupError('BACKUP_INVALID', `${file}: its manifest is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
    const manifest = parsed.data;
    const known = Object.keys(migrations('sqlite'));
    if (manifest.schema !== null && !known.includes(manifest.schema)) {
      throw new BackupError('BACKUP_NEWER_VERSION', `${file} was made by selfdeploy-server ${manifest.version}, whose database schema (${manifest.schema}) is newer than this version's (${LATEST_MIGRATION}): restore it with that version or a later one`);
    }
    const files = new Map<string, Buffer>();
    for (const { path, content } of db.prepare(`select path, content from ${FILES_TABLE}`).all() as { path: string; content: Buffer }[]) files.set(path, content);
    for (const entry of manifest.files) {
      const content = files.get(entry.path);
      if (!content || content.length !== entry.size || sha256(content) !== entry.sha256) throw new BackupError('BACKUP_INVALID', `${file}: the data directory file ${entry.path} is missing or does not match its digest`);
    }
    if (files.size !== manifest.files.length) throw new BackupError('BACKUP_INVALID', `${file} holds files its manifest does not list`);
    if (!files.has('config.json')) throw new BackupError('BACKUP_INVALID', `${file} holds no config.json`);
    return { db, manifest, files };
  } catch (error) {
    db.close();
    throw error;
  }
}

/** The SQLite database a data directory is configured with now, if it is initialised and readable and on SQLite. */
function currentDatabase(dir: DataDir): string | null {
  if (!dir.initialized) return null;
  try {
    return sqlitePath(dir, dir.readConfig().db);
  } catch {
    return null; // a damaged config.json: the restore replaces it
  }
}

/** Refuses when a program has the SQLite database at `path` open (the service): checked with an exclusive lock that waits for nobody. */
function ensureNotInUse(path: string): void {
  if (!existsSync(path)) return;
  const probe = new SqliteDatabase(path, { fileMustExist: true });
  try {
    probe.pragma('busy_timeout = 0');
    probe.pragma('locking_mode = EXCLUSIVE');
    try {
      probe.exec('begin exclusive');
      probe.exec('commit');
    } catch (error) {
      if ((error as { code?: string }).code?.startsWith('SQLITE_BUSY')) {
        throw new BackupError('SERVICE_RUNNING', `${path} is open in another program (the service?): stop it first (systemctl stop selfdeploy-server), then restore`);
      }
      throw error;
    }
    // Everything in the write-ahead log into the database file, so that the file kept aside is whole.
    probe.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    probe.close();
  }
}

export interface RestoreResult {
  dataDir: string;
  manifest: BackupManifest;
  /** The SQLite database restored, or null when the backup's store is PostgreSQL (restore it with pg_restore). */
  database: string | null;
  /** What the restore replaced, kept under these names. */
  keptAside: string[];
}

/** Restores `file` into `dataDir` (made when missing); the service must not be running on it. */
export async function restoreTenant(options: { file: string; dataDir: string; progress?: Progress; at?: Date }): Promise<RestoreResult> {
  const backup = readBackup(options.file);
  try {
    const dir = new DataDir(options.dataDir);
    const suffix = `.before-restore-${stamp(options.at ?? new Date())}`;
    const config = ServiceConfigSchema.safeParse(JSON.parse(backup.files.get('config.json')!.toString('utf8')));
    if (!config.success) throw new BackupError('BACKUP_INVALID', `${options.file}: its config.json is not valid for this version`);
    const database = sqlitePath(dir, config.data.db);
    if (backup.manifest.store === 'sqlite' && !database) throw new BackupError('BACKUP_INVALID', `${options.file} holds an SQLite database but its config.json names PostgreSQL`);
    // The service must not hold the database it would lose: the one configured now, and the one to restore.
    for (const path of new Set([currentDatabase(dir), database])) if (path) ensureNotInUse(path);

    dir.create();
    const keptAside: string[] = [];
    const keepAside = (path: string) => {
      if (!existsSync(path)) return;
      renameSync(path, `${path}${suffix}`);
      keptAside.push(`${path}${suffix}`);
    };
    if (backup.manifest.store === 'sqlite' && database) {
      mkdirSync(dirname(database), { recursive: true });
      const partial = `${database}.partial`;
      rmSync(partial, { force: true });
      await copyDatabase(backup.db, partial, options.progress);
      const restored = new SqliteDatabase(partial);
      try {
        restored.exec(`drop table ${MANIFEST_TABLE}; drop table ${FILES_TABLE}`);
        restored.pragma('journal_mode = WAL');
      } finally {
        restored.close();
      }
      chmodSync(partial, 0o600);
      fsyncFile(partial);
      for (const path of sqliteFiles(database)) {
        if (path === database) keepAside(path);
        else rmSync(path, { force: true }); // the WAL was checkpointed into the database above
      }
      renameSync(partial, database);
    }
    for (const entry of backup.manifest.files) {
      const path = join(dir.path, ...entry.path.split('/'));
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      keepAside(path);
      // Owner-only, whatever the file said: the directory holds private keys.
      dir.write(path, backup.files.get(entry.path)!, entry.mode & 0o600 || 0o600);
    }
    return { dataDir: dir.path, manifest: backup.manifest, database: backup.manifest.store === 'sqlite' ? database : null, keptAside };
  } finally {
    backup.db.close();
  }
}

/** What `backup` writes beside a PostgreSQL tenant: the database's own dump, by its own tools. */
export function postgresDumpHint(db: string): string {
  const url = db.replace(/:[^:@/]*@/, ':***@');
  return `pg_dump --format=custom --file=selfdeploy.pgdump '${url}'`;
}
