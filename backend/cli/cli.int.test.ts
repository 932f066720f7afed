// selfdeploy-server and selfdeploy-admin as an operator runs them: the built commands, real HTTPS
// on loopback with the service CA from init, on SQLite and on PostgreSQL.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { DeviceListSchema } from '../../protocol/api/admin.js';
import { csv, deviceRows, hash } from '../../lab/identities.js';
import { LATEST_MIGRATION } from '../store/migrations.js';
import { freshDatabase } from '../testing/service.js';
import { freePort } from '../../lab/net.js';

const exec = promisify(execFile);
const dist = join(import.meta.dirname, '..', '..', 'dist', 'backend', 'cli');
const server = join(dist, 'server.js');
const admin = join(dist, 'admin.js');
const scratch = mkdtempSync(join(tmpdir(), 'selfdeploy-cli-'));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A command that is expected to fail: its exit status and output. */
const failed = (promise: Promise<unknown>) => promise.then(() => ({ code: 0, stdout: '', stderr: '' }), (error: { code: number; stdout: string; stderr: string }) => error);

function health(url: string, ca?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpsGet(`${url}/v1/health`, ca ? { ca } : {}, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

async function waitForHealth(url: string, ca: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
    try {
      if ((await health(url, ca)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('the server did not answer');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('selfdeploy-server init', () => {
  it('creates the data directory with private keys readable by its owner only, and prints the first token once', async () => {
    const data = join(scratch, 'init-human');
    const { stdout } = await exec(process.execPath, [server, 'init', '--data', data, '--org', 'Contoso', '--hostname', 'deploy.contoso.example']);
    expect(stdout).toMatch(/First admin token \(shown only now[^)]*\):\n {2}sdp_[A-Za-z0-9_-]{43}\n/);
    expect(statSync(data).mode & 0o777).toBe(0o700);
    for (const key of ['tls/server-key.pem', 'tls/service-ca-key.pem', 'device-ca/ca-key.pem', 'config.json']) {
      expect(statSync(join(data, key)).mode & 0o077, key).toBe(0);
    }
    const ca = new X509Certificate(readFileSync(join(data, 'service-ca.pem')));
    const leaf = new X509Certificate(readFileSync(join(data, 'tls', 'server.pem')));
    expect(leaf.checkIssued(ca) && leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.subjectAltName).toContain('DNS:deploy.contoso.example');
    expect(leaf.subjectAltName).toContain('IP Address:127.0.0.1');
    const deviceCa = new X509Certificate(readFileSync(join(data, 'device-ca', 'ca.pem')));
    expect(deviceCa.ca).toBe(true);
    expect(deviceCa.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const again = exec(process.execPath, [server, 'init', '--data', data, '--org', 'Contoso']);
    await expect(again).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('already initialised') });
    // Where devices reach it — what their client assertions must be for: the certificate's names at the port.
    // Not given, they are not stored: each start derives them from the certificate and the port it listens on.
    expect(JSON.parse(readFileSync(join(data, 'config.json'), 'utf8'))).not.toHaveProperty('publicUrls');
    expect(stdout).toContain('Devices use    https://localhost:8443, https://127.0.0.1:8443, https://[::1]:8443, https://deploy.contoso.example:8443');
  });

  it('takes the public URLs devices use (--public-url), and refuses one that is not an https:// origin', async () => {
    const data = join(scratch, 'init-public');
    await exec(process.execPath, [server, 'init', '--data', data, '--org', 'Contoso', '--public-url', 'https://deploy.contoso.example', '--public-url', 'https://DEPLOY.contoso.example:443/']);
    expect((JSON.parse(readFileSync(join(data, 'config.json'), 'utf8')) as { publicUrls: string[] }).publicUrls).toEqual(['https://deploy.contoso.example']);
    for (const url of ['http://deploy.contoso.example', 'https://deploy.contoso.example/selfdeploy', 'deploy.contoso.example']) {
      const refused = await failed(exec(process.execPath, [server, 'init', '--data', join(scratch, 'init-bad-url'), '--org', 'Contoso', '--public-url', url]));
      expect(refused.code, url).toBe(2);
      expect(refused.stderr).toContain(`--public-url takes an https:// origin such as https://deploy.example:8443 (no path), not "${url}"`);
    }
    expect(existsSync(join(scratch, 'init-bad-url'))).toBe(false);
  });

  it('trusts a swtpm local CA and EK digests given at init, and refuses a bad logo or org', async () => {
    const lab = join(scratch, 'fake-localca');
    const source = join(scratch, 'init-human');
    rmSync(lab, { recursive: true, force: true });
    await exec('mkdir', ['-p', lab]);
    writeFileSync(join(lab, 'swtpm-localca-rootca-cert.pem'), readFileSync(join(source, 'service-ca.pem')));
    writeFileSync(join(lab, 'issuercert.pem'), readFileSync(join(source, 'device-ca', 'ca.pem')));
    const { stdout } = await exec(process.execPath, [
      server, 'init', '--data', join(scratch, 'init-json'), '--org', 'Contoso', '--swtpm-localca', lab, '--ek-digest', 'AB'.repeat(32), '--json',
    ]);
    expect(JSON.parse(stdout)).toMatchObject({ trustAnchors: 3, adminToken: expect.stringMatching(/^sdp_/) });
    writeFileSync(join(scratch, 'logo.gif'), 'GIF89a not allowed');
    const badLogo = exec(process.execPath, [server, 'init', '--data', join(scratch, 'init-bad'), '--org', 'Contoso', '--logo', join(scratch, 'logo.gif')]);
    await expect(badLogo).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('BRANDING_INVALID') });
    expect(existsSync(join(scratch, 'init-bad'))).toBe(false);
    const leaf = join(scratch, 'leaf.pem');
    writeFileSync(leaf, readFileSync(join(source, 'tls', 'server.pem'), 'utf8').split('-----END CERTIFICATE-----')[0] + '-----END CERTIFICATE-----\n');
    const notCa = exec(process.execPath, [server, 'init', '--data', join(scratch, 'init-bad'), '--org', 'Contoso', '--trust-anchor', leaf]);
    await expect(notCa).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('is not a CA certificate') });
    expect(existsSync(join(scratch, 'init-bad'))).toBe(false); // checked before anything was written
    await exec(process.execPath, [server, 'init', '--data', join(scratch, 'init-bad'), '--org', 'Contoso']);
    const usage = exec(process.execPath, [server, 'init', '--data', join(scratch, 'init-usage')]);
    await expect(usage).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--org NAME') });
  });

  it('refuses a database it does not speak and flags it cannot use before creating anything, naming the flag', async () => {
    const mysql = await failed(exec(process.execPath, [server, 'init', '--data', join(scratch, 'init-mysql'), '--org', 'Contoso', '--db', 'mysql://db.example/selfdeploy']));
    expect(mysql.code).toBe(2);
    expect(mysql.stderr).toContain('--db: unsupported database URL');
    expect(mysql.stderr).not.toMatch(/internal/i);
    const colour = await failed(exec(process.execPath, [server, 'init', '--data', join(scratch, 'init-red'), '--org', 'Contoso', '--accent-color', 'red']));
    expect(colour.code).toBe(2);
    expect(colour.stderr).toContain('--accent-color: must be a #RRGGBB colour');
    expect(colour.stderr).not.toMatch(/send the request again/);
    for (const dir of ['init-mysql', 'init-red']) expect(existsSync(join(scratch, dir)), dir).toBe(false);
    expect((await exec(process.execPath, [server, '--version'])).stdout).toMatch(/^selfdeploy-server \d+\.\d+\.\d+\n$/);
    const help = (await exec(process.execPath, [server, 'start', '--help'])).stdout;
    expect(help).toMatch(/^Usage: selfdeploy-server start --data DIR/);
    expect(help).not.toContain('--org');
  });
});

