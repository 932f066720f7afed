// Packaging, as far as it goes without an Electron binary: `npm run dist dir` (electron-builder,
// electron-builder.yml) against a stand-in Electron folder whose "binary" carries a fuse wire,
// and the layout checked — the app in its asar with the right entry, the N-API addon unpacked
// byte for byte, what the helper and the CLIs run on system Node unpacked, the production fuses
// flipped, the service's dependencies and the tests left out, the systemd units (verified by
// systemd-analyze in a root that looks like the installed system), the polkit rule, the deb's
// scripts and app-update.yml. The deb made from this layout is installed into a real Debian 13
// root by the system suite (scripts/deb.system.test.ts); the AppImage needs the real binary.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { extractFile, listPackage } from '@electron/asar';
import { getCurrentFuseWire } from '@electron/fuses';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { makeStandInElectron } from './stand-in-electron.js';

const exec = promisify(execFile);
const root = join(import.meta.dirname, '..');

let work: string;
let app: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'selfdeploy-packaging-'));
  const standIn = makeStandInElectron(join(work, 'electron'));
  const built = await exec(process.execPath, [join(root, 'scripts', 'dist.mjs'), 'dir'], { cwd: root, env: { ...process.env, ELECTRON_DIST: standIn, DIST_OUTPUT: join(work, 'out') }, timeout: 300_000 });
  expect(built.stdout).toContain('dist: electron-builder --linux dir');
  app = join(work, 'out', 'linux-unpacked');
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the Linux package (dir target, stand-in Electron)', () => {
  it('has the app binary with the production fuses flipped', async () => {
    expect(statSync(join(app, 'selfdeploy-app')).mode & 0o111).not.toBe(0);
    const wire = await getCurrentFuseWire(join(app, 'selfdeploy-app'));
    const state = (i: number) => String.fromCharCode(wire[i as keyof typeof wire] as number);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map(state).join('')).toBe('01001100');
    // i.e. run-as-node off, cookies encrypted, NODE_OPTIONS off, --inspect off, asar integrity on, only the asar, no V8 snapshot, no file:// privileges
  });

  it('bundles the app in its asar with the Electron entry, the renderer and the preloads, and nothing of the tests, lab, bench or service', () => {
    const asar = join(app, 'resources', 'app.asar');
    const manifest = JSON.parse(extractFile(asar, 'package.json').toString('utf8')) as { main: string; version: string };
    const own = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(manifest).toMatchObject({ main: 'dist/main/host/electron/main.js', version: own.version });
    const files = listPackage(asar, { isPack: false }).map((f) => f.replaceAll('\\', '/'));
    for (const needed of ['/dist/main/host/electron/main.js', '/dist/main/host/electron/preload.cjs', '/dist/main/host/electron/kiosk-preload.cjs', '/dist/renderer/index.html', '/dist/main/cli/selfdeploy.js', '/dist/main/cli/helper.js']) {
      expect(files, needed).toContain(needed);
    }
    for (const absent of [/\.test\.js$/, /^\/dist\/(lab|bench|backend)\//, /\/testing\//, /^\/node_modules\/(better-sqlite3|pg|fastify|kysely)\//, /^\/(main|protocol|renderer)\/.*\.tsx?$/]) {
      expect(files.filter((f) => absent.test(f)), String(absent)).toEqual([]);
    }
  });

  it('unpacks the N-API addon byte for byte, and what the helper and the CLIs run on system Node', () => {
    const unpacked = join(app, 'resources', 'app.asar.unpacked');
    expect(readFileSync(join(unpacked, 'native', 'build', 'Release', 'selfdeploy_tpm.node')).equals(readFileSync(join(root, 'native', 'build', 'Release', 'selfdeploy_tpm.node')))).toBe(true);
    for (const file of ['dist/main/cli/helper.js', 'dist/main/cli/selfdeploy.js', 'dist/protocol/ipc.js', 'node_modules/zod/package.json', 'node_modules/systeminformation/package.json']) {
      expect(existsSync(join(unpacked, file)), file).toBe(true);
    }
    // The wrappers on PATH point at those files, where the deb installs the app (/opt/selfdeploy).
    for (const [wrapper, target] of [
      ['selfdeploy', 'dist/main/cli/selfdeploy.js'],
      ['selfdeploy-helper', 'dist/main/cli/helper.js'],
    ] as const) {
      const script = readFileSync(join(app, 'resources', 'bin', wrapper), 'utf8');
      expect(statSync(join(app, 'resources', 'bin', wrapper)).mode & 0o111).not.toBe(0);
      expect(script).toContain(`exec /usr/bin/node /opt/selfdeploy/resources/app.asar.unpacked/${target} "$@"`);
    }
  });

  it('runs the CLIs from the unpacked part on Node, as the wrappers do: every import resolves and the addon loads', async () => {
    const unpacked = join(app, 'resources', 'app.asar.unpacked');
    const own = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    const cli = join(unpacked, 'dist', 'main', 'cli', 'selfdeploy.js');
    expect((await exec(process.execPath, [cli, '--version'])).stdout).toBe(`selfdeploy ${own.version}\n`);
    // A TPM that does not answer: TPM_UNAVAILABLE (status 3), which needs the packaged addon loaded (else TPM_ADDON_MISSING).
    const tpm = await exec(process.execPath, [cli, 'tpm', 'info', '--tcti', 'swtpm:host=127.0.0.1,port=9', '--json']).then(
      () => ({ code: 0, stdout: '' }),
      (error: { code: number; stdout: string }) => error,
    );
    expect(tpm.code).toBe(3);
    expect(tpm.stdout).toContain('"code": "TPM_UNAVAILABLE"');
    const helper = await exec(process.execPath, [join(unpacked, 'dist', 'main', 'cli', 'helper.js'), '--version']);
    expect(helper.stdout).toBe(`selfdeploy-helper ${own.version}\n`);
  });

  it('ships the helper, first-boot, check-in and shared-accounts units, which systemd-analyze verifies as installed', async () => {
    const units = readdirSync(join(app, 'resources', 'systemd')).sort();
    expect(units).toEqual(['selfdeploy-checkin.service', 'selfdeploy-checkin.timer', 'selfdeploy-firstboot.service', 'selfdeploy-helper.service', 'selfdeploy-shared-accounts.service', 'selfdeploy-shared-accounts.timer']);
    // A root that looks like the installed system: the app in /opt, cage, systemd's own units.
    const system = join(work, 'root');
    cpSync('/lib/systemd/system', join(system, 'lib', 'systemd', 'system'), { recursive: true });
    cpSync(app, join(system, 'opt', 'selfdeploy'), { recursive: true });
    mkdirSync(join(system, 'usr', 'bin'), { recursive: true });
    writeFileSync(join(system, 'usr', 'bin', 'cage'), '#!/bin/sh\n', { mode: 0o755 });
    for (const unit of units) cpSync(join(app, 'resources', 'systemd', unit), join(system, 'lib', 'systemd', 'system', unit));
    const verified = await exec('systemd-analyze', [`--root=${system}`, 'verify', ...units]);
    expect(verified.stderr + verified.stdout).toBe('');
    const firstBoot = readFileSync(join(app, 'resources', 'systemd', 'selfdeploy-firstboot.service'), 'utf8');
    expect(firstBoot).toContain('ConditionPathExists=!/var/lib/selfdeploy/provisioned');
    expect(firstBoot).toContain('Before=display-manager.service');
    expect(firstBoot).toMatch(/^Restart=on-failure$/m); // exit 75 after a critical update: the new version starts
    expect(firstBoot).toMatch(/^User=selfdeploy$/m);
    expect(firstBoot).toMatch(/^ExecStart=\/usr\/bin\/cage -s -- \/opt\/selfdeploy\/selfdeploy-app --first-boot /m);
    expect(readFileSync(join(app, 'resources', 'systemd', 'selfdeploy-helper.service'), 'utf8')).toMatch(/^ExecStart=\/opt\/selfdeploy\/resources\/bin\/selfdeploy-helper /m);
    // The check-in: only once provisioned, as the agent's user, hourly.
    const checkIn = readFileSync(join(app, 'resources', 'systemd', 'selfdeploy-checkin.service'), 'utf8');
    expect(checkIn).toContain('ConditionPathExists=/var/lib/selfdeploy/provisioned');
    expect(checkIn).toMatch(/^User=selfdeploy$/m);
    expect(checkIn).toMatch(/^ExecStart=\/opt\/selfdeploy\/resources\/bin\/selfdeploy checkin /m);
    expect(readFileSync(join(app, 'resources', 'systemd', 'selfdeploy-checkin.timer'), 'utf8')).toMatch(/^OnUnitActiveSec=1h$/m);
    // A shared device's sweep of members' homes: root's, daily, only where device setup configured one.
    const sweep = readFileSync(join(app, 'resources', 'systemd', 'selfdeploy-shared-accounts.service'), 'utf8');
    expect(sweep).toContain('ConditionPathExists=/etc/selfdeploy/shared-accounts.json');
    expect(sweep).toMatch(/^ExecStart=\/opt\/selfdeploy\/resources\/bin\/selfdeploy-shared-accounts$/m);
    expect(sweep).not.toMatch(/^User=/m);
    expect(readFileSync(join(app, 'resources', 'systemd', 'selfdeploy-shared-accounts.timer'), 'utf8')).toMatch(/^OnUnitActiveSec=1d$/m);
    expect(existsSync(join(app, 'resources', 'polkit', '50-selfdeploy-networkmanager.rules'))).toBe(true);
  });

  it('has app-update.yml for the service’s update feed, and deb scripts that parse and set up user, units and links', async () => {
    expect(parse(readFileSync(join(app, 'resources', 'app-update.yml'), 'utf8'))).toMatchObject({ provider: 'generic', channel: 'latest' });
    for (const script of ['postinst', 'postrm']) await exec('sh', ['-n', join(root, 'resources', 'deb', script)]);
    const postinst = readFileSync(join(root, 'resources', 'deb', 'postinst'), 'utf8');
    expect(postinst).toContain('adduser --system --ingroup selfdeploy');
    expect(postinst).toContain('adduser selfdeploy tss');
    expect(postinst).toContain('systemctl enable selfdeploy-helper.service selfdeploy-firstboot.service selfdeploy-checkin.timer');
    // Every file postinst installs from the package exists in it.
    for (const [, path] of postinst.matchAll(/\/opt\/selfdeploy\/(\S+?)(?=[\s'"]|$)/g)) {
      expect(existsSync(join(app, path!)), path).toBe(true);
    }
  });
});
