// Backup and restore as an operator does them, with the commands: an SQLite tenant backed up
// online while the running service keeps writing, restored into a new directory and in place
// (refused while the service runs; what it replaces kept aside); files that are not backups,
// damaged or tampered with, or from a newer version, refused with their codes and nothing written;
// and the PostgreSQL route — the data directory in the backup, the database with pg_dump and
// pg_restore — after the data directory and the database are both lost.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';

import { admin } from '../../protocol/api/endpoints.js';
import { ServiceClient } from '../../protocol/node/https-client.js';
import { csv, deviceRows } from '../../lab/identities.js';
import { createDatabase } from '../../lab/postgres.js';
import { startServiceProcess, type ServiceProcess } from '../../lab/service-process.js';
import { serverCli } from '../../main/installation/layout.js';
import { LATEST_MIGRATION } from '../store/migrations.js';

const exec = promisify(execFile);
const SERVER = serverCli();
const scratch = mkdtempSync(join(tmpdir(), 'selfdeploy-backup-'));
const server = (...args: string[]) => exec(process.execPath, [SERVER, ...args]);
const failed = (promise: Promise<unknown>) => promise.then(() => ({ code: 0, stdout: '', stderr: '' }), (error: { code: number; stdout: string; stderr: string }) => error);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function init(name: string, db?: string): Promise<{ data: string; token: string }> {
  const data = join(scratch, name);
  const { stdout } = await server('init', '--data', data, '--org', 'Fabrikam Backup', ...(db ? ['--db', db] : []), '--json');
  return { data, token: (JSON.parse(stdout) as { adminToken: string }).adminToken };
}

function clientOf(service: ServiceProcess, data: string, token: string): ServiceClient {
  return new ServiceClient({ server: service.url, ca: readFileSync(join(data, 'service-ca.pem'), 'utf8'), headers: { authorization: `Bearer ${token}` }, timeoutMs: 30_000 });
}

async function devicesOf(client: ServiceClient): Promise<{ groupTag: string | null }[]> {
  const devices = [];
  for (let cursor: string | null | undefined; ; ) {
    const page = await client.request(admin.devices.list, { query: { limit: 500, ...(cursor ? { cursor } : {}) } });
    devices.push(...page.items);
    cursor = page.nextCursor;
    if (!cursor) return devices;
  }
}

const deviceCount = async (client: ServiceClient) => (await devicesOf(client)).length;

/** Every file of a data directory with its content, the database aside. */
function filesOf(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const sub of ['', 'tls', 'device-ca']) for (const name of readdirSync(join(dir, sub))) if (name.endsWith('.pem') || name === 'config.json') out[join(sub, name)] = readFileSync(join(dir, sub, name), 'utf8');
  return out;
}

