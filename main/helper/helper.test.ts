import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { itemKey, type AssignedItem } from '../../protocol/items.js';
import { FileProviders } from '../providers/files.js';
import { assigned, scratchTarget } from '../providers/testing/scratch.js';
import { tss2PrivateKeyDer, tss2PrivateKeyPem } from '../../protocol/tpm/key-file.js';
import { ServiceAssignments, type ItemAuthority } from './assignments.js';
import { HelperTarget } from './client.js';
import { HelperServer } from './server.js';

const ROOT_CA = execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=Fabrikam Root', '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
const isRoot = process.getuid?.() === 0;

const running: { server: HelperServer; client?: HelperTarget }[] = [];

afterEach(async () => {
  for (const { server, client } of running.splice(0)) {
    client?.close();
    await server.close();
  }
});

/** A scratch device with the helper serving it on a socket, and the agent's providers over that socket. */
async function helped(options: { files?: Record<string, string>; authority?: ItemAuthority | null; group?: number | null } = {}) {
  const scratch = scratchTarget(options.files);
  const socket = join(scratch.dir, 'run', 'helper.sock');
  const server = new HelperServer({ socket, root: scratch.root, state: join(scratch.dir, 'helper-state'), group: options.group ?? null, contentDir: scratch.dir, authority: options.authority ?? null, version: 'test' });
  await server.start();
  const client = await HelperTarget.connect(socket);
  running.push({ server, client });
  return { ...scratch, socket, server, client, helperProviders: new FileProviders(client) };
}

/** One raw line to the helper, its one-line answer, and whether the helper closed the connection. */
function raw(socket: string, line: string | Buffer, waitForClose = false): Promise<{ answer: Record<string, unknown> | null; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    let text = '';
    let endedByUs = false;
    if (waitForClose) {
      // Only the helper may close it; after 5 s we give up waiting and say so.
      setTimeout(() => {
        endedByUs = true;
        s.destroy();
      }, 5000).unref();
    }
    s.on('data', (chunk) => {
      text += chunk.toString();
      if (text.includes('\n') && !endedByUs && !waitForClose) {
        endedByUs = true;
        s.end();
      }
    });
    s.on('close', () => resolve({ answer: text ? (JSON.parse(text.split('\n')[0]!) as Record<string, unknown>) : null, closed: !endedByUs }));
    s.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error)));
    s.write(line);
  });
}

/** An item's key, as the agent names the item it applies (a lab helper: any item's places). */
const ITEM = '00000000-0000-4000-8000-000000000001@1';
const JOIN = { domain: 'contoso.example', domainController: null, organizationalUnit: null, computerName: 'LOBBY-0042', hostFqdn: 'lobby-0042.contoso.example', user: 'svc-join', password: 'join pass #1' };

const DEBIAN = { 'etc/passwd': 'root:x:0:0:root:/root:/bin/bash\nkiosk:x:1001:1001::/home/kiosk:/bin/sh\n', 'etc/group': 'root:x:0:\nkiosk:x:1001:\n' };

/** A TPM key file as DER (its blobs need not be real for the helper's content rule). */
const KEY_DER = Buffer.from(tss2PrivateKeyDer(tss2PrivateKeyPem({ public: Uint8Array.of(0, 2, 1, 2), private: Uint8Array.of(0, 2, 3, 4) }, 0x81000001)));

