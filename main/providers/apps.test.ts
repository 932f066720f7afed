import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { assigned, scratchTarget } from './testing/scratch.js';

/** A real .deb built with dpkg-deb: /usr/share/NAME/VERSION and /usr/bin/NAME. */
function buildDeb(dir: string, name: string, version: string): Buffer {
  const tree = join(dir, `${name}-deb`);
  mkdirSync(join(tree, 'DEBIAN'), { recursive: true });
  mkdirSync(join(tree, 'usr', 'share', name), { recursive: true });
  mkdirSync(join(tree, 'usr', 'bin'), { recursive: true });
  writeFileSync(join(tree, 'DEBIAN', 'control'), `Package: ${name}\nVersion: ${version}\nArchitecture: all\nMaintainer: test <t@example.invalid>\nDescription: test package\n`);
  writeFileSync(join(tree, 'usr', 'share', name, 'VERSION'), `${version}\n`);
  writeFileSync(join(tree, 'usr', 'bin', name), '#!/bin/sh\necho hi\n');
  chmodSync(join(tree, 'usr', 'bin', name), 0o755);
  execFileSync('dpkg-deb', ['--root-owner-group', '--build', tree, join(dir, `${name}.deb`)], { stdio: 'ignore' });
  return readFileSync(join(dir, `${name}.deb`));
}