describe('backup and restore of an SQLite tenant', () => {
  it('backs up online while the service writes, restores into a new directory, and in place only once the service is stopped, keeping what it replaces', async () => {
    const { data, token } = await init('sqlite');
    const service = await startServiceProcess(data, readFileSync(join(data, 'service-ca.pem'), 'utf8'));
    const client = clientOf(service, data, token);
    let restoredService: ServiceProcess | undefined;
    try {
      await client.request(admin.devices.import, { body: csv(deviceRows(1, 50, 'Before')) });
      // Imports keep landing while the backup copies the database.
      let writing = true;
      let batch = 100;
      const writer = (async () => {
        while (writing) {
          await client.request(admin.devices.import, { body: csv(deviceRows(batch, 20, 'During')) });
          batch += 20;
        }
      })();
      const file = join(scratch, 'fabrikam.sdbackup');
      const made = await server('backup', file, '--data', data, '--json');
      writing = false;
      await writer;
      const manifest = JSON.parse(made.stdout) as { store: string; schema: string; organization: string; files: { path: string; mode: number }[] };
      expect(manifest).toMatchObject({ store: 'sqlite', schema: LATEST_MIGRATION, organization: 'Fabrikam Backup' });
      expect(manifest.files.map((f) => f.path).sort()).toEqual(['config.json', 'device-ca/ca-key.pem', 'device-ca/ca.pem', 'service-ca.pem', 'tls/server-key.pem', 'tls/server.pem', 'tls/service-ca-key.pem']);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const inBackup = (new SqliteDatabase(file, { readonly: true }).prepare('select count(*) as n from devices').get() as { n: number }).n;
      const atEnd = await deviceCount(client);
      expect(inBackup).toBeGreaterThanOrEqual(50);
      expect(inBackup).toBeLessThanOrEqual(atEnd);
      expect((inBackup - 50) % 20).toBe(0); // whole imports only: a consistent copy

      // A backup never overwrites a file.
      const again = await failed(server('backup', file, '--data', data));
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('OUTPUT_FILE_EXISTS');

      // Into a new directory: the same keys, the same tokens, the devices of the moment of the backup.
      const elsewhere = join(scratch, 'restored');
      const restored = await server('restore', file, '--data', elsewhere);
      expect(restored.stdout).toContain(`Restored the backup of "Fabrikam Backup"`);
      expect(filesOf(elsewhere)).toEqual(filesOf(data));
      expect(statSync(join(elsewhere, 'device-ca', 'ca-key.pem')).mode & 0o777).toBe(0o600);
      restoredService = await startServiceProcess(elsewhere, readFileSync(join(elsewhere, 'service-ca.pem'), 'utf8'));
      const restoredClient = clientOf(restoredService, elsewhere, token);
      expect(await deviceCount(restoredClient)).toBe(inBackup);
      expect((await devicesOf(restoredClient)).every((d) => ['Before', 'During'].includes(d.groupTag ?? ''))).toBe(true);
      restoredClient.close();
      await restoredService.stop();
      restoredService = undefined;

      // In place: refused while the service runs, and nothing changed.
      const before = readFileSync(join(data, 'selfdeploy.db'));
      const refused = await failed(server('restore', file, '--data', data));
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('SERVICE_RUNNING');
      expect(refused.stderr).toContain('stop it first');
      expect(readdirSync(data).filter((n) => n.includes('before-restore'))).toEqual([]);
      expect(readFileSync(join(data, 'selfdeploy.db')).equals(before)).toBe(true);
      await client.request(admin.devices.import, { body: csv(deviceRows(100_000, 5, 'After')) });
      const latest = await deviceCount(client);
      client.close();
      await service.stop();

      const inPlace = JSON.parse((await server('restore', file, '--data', data, '--json')).stdout) as { keptAside: string[]; database: string };
      expect(inPlace.database).toBe(join(data, 'selfdeploy.db'));
      const keptDb = inPlace.keptAside.find((p) => p.startsWith(join(data, 'selfdeploy.db.before-restore-')))!;
      expect(keptDb).toBeDefined();
      expect(inPlace.keptAside.filter((p) => p.includes('config.json.before-restore-'))).toHaveLength(1);
      // The replaced database is whole (its write-ahead log was folded in): the devices made after the backup are there.
      expect((new SqliteDatabase(keptDb, { readonly: true }).prepare('select count(*) as n from devices').get() as { n: number }).n).toBe(latest);
      expect((new SqliteDatabase(join(data, 'selfdeploy.db'), { readonly: true }).prepare("select count(*) as n from devices where group_tag = 'After'").get() as { n: number }).n).toBe(0);
      // The backup's own tables are not in the restored database.
      expect(new SqliteDatabase(join(data, 'selfdeploy.db'), { readonly: true }).prepare("select name from sqlite_master where name like 'selfdeploy_backup%'").all()).toEqual([]);
    } finally {
      client.close();
      await restoredService?.stop();
      await service.stop();
    }
  });

  it('refuses what is not a whole backup of a version it knows, naming why, and writes nothing', async () => {
    const { data } = await init('refusals');
    const good = join(scratch, 'good.sdbackup');
    // On a terminal, the copy shows its progress.
    const { main } = await import('../cli/server.js');
    let stderr = '';
    expect(await main(['backup', good, '--data', data], { stdout: () => undefined, stderr: (t) => (stderr += t), isTTY: true })).toBe(0);
    expect(stderr).toMatch(/Copying the database \[#{30}\] 100% {2}(\d+) pages of \1 pages\n$/);
    const target = join(scratch, 'never-written');
    const attempt = async (file: string) => {
      const result = await failed(server('restore', file, '--data', target, '--json'));
      expect(result.code).toBe(1);
      expect(existsSync(target)).toBe(false);
      return (JSON.parse(result.stdout) as { error: { code: string; message: string } }).error;
    };
    const variant = (name: string, change: (db: SqliteDatabase.Database) => void) => {
      const file = join(scratch, name);
      writeFileSync(file, readFileSync(good));
      const db = new SqliteDatabase(file);
      change(db);
      db.close();
      return file;
    };
    const manifestOf = (db: SqliteDatabase.Database) => JSON.parse((db.prepare('select manifest from selfdeploy_backup').get() as { manifest: string }).manifest) as Record<string, unknown> & { files: { path: string }[] };
    const setManifest = (db: SqliteDatabase.Database, manifest: unknown) => db.prepare('update selfdeploy_backup set manifest = ?').run(JSON.stringify(manifest));

    expect(await attempt(join(scratch, 'missing.sdbackup'))).toMatchObject({ code: 'BACKUP_INVALID', message: expect.stringContaining('there is no file') });
    writeFileSync(join(scratch, 'text.sdbackup'), 'hello, not a database');
    expect((await attempt(join(scratch, 'text.sdbackup'))).code).toBe('BACKUP_INVALID');
    writeFileSync(join(scratch, 'cut.sdbackup'), readFileSync(good).subarray(0, 8192));
    expect((await attempt(join(scratch, 'cut.sdbackup'))).code).toBe('BACKUP_INVALID');
    expect(await attempt(join(data, 'selfdeploy.db'))).toMatchObject({ code: 'BACKUP_INVALID', message: expect.stringContaining('not a selfdeploy-server backup (no manifest)') });
    const tampered = variant('tampered.sdbackup', (db) => db.prepare("update selfdeploy_backup_files set content = ? where path = 'device-ca/ca-key.pem'").run(Buffer.from('-----BEGIN PRIVATE KEY-----\nMINE\n')));
    expect(await attempt(tampered)).toMatchObject({ code: 'BACKUP_INVALID', message: expect.stringContaining('device-ca/ca-key.pem is missing or does not match its digest') });
    const escaping = variant('escaping.sdbackup', (db) => {
      const manifest = manifestOf(db);
      manifest.files[0]!.path = '../escaped.pem';
      setManifest(db, manifest);
    });
    expect(await attempt(escaping)).toMatchObject({ code: 'BACKUP_INVALID', message: expect.stringContaining('its manifest is not valid') });
    expect(existsSync(join(scratch, 'escaped.pem'))).toBe(false);
    const newer = variant('newer.sdbackup', (db) => setManifest(db, { ...manifestOf(db), version: '9.0.0', schema: '9999_future' }));
    expect(await attempt(newer)).toMatchObject({ code: 'BACKUP_NEWER_VERSION', message: expect.stringContaining('selfdeploy-server 9.0.0') });
    const format = variant('format.sdbackup', (db) => setManifest(db, { ...manifestOf(db), format: 2 }));
    expect((await attempt(format)).code).toBe('BACKUP_NEWER_VERSION');
  });
});

describe('backup and restore of a PostgreSQL tenant', () => {
  it('keeps the data directory in the backup and the database in pg_dump, and both come back after both are lost', async () => {
    const adminUrl = inject('postgresAdminUrl');
    const name = `backup_${randomBytes(4).toString('hex')}`;
    const db = await createDatabase(adminUrl, name);
    const { data, token } = await init('postgres', db);
    let service = await startServiceProcess(data, readFileSync(join(data, 'service-ca.pem'), 'utf8'));
    let client = clientOf(service, data, token);
    try {
      await client.request(admin.devices.import, { body: csv(deviceRows(300, 12, 'Pg')) });
      const file = join(scratch, 'postgres.sdbackup');
      const made = await server('backup', file, '--data', data);
      expect(made.stdout).toContain('PostgreSQL: not in this file');
      expect(made.stdout).toContain(`pg_dump --format=custom --file=selfdeploy.pgdump '${db}'`);
      const dump = join(scratch, 'selfdeploy.pgdump');
      await exec('pg_dump', ['--format=custom', `--file=${dump}`, db]);
      client.close();
      await service.stop();

      // Both lost: the data directory, and the database (dropped, then made again empty).
      rmSync(data, { recursive: true });
      const admin_ = new pg.Client({ connectionString: adminUrl });
      await admin_.connect();
      await admin_.query(`drop database ${name}`);
      await admin_.query(`create database ${name}`);
      await admin_.end();

      const restored = await server('restore', file, '--data', data);
      expect(restored.stdout).toContain('PostgreSQL: restore its dump with pg_restore');
      await exec('pg_restore', ['--clean', '--if-exists', '--no-owner', `--dbname=${db}`, dump]);
      service = await startServiceProcess(data, readFileSync(join(data, 'service-ca.pem'), 'utf8'));
      client = clientOf(service, data, token);
      expect(await deviceCount(client)).toBe(12);
    } finally {
      client.close();
      await service.stop();
    }
  });
});
