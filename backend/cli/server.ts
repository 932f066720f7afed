#!/usr/bin/env node
// `selfdeploy-server`: create a tenant (init) and run the deployment service (start).
import { pathToFileURL } from 'node:url';

import type { Command } from 'commander';

import { CreateTokenRequestSchema, TOKEN_DEFAULT_DAYS } from '../../protocol/api/admin.js';
import { endpointPath } from '../../protocol/api/endpoint.js';
import { admin } from '../../protocol/api/endpoints.js';
import { BrandingSchema } from '../../protocol/branding.js';
import type { CliIo, CodedError } from '../../protocol/errors/report.js';
import { act, checkFlags, createProgram, optionError, progressBar, repeated, runProgram } from '../../protocol/node/command-line.js';
import { ServiceError } from '../errors.js';
import { buildApp } from '../http/app.js';
import { parseStoreUrl, StoreUrlError } from '../store/database.js';
import { LATEST_MIGRATION } from '../store/migrations.js';
import { Store } from '../store/store.js';
import { backupTenant, postgresDumpHint, restoreTenant } from '../tenant/backup.js';
import { DataDir, LOG_LEVELS, type LogLevel } from '../tenant/data-dir.js';
import { PublicUrlSchema, publicUrlsFromCertificate } from '../tenant/public-urls.js';
import { initTenant } from '../tenant/init.js';
import { serviceVersion } from '../version.js';

const SPEC = {
  name: 'selfdeploy-server',
  description: 'The selfdeploy deployment service: create a tenant once (init), then run it (start); on the service host, make a token when none is left and verify the audit log.',
  internal: 'CLI_INTERNAL',
} as const;

