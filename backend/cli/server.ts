#!/usr/bin/env node
// `selfdeploy-server`: create a tenant (init) and run the deployment service (start).
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { UsageError, exitStatus, isCoded, reportError, type CliIo } from '../../protocol/errors/report.js';
import { ServiceError } from '../errors.js';
import { buildApp } from '../http/app.js';
import { Store } from '../store/store.js';
import { DataDir } from '../tenant/data-dir.js';
import { initTenant } from '../tenant/init.js';
import { serviceVersion } from '../version.js';

const USAGE = `Usage:
  selfdeploy-server init --data DIR --org NAME [--db URL] [--listen HOST:PORT]
                         [--trust-anchor PEM|DIR]... [--swtpm-localca DIR] [--ek-digest HEX]...
                         [--hostname NAME]... [--https-cert FILE --https-key FILE [--https-ca FILE]]
                         [--accent-color #RRGGBB] [--logo FILE] [--support-phone P]
                         [--support-email E] [--support-url URL] [--bind-ek-on-first-use] [--json]
  selfdeploy-server start --data DIR [--db URL] [--listen HOST:PORT]

init   creates the tenant: data directory, service CA and HTTPS certificate (self-issued unless
       --https-cert/--https-key), device CA, database (default sqlite:selfdeploy.db in DIR),
       branding and TPM trust anchors; writes DIR/service-ca.pem (what agents trust) and prints
       the first admin token, once.
start  runs the service (HTTPS, default 127.0.0.1:8443) until SIGTERM or Ctrl-C.
`;

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        data: { type: 'string' },
        org: { type: 'string' },
        db: { type: 'string' },
        listen: { type: 'string' },
        'trust-anchor': { type: 'string', multiple: true },
        'swtpm-localca': { type: 'string' },
        'ek-digest': { type: 'string', multiple: true },
        hostname: { type: 'string', multiple: true },
        'https-cert': { type: 'string' },
        'https-key': { type: 'string' },
        'https-ca': { type: 'string' },
        'accent-color': { type: 'string' },
        logo: { type: 'string' },
        'support-phone': { type: 'string' },
        'support-email': { type: 'string' },
        'support-url': { type: 'string' },
        'bind-ek-on-first-use': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function splitListen(listen: string): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(listen);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535) throw new UsageError(`--listen must be HOST:PORT, not "${listen}"`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

async function init(values: ReturnType<typeof parse>['values'], io: CliIo): Promise<void> {
  if (!values.data || !values.org) throw new UsageError('init needs --data DIR and --org NAME');
  if (values.listen) splitListen(values.listen);
  const support = {
    ...(values['support-phone'] ? { phone: values['support-phone'] } : {}),
    ...(values['support-email'] ? { email: values['support-email'] } : {}),
    ...(values['support-url'] ? { url: values['support-url'] } : {}),
  };
  const result = await initTenant({
    dataDir: values.data,
    organizationName: values.org,
    ...(values.db ? { db: values.db } : {}),
    ...(values.listen ? { listen: values.listen } : {}),
    trustAnchors: values['trust-anchor'] ?? [],
    ...(values['swtpm-localca'] ? { swtpmLocalCa: values['swtpm-localca'] } : {}),
    ekDigests: values['ek-digest'] ?? [],
    hostnames: values.hostname ?? [],
    ...(values['https-cert'] ? { httpsCert: values['https-cert'] } : {}),
    ...(values['https-key'] ? { httpsKey: values['https-key'] } : {}),
    ...(values['https-ca'] ? { httpsCa: values['https-ca'] } : {}),
    ...(values['accent-color'] ? { accentColor: values['accent-color'] } : {}),
    ...(values.logo ? { logo: values.logo } : {}),
    support,
    bindEkOnFirstUse: values['bind-ek-on-first-use'],
  });
  if (values.json) {
    io.stdout(JSON.stringify(result, null, 2) + '\n');
    return;
  }
  io.stdout(
    [
      `Tenant "${values.org}" initialised in ${result.dataDir}`,
      `  Database       ${result.db.replace(/:[^:@/]*@/, ':***@')}`,
      `  Service CA     ${result.serviceCaPath}  (agents and selfdeploy-admin trust this)`,
      `  Trust anchors  ${result.trustAnchors}`,
      `  Start with     selfdeploy-server start --data ${result.dataDir}   (listens on ${result.listen})`,
      '',
      'First admin token (shown only now; store it like a password):',
      `  ${result.adminToken}`,
      '',
    ].join('\n'),
  );
}

async function start(values: ReturnType<typeof parse>['values'], io: CliIo): Promise<void> {
  if (!values.data) throw new UsageError('start needs --data DIR');
  const dir = new DataDir(values.data);
  const config = dir.readConfig();
  const { host, port } = splitListen(values.listen ?? config.listen);
  const store = await Store.open(values.db ?? config.db, dir.path);
  try {
    await store.tenant.require();
    // Uploads a crash cut short left their chunks behind; an hour on, nobody finishes them.
    await store.contents.purgeAbandoned();
    const app = await buildApp({
      store,
      version: serviceVersion(),
      https: { key: dir.read(dir.tlsKeyPath, 'HTTPS key'), cert: dir.read(dir.tlsCertPath, 'HTTPS certificate') },
      deviceCa: dir.deviceCa(),
      deviceRateLimitPerMinute: config.deviceRateLimitPerMinute,
      trustProxy: config.trustProxy,
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
    await app.listen({ host, port });
    io.stderr(`selfdeploy-server ${serviceVersion()}: listening on https://${host.includes(':') ? `[${host}]` : host}:${port} (store: ${store.kind})\n`);
    await stopped;
  } catch (error) {
    await store.close().catch(() => undefined);
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new ServiceError('SERVICE_CONFIG_INVALID', `${host}:${port} is already in use`);
    throw error;
  }
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const json = argv.includes('--json');
  try {
    const { values, positionals } = parse(argv);
    if (values.help) {
      io.stdout(USAGE);
      return 0;
    }
    const [command, ...rest] = positionals;
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    if (command === 'init') await init(values, io);
    else if (command === 'start') await start(values, io);
    else throw new UsageError(command ? `unknown command "${command}"` : 'no command given');
    return 0;
  } catch (error) {
    if (isCoded(error)) {
      reportError('selfdeploy-server', error, io, json);
      if (error.code === 'USAGE' && !json) io.stderr(USAGE);
      return exitStatus(error.code);
    }
    io.stderr(`selfdeploy-server: internal error: ${(error as Error).message}\n`);
    if (process.env['SELFDEPLOY_DEBUG']) io.stderr(`${(error as Error).stack ?? ''}\n`);
    return 70;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
}