describe('apps', () => {
  it('place a .deb in a scratch target, report download and install progress, and detect it by version afterwards', async () => {
    const t = scratchTarget();
    const app = assigned({ kind: 'app', name: 'Lobby browser', payload: { package: 'lobby-browser', version: '2.1', installer: 'deb', content: t.content(buildDeb(t.dir, 'lobby-browser', '2.1')), detection: { type: 'deb-version', package: 'lobby-browser', version: '2.1' } } });
    expect(await t.providers.detect(app)).toBe(false);
    const result = await t.providers.apply(app, t.context);
    expect(result).toEqual({ rebootRequired: false, detail: 'lobby-browser 2.1' });
    expect(t.read('usr/share/lobby-browser/VERSION')).toBe('2.1\n');
    expect(t.stat('usr/bin/lobby-browser').mode & 0o777).toBe(0o755);
    expect(t.progress.map(([, detail]) => detail)).toEqual(['Installing', 'Installed']);
    expect(await t.providers.detect(app)).toBe(true);
  });

  it('read a deb-version rule from the dpkg database, where there is one', async () => {
    const status = 'Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\n\nPackage: signage\nStatus: deinstall ok config-files\nVersion: 1.0\n';
    const t = scratchTarget({ 'var/lib/dpkg/status': status });
    const rule = (pkg: string, version: string) => assigned({ kind: 'app', name: 'x', payload: { package: 'x', version: '1', installer: 'deb', content: t.content(Buffer.from('x')), detection: { type: 'deb-version', package: pkg, version } } });
    expect(await t.providers.detect(rule('bash', '5.2.15-2+b2'))).toBe(true);
    expect(await t.providers.detect(rule('bash', '5.1'))).toBe(false);
    expect(await t.providers.detect(rule('signage', '1.0'))).toBe(false); // removed, only its configuration left
  });

  it('detect by a command that exits 0, run from the target root with SELFDEPLOY_ROOT set', async () => {
    const t = scratchTarget({ 'opt/signage/VERSION': '3\n' });
    const rule = (argv: string[]) => assigned({ kind: 'app', name: 'x', payload: { package: 'x', version: '1', installer: 'tar', content: t.content(Buffer.from('x')), detection: { type: 'command', argv } } });
    expect(await t.providers.detect(rule(['/bin/sh', '-c', 'grep -qx 3 "$SELFDEPLOY_ROOT/opt/signage/VERSION"']))).toBe(true);
    expect(await t.providers.detect(rule(['/bin/sh', '-c', 'grep -qx 4 opt/signage/VERSION']))).toBe(false);
    expect(await t.providers.detect(rule(['/nonexistent/tool']))).toBe(false);
  });

  it('read a shell installer’s exit status: success, restart required (3010), or failed', async () => {
    const t = scratchTarget();
    const installer = (status: number, script = '') =>
      assigned({
        kind: 'app',
        name: `installer-${status}`,
        payload: { package: `app${status}`, version: '1', installer: 'script', exitCodes: { success: [0, 2], rebootRequired: [100] }, content: t.content(Buffer.from(`echo installing >&2\n${script}exit ${status}\n`)) },
      });
    expect(await t.providers.apply(installer(0), t.context)).toEqual({ rebootRequired: false, detail: 'app0 1' });
    expect(await t.providers.apply(installer(2), t.context)).toEqual({ rebootRequired: false, detail: 'app2 1' });
    expect(await t.providers.apply(installer(100), t.context)).toEqual({ rebootRequired: true, detail: 'app100 1 (restart required)' });
    await expect(t.providers.apply(installer(1), t.context)).rejects.toMatchObject({ code: 'ITEM_FAILED', message: expect.stringContaining('exited with status 1: installing') });
    expect(t.read('var/log/selfdeploy/applied.log')).toContain('"rebootRequired":true');
  });

  it('take an installer that creates /run/reboot-required as asking for a restart', async () => {
    const t = scratchTarget();
    const app = assigned({ kind: 'app', name: 'kernel-module', payload: { package: 'kmod', version: '1', installer: 'script', content: t.content(Buffer.from('mkdir -p "$SELFDEPLOY_ROOT/run"\ntouch "$SELFDEPLOY_ROOT/run/reboot-required"\n')) } });
    expect(await t.providers.apply(app, t.context)).toMatchObject({ rebootRequired: true });
  });

  it('kill a hanging installer at the item’s timeout and report it', async () => {
    const t = scratchTarget();
    const app = assigned({ kind: 'app', name: 'stuck', payload: { package: 'stuck', version: '1', installer: 'script', timeoutSeconds: 10, content: t.content(Buffer.from('sleep 600\n')) } });
    const started = Date.now();
    await expect(t.providers.apply(app, t.context)).rejects.toMatchObject({ code: 'ITEM_FAILED', message: expect.stringContaining('did not finish within 10 s') });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await t.providers.detect(app)).toBe(false);
  }, 30_000);

  it('never run content that changed after its download was checked', async () => {
    const t = scratchTarget();
    const marker = join(t.dir, 'ran');
    const good = t.content(Buffer.from('true\n'));
    // Swapped on disk after the download's own check (or by another local process).
    writeFileSync(good.file, `touch ${marker}\n`);
    const app = assigned({ kind: 'app', name: 'swapped', payload: { package: 'swapped', version: '1', installer: 'script', content: { sha256: good.sha256, size: good.size } } });
    await expect(t.providers.apply(app, t.context)).rejects.toMatchObject({ code: 'CONTENT_DIGEST_MISMATCH' });
    expect(existsSync(marker)).toBe(false);
    const appimage = assigned({ kind: 'app', name: 'swapped-image', payload: { package: 'swapped-image', version: '1', installer: 'appimage', content: { sha256: good.sha256, size: good.size } } });
    await expect(t.providers.apply(appimage, t.context)).rejects.toMatchObject({ code: 'CONTENT_DIGEST_MISMATCH' });
    expect(existsSync(join(t.root, 'opt/swapped-image'))).toBe(false);
  });

  it('put an AppImage in /opt/NAME, executable', async () => {
    const t = scratchTarget();
    const image = Buffer.from('\x7fELF AppImage stand-in');
    const app = assigned({ kind: 'app', name: 'viewer', payload: { package: 'viewer', version: '5', installer: 'appimage', content: t.content(image) } });
    await t.providers.apply(app, t.context);
    expect(readFileSync(join(t.root, 'opt/viewer/viewer.AppImage')).equals(image)).toBe(true);
    expect(t.stat('opt/viewer/viewer.AppImage').mode & 0o777).toBe(0o755);
    expect(await t.providers.detect(app)).toBe(true);
  });
});