/** HOST:PORT, [IPv6]:PORT. */
function listenOf(command: Command, listen: string): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(listen);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535) throw optionError(command, `--listen takes HOST:PORT (e.g. 127.0.0.1:8443 or [::1]:8443), not "${listen}"`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

/** --db as given: sqlite:PATH or postgres://…, said before anything is created. */
function checkDb(command: Command, db: string | undefined): void {
  if (db === undefined) return;
  try {
    parseStoreUrl(db);
  } catch (error) {
    if (error instanceof StoreUrlError) throw optionError(command, `--db: ${error.message}`);
    throw error;
  }
}

interface InitFlags {
  data: string;
  org: string;
  db?: string;
  listen?: string;
  trustAnchor?: string[];
  swtpmLocalca?: string;
  ekDigest?: string[];
  hostname?: string[];
  publicUrl?: string[];
  httpsCert?: string;
  httpsKey?: string;
  httpsCa?: string;
  accentColor?: string;
  logo?: string;
  supportPhone?: string;
  supportEmail?: string;
  supportUrl?: string;
  bindEkOnFirstUse?: boolean;
  allowVirtualTpms?: boolean;
  json?: boolean;
}

async function init(options: InitFlags, command: Command, io: CliIo): Promise<void> {
  if (options.listen) listenOf(command, options.listen);
  checkDb(command, options.db);
  if ((options.httpsCert === undefined) !== (options.httpsKey === undefined)) throw optionError(command, '--https-cert FILE and --https-key FILE go together');
  for (const url of options.publicUrl ?? []) {
    if (!PublicUrlSchema.safeParse(url).success) throw optionError(command, `--public-url takes an https:// origin such as https://deploy.example:8443 (no path), not "${url}"`);
  }
  const support = {
    ...(options.supportPhone !== undefined ? { phone: options.supportPhone } : {}),
    ...(options.supportEmail !== undefined ? { email: options.supportEmail } : {}),
    ...(options.supportUrl !== undefined ? { url: options.supportUrl } : {}),
  };
  // The branding as init will store it, checked first so that a refusal names the flags.
  checkFlags(command, BrandingSchema, { organizationName: options.org, ...(options.accentColor !== undefined ? { accentColor: options.accentColor } : {}), support }, {
    organizationName: '--org',
    accentColor: '--accent-color',
    'support.phone': '--support-phone',
    'support.email': '--support-email',
    'support.url': '--support-url',
  });
  const result = await initTenant({
    dataDir: options.data,
    organizationName: options.org,
    ...(options.db ? { db: options.db } : {}),
    ...(options.listen ? { listen: options.listen } : {}),
    trustAnchors: options.trustAnchor ?? [],
    ...(options.swtpmLocalca ? { swtpmLocalCa: options.swtpmLocalca } : {}),
    ekDigests: options.ekDigest ?? [],
    hostnames: options.hostname ?? [],
    ...(options.publicUrl ? { publicUrls: options.publicUrl } : {}),
    ...(options.httpsCert ? { httpsCert: options.httpsCert } : {}),
    ...(options.httpsKey ? { httpsKey: options.httpsKey } : {}),
    ...(options.httpsCa ? { httpsCa: options.httpsCa } : {}),
    ...(options.accentColor ? { accentColor: options.accentColor } : {}),
    ...(options.logo ? { logo: options.logo } : {}),
    support,
    bindEkOnFirstUse: options.bindEkOnFirstUse ?? false,
    ...(options.allowVirtualTpms ? { allowVirtualTpms: true } : {}),
  });
  if (options.json) {
    io.stdout(JSON.stringify(result, null, 2) + '\n');
    return;
  }
  io.stdout(
    [
      `Tenant "${options.org}" initialised in ${result.dataDir}`,
      `  Database       ${result.db.replace(/:[^:@/]*@/, ':***@')}`,
      `  Service CA     ${result.serviceCaPath}  (agents and selfdeploy-admin trust this)`,
      `  Trust anchors  ${result.trustAnchors}`,
      ...result.trustAnchorOutcomes.filter((o) => o.outcome !== 'added').map((o) => `    ${o.file}: ${o.subject} — ${o.outcome}${o.detail ? ` (${o.detail})` : ''}`),
      `  Devices use    ${result.publicUrls.join(', ')}  (publicUrls in config.json: client assertions must be for one of these)`,
      `  Start with     selfdeploy-server start --data ${result.dataDir}   (listens on ${result.listen})`,
      '',
      'First admin token (shown only now; store it like a password):',
      `  ${result.adminToken}`,
      '',
    ].join('\n'),
  );
}

/** The service's address is taken: a failure of the process, not an answer of the service. */
class ListenAddressInUse extends Error implements CodedError {
  readonly code = 'LISTEN_ADDRESS_IN_USE' as const;
}

/** Why the service cannot listen where it was told to, as the catalogue says it. */
function listenError(error: unknown, host: string, port: number): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return new ListenAddressInUse(`${host}:${port} is already in use by another program`);
  if (code === 'EADDRNOTAVAIL') return new ServiceError('SERVICE_CONFIG_INVALID', `${host} is not an address of this machine (--listen, or "listen" in config.json)`);
  if (code === 'EACCES') return new ServiceError('SERVICE_CONFIG_INVALID', `this user may not listen on port ${port} (ports below 1024 need root or CAP_NET_BIND_SERVICE)`);
  return error;
}

/** The store of a data directory (or --db), migrated. */
async function openStore(dir: DataDir, db: string | undefined): Promise<Store> {
  try {
    return await Store.open(db ?? dir.readConfig().db, dir.path);
  } catch (error) {
    if (error instanceof StoreUrlError) throw new ServiceError('SERVICE_CONFIG_INVALID', `${dir.configPath}: ${error.message}`);
    throw error;
  }
}

/** Runs `work` on the data directory's store, then closes it. */
async function withStore<T>(options: { data: string; db?: string }, command: Command, work: (store: Store) => Promise<T>): Promise<T> {
  checkDb(command, options.db);
  const store = await openStore(new DataDir(options.data), options.db);
  try {
    await store.tenant.require();
    return await work(store);
  } finally {
    await store.close();
  }
}

interface StartFlags {
  data: string;
  db?: string;
  listen?: string;
  logLevel?: string;
}

