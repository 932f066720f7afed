import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { AssignedItemSchema, type AssignedItem } from '../../protocol/items.js';
import { ChangeLog } from '../target/changes.js';
import type { TargetPort } from '../target/port.js';
import { FileProviders } from './files.js';
import { scratchTarget } from './testing/scratch.js';

const ROOT_CA = execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=Fabrikam Root', '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE'], { encoding: 'utf8' });

function setup() {
  const { dir, root, providers, context, content } = scratchTarget();
  const ref = (bytes: Buffer) => {
    const { sha256, size } = content(bytes);
    return { sha256, size };
  };
  return { dir, root, providers, context, content: ref };
}

const base = { id: '7d6f0a52-0000-4000-8000-000000000001', version: 1, blocking: true };

/** An item as the agent receives it, defaults filled in by the wire schema. */
function item(input: Record<string, unknown>): AssignedItem {
  return AssignedItemSchema.parse({ ...base, ...input });
}

function listing(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

describe('the file providers', () => {
  it('apply each kind byte for byte, detect it afterwards, change nothing the second time, and undo it all', async () => {
    const { dir, root, providers, context, content } = setup();
    const staging = join(dir, 'tarball');
    mkdirSync(join(staging, 'bin'), { recursive: true });
    writeFileSync(join(staging, 'bin', 'signage'), '#!/bin/sh\necho signage\n', { mode: 0o4755 });
    symlinkSync('bin/signage', join(staging, 'run'));
    const tarball = join(dir, 'signage.tar');
    execFileSync('tar', ['-cf', tarball, '-C', staging, '.']);
    const items: AssignedItem[] = [
      { ...base, kind: 'policy', name: 'lock', payload: { kind: 'screen-lock', idleLockMinutes: 5, requirePasswordToUnlock: false } },
      { ...base, kind: 'certificate', name: 'root', payload: { type: 'trusted-root', pem: ROOT_CA } },
      { ...base, kind: 'network', name: 'lobby', payload: { type: 'wifi', ssid: 'Lobby', security: 'wpa3-sae', psk: 'correct horse', hidden: false, autoConnect: true } },
      item({ kind: 'app', name: 'signage', payload: { package: 'signage', version: '3', installer: 'tar', content: content(readFileSync(tarball)), detection: { type: 'file-exists', path: '/opt/signage/bin/signage' } } }),
      { ...base, kind: 'script', name: 'hello', payload: { interpreter: 'sh', content: content(Buffer.from('echo hello from "$SELFDEPLOY_ITEM"\n')), timeoutSeconds: 10 } },
    ];
    for (const item of items) {
      expect(await providers.detect(item), item.name).toBe(false);
      await providers.apply(item, context);
      expect(await providers.detect(item), item.name).toBe(true);
    }
    const file = (path: string) => readFileSync(join(root, path), 'utf8');
    expect(JSON.parse(file('etc/selfdeploy/policies/lock.json'))).toEqual({ version: 1, kind: 'screen-lock', idleLockMinutes: 5, requirePasswordToUnlock: false });
    expect(file('usr/local/share/ca-certificates/selfdeploy/root.crt')).toBe(ROOT_CA);
    const keyfile = join(root, 'etc/NetworkManager/system-connections/selfdeploy-lobby.nmconnection');
    expect(readFileSync(keyfile, 'utf8')).toBe(
      '[connection]\nid=lobby\ntype=wifi\nautoconnect=true\n\n[wifi]\nmode=infrastructure\nssid=Lobby\nhidden=false\n\n[wifi-security]\nkey-mgmt=sae\npsk=correct horse\n\n[ipv4]\nmethod=auto\n\n[ipv6]\nmethod=auto\n',
    );
    expect(lstatSync(keyfile).mode & 0o7777).toBe(0o600);
    expect(file('opt/signage/bin/signage')).toBe('#!/bin/sh\necho signage\n');
    expect(lstatSync(join(root, 'opt/signage/bin/signage')).mode & 0o7777).toBe(0o755); // set-user-ID dropped
    expect(lstatSync(join(root, 'opt/signage/run')).isSymbolicLink()).toBe(true);
    expect(file('var/log/selfdeploy/scripts/hello.log')).toBe('hello from hello\n');
    expect(file('var/log/selfdeploy/applied.log').trim().split('\n')).toHaveLength(5);

    const changes = new ChangeLog(join(dir, 'changes'));
    const recorded = changes.entries().length;
    for (const item of items.slice(0, 3)) await providers.apply(item, context);
    // Re-applying rewrites nothing but the apply log.
    expect(changes.entries().slice(recorded).every((c) => c.type === 'file' && c.path === '/var/log/selfdeploy/applied.log')).toBe(true);

    const report = await providers.target.undoAll();
    expect(report.left).toEqual([]);
    // A script's own changes have no inverse: reset names them instead of claiming them undone.
    expect(report.notUndone).toEqual(['script "hello": what it changed itself']);
    expect(listing(root)).toEqual([]);
  });

  it('refuses a package with an entry that leads out of the target, writing nothing of it', async () => {
    const { dir, root, providers, context, content } = setup();
    const staging = join(dir, 'evil');
    mkdirSync(join(staging, 'bin'), { recursive: true });
    writeFileSync(join(staging, 'bin', 'a'), 'a');
    symlinkSync('../../../../../../../../../etc/shadow', join(staging, 'zz-escape'));
    const tarball = join(dir, 'evil.tar');
    execFileSync('tar', ['-cf', tarball, '-C', staging, '.']);
    const evil = item({ kind: 'app', name: 'evil', payload: { package: 'evil', version: '1', installer: 'tar', content: content(readFileSync(tarball)) } });
    await expect(providers.apply(evil, context)).rejects.toMatchObject({ code: 'ITEM_PATH_REFUSED' });
    expect(listing(root)).toEqual([]);
  });

  it('kills a script that hangs at its timeout, with the processes it started, and reports it with its output kept', async () => {
    const { dir, root, providers, context, content } = setup();
    const pidFile = join(dir, 'grandchild.pid');
    const script = `echo started\nsleep 300 &\necho $! > ${pidFile}\nsleep 300\n`;
    const item: AssignedItem = { ...base, kind: 'script', name: 'hang', payload: { interpreter: 'sh', content: content(Buffer.from(script)), timeoutSeconds: 1 } };
    const started = Date.now();
    await expect(providers.apply(item, context)).rejects.toMatchObject({ code: 'ITEM_FAILED', message: expect.stringContaining('did not finish within 1 s') });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(readFileSync(join(root, 'var/log/selfdeploy/scripts/hang.log'), 'utf8')).toBe('started\n');
    // The background sleep was killed with its group: gone, or a zombie where PID 1 does not reap.
    const grandchild = readFileSync(pidFile, 'utf8').trim();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const state = existsSync(`/proc/${grandchild}/stat`) ? readFileSync(`/proc/${grandchild}/stat`, 'utf8').split(') ')[1]![0] : 'gone';
    expect(['gone', 'Z']).toContain(state);
    expect(await providers.detect(item)).toBe(false);
  });

  it('reports a script that fails with its status and last lines', async () => {
    const { providers, context, content } = setup();
    const item: AssignedItem = { ...base, kind: 'script', name: 'fails', payload: { interpreter: 'bash', content: content(Buffer.from('echo oops >&2\nexit 3\n')), timeoutSeconds: 10 } };
    await expect(providers.apply(item, context)).rejects.toMatchObject({ code: 'ITEM_FAILED', message: expect.stringContaining('exited with status 3: oops') });
  });

  it('refuses a certificate that is not a CA, and a name that cannot be a file', async () => {
    const { providers, context } = setup();
    const leaf = execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=leaf', '-days', '1', '-addext', 'basicConstraints=critical,CA:FALSE'], { encoding: 'utf8' });
    await expect(providers.apply({ ...base, kind: 'certificate', name: 'leaf', payload: { type: 'trusted-root', pem: leaf } }, context)).rejects.toMatchObject({ message: expect.stringContaining('not a CA') });
    await expect(providers.apply({ ...base, kind: 'policy', name: '../x', payload: { kind: 'password', minLength: 1, maxAgeDays: 0, requireChangeAtFirstLogon: false } }, context)).rejects.toMatchObject({ code: 'ITEM_FAILED' });
  });
});

describe('the logs device setup leaves for "Collect logs"', () => {
  it('are the apply log and each script’s captured output', async () => {
    const { providers, context, content } = setup();
    const script = item({ kind: 'script', name: 'hello', payload: { interpreter: 'sh', content: content(Buffer.from('echo from the script\n')), timeoutSeconds: 10 } });
    await providers.apply(script, context);
    const logs = await providers.deviceLogs([script]);
    expect(logs.map((log) => [log.path, log.content.toString()])).toEqual([
      ['/var/log/selfdeploy/applied.log', expect.stringContaining('"name":"hello"')],
      ['/var/log/selfdeploy/scripts/hello.log', 'from the script\n'],
    ]);
  });

  it('gather the one installer log each app writes — the log the installer was told to keep, whichever installer ran', async () => {
    const { context, content } = setup();
    const told: string[] = [];
    const kept = new Map<string, Buffer>();
    // A target that records what it is told and keeps what is written (apt on a live system cannot run here).
    const target: TargetPort = {
      live: true,
      writeFile: (_item, path, bytes) => {
        kept.set(path, Buffer.from(bytes));
        return Promise.resolve(true);
      },
      writeSymlink: () => Promise.resolve(true),
      ensureDir: () => Promise.resolve(),
      command: () => Promise.resolve(true),
      joinDomain: () => Promise.resolve(false),
      check: () => Promise.resolve(),
      readFile: (path) => Promise.resolve(kept.get(path) ?? null),
      stat: () => Promise.resolve(null),
      runScript: () => Promise.resolve({ rebootRequired: false }),
      installPackage: (_item, install) => {
        told.push(install.logPath);
        kept.set(install.logPath, Buffer.from('Setting up kiosk-browser (1.0) ...\n'));
        return Promise.resolve({ rebootRequired: false });
      },
      probe: () => Promise.resolve(true),
      upgradePackages: () => Promise.reject(new Error('no OS updates in this test')),
      reboot: () => Promise.resolve(false),
      undoAll: () => Promise.resolve({ restored: 0, removed: 0, commands: 0, left: [], notUndone: [] }),
    };
    const providers = new FileProviders(target);
    // The item's package name is not the .deb's own Package field, which apt would log by before.
    const app = item({ kind: 'app', name: 'Lobby browser', payload: { package: 'lobby-browser', version: '1.0', installer: 'deb', content: content(Buffer.from('deb')) } });
    await providers.apply(app, context);
    expect(told).toEqual(['/var/log/selfdeploy/apps/lobby-browser-installer.log']);
    const logs = await providers.deviceLogs([app]);
    expect(logs.map((log) => log.path)).toContain(told[0]);
    expect(logs.find((log) => log.path === told[0])!.content.toString()).toContain('Setting up kiosk-browser');
  });
});