describe.each(['sqlite', 'postgres'] as const)('a running service on %s', (kind) => {
  let child: ChildProcess;
  let url: string;
  let data: string;
  let token: string;
  let env: NodeJS.ProcessEnv;
  let serviceLog = '';

  const run = (...args: string[]) => exec(process.execPath, [admin, ...args], { env });

  beforeAll(async () => {
    data = join(scratch, `service-${kind}`);
    const db = await freshDatabase(kind, data, kind === 'postgres' ? inject('postgresAdminUrl') : undefined);
    const port = await freePort();
    url = `https://127.0.0.1:${port}`;
    const init = await exec(process.execPath, [server, 'init', '--data', data, '--org', 'Fabrikam', '--db', db, '--listen', `127.0.0.1:${port}`, '--json']);
    token = (JSON.parse(init.stdout) as { adminToken: string }).adminToken;
    child = spawn(process.execPath, [server, 'start', '--data', data], { stdio: ['ignore', 'pipe', 'pipe'] });
    serviceLog = '';
    child.stdout!.on('data', (c: Buffer) => (serviceLog += c.toString()));
    await waitForHealth(url, readFileSync(join(data, 'service-ca.pem'), 'utf8'), child);
    env = { ...process.env, SELFDEPLOY_SERVER: url, SELFDEPLOY_CA: join(data, 'service-ca.pem'), SELFDEPLOY_TOKEN: token, XDG_CONFIG_HOME: join(scratch, 'no-config') };
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
  });

  it('serves HTTPS that only the service CA vouches for', async () => {
    expect(JSON.parse((await health(url, readFileSync(join(data, 'service-ca.pem'), 'utf8'))).body)).toMatchObject({ status: 'ok', store: kind });
    await expect(health(url)).rejects.toThrow(/self-signed|unable to (verify|get)/i);
    const wrongCa = run('devices', 'list', '--ca', join(scratch, 'init-human', 'service-ca.pem'));
    await expect(wrongCa).rejects.toMatchObject({ code: 3, stderr: expect.stringContaining('SERVICE_UNREACHABLE') });
  });

  it('migrates on demand beside the running service: nothing left to apply after init', async () => {
    const migrated = await exec(process.execPath, [server, 'migrate', '--data', data, '--json']);
    expect(JSON.parse(migrated.stdout)).toEqual({ applied: [], schema: LATEST_MIGRATION, store: kind });
    expect((await exec(process.execPath, [server, 'migrate', '--data', data])).stdout).toBe(`The ${kind} database is up to date (${LATEST_MIGRATION}); nothing to apply.\n`);
  });

  it('imports, lists, shows and deletes device records and registrations from the admin CLI', async () => {
    writeFileSync(join(scratch, `devices-${kind}.csv`), csv(deviceRows(10, 3, 'Lobby')));
    const imported = await run('devices', 'import', join(scratch, `devices-${kind}.csv`));
    expect(imported.stdout).toBe(`Imported 3 device(s) from ${join(scratch, `devices-${kind}.csv`)}\n`);
    const table = (await run('devices', 'list', '--group-tag', 'Lobby')).stdout;
    expect(table.split('\n')[0]).toMatch(/^SERIAL\s+MANUFACTURER\s+MODEL\s+STATE\s+GROUP TAG\s+ID$/);
    expect(table).toContain('SN00000011');
    const json = DeviceListSchema.parse(JSON.parse((await run('devices', 'list', '--json', '--limit', '2', '--all')).stdout));
    expect(json.items.map((d) => d.serial)).toEqual(['SN00000010', 'SN00000011', 'SN00000012']);
    expect((await run('devices', 'show', 'SN00000011')).stdout).toMatch(/State\s+registered/);
    await expect(run('devices', 'attestation', 'SN00000011')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('NOT_FOUND') }); // never attested
    expect((await run('devices', 'collect-logs', 'SN00000011')).stdout).toMatch(/^Asked SN00000011 for its logs at its next check-in \(it has not checked in since it was set up\)/);
    expect((await run('devices', 'show', 'SN00000011')).stdout).toMatch(/Check-in\s+- \(logs asked for at \d{4}-/);
    expect((await run('devices', 'delete-record', 'SN00000011')).stdout).toContain('may self-deploy again');
    expect((await run('devices', 'delete', 'SN00000012')).stdout).toContain('Deleted SN00000012');
    await expect(run('devices', 'show', 'SN00000012')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('NOT_FOUND') });
    const bad = run('devices', 'import', join(scratch, `devices-${kind}.csv`));
    await expect(bad).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/CSV_INVALID[\s\S]*row 2, Device Serial Number: a device with the same serial/) });
    expect((await run('devices', 'add', '--hash', hash(20), '--group-tag', 'Lobby')).stdout).toContain('Registered SN00000020');
  });

  it('manages groups, profiles from YAML, policies and assignments', async () => {
    writeFileSync(
      join(scratch, 'lobby.yaml'),
      ['description: Lobby kiosks', 'endState:', '  type: kiosk', '  mode: browser', '  homeUrl: https://visit.fabrikam.example/', 'esp:', '  allowReset: true', ''].join('\n'),
    );
    expect((await run('groups', 'create', 'lobby', '--dynamic', '--group-tag', 'Lobby')).stdout).toMatch(/Created dynamic group lobby \(\d+ members\)/);
    expect((await run('profiles', 'apply', 'lobby', join(scratch, 'lobby.yaml'))).stdout).toContain('Saved profile lobby');
    expect((await run('profiles', 'lint', join(scratch, 'lobby.yaml'))).stdout).toContain('0 error(s)');
    expect((await run('profiles', 'assign', 'lobby', '--group', 'lobby')).stdout).toContain('Assigned lobby to lobby');
    expect((await run('devices', 'show', 'SN00000010')).stdout).toMatch(/Profile\s+lobby via lobby/);
    writeFileSync(join(scratch, 'expiry.json'), JSON.stringify({ kind: 'password', maxAgeDays: 30 }));
    expect((await run('policies', 'apply', 'expiry', join(scratch, 'expiry.json'))).stdout).toContain('Saved policy expiry');
    const refused = run('policies', 'assign', 'expiry', '--group', 'lobby');
    await expect(refused).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('AUTOLOGON_BROKEN_BY_POLICY') });
    writeFileSync(join(scratch, 'broken.yaml'), 'endState:\n  type: kiosk\n  mode: app\n');
    await expect(run('profiles', 'lint', join(scratch, 'broken.yaml'))).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('broken.yaml: endState.appCommand') });
    expect(JSON.parse((await run('groups', 'list', '--json')).stdout)).toMatchObject({ items: [{ name: 'lobby', kind: 'dynamic' }] });
  });

  it('publishes agent releases to the public update feed — the newest version wins — and withdraws them', async () => {
    const get = (path: string) =>
      new Promise<{ status: number; body: Buffer; type: string }>((resolve, reject) => {
        httpsGet(`${url}${path}`, { ca: readFileSync(join(data, 'service-ca.pem'), 'utf8') }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), type: String(res.headers['content-type']) }));
        }).on('error', reject);
      });
    expect((await get('/v1/updates/linux/latest-linux.yml')).status).toBe(404);
    const files = ['2.0.0', '10.0.0', '10.0.0-rc.1'].map((version) => {
      const file = join(scratch, `selfdeploy-${version}-${kind}.tar.gz`);
      writeFileSync(file, `agent ${version}`);
      return [version, file] as const;
    });
    for (const [version, file] of files) {
      const out = (await run('updates', 'publish', version, file, ...(version === '10.0.0' ? ['--critical'] : []))).stdout;
      expect(out).toContain(`Published ${version}${version === '10.0.0' ? ' (critical: applied during setup)' : ''}`);
    }
    const feed = await get('/v1/updates/linux/latest-linux.yml');
    expect(feed.type).toContain('text/yaml');
    const yaml = feed.body.toString('utf8');
    expect(yaml).toContain('version: 10.0.0\n');
    expect(yaml).toContain('critical: true');
    expect(yaml).toContain(`sha512: ${createHash('sha512').update('agent 10.0.0').digest('base64')}`);
    const file = await get(`/v1/updates/linux/selfdeploy-10.0.0-${kind}.tar.gz`);
    expect([file.status, file.body.toString()]).toEqual([200, 'agent 10.0.0']);
    expect((await run('updates', 'list')).stdout).toMatch(/^10\.0\.0\s+yes\s+selfdeploy-10\.0\.0-\w+\.tar\.gz.*\n10\.0\.0-rc\.1\s+no.*\n2\.0\.0\s+no/m);
    const sha = createHash('sha256').update('agent 10.0.0').digest('hex');
    await expect(run('content', 'delete', sha)).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('agent release 10.0.0') });
    await expect(run('updates', 'publish', 'ten', files[0]![1])).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('semantic version') });
    expect((await run('updates', 'withdraw', '10.0.0')).stdout).toContain('Withdrew 10.0.0');
    expect((await get('/v1/updates/linux/latest-linux.yml')).body.toString()).toContain('version: 10.0.0-rc.1\n');
    await run('updates', 'withdraw', '10.0.0-rc.1');
    await run('updates', 'withdraw', '2.0.0');
    expect((await get('/v1/updates/linux/latest-linux.yml')).status).toBe(404);
  });

  it('uploads content and creates, versions and assigns apps, networks and scripts', async () => {
    const deb = join(scratch, `kiosk-browser-${kind}.deb`);
    writeFileSync(deb, Buffer.alloc(200_000, 7));
    const uploaded = JSON.parse((await run('content', 'upload', deb, '--json')).stdout) as { sha256: string; size: number; label: string };
    expect(uploaded).toMatchObject({ size: 200_000, label: `kiosk-browser-${kind}.deb` });
    expect((await run('content', 'list')).stdout).toContain(uploaded.sha256);
    writeFileSync(join(scratch, 'browser.yaml'), `package: kiosk-browser\nversion: "1.0"\ninstaller: deb\ncontent:\n  sha256: ${uploaded.sha256}\n  size: ${uploaded.size}\n`);
    expect((await run('apps', 'apply', 'browser', join(scratch, 'browser.yaml'))).stdout).toContain('Saved app browser, version 1');
    writeFileSync(join(scratch, 'browser.yaml'), `package: kiosk-browser\nversion: "1.1"\ninstaller: deb\ncontent:\n  sha256: ${uploaded.sha256}\n  size: ${uploaded.size}\n`);
    expect((await run('apps', 'apply', 'browser', join(scratch, 'browser.yaml'))).stdout).toContain('version 2');
    expect((await run('apps', 'assign', 'browser', '--group', 'lobby')).stdout).toContain('Assigned browser to lobby');
    expect((await run('apps', 'list')).stdout).toMatch(/browser\s+2\s+lobby/);
    writeFileSync(join(scratch, 'wifi.json'), JSON.stringify({ type: 'wifi', ssid: 'Lobby', security: 'wpa2-psk' }));
    await expect(run('networks', 'apply', 'lobby-wifi', join(scratch, 'wifi.json'))).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('psk') });
    await expect(run('content', 'delete', uploaded.sha256)).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('IN_USE') });
    expect((await run('devices', 'esp', 'SN00000010')).stdout).toContain('has not reported any setup progress (not enrolled in management)');
    expect((await run('devices', 'diagnostics', 'SN00000010')).stdout).toContain('uploaded no log bundles');
  });

  it('sets branding and trust anchors, and creates a technician token that cannot delete', async () => {
    const svg = '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="#f80"/></svg>';
    writeFileSync(join(scratch, 'logo.svg'), svg);
    const branding = await run('branding', 'set', '--org', 'Fabrikam Lobby', '--accent-color', '#FF8800', '--logo', join(scratch, 'logo.svg'), '--support-email', 'help@fabrikam.example');
    expect(branding.stdout).toMatch(/Logo\s+image\/svg\+xml, \d+ bytes/);
    expect((await run('trust-anchors', 'add', join(data, 'device-ca', 'ca.pem'), '--label', 'test')).stdout).toContain('certificate');
    expect((await run('trust-anchors', 'add-ek-digest', 'cd'.repeat(32), '--label', 'no-cert TPM')).stdout).toContain('ek-digest');
    const created = JSON.parse((await run('tokens', 'create', 'bench', '--scope', 'technician', '--json')).stdout) as { token: string; id: string };
    const technician = (...args: string[]) => exec(process.execPath, [admin, ...args], { env: { ...env, SELFDEPLOY_TOKEN: created.token } });
    expect((await technician('devices', 'list')).stdout).toContain('SN00000010');
    await expect(technician('devices', 'delete', 'SN00000010')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('FORBIDDEN') });
    expect((await run('tokens', 'revoke', created.id)).stdout).toContain('Revoked');
    await expect(technician('devices', 'list')).rejects.toMatchObject({ stderr: expect.stringContaining('UNAUTHORIZED') });
  });

  it('edits registrations, previews imports and rules, scopes tokens, reports, and reads and verifies the audit log', async () => {
    expect((await run('devices', 'set', 'SN00000010', '--assigned-user', 'ada@fabrikam.example')).stdout).toContain('assigned user ada@fabrikam.example');
    await expect(run('devices', 'set', 'SN00000010')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--no-group-tag') });
    await expect(run('devices', 'set', 'SN00000010', '--group-tag', 'a/b')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--group-tag') });
    expect((await run('devices', 'list', '--state', 'failed')).stdout).toBe('No devices.\n');
    expect((await run('devices', 'history', 'SN00000010')).stdout).toContain('has not deployed yet');
    expect((await run('devices', 'assignments', 'SN00000010')).stdout).toMatch(/^Profile {2}lobby v\d+ via lobby\n/);
    expect((await run('groups', 'preview', '--serial-prefix', 'SN0000001')).stdout).toMatch(/^\d+ device\(s\) match serial number starting "SN0000001"\n/);
    expect((await run('groups', 'create', 'tens', '--dynamic', '--model', 'Kiosk 15', '--serial-prefix', 'SN0000001')).stdout).toMatch(/Created dynamic group tens \(\d+ members\)/);
    expect((await run('devices', 'list', '--group', 'tens')).stdout).toContain('SN00000010');

    writeFileSync(join(scratch, `preview-${kind}.csv`), csv([...deviceRows(30, 1, 'Lobby'), ...deviceRows(10, 1, 'Lobby')]));
    const preview = await failed(run('devices', 'import', '--preview', join(scratch, `preview-${kind}.csv`)));
    expect(preview.code).toBe(1);
    expect(preview.stdout).toMatch(/^ROW\s+SERIAL\s+MANUFACTURER\s+MODEL\s+GROUP TAG\s+RESULT\n2\s+SN00000030\s.*ok\n3\s+SN00000010\s.*already registered/);
    expect(preview.stdout).toContain('would not be imported');
    await expect(run('devices', 'show', 'SN00000030')).rejects.toMatchObject({ code: 1 });

    const viewer = JSON.parse((await run('tokens', 'create', 'viewer', '--scope', 'read-only', '--group-tag', 'Lobby', '--expires-in-days', '7', '--json')).stdout) as { token: string; expiresAt: string };
    expect(Date.parse(viewer.expiresAt) - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
    const asViewer = (...args: string[]) => exec(process.execPath, [admin, ...args], { env: { ...env, SELFDEPLOY_TOKEN: viewer.token } });
    expect((await asViewer('report', '--summary')).stdout).toMatch(/^Runs 0: 0 succeeded, 0 failed, 0 in progress/);
    await expect(asViewer('devices', 'set', 'SN00000010', '--group-tag', 'X')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('FORBIDDEN') });
    expect((await run('tokens', 'list')).stdout).toMatch(/viewer\s+read-only\s+tag Lobby\s+\d{4}-/);
    await expect(run('tokens', 'create', 'x', '--scope', 'read-only', '--no-expiry', '--expires-in-days', '3')).rejects.toMatchObject({ code: 2 });

    expect((await run('report', '--csv', '-')).stdout.split('\r\n')[0]).toMatch(/^Run,Device,Serial Number,Manufacturer,Model,Group Tag,Profile,Started,Ended,Outcome,Duration \(s\),preflight \(s\),/);
    expect((await run('report', '--since', '7d')).stdout).toBe('No deployment runs match.\n');
    await expect(run('report', '--since', 'last tuesday')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--since') });

    const audit = (await run('audit', 'list', '--action', 'updateDevice')).stdout;
    expect(audit).toMatch(/^SEQ\s+AT\s+ACTOR\s+FROM\s+ACTION\s+RESOURCE\n\d+\s+\S+\s+initial-admin \(admin\)\s+127\.0\.0\.1\s+updateDevice\s+\/v1\/admin\/devices\//);
    expect((await run('audit', 'verify')).stdout).toMatch(/^The audit log is intact: \d+ entries chain to its head\.\n$/);

    // On the service host: a token when none is left, and the chain verified in the database itself.
    const rescue = await exec(process.execPath, [server, 'token', 'create', 'rescue', '--data', data]);
    const secret = /\n {2}(sdp_\S+)\n/.exec(rescue.stdout)?.[1];
    expect(secret, rescue.stdout).toBeDefined();
    expect((await exec(process.execPath, [admin, 'audit', 'list', '--actor', 'rescue'], { env: { ...env, SELFDEPLOY_TOKEN: secret } })).stdout).toBe('No audit entries match.\n');
    expect((await exec(process.execPath, [server, 'audit-verify', '--data', data])).stdout).toMatch(/^The audit log is intact: \d+ entries/);
    expect((await run('audit', 'list', '--action', 'createToken', '--json')).stdout).toContain('selfdeploy-server token create');
  });

  it('is a command line people can learn: per-command help, version, suggestions, refused options, one-line usage errors, JSON errors', async () => {
    const help = await run('devices', 'list', '--help');
    expect(help.stdout).toMatch(/^Usage: selfdeploy-admin devices list \[--state STATE\]/);
    expect(help.stdout).toContain('--serial-prefix');
    expect(help.stdout).not.toContain('--scope');
    expect((await run('--version')).stdout).toMatch(/^selfdeploy-admin \d+\.\d+\.\d+/);
    const critical = await failed(run('tokens', 'list', '--critical'));
    expect(critical.code).toBe(2);
    expect(critical.stderr.trimEnd().split('\n')).toHaveLength(2);
    expect(critical.stderr).toContain("unknown option '--critical'");
    expect(critical.stderr).toContain('selfdeploy-admin tokens list');
    expect((await failed(run('devics', 'list'))).stderr).toContain('(did you mean devices?)');
    const json = await failed(run('groups', 'create', 'x', '--static', '--dynamic', '--json'));
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'USAGE', message: 'give exactly one of --static or --dynamic', help: 'selfdeploy-admin groups create --help' } });
  });

  it('names the flag the person typed, the file and the place in it, with a remedy that fits', async () => {
    const tag = await failed(run('devices', 'add', '--hash', hash(30), '--group-tag', 'no/slashes'));
    expect(tag.code).toBe(2);
    expect(tag.stderr).toContain('--group-tag: use 1-64 letters');
    expect(tag.stderr).not.toContain('groupTag');
    const colour = await failed(run('branding', 'set', '--accent-color', 'red'));
    expect(colour.code).toBe(2);
    expect(colour.stderr).toContain('--accent-color: must be a #RRGGBB colour');
    expect(colour.stderr).not.toMatch(/send the request again/);
    const missing = await failed(run('profiles', 'apply', 'lobby', join(scratch, 'no-such-profile.yaml')));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('INPUT_FILE_UNREADABLE');
    expect(missing.stderr).not.toContain('USAGE');
    writeFileSync(join(scratch, 'torn.yaml'), 'endState:\n  type: kiosk\n   mode: [browser\n');
    const torn = await failed(run('profiles', 'apply', 'lobby', join(scratch, 'torn.yaml')));
    expect(torn.code).toBe(1);
    expect(torn.stderr).toContain('INPUT_FILE_INVALID');
    expect(torn.stderr).toContain('torn.yaml is not valid YAML');
    writeFileSync(join(scratch, 'not-a-ca.pem'), 'hello');
    const ca = await failed(exec(process.execPath, [admin, 'devices', 'list'], { env: { ...env, SELFDEPLOY_CA: join(scratch, 'not-a-ca.pem') } }));
    expect(ca.code).toBe(1);
    expect(ca.stderr).toContain('is not a PEM certificate');
    expect(ca.stderr).not.toContain('SERVICE_UNREACHABLE');
  });

  it('imports from standard input, uploads content streamed with a progress bar, and applies an app with its content file', async () => {
    const imported = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [admin, 'devices', 'import', '-'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}`))));
      child.stdin.end(csv(deviceRows(40, 2, 'Stdin')));
    });
    expect(imported).toBe('Imported 2 device(s) from standard input\n');
    const big = join(scratch, `big-${kind}.tar`);
    writeFileSync(big, Buffer.alloc(3 * 1024 * 1024, 9));
    let stderr = '';
    let stdout = '';
    const { main } = await import('./admin.js');
    const status = await main(['content', 'upload', big], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), isTTY: true }, env);
    expect(status).toBe(0);
    expect(stdout).toContain(`size: ${3 * 1024 * 1024}`);
    expect(stderr).toMatch(/Uploading big-\w+\.tar \[#+\] 100% {2}3\.0 MiB of 3\.0 MiB/);
    writeFileSync(join(scratch, `tool-${kind}.yaml`), 'package: tool\nversion: "1.0"\ninstaller: tar\n');
    const applied = JSON.parse((await run('apps', 'apply', 'tool', join(scratch, `tool-${kind}.yaml`), '--content', big, '--json')).stdout) as { body: { content: { sha256: string; size: number } } };
    expect(applied.body.content).toEqual({ sha256: createHash('sha256').update(Buffer.alloc(3 * 1024 * 1024, 9)).digest('hex'), size: 3 * 1024 * 1024 });
    expect((await failed(run('policies', 'apply', 'x', big, '--content', big))).stderr).toContain("unknown option '--content'");
  });

  it('logs one line per request, naming the token of each admin call; --log-level sets how much', async () => {
    await run('devices', 'list');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const answered = serviceLog
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg: string; route?: string; actor?: unknown })
      .filter((line) => line.msg === 'answered');
    expect(answered.find((line) => line.route === '/v1/admin/devices')).toMatchObject({ actor: { kind: 'token', name: 'initial-admin', scope: 'admin' } });
    expect(answered.some((line) => line.route === '/v1/health')).toBe(false); // probes are debug
    expect(serviceLog).not.toContain(token);

    const bad = await failed(exec(process.execPath, [server, 'start', '--data', data, '--log-level', 'loud']));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--log-level takes one of fatal, error, warn, info, debug, trace, silent, not "loud"');
    for (const level of ['warn', 'debug']) {
      const port = await freePort();
      const other = spawn(process.execPath, [server, 'start', '--data', data, '--listen', `127.0.0.1:${port}`, '--log-level', level], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      other.stdout.on('data', (c: Buffer) => (out += c.toString()));
      try {
        await waitForHealth(`https://127.0.0.1:${port}`, readFileSync(join(data, 'service-ca.pem'), 'utf8'), other);
        await exec(process.execPath, [admin, 'devices', 'list'], { env: { ...env, SELFDEPLOY_SERVER: `https://127.0.0.1:${port}` } });
      } finally {
        const exited = new Promise((resolve) => other.once('exit', resolve));
        other.kill('SIGTERM');
        await exited;
      }
      const routes = out.split('\n').filter((line) => line.includes('"msg":"answered"')).map((line) => (JSON.parse(line) as { route: string }).route);
      if (level === 'warn') expect(routes).toEqual([]);
      else expect(routes).toEqual(expect.arrayContaining(['/v1/health', '/v1/admin/devices']));
    }
  });

  it('says when its address is taken, naming --listen', async () => {
    const second = await failed(exec(process.execPath, [server, 'start', '--data', data], { timeout: 20_000 }));
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('LISTEN_ADDRESS_IN_USE');
    expect(second.stderr).toContain('--listen HOST:PORT');
    expect(second.stderr).not.toContain('--db URL');
  });

  it('reads the connection from a config file, and stops gracefully on SIGTERM', async () => {
    const config = join(scratch, `admin-${kind}.json`);
    writeFileSync(config, JSON.stringify({ server: url, ca: join(data, 'service-ca.pem'), token }), { mode: 0o600 });
    const bare = { ...process.env, XDG_CONFIG_HOME: join(scratch, 'none') };
    const { stdout } = await exec(process.execPath, [admin, '--config', config, 'branding', 'show'], { env: bare });
    expect(stdout).toContain('Fabrikam Lobby');
    await expect(exec(process.execPath, [admin, 'devices', 'list'], { env: bare })).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('no server') });
    await expect(exec(process.execPath, [admin, '--config', config, '--server', url.replace('https', 'http'), 'devices', 'list'], { env: bare })).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('https://'),
    });
    let log = '';
    child.stdout!.on('data', (c: Buffer) => (log += c.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(log).toContain('"msg":"stopped"');
  });
});