async function start(options: StartFlags, command: Command, io: CliIo): Promise<void> {
  checkDb(command, options.db);
  if (options.logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(options.logLevel)) {
    throw optionError(command, `--log-level takes one of ${LOG_LEVELS.join(', ')}, not "${options.logLevel}"`);
  }
  const dir = new DataDir(options.data);
  const config = dir.readConfig();
  const { host, port } = listenOf(command, options.listen ?? config.listen);
  const store = await openStore(dir, options.db);
  try {
    await store.tenant.require();
    // Uploads a crash cut short left their chunks behind; an hour on, nobody finishes them.
    await store.contents.purgeAbandoned();
    const cert = dir.read(dir.tlsCertPath, 'HTTPS certificate');
    // Where devices reach the service: config.json says; a data directory from before, its certificate's names.
    const publicUrls = config.publicUrls ?? publicUrlsFromCertificate(cert, port);
    const app = await buildApp({
      store,
      version: serviceVersion(),
      https: { key: dir.read(dir.tlsKeyPath, 'HTTPS key'), cert },
      publicUrls: () => publicUrls,
      deviceCa: dir.deviceCa(),
      deviceRateLimitPerMinute: config.deviceRateLimitPerMinute,
      adminAuthFailuresPerMinute: config.adminAuthFailuresPerMinute,
      trustProxy: config.trustProxy,
      logLevel: (options.logLevel as LogLevel | undefined) ?? config.logLevel,
    });
    let stopping: Promise<void> | undefined;
    const stop = (signal: string) => {
      stopping ??= (async () => {
        app.log.info({ signal }, 'stopping: no new connections, finishing requests in flight');
        await app.close();
        await store.close();
        app.log.info('stopped');
      })();
      return stopping;
    };
    const stopped = new Promise<void>((resolve) => {
      for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void stop(signal).then(resolve));
    });
    try {
      await app.listen({ host, port });
    } catch (error) {
      await app.close();
      throw listenError(error, host, port);
    }
    io.stderr(`selfdeploy-server ${serviceVersion()}: listening on https://${host.includes(':') ? `[${host}]` : host}:${port} (store: ${store.kind})\n`);
    await stopped;
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
}

