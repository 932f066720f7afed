// The service's package installs and serves: `npm run dist:server` installed with apt into a real
// Debian 13 root whose packages came from Debian alone — its user and private directories, the
// hardened unit verified and enabled, `init` as the service's user with the configuration in /etc
// and the database in /var/lib, the unit's ExecStart started as its User= on the root's own Node,
// readiness over HTTPS, a swtpm device enrolled through it by the real agent (`selfdeploy deploy`),
// the admin CLI and an online backup inside the root — then purged without a trace.
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { admin, device } from '../protocol/api/endpoints.js';
import { ServiceClient } from '../protocol/node/https-client.js';
import { DebianRoot, bootSupport, manifestDiff } from '../lab/debian-root.js';
import { clientAdminCall, seedDemoTenant } from '../lab/demo-tenant.js';
import { csv } from '../lab/identities.js';
import { freePort } from '../lab/net.js';
import { SwtpmLab, type LabTpm } from '../lab/swtpm.js';
import { FileIdentitySource, readDeviceIdentity } from '../main/identity/identity.js';
import { agentCli } from '../main/installation/layout.js';
import { Tpm } from '../main/tpm/tpm.js';

const exec = promisify(execFile);
const repo = join(import.meta.dirname, '..');
const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;
const CONFIG = '/etc/selfdeploy-server';
const STATE = '/var/lib/selfdeploy-server';
const boot = bootSupport();

let root: DebianRoot;
let lab: SwtpmLab;
let tpm: LabTpm;
let before: Map<string, string>;
let port: number;
let adminToken: string;
const scratch = mkdtempSync(join(tmpdir(), 'selfdeploy-server-deb-'));

function get(path: string, ca: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    httpsGet({ host: '127.0.0.1', port, path, ca }, (response) => {
      let body = '';
      response.on('data', (c: Buffer) => (body += c.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, type: String(response.headers['content-type']), body }));
    }).on('error', reject);
  });
}
const ready = (ca: string) => get(device.readiness.path, ca);

beforeAll(async () => {
  root = await DebianRoot.copy(inject('debianRoot'), join(inject('debianRoot'), `../server-deb-test-${process.pid}`));
  before = root.manifest();
  lab = await SwtpmLab.create();
  tpm = await lab.provision('tpm0');
  await tpm.start();
  port = await freePort();
});