describe('selfdeploy-helper', () => {
  it('applies every kind exactly as the in-process target does, and undoes it all', async () => {
    const h = await helped({ files: DEBIAN });
    const local = scratchTarget(DEBIAN);
    const script = Buffer.from('echo "set up $SELFDEPLOY_ITEM"\n');
    const tarDir = join(h.dir, 'tar');
    mkdirSync(join(tarDir, 'bin'), { recursive: true });
    writeFileSync(join(tarDir, 'bin', 'player'), '#!/bin/sh\n', { mode: 0o755 });
    symlinkSync('bin/player', join(tarDir, 'run'));
    execFileSync('tar', ['-cf', join(h.dir, 'player.tar'), '-C', tarDir, '.']);
    const tarball = readFileSync(join(h.dir, 'player.tar'));
    const items = (content: (bytes: Buffer) => { sha256: string; size: number }): AssignedItem[] =>
      [
      assigned({ kind: 'policy', name: 'browser', payload: { kind: 'chromium', policies: { HomepageLocation: 'https://example.invalid/' } } }),
      assigned({ kind: 'policy', name: 'player', payload: { kind: 'config-file', path: '/etc/opt/signage/player.ini', format: 'ini', settings: { display: { rotate: 90 } } } }),
      assigned({ kind: 'policy', name: 'lock', payload: { kind: 'screen-lock', idleLockMinutes: 10 } }),
      assigned({ kind: 'certificate', name: 'root', payload: { type: 'trusted-root', pem: ROOT_CA } }),
      assigned({ kind: 'network', name: 'lobby', payload: { type: 'wifi', ssid: 'Lobby', security: 'wpa2-psk', psk: 'correct horse' } }),
      assigned({ kind: 'app', name: 'player', payload: { package: 'player', version: '1', installer: 'tar', content: content(tarball), detection: { type: 'file-exists', path: '/opt/player/bin/player' } } }),
      assigned({ kind: 'script', name: 'hello', payload: { interpreter: 'sh', content: content(script) } }),
      ].map((item, index) => ({ ...item, id: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}` }));
    const strip = (c: { sha256: string; size: number }) => ({ sha256: c.sha256, size: c.size });
    const viaHelper = items((bytes) => strip(h.content(bytes)));
    const inProcess = items((bytes) => strip(local.content(bytes)));
    const before = h.tree();
    for (const item of viaHelper) {
      expect(await h.helperProviders.detect(item), item.name).toBe(false);
      await h.helperProviders.apply(item, h.context);
      expect(await h.helperProviders.detect(item), item.name).toBe(true);
    }
    await h.helperProviders.applyOobe({ language: 'de-DE', keyboard: 'de-DE', timeZone: 'Europe/Berlin' });
    const kiosk = { type: 'kiosk' as const, localAccount: { name: 'kiosk' }, autoLogon: true, mode: 'browser' as const, homeUrl: 'https://example.invalid/', allowedUrls: [], blockedUrls: [], showNavigationButtons: true, showHomeButton: true, showEndSessionButton: false, idleRestartMinutes: null };
    const branding = { organizationName: 'Fabrikam', accentColor: '#0B5CAD', support: {}, logo: null };
    await h.helperProviders.configureEndState(kiosk, { deviceName: 'LOBBY-1', branding });
    for (const item of inProcess) await local.providers.apply(item, local.context);
    await local.providers.applyOobe({ language: 'de-DE', keyboard: 'de-DE', timeZone: 'Europe/Berlin' });
    await local.providers.configureEndState(kiosk, { deviceName: 'LOBBY-1', branding });

    // Same bytes, modes and owners — only the apply log's timestamps differ.
    const comparable = (t: Record<string, string>) => Object.fromEntries(Object.entries(t).filter(([path]) => path !== '/var/log/selfdeploy/applied.log' && !path.startsWith('/etc/NetworkManager')));
    expect(comparable(h.tree())).toEqual(comparable(local.tree()));
    expect(h.read('etc/NetworkManager/system-connections/selfdeploy-lobby.nmconnection')).toBe(local.read('etc/NetworkManager/system-connections/selfdeploy-lobby.nmconnection'));

    const report = await h.client.undoAll();
    expect(report.left).toEqual([]);
    expect(h.tree()).toEqual(before);
  });

  it.each<[string, (c: HelperTarget) => Promise<unknown>, string]>([
    ['writes /etc/shadow', (c: HelperTarget) => c.writeFile(ITEM, '/etc/shadow', 'root::0:0:::::\n'), 'not a place device setup puts things'],
    ['writes a sudoers drop-in', (c: HelperTarget) => c.writeFile(ITEM, '/etc/sudoers.d/agent', 'selfdeploy ALL=(ALL) NOPASSWD: ALL\n'), 'not a place device setup puts things'],
    ['rewrites its own configuration', (c: HelperTarget) => c.writeFile(ITEM, '/etc/selfdeploy/helper.json', '{}'), "selfdeploy's own installation"],
    ['replaces the agent', (c: HelperTarget) => c.writeFile(ITEM, '/opt/selfdeploy/selfdeploy', '#!/bin/sh\n', 0o755), "selfdeploy's own installation"],
    ['writes a systemd unit', (c: HelperTarget) => c.writeFile(ITEM, '/etc/systemd/system/evil.service', '[Service]\n'), 'not a place device setup puts things'],
    // What a deny-list of protected files let through: every place root runs or loads something from.
    ...[
      '/etc/cron.d/evil',
      '/etc/cron.hourly/evil',
      '/etc/profile.d/evil.sh',
      '/etc/apt/apt.conf.d/99evil',
      '/etc/apt/sources.list.d/evil.list',
      '/etc/udev/rules.d/99-evil.rules',
      '/etc/polkit-1/rules.d/00-evil.rules',
      '/etc/ld.so.conf.d/evil.conf',
      '/etc/modprobe.d/evil.conf',
      '/etc/NetworkManager/dispatcher.d/99-evil',
      '/etc/rc.local',
      '/etc/logrotate.d/evil',
      '/etc/sysctl.d/99-evil.conf',
      '/etc/environment',
      '/etc/xdg/autostart/evil.desktop',
      '/etc/signage/player.ini',
    ].map((path): [string, (c: HelperTarget) => Promise<unknown>, string] => [`writes ${path}`, (c) => c.writeFile(ITEM, path, 'x\n'), 'not a place device setup puts things']),
    ['makes configuration executable', (c: HelperTarget) => c.writeFile(ITEM, '/etc/selfdeploy/policies/x.json', '{}\n', 0o755), 'may have mode 0644 at most, not 0755'],
    ['makes a Wi-Fi key readable by all', (c: HelperTarget) => c.writeFile(ITEM, '/etc/NetworkManager/system-connections/selfdeploy-x.nmconnection', '[wifi]\n', 0o644), 'may have mode 0600 at most'],
    ['gives a managed file to another user', (c: HelperTarget) => c.writeFile(ITEM, '/etc/selfdeploy/policies/x.json', '{}\n', 0o644, { uid: 1000, gid: 1000 }), 'belongs to root'],
    ['creates a world-writable directory', (c: HelperTarget) => c.ensureDir(ITEM, '/opt/app', 0o777), 'writable by root only, not 0777'],
    ['changes the OOBE outside the OOBE', (c: HelperTarget) => c.writeFile('oobe', '/etc/hostname', 'evil\n'), 'not a place the OOBE settings puts things'],
    ['names no scope at all', (c: HelperTarget) => c.writeFile('x', '/etc/hostname', 'evil\n'), 'neither the OOBE, the end state nor an item'],
    ['reads /etc/shadow', (c: HelperTarget) => c.readFile('/etc/shadow'), 'not a place device setup manages'],
    ['creates a cron directory', (c: HelperTarget) => c.ensureDir(ITEM, '/etc/cron.d'), 'not a directory device setup creates'],
    ['runs a shell', (c: HelperTarget) => c.command(ITEM, ['sh', '-c', 'id'], null), 'not one device setup runs'],
    ['adds an account for an item', (c: HelperTarget) => c.command(ITEM, ['useradd', '--create-home', '--user-group', '--shell', '/bin/sh', '--comment', 'selfdeploy kiosk', 'kiosk'], ['userdel', '--remove', 'kiosk']), 'not one device setup runs'],
    ['records a false inverse', (c: HelperTarget) => c.command('end-state', ['useradd', '--create-home', '--user-group', '--shell', '/bin/sh', '--comment', 'selfdeploy kiosk', 'kiosk'], ['userdel', '--remove', 'alice']), 'is undone by userdel --remove kiosk'],
    ['adds root again', (c: HelperTarget) => c.command('end-state', ['useradd', '--create-home', '--user-group', '--shell', '/bin/sh', '--comment', 'selfdeploy kiosk', 'root'], ['userdel', '--remove', 'root']), 'not one the end state runs'],
    ['links a package file to /etc/shadow', (c: HelperTarget) => c.writeSymlink(ITEM, '/opt/app/shadow', '/etc/shadow'), "leaves the package's tree"],
    ['points /etc/localtime elsewhere', (c: HelperTarget) => c.writeSymlink('oobe', '/etc/localtime', '/etc/shadow'), 'only point to a time zone'],
    ['unpacks a tar over /usr', (c: HelperTarget) => c.installPackage(ITEM, { file: '/tmp/x', sha256: 'a'.repeat(64), format: 'tar', destination: '/usr', name: 'x', timeoutSeconds: 10, logPath: '/var/log/selfdeploy/apps/x-installer.log' }), 'its own /opt/NAME'],
    ['installs a package for the end state', (c: HelperTarget) => c.installPackage('end-state', { file: '/tmp/x', sha256: 'a'.repeat(64), format: 'deb', destination: '/', name: 'x', timeoutSeconds: 10, logPath: '/var/log/selfdeploy/apps/x-installer.log' }), 'the end state installs no deb package'],
    ['keeps an installer log in /etc', (c: HelperTarget) => c.installPackage(ITEM, { file: '/tmp/x', sha256: 'a'.repeat(64), format: 'deb', destination: '/', name: 'x', timeoutSeconds: 10, logPath: '/etc/cron.d/x' }), 'under /var/log/selfdeploy'],
    ['keeps a script log in /etc', (c: HelperTarget) => c.runScript(ITEM, { file: '/tmp/x', sha256: 'a'.repeat(64), interpreter: 'sh', timeoutSeconds: 10, logPath: '/etc/motd', name: 'x' }), 'under /var/log/selfdeploy'],
    ['runs a script for the OOBE', (c: HelperTarget) => c.runScript('oobe', { file: '/tmp/x', sha256: 'a'.repeat(64), interpreter: 'sh', timeoutSeconds: 10, logPath: '/var/log/selfdeploy/scripts/x.log', name: 'x' }), 'the OOBE settings runs no script'],
    ['joins a domain for the end state', (c: HelperTarget) => c.joinDomain('end-state', JOIN), 'the end state joins no domain'],
    ['joins as another computer', (c: HelperTarget) => c.joinDomain(ITEM, { ...JOIN, computerName: 'DC1' }), 'is LOBBY-0042, not DC1'],
    ['joins with an option for a user name', (c: HelperTarget) => c.joinDomain(ITEM, { ...JOIN, user: '--domain-ou=x' }), 'not one a directory-join policy can say'],
  ])('refuses when the agent %s, and changes nothing', async (_, attempt, why) => {
    const h = await helped();
    const before = h.tree();
    await expect(attempt(h.client)).rejects.toMatchObject({ code: 'HELPER_REFUSED', message: expect.stringContaining(why) });
    expect(h.tree()).toEqual(before);
  });

  it('joins no domain in a scratch root, and never logs the join password', async () => {
    const scratch = scratchTarget();
    const events: string[] = [];
    const socket = join(scratch.dir, 'run', 'helper.sock');
    const server = new HelperServer({ socket, root: scratch.root, state: join(scratch.dir, 'helper-state'), group: null, contentDir: scratch.dir, authority: null, version: 'test', log: (event, detail) => events.push(JSON.stringify({ event, ...detail })) });
    await server.start();
    const client = await HelperTarget.connect(socket);
    running.push({ server, client });
    expect(await client.joinDomain(ITEM, JOIN)).toBe(false);
    await expect(client.joinDomain('end-state', JOIN)).rejects.toMatchObject({ code: 'HELPER_REFUSED' });
    expect(events.filter((line) => line.includes('joinDomain'))).toEqual([
      expect.stringContaining('"domain":"contoso.example","computerName":"LOBBY-0042","user":"svc-join"'),
      expect.stringContaining('joins no domain'),
    ]);
    for (const line of events) expect(line).not.toContain(JOIN.password);
  });

  it('takes scripts and packages only from the agent’s download directory, never through a symlink', async () => {
    const h = await helped();
    const elsewhere = join(h.root, 'x.sh');
    writeFileSync(elsewhere, 'true\n');
    await expect(h.client.runScript(ITEM, { file: elsewhere, sha256: 'a'.repeat(64), interpreter: 'sh', timeoutSeconds: 10, logPath: '/var/log/selfdeploy/scripts/x.log', name: 'x' })).rejects.toMatchObject({ code: 'HELPER_REFUSED', message: expect.stringContaining('content is taken from') });
    const sha256 = 'b'.repeat(64);
    symlinkSync('/etc/passwd', join(h.dir, sha256));
    await expect(h.client.runScript(ITEM, { file: join(h.dir, sha256), sha256, interpreter: 'sh', timeoutSeconds: 10, logPath: '/var/log/selfdeploy/scripts/x.log', name: 'x' })).rejects.toMatchObject({ code: 'CONTENT_DIGEST_MISMATCH', message: expect.stringContaining('is a symlink') });
  });

  it('refuses a path that resolves, through a symlink, to a place it does not manage', async () => {
    const h = await helped();
    mkdirSync(join(h.root, 'etc/sudoers.d'), { recursive: true });
    mkdirSync(join(h.root, 'var/log'), { recursive: true });
    symlinkSync('../../etc/sudoers.d', join(h.root, 'var/log/selfdeploy'));
    await expect(h.client.writeFile(ITEM, '/var/log/selfdeploy/applied.log', 'ALL ALL=(ALL) ALL\n')).rejects.toMatchObject({ code: 'HELPER_REFUSED', message: expect.stringContaining('resolves to /etc/sudoers.d/applied.log') });
    expect(existsSync(join(h.root, 'etc/sudoers.d/applied.log'))).toBe(false);
  });

  it.runIf(isRoot)('refuses to write under a directory another user could swap for a symlink', async () => {
    const h = await helped();
    mkdirSync(join(h.root, 'opt/shared'), { recursive: true });
    chownSync(join(h.root, 'opt/shared'), 1000, 1000);
    await expect(h.client.writeFile(ITEM, '/opt/shared/tool', 'x')).rejects.toMatchObject({ code: 'HELPER_REFUSED', message: expect.stringContaining('/opt/shared can be changed by another user') });
  });

  it('reads a config file only when anyone could read it anyway, and never through a symlink', async () => {
    const h = await helped({ files: { 'etc/opt/signage/public.ini': '[a]\n', 'etc/opt/signage/secret.ini': 'password=x\n' } });
    execFileSync('chmod', ['0600', join(h.root, 'etc/opt/signage/secret.ini')]);
    expect((await h.client.readFile('/etc/opt/signage/public.ini'))?.toString()).toBe('[a]\n');
    await expect(h.client.readFile('/etc/opt/signage/secret.ini')).rejects.toMatchObject({ code: 'HELPER_REFUSED', message: expect.stringContaining('not world-readable') });
    symlinkSync('secret.ini', join(h.root, 'etc/opt/signage/link.ini'));
    await expect(h.client.readFile('/etc/opt/signage/link.ini')).rejects.toMatchObject({ code: 'HELPER_REFUSED', message: expect.stringContaining('symlink') });
  });

  it('answers malformed requests with HELPER_REQUEST_INVALID and goes on serving', async () => {
    const h = await helped();
    expect((await raw(h.socket, 'not json\n')).answer).toMatchObject({ id: null, ok: false, error: { code: 'HELPER_REQUEST_INVALID' } });
    expect((await raw(h.socket, '{"id":7,"op":"format","disk":"/dev/sda"}\n')).answer).toMatchObject({ id: 7, ok: false, error: { code: 'HELPER_REQUEST_INVALID' } });
    expect((await raw(h.socket, '{"id":8,"op":"stat","path":"/etc/hostname","follow":true}\n')).answer).toMatchObject({ id: 8, ok: false, error: { code: 'HELPER_REQUEST_INVALID' } });
    const setuid = JSON.stringify({ id: 9, op: 'writeFile', item: 'x', path: '/opt/app/tool', content: 'eA==', mode: 0o4755 });
    expect((await raw(h.socket, setuid + '\n')).answer).toMatchObject({ id: 9, ok: false, error: { code: 'HELPER_REQUEST_INVALID', message: expect.stringContaining('mode') } });
    expect((await raw(h.socket, '{"id":10,"op":"readFile","path":"etc/hostname"}\n')).answer).toMatchObject({ id: 10, ok: false, error: { code: 'HELPER_REQUEST_INVALID' } });
    // Larger than any request may be, without a newline: answered once, then the connection is closed.
    const flood = await raw(h.socket, Buffer.alloc(25 * 1024 * 1024, 0x61), true);
    expect(flood).toMatchObject({ answer: { ok: false, error: { code: 'HELPER_REQUEST_INVALID', message: expect.stringContaining('longer than') } }, closed: true });
    expect(await h.client.stat('/etc/hostname')).toBeNull(); // still serving
  });

  it('makes its socket 0660 for its group only, in a directory others cannot enter', async () => {
    const h = await helped({ group: isRoot ? 4242 : null });
    const socket = statSync(h.socket);
    expect([socket.isSocket(), socket.mode & 0o777]).toEqual([true, 0o660]);
    if (isRoot) {
      expect([socket.uid, socket.gid]).toEqual([0, 4242]);
      expect(statSync(join(h.dir, 'run')).mode & 0o777).toBe(0o750);
    }
  });

  it('runs content only when the service assigned it to the device, and only the item’s own', async () => {
    const assignedItems = new Map<string, AssignedItem>();
    const seen: (string | undefined)[] = [];
    const authority: ItemAuthority = {
      item: (key, token) => {
        seen.push(token);
        const item = assignedItems.get(key);
        return item ? Promise.resolve(item) : Promise.reject(Object.assign(new Error(`item ${key} is not assigned to this device`), { code: 'CONTENT_NOT_ASSIGNED' }));
      },
    };
    const h = await helped({ authority });
    const ran = join(h.dir, 'ran');
    const script = assigned({ kind: 'script', name: 'touch', payload: { interpreter: 'sh', content: (({ sha256, size }) => ({ sha256, size }))(h.content(Buffer.from(`touch ${ran}\n`))) } });
    const context = { ...h.context, authorization: () => Promise.resolve('sdd_token') };
    await expect(h.helperProviders.apply(script, context)).rejects.toMatchObject({ code: 'CONTENT_NOT_ASSIGNED' });
    expect(existsSync(ran)).toBe(false);
    // Assigned under the same key, but with other content: still not this script.
    const other = h.content(Buffer.from('true\n'));
    assignedItems.set(itemKey(script), { ...script, payload: { ...(script.payload as object), content: { sha256: other.sha256, size: other.size } } } as AssignedItem);
    await expect(h.helperProviders.apply(script, context)).rejects.toMatchObject({ code: 'CONTENT_NOT_ASSIGNED', message: expect.stringContaining('is not the content of script "touch"') });
    expect(existsSync(ran)).toBe(false);
    assignedItems.set(itemKey(script), script);
    await h.helperProviders.apply(script, context);
    expect(existsSync(ran)).toBe(true);
    expect(new Set(seen)).toEqual(new Set(['sdd_token'])); // every question to the service carried the agent's token
  });

  it('changes, for an item the service assigned, only the places of its kind and names, with their modes', async () => {
    const network = { ...assigned({ kind: 'network', name: 'lobby', payload: { type: 'wifi', ssid: 'Lobby', security: 'wpa2-psk', psk: 'correct horse' } }), id: '00000000-0000-4000-8000-00000000000a' };
    const config = { ...assigned({ kind: 'policy', name: 'player', payload: { kind: 'config-file', path: '/etc/opt/signage/player.ini', format: 'ini', settings: { display: { rotate: 90 } }, mode: '0640' } }), id: '00000000-0000-4000-8000-00000000000b' };
    const byKey = new Map([network, config].map((item) => [itemKey(item), item]));
    const authority: ItemAuthority = { item: (key) => (byKey.has(key) ? Promise.resolve(byKey.get(key)!) : Promise.reject(Object.assign(new Error(`item ${key} is not assigned`), { code: 'CONTENT_NOT_ASSIGNED' }))) };
    const h = await helped({ authority });
    const context = { ...h.context, authorization: () => Promise.resolve('sdd_token') };
    // The real providers, through the helper: each item's own places.
    await h.helperProviders.apply(network, context);
    await h.helperProviders.apply(config, context);
    expect(statSync(join(h.root, 'etc/opt/signage/player.ini')).mode & 0o777).toBe(0o640);
    const before = h.tree();
    const net = itemKey(network);
    for (const [attempt, why] of [
      [() => h.client.writeFile(net, '/etc/NetworkManager/system-connections/selfdeploy-other.nmconnection', '[wifi]\n', 0o600), 'not a place network "lobby" puts things'],
      [() => h.client.writeFile(net, '/etc/selfdeploy/policies/lobby.json', '{}\n'), 'not a place network "lobby" puts things'],
      [() => h.client.writeFile(net, '/etc/NetworkManager/system-connections/selfdeploy-lobby.nmconnection', '[wifi]\n', 0o640), 'may have mode 0600 at most'],
      [() => h.client.command(net, ['update-ca-certificates'], ['update-ca-certificates', '--fresh']), 'not one network "lobby" runs'],
      [() => h.client.writeFile(itemKey(config), '/etc/opt/signage/other.ini', 'x=1\n', 0o640), 'not a place policy "player" puts things'],
      [() => h.client.writeFile(itemKey(config), '/etc/opt/signage/player.ini', 'x=1\n', 0o660), 'may have mode 0640 at most'],
    ] as const) {
      await expect(attempt()).rejects.toMatchObject({ code: 'HELPER_REFUSED', message: expect.stringContaining(why) });
    }
    await expect(h.client.writeFile('00000000-0000-4000-8000-00000000000c@1', '/etc/selfdeploy/policies/x.json', '{}\n')).rejects.toMatchObject({ code: 'CONTENT_NOT_ASSIGNED' });
    expect(h.tree()).toEqual(before);
  });

  it('changes in files root acts on only what device setup manages, to values of its form', async () => {
    // What a Debian system has, and what a compromised agent would like to make root do with it.
    const files = {
      'etc/passwd': 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nalice:x:1000:1000::/home/alice:/bin/bash\nlobby:x:1001:1001::/home/lobby:/bin/sh\n',
      'etc/group': 'root:x:0:\nsudo:x:27:alice\nalice:x:1000:\nlobby:x:1001:\n',
      'etc/login.defs': 'MAIL_DIR\t/var/mail\nPASS_MAX_DAYS\t99999\nPASS_MIN_DAYS\t0\n#USERDEL_CMD\t/usr/sbin/userdel_local\nENCRYPT_METHOD SHA512\n',
      'etc/default/keyboard': 'XKBMODEL="pc105"\nXKBLAYOUT="us"\nXKBVARIANT=""\nXKBOPTIONS=""\n\nBACKSPACE="guess"\n',
      'etc/default/locale': 'LANG=en_US.UTF-8\n',
      'etc/hosts': '127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n\n::1     localhost ip6-localhost ip6-loopback\n',
      'etc/gdm3/custom.conf': '# GDM configuration storage\n\n[daemon]\n# AutomaticLoginEnable = true\n\n[security]\n\n[debug]\n# Enable=true\n',
    };
    const root = { ...assigned({ kind: 'certificate', name: 'fabrikam', payload: { type: 'trusted-root', pem: ROOT_CA } }), id: '00000000-0000-4000-8000-00000000000d' };
    const app = { ...assigned({ kind: 'app', name: 'player', payload: { package: 'player', version: '1.0', installer: 'appimage', content: { sha256: 'a'.repeat(64), size: 4 } } }), id: '00000000-0000-4000-8000-00000000000e' };
    const network = { ...assigned({ kind: 'network', name: 'lobby', payload: { type: 'wifi', ssid: 'Lobby', security: 'open' } }), id: '00000000-0000-4000-8000-00000000000f' };
    const passwords = { ...assigned({ kind: 'policy', name: 'passwords', payload: { kind: 'password', minLength: 12, maxAgeDays: 90 } }), id: '00000000-0000-4000-8000-000000000010' };
    const clientCert = { ...assigned({ kind: 'certificate', name: 'wired', payload: { type: 'device-client' } }), id: '00000000-0000-4000-8000-000000000011' };
    const byKey = new Map([root, app, network, passwords, clientCert].map((item) => [itemKey(item), item]));
    const authority: ItemAuthority = { item: (key) => Promise.resolve(byKey.get(key)!) };
    const h = await helped({ files, authority });
    const otherCa = execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=Someone Else', '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const text = (path: string) => h.read(path.slice(1));
    const key = (item: object) => itemKey(item as AssignedItem);
    const before = h.tree();
    for (const [item, path, content, why] of [
      // The OOBE: setupcon sources the keyboard file as root; pam_env and scripts read the locale.
      ['oobe', '/etc/default/keyboard', text('/etc/default/keyboard').replace('XKBLAYOUT="us"', 'XKBLAYOUT="us$(id>/tmp/owned)"'), 'is not an XKB setting'],
      ['oobe', '/etc/default/keyboard', `${text('/etc/default/keyboard')}touch /tmp/owned\n`, 'changes only the keyboard layout'],
      ['oobe', '/etc/default/locale', 'LANG=de_CH.UTF-8\nPATH=/tmp\n', 'changes only the language'],
      ['oobe', '/etc/locale.gen', 'de_CH.UTF-8 UTF-8\n/etc/shadow x\n', 'changes only which UTF-8 locales'],
      ['oobe', '/etc/timezone', 'Europe/Zurich\nexport X=1\n', 'must be one time zone'],
      // The end state: LightDM runs its scripts as root; GDM logs its account in at the screen.
      ['end-state', '/etc/lightdm/lightdm.conf.d/50-selfdeploy-kiosk.conf', '[Seat:*]\nautologin-user=lobby\nsession-setup-script=/tmp/owned\n', 'automatic logon of the kiosk account'],
      ['end-state', '/etc/lightdm/lightdm.conf.d/50-selfdeploy-kiosk.conf', '[Seat:*]\nautologin-user=alice\nautologin-user-timeout=0\nautologin-session=selfdeploy-kiosk\n', '"alice" is in sudo'],
      ['end-state', '/etc/gdm3/custom.conf', text('/etc/gdm3/custom.conf').replace('[daemon]\n', '[daemon]\nAutomaticLoginEnable=true\nAutomaticLogin=root\n'), 'cannot be the kiosk account'],
      ['end-state', '/etc/gdm3/custom.conf', text('/etc/gdm3/custom.conf').replace('[daemon]\n', '[daemon]\nAutomaticLoginEnable=true\nAutomaticLogin=daemon\n'), 'is a system account'],
      ['end-state', '/etc/gdm3/custom.conf', text('/etc/gdm3/custom.conf').replace('# Enable=true', 'Enable=true'), 'changes only automatic logon'],
      ['end-state', '/var/lib/AccountsService/users/alice', '[User]\nSession=selfdeploy-kiosk\n', '"alice" is in sudo'],
      ['end-state', '/var/lib/AccountsService/users/lobby', '[User]\nSession=gnome\n', 'is not the selfdeploy-kiosk session'],
      ['end-state', '/etc/hosts', `${text('/etc/hosts')}10.6.6.6\tdeploy.fabrikam.example\n`, 'changes only the device’s own name'],
      ['end-state', '/etc/hostname', 'LOBBY-7\n127.0.0.1 x\n', 'must be one host name'],
      ['end-state', '/usr/share/xsessions/selfdeploy-kiosk.desktop', '[Desktop Entry]\nName=x\nComment=\nExec=/bin/sh -c id\nType=Application\n', 'the kiosk session'],
      // Items: userdel runs USERDEL_CMD as root; the CA store is what every TLS client trusts.
      [key(passwords), '/etc/login.defs', text('/etc/login.defs').replace('#USERDEL_CMD', 'USERDEL_CMD'), 'changes only the password age'],
      [key(passwords), '/etc/login.defs', text('/etc/login.defs').replace('ENCRYPT_METHOD SHA512', 'ENCRYPT_METHOD DES'), 'changes only the password age'],
      [key(passwords), '/etc/login.defs', text('/etc/login.defs').replace('PASS_MAX_DAYS\t99999', 'PASS_MAX_DAYS\t90 x'), 'is not PASS_MAX_DAYS'],
      [key(passwords), '/etc/security/pwquality.conf.d/50-selfdeploy-passwords.conf', 'minlen = 1\ndictpath = /tmp/x\n', 'a minimum password length'],
      [key(root), '/usr/local/share/ca-certificates/selfdeploy/fabrikam.crt', otherCa, 'must be the certificate of certificate "fabrikam"'],
      [key(root), '/usr/local/share/ca-certificates/selfdeploy/fabrikam.crt', `${ROOT_CA}${otherCa}`, 'must be one PEM certificate'],
      [key(app), '/opt/player/player.AppImage', '#!/bin/sh\nid\n', 'must be the AppImage of app "player"'],
      [key(network), '/etc/NetworkManager/system-connections/selfdeploy-lobby.nmconnection', '[connection]\nid=lobby\ntype=wifi\n\n[ipv4]\nmethod=auto\ndns=10.6.6.6;\n', 'writes no "dns=10.6.6.6;" into [ipv4]'],
      [key(network), '/etc/NetworkManager/system-connections/selfdeploy-lobby.nmconnection', '[connection]\nid=lobby\ntype=vpn\n\n[vpn]\nservice-type=org.freedesktop.NetworkManager.openvpn\n', 'connection.type may not be "vpn"'],
      [key(network), '/etc/NetworkManager/system-connections/selfdeploy-lobby.nmconnection', '[connection]\nid=corporate\ntype=wifi\n', 'must be the profile of network "lobby"'],
      // The key file wpa_supplicant loads as root: a TPM key file and nothing else.
      [key(clientCert), '/etc/selfdeploy/certificates/wired.tss2.der', '#!/bin/sh\nid\n', 'must be a TPM key file'],
      [key(clientCert), '/etc/selfdeploy/certificates/wired.tss2.der', Buffer.concat([KEY_DER, Buffer.from('\n')]), 'must be a TPM key file'],
    ] as const) {
      const mode = path.includes('AccountsService') || path.endsWith('.nmconnection') || path.endsWith('.der') ? 0o600 : path.endsWith('.AppImage') ? 0o755 : 0o644;
      await expect(h.client.writeFile(item, path, content, mode), `${item} ${path}`).rejects.toMatchObject({ code: 'HELPER_REFUSED', message: expect.stringContaining(why) });
    }
    expect(h.tree()).toEqual(before);
    expect(await h.client.writeFile(key(clientCert), '/etc/selfdeploy/certificates/wired.tss2.der', KEY_DER, 0o600)).toBe(true);
    // What device setup does write there is accepted: the real providers, through the helper.
    const context = { ...h.context, authorization: () => Promise.resolve('sdd_token') };
    await h.helperProviders.applyOobe({ language: 'de-CH', keyboard: 'de-CH', timeZone: 'Europe/Zurich' });
    await h.helperProviders.apply(root, context);
    await h.helperProviders.apply(network, context);
    await h.helperProviders.apply(passwords, context);
    const kiosk = { type: 'kiosk' as const, localAccount: { name: 'lobby' }, autoLogon: true, mode: 'browser' as const, homeUrl: 'https://example.invalid/', allowedUrls: [], blockedUrls: [], showNavigationButtons: true, showHomeButton: true, showEndSessionButton: false, idleRestartMinutes: null };
    await h.helperProviders.configureEndState(kiosk, { deviceName: 'LOBBY-7', branding: { organizationName: 'Fabrikam', accentColor: '#0B5CAD', support: {}, logo: null } });
    expect(text('/etc/login.defs')).toBe(files['etc/login.defs'].replace('PASS_MAX_DAYS\t99999', 'PASS_MAX_DAYS\t90'));
    expect(text('/etc/default/keyboard')).toContain('XKBLAYOUT="ch"');
    expect(text('/etc/hosts')).toBe(files['etc/hosts'].replace('127.0.1.1\tdebian', '127.0.1.1\tLOBBY-7'));
    expect(text('/etc/gdm3/custom.conf')).toContain('[daemon]\n# AutomaticLoginEnable = true\nAutomaticLoginEnable=true\nAutomaticLogin=lobby\n');
    expect(text('/etc/lightdm/lightdm.conf.d/50-selfdeploy-kiosk.conf')).toContain('autologin-user=lobby\n');
  });

  it.runIf(isRoot)('runs detection commands as nobody, not as root', async () => {
    const h = await helped();
    expect(await h.client.probe(['/bin/sh', '-c', 'test "$(id -u)" = 65534'], 10)).toBe(true);
  });

  it('connects again on the next request after the helper restarted', async () => {
    const h = await helped();
    await h.client.writeFile(ITEM, '/etc/selfdeploy/policies/before.json', '{}\n');
    await h.server.close();
    await expect(h.client.stat('/etc/selfdeploy/policies/before.json')).rejects.toMatchObject({ code: 'HELPER_UNAVAILABLE' });
    const again = new HelperServer({ socket: h.socket, root: h.root, state: join(h.dir, 'helper-state'), group: null, contentDir: h.dir, authority: null, version: 'test' });
    await again.start();
    running.push({ server: again });
    expect(await h.client.stat('/etc/selfdeploy/policies/before.json')).toMatchObject({ type: 'file' });
    // Its change log survived the restart: undo still knows the file (and the directories it made).
    expect(await h.client.undoAll()).toMatchObject({ removed: 4, left: [] });
  });

  it("takes the distribution's updates only with their own log and a package list that fits the mode, and restarts only when an update asks", async () => {
    const h = await helped();
    const request = { mode: 'security' as const, packages: [], timeoutSeconds: 60, logPath: '/var/log/selfdeploy/os-updates.log' };
    await expect(h.client.upgradePackages({ ...request, logPath: '/etc/cron.d/owned' })).rejects.toMatchObject({ code: 'HELPER_REFUSED', message: expect.stringContaining("the OS updates' log is /var/log/selfdeploy/os-updates.log") });
    await expect(h.client.upgradePackages({ ...request, packages: ['openssl'] })).rejects.toMatchObject({ code: 'HELPER_REFUSED', message: expect.stringContaining('exactly when the mode is "packages"') });
    await expect(h.client.upgradePackages({ ...request, mode: 'packages', packages: ['openssl; id'] })).rejects.toMatchObject({ code: 'HELPER_REQUEST_INVALID' });
    // A scratch root has no package manager of its own: nothing is upgraded, and nothing restarts it.
    expect(await h.client.upgradePackages(request)).toEqual({ upgraded: [], rebootRequired: false });
    expect(await h.client.reboot()).toBe(false);
  });

  it('tells the agent HELPER_UNAVAILABLE when nothing listens', async () => {
    await expect(HelperTarget.connect('/nonexistent/helper.sock')).rejects.toMatchObject({ code: 'HELPER_UNAVAILABLE', message: expect.stringContaining('ENOENT') });
  });
});

describe('the assignments the helper checks', () => {
  const items = (digests: string[]) => ({ deviceId: 'd', generatedAt: new Date().toISOString(), items: digests.map((sha256, index) => ({ id: String(index), name: `s${index}`, version: 1, blocking: true, kind: 'script' as const, payload: { interpreter: 'sh' as const, content: { sha256, size: 1 }, timeoutSeconds: 10 } })), primaryUser: null });

  it('asks the service once, again when it meets an item it has not seen, and refuses what is not assigned', async () => {
    const calls: string[] = [];
    let assignedNow = ['a'.repeat(64)];
    const authority = new ServiceAssignments({ assignments: (token) => (calls.push(token), Promise.resolve(items(assignedNow))) });
    expect(await authority.item('0@1', 'sdd_1')).toMatchObject({ name: 's0', kind: 'script' });
    await authority.item('0@1', 'sdd_1');
    expect(calls).toEqual(['sdd_1']);
    await expect(authority.item('1@1', 'sdd_1')).rejects.toMatchObject({ code: 'CONTENT_NOT_ASSIGNED', message: 'item 1@1 is not assigned to this device' });
    await expect(authority.item('0@2', 'sdd_1')).rejects.toMatchObject({ code: 'CONTENT_NOT_ASSIGNED' }); // another version is another item
    assignedNow = ['a'.repeat(64), 'b'.repeat(64)];
    expect(await authority.item('1@1', 'sdd_1')).toMatchObject({ name: 's1' });
    expect(calls).toHaveLength(4);
  });

  it('refuses without a token, and when the service cannot be asked', async () => {
    const authority = new ServiceAssignments({ assignments: () => Promise.reject(new Error('connect ECONNREFUSED')) });
    await expect(authority.item('0@1', undefined)).rejects.toMatchObject({ code: 'CONTENT_NOT_ASSIGNED', message: expect.stringContaining('no token') });
    await expect(authority.item('0@1', 'sdd_1')).rejects.toMatchObject({ code: 'CONTENT_NOT_ASSIGNED', message: expect.stringContaining('ECONNREFUSED') });
  });
});