export function serverProgram(io: CliIo): Command {
  const program = createProgram({ ...SPEC, version: serviceVersion() });
  program
    .command('init')
    .description('create the tenant: data directory, service CA and HTTPS certificate, device CA, database, branding and TPM trust anchors; prints the first admin token once')
    .requiredOption('--data <DIR>', 'the data directory to create (0700)')
    .requiredOption('--org <NAME>', 'the organisation name the ESP shows')
    .option('--db <URL>', 'sqlite:PATH (default sqlite:selfdeploy.db in DIR) or postgres://USER@HOST:PORT/DB')
    .option('--listen <HOST:PORT>', 'where start listens (default 127.0.0.1:8443)')
    .option('--trust-anchor <PEM|DIR>', 'TPM manufacturer CA certificates: a PEM file or a directory of them (repeatable)', repeated)
    .option('--swtpm-localca <DIR>', "a swtpm local CA directory (labs): trust its root and intermediate, and allow virtual TPMs")
    .option('--ek-digest <HEX>', 'the EK public digest of a TPM without an EK certificate (repeatable)', repeated)
    .option('--hostname <NAME>', 'a name the self-issued HTTPS certificate covers (repeatable)', repeated)
    .option('--public-url <URL>', "an https:// origin devices reach the service at; client assertions must be for it (repeatable; default: the HTTPS certificate's names at the --listen port)", repeated)
    .option('--https-cert <FILE>', 'an HTTPS certificate chain to use instead of a self-issued one')
    .option('--https-key <FILE>', 'its private key')
    .option('--https-ca <FILE>', 'the CA agents trust for it')
    .option('--accent-color <#RRGGBB>', 'the ESP accent colour')
    .option('--logo <FILE>', 'a PNG, JPEG or script-free SVG, at most 512 KB')
    .option('--support-phone <PHONE>', 'the support phone number the ESP shows')
    .option('--support-email <EMAIL>', 'the support e-mail address')
    .option('--support-url <URL>', 'the support web page')
    .option('--bind-ek-on-first-use', 'a registration without an EK takes the EK of its first attestation')
    .option('--allow-virtual-tpms', 'let devices whose TPM is virtual (swtpm, a hypervisor\'s) self-deploy: for labs')
    .action(act((options: InitFlags, command: Command) => init({ ...options, json: command.optsWithGlobals<{ json?: boolean }>().json ?? false }, command, io)));
  program
    .command('start')
    .description('run the service (HTTPS) until SIGTERM or Ctrl-C')
    .requiredOption('--data <DIR>', 'the data directory from init')
    .option('--db <URL>', 'the database, when not the one in DIR/config.json')
    .option('--listen <HOST:PORT>', 'where to listen, when not where config.json says')
    .option('--log-level <LEVEL>', `how much to log: ${LOG_LEVELS.join(', ')} (default: logLevel in config.json, else info)`)
    .action(act((options: StartFlags, command: Command) => start(options, command, io)));

  const json = (command: Command) => command.optsWithGlobals<{ json?: boolean }>().json ?? false;
  const token = program.command('token').description('API tokens made on the service host itself: for when no admin token is left (lost, expired or revoked)');
  token
    .command('create')
    .description('a new API token, written straight to the database (audited as made by the service host); its secret is shown only now')
    .argument('<NAME>')
    .requiredOption('--data <DIR>', 'the data directory from init')
    .option('--db <URL>', 'the database, when not the one in DIR/config.json')
    .option('--scope <admin|technician|read-only>', 'default admin', 'admin')
    .option('--expires-in-days <N>', `days until it expires (default ${TOKEN_DEFAULT_DAYS})`)
    .action(
      act((name: string, options: { data: string; db?: string; scope: string; expiresInDays?: string }, command: Command) =>
        withStore(options, command, async (store) => {
          const body = checkFlags(command, CreateTokenRequestSchema, { name, scope: options.scope, ...(options.expiresInDays !== undefined ? { expiresInDays: Number(options.expiresInDays) } : {}) }, {
            name: 'NAME',
            scope: '--scope',
            expiresInDays: '--expires-in-days',
          });
          const { token: secret, record } = await store.tokens.create(body);
          await store.audit.append({ actor: { id: null, name: 'selfdeploy-server token create', kind: 'service' }, source: 'local', action: 'createToken', resource: endpointPath(admin.tenant.getToken, { id: record.id }), before: null, after: record });
          io.stdout(json(command) ? JSON.stringify({ ...record, token: secret }, null, 2) + '\n' : `Token ${record.name} (${record.scope}${record.expiresAt ? `, expires ${record.expiresAt}` : ''}), shown only now:\n  ${secret}\n`);
        }),
      ),
    );
  program
    .command('migrate')
    .description('bring the database to this version\'s schema and say what was applied (start does it too; replicas starting together migrate once)')
    .requiredOption('--data <DIR>', 'the data directory from init')
    .option('--db <URL>', 'the database, when not the one in DIR/config.json')
    .action(
      act((options: { data: string; db?: string }, command: Command) =>
        withStore(options, command, (store) => {
          const result = { applied: store.migrated, schema: LATEST_MIGRATION, store: store.kind };
          io.stdout(
            json(command)
              ? JSON.stringify(result, null, 2) + '\n'
              : store.migrated.length
                ? `Migrated the ${store.kind} database to ${LATEST_MIGRATION}: applied ${store.migrated.join(', ')}.\n`
                : `The ${store.kind} database is up to date (${LATEST_MIGRATION}); nothing to apply.\n`,
          );
          return Promise.resolve();
        }),
      ),
    );
  program
    .command('audit-verify')
    .description("walk the audit log's hash chain in the database itself (not through the API): exits 1 and names the entry when one was changed, removed or cut off")
    .requiredOption('--data <DIR>', 'the data directory from init')
    .option('--db <URL>', 'the database, when not the one in DIR/config.json')
    .action(
      act((options: { data: string; db?: string }, command: Command) =>
        withStore(options, command, async (store) => {
          const verdict = await store.audit.verify();
          io.stdout(
            json(command)
              ? JSON.stringify(verdict, null, 2) + '\n'
              : verdict.ok
                ? `The audit log is intact: ${verdict.entries} entries chain to its head.\n`
                : `The audit log is broken at entry ${verdict.broken!.seq}: ${verdict.broken!.reason}\n`,
          );
          return verdict.ok ? 0 : 1;
        }),
      ),
    );
  program
    .command('backup')
    .description('write the tenant to FILE, online while the service runs: the data directory (configuration, certificates, private keys) and, on SQLite, the database; on PostgreSQL, dump the database with pg_dump beside it')
    .argument('<FILE>', 'a new file (never overwritten); it holds private keys: keep it as safe as the data directory')
    .requiredOption('--data <DIR>', 'the data directory from init')
    .action(
      act(async (file: string, options: { data: string }, command: Command) => {
        const asJson = json(command);
        const bar = progressBar(io, 'Copying the database', asJson, pages);
        const result = await backupTenant({ dataDir: options.data, file, version: serviceVersion(), progress: bar.update }).finally(bar.end);
        const { manifest } = result;
        if (asJson) {
          io.stdout(JSON.stringify({ file: result.file, ...manifest, databaseBytes: result.databaseBytes }, null, 2) + '\n');
          return;
        }
        io.stdout(
          [
            `Backed up ${manifest.organization ? `"${manifest.organization}"` : 'the tenant'} to ${result.file}:`,
            manifest.store === 'sqlite' ? `  Database        SQLite, schema ${manifest.schema}, ${(result.databaseBytes / 1024 / 1024).toFixed(1)} MiB (copied online)` : '  Database        PostgreSQL: not in this file; dump it with its own tools (docs/operations.md, "Backup and restore"):',
            ...(manifest.store === 'postgres' ? [`                    ${postgresDumpHint(new DataDir(options.data).readConfig().db)}`] : []),
            `  Data directory  ${manifest.files.length} files: ${manifest.files.map((f) => f.path).join(', ')}`,
            '  The file holds the private keys of the device CA and of HTTPS: keep it as safe as the data directory.',
            '',
          ].join('\n'),
        );
      }),
    );
  program
    .command('restore')
    .description('put a backup back into DIR (made when missing) with the service stopped: what it replaces is kept as NAME.before-restore-TIME; start then brings the schema to this version')
    .argument('<FILE>', 'a file selfdeploy-server backup wrote')
    .requiredOption('--data <DIR>', 'the data directory to restore into')
    .action(
      act(async (file: string, options: { data: string }, command: Command) => {
        const asJson = json(command);
        const bar = progressBar(io, 'Restoring the database', asJson, pages);
        const result = await restoreTenant({ file, dataDir: options.data, progress: bar.update }).finally(bar.end);
        const { manifest } = result;
        if (asJson) {
          io.stdout(JSON.stringify(result, null, 2) + '\n');
          return;
        }
        io.stdout(
          [
            `Restored the backup of ${manifest.organization ? `"${manifest.organization}"` : 'the tenant'} made ${manifest.createdAt} by selfdeploy-server ${manifest.version} into ${result.dataDir}:`,
            result.database ? `  Database        ${result.database} (schema ${manifest.schema})` : '  Database        PostgreSQL: restore its dump with pg_restore --clean --if-exists --dbname URL selfdeploy.pgdump (docs/operations.md, "Backup and restore")',
            `  Data directory  ${manifest.files.length} files`,
            ...(result.keptAside.length ? ['  Kept aside      ' + result.keptAside.join('\n                  ')] : []),
            `  Start with      selfdeploy-server start --data ${result.dataDir}${manifest.schema && manifest.schema !== LATEST_MIGRATION ? `  (it migrates the database from ${manifest.schema} to ${LATEST_MIGRATION})` : ''}`,
            '',
          ].join('\n'),
        );
      }),
    );
  return program;
}

/** SQLite pages (4 KiB by default) as a progress bar's unit. */
const pages = (n: number) => `${n} pages`;

export function main(argv: string[], io: CliIo): Promise<number> {
  return runProgram(serverProgram(io), argv, io, SPEC);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    isTTY: process.stderr.isTTY,
  });
}