afterAll(async () => {
  await root?.close();
  await lab?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('the selfdeploy-server deb in Debian 13', () => {
  it('installs with apt-get install ./selfdeploy-server_*.deb on the distribution\'s Node, both CLIs on the PATH', async () => {
    const installed = await root.aptInstall(inject('serverDeb'));
    expect(installed.status, installed.stdout + installed.stderr).toBe(0);
    expect(await root.ok(['dpkg-query', '-W', '-f=${Status} ${Version}', 'selfdeploy-server'])).toBe(`install ok installed ${version}`);
    expect(await root.ok(['selfdeploy-server', '--version'])).toBe(`selfdeploy-server ${version}\n`);
    expect(await root.ok(['selfdeploy-admin', '--version'])).toBe(`selfdeploy-admin ${version}\n`);
    expect(await root.ok(['dpkg-query', '-W', '-f=${Depends}', 'selfdeploy-server'])).toBe('nodejs (>= 20.19), adduser');
  });

  it('runs postinst: the selfdeploy-server system user, and its configuration and state private to it', () => {
    const passwd = root.read('/etc/passwd').split('\n').find((l) => l.startsWith('selfdeploy-server:'))!;
    expect(passwd.split(':')[6]).toBe('/usr/sbin/nologin');
    expect(Number(passwd.split(':')[2])).toBeLessThan(1000);
    for (const dir of [CONFIG, STATE]) {
      const stat = statSync(root.path(dir));
      expect(stat.mode & 0o7777, dir).toBe(0o700);
      expect(stat.uid, dir).toBe(root.account('selfdeploy-server').uid);
    }
  });

  it('has a hardened unit that systemd-analyze verifies, enabled, waiting for init', async () => {
    const verified = await root.run(['systemd-analyze', 'verify', 'selfdeploy-server.service']);
    expect(verified.status, verified.stderr).toBe(0);
    expect(verified.stderr + verified.stdout).toBe('');
    expect(await root.ok(['systemctl', 'is-enabled', 'selfdeploy-server.service'])).toBe('enabled\n');
    const unit = root.read('/usr/lib/systemd/system/selfdeploy-server.service');
    for (const line of ['User=selfdeploy-server', 'ProtectSystem=strict', `ReadWritePaths=${STATE}`, 'NoNewPrivileges=yes', 'ProtectHome=yes', 'PrivateTmp=yes', 'SystemCallFilter=@system-service', `ConditionPathExists=${CONFIG}/config.json`]) {
      expect(unit).toContain(`${line}\n`);
    }
  });

  it('initialises as its user — configuration and keys in /etc, the database in /var/lib — starts as its unit does, is ready, and a swtpm device self-deploys through it', async () => {
    // The lab's EK CA, where the service's user may read it.
    cpSync(join(lab.dir, 'ca'), root.path('/srv/lab-ca'), { recursive: true });
    await root.ok(['chown', '-R', 'selfdeploy-server:selfdeploy-server', '/srv/lab-ca']);
    const init = await root.ok(
      ['selfdeploy-server', 'init', '--data', CONFIG, '--db', `sqlite:${STATE}/selfdeploy.db`, '--org', 'Contoso Packaged', '--listen', `127.0.0.1:${port}`, '--swtpm-localca', '/srv/lab-ca', '--json'],
      { user: 'selfdeploy-server' },
    );
    adminToken = (JSON.parse(init) as { adminToken: string }).adminToken;
    expect(statSync(root.path(`${CONFIG}/device-ca/ca-key.pem`)).mode & 0o777).toBe(0o600);
    expect(statSync(root.path(`${STATE}/selfdeploy.db`)).uid).toBe(root.account('selfdeploy-server').uid);

    const ca = root.read(`${CONFIG}/service-ca.pem`);
    const service = await root.startService('selfdeploy-server.service', () => ready(ca).then((r) => r.status === 200, () => false), 30_000);
    expect(JSON.parse((await ready(ca)).body)).toEqual({ status: 'ok', version, store: 'sqlite' });
    // The web console came in the package.
    expect(await get('/admin/', ca)).toMatchObject({ status: 200, type: expect.stringContaining('text/html') });

    // Register the device by its hardware hash, and give it the lab's profile.
    const client = new ServiceClient({ server: new URL(`https://127.0.0.1:${port}`), ca, headers: { authorization: `Bearer ${adminToken}` }, timeoutMs: 30_000 });
    const identityFile = join(scratch, 'identity.json');
    writeFileSync(identityFile, JSON.stringify({ serial: 'PKG-0001', manufacturer: 'selfdeploy lab', model: 'swtpm VM', macs: ['02:00:00:00:99:01'] }));
    const handle = await Tpm.open({ tcti: tpm.tcti });
    const identity = await readDeviceIdentity(new FileIdentitySource(identityFile), handle).finally(() => handle.close());
    const call = clientAdminCall(client);
    const imported = await call(admin.devices.import, { body: csv([['PKG-0001', identity.hardwareHash, '', '']]) });
    await seedDemoTenant(call, { deviceId: imported.devices[0]!.id, rootCaPem: ca, timeoutMinutes: 30 });
    writeFileSync(join(scratch, 'service-ca.pem'), ca);

    // The real agent, as a technician runs it.
    mkdirSync(join(scratch, 'device'), { recursive: true });
    const agent = await exec(
      process.execPath,
      [agentCli(), 'deploy', '--json', '--server', `https://127.0.0.1:${port}`, '--ca', join(scratch, 'service-ca.pem'), '--tcti', tpm.tcti, '--root', join(scratch, 'device', 'root'), '--state', join(scratch, 'device', 'state'), '--identity', identityFile, '--wait', '60'],
      { timeout: 180_000, maxBuffer: 16 * 1024 * 1024 },
    ).catch((error: { code: number; stdout: string; stderr: string }) => error);
    expect('code' in agent ? agent.code : 0, 'stderr' in agent ? agent.stderr : '').toBe(0);
    const record = await call(admin.devices.get, { params: { id: imported.devices[0]!.id } });
    expect(record).toMatchObject({ state: 'deployed', certificatesIssued: 1 });
    client.close();

    // The admin CLI inside the root, and an online backup by the service's user while it runs.
    const env = { SELFDEPLOY_SERVER: `https://127.0.0.1:${port}`, SELFDEPLOY_CA: `${CONFIG}/service-ca.pem`, SELFDEPLOY_TOKEN: adminToken };
    expect(await root.ok(['selfdeploy-admin', 'devices', 'list'], { env })).toMatch(/PKG-0001\s+selfdeploy lab\s+swtpm VM\s+deployed/);
    const backup = await root.ok(['selfdeploy-server', 'backup', `${STATE}/before-upgrade.sdbackup`, '--data', CONFIG, '--json'], { user: 'selfdeploy-server' });
    expect(JSON.parse(backup)).toMatchObject({ store: 'sqlite', organization: 'Fabrikam Lobby' }); // the lab's branding
    // The service's log names the device it answered.
    expect(service.output()).toContain(`"actor":{"kind":"device","id":"${imported.devices[0]!.id}"}`);
  });

  // Named in the suite's summary: what this machine does not run, and why.
  it.skip(`starting selfdeploy-server.service under systemd itself, with its sandboxing (ProtectSystem, SystemCallFilter, capabilities) in force — ${boot.boot ? 'not built yet: the unit is started by its ExecStart as its User=' : boot.reason}`, () => undefined);

  it('is purged without a trace: the user, the configuration, the keys and the database go', async () => {
    await root.close(true); // stops the service (its namespace), keeps the root
    const purged = await root.run(['apt-get', 'purge', '--yes', 'selfdeploy-server'], { env: { DEBIAN_FRONTEND: 'noninteractive' } });
    expect(purged.status, purged.stdout + purged.stderr).toBe(0);
    expect((await root.run(['id', 'selfdeploy-server'])).status).not.toBe(0);
    const diff = manifestDiff(before, root.manifest());
    // apt's and dpkg's records and logs, the account databases' backup copies, and the lab CA the test put in /srv.
    const bookkeeping = /^\/(var\/lib\/dpkg\/|var\/log\/(apt|dpkg\.log|alternatives\.log)|var\/lib\/apt\/extended_states|etc\/(passwd|group|shadow|gshadow)-$|srv\/lab-ca)/;
    const unowned = (p: string) => bookkeeping.test(p);
    expect({ added: diff.added.filter((p) => !unowned(p)), removed: diff.removed.filter((p) => !unowned(p)), changed: diff.changed.filter((p) => !unowned(p)) }).toEqual({ added: [], removed: [], changed: [] });
  });
});
