import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ChangeLog } from '../target/changes.js';
import { Target } from './target.js';

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'selfdeploy-target-'));
  const root = join(dir, 'root');
  mkdirSync(join(root, 'etc'), { recursive: true });
  const changes = new ChangeLog(join(dir, 'state', 'changes'));
  return { dir, root, changes, target: new Target(root, changes) };
}

/** Every file and directory under `dir` with its bytes, mode and link. */
function tree(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const stat = lstatSync(path);
    const key = `${prefix}/${name}`;
    if (stat.isSymbolicLink()) out[key] = `-> ${readlinkSync(path)}`;
    else if (stat.isDirectory()) Object.assign(out, { [key]: `dir ${(stat.mode & 0o7777).toString(8)}` }, tree(path, key));
    else out[key] = `${(stat.mode & 0o7777).toString(8)} ${readFileSync(path).toString('base64')}`;
  }
  return out;
}

describe('the target', () => {
  it('records each change before it is made, skips writes that change nothing, and undoes all of it exactly', async () => {
    const { root, changes, target } = setup();
    writeFileSync(join(root, 'etc', 'hostname'), 'old-name\n');
    chmodSync(join(root, 'etc', 'hostname'), 0o640);
    symlinkSync('../run/resolv.conf', join(root, 'etc', 'resolv.conf'));
    const before = tree(root);

    expect(await target.writeFile('a@1', '/etc/hostname', 'KIOSK-1\n', 0o644)).toBe(true);
    expect(await target.writeFile('a@1', '/etc/hostname', 'KIOSK-1\n', 0o644)).toBe(false);
    expect(await target.writeFile('b@1', '/etc/NetworkManager/system-connections/x.nmconnection', 'psk=secret\n', 0o600)).toBe(true);
    expect(await target.writeFile('c@1', '/etc/resolv.conf', 'nameserver 192.0.2.53\n')).toBe(true);
    expect(await target.writeSymlink('d@1', '/opt/app/bin/app', '../lib/app')).toBe(true);
    expect(lstatSync(join(root, 'etc/NetworkManager/system-connections/x.nmconnection')).mode & 0o777).toBe(0o600);
    expect(changes.entries().map((c) => c.type)).toEqual(['file', 'dir', 'dir', 'file', 'file', 'dir', 'dir', 'dir', 'file']);

    const report = await target.undoAll();
    expect(report.left).toEqual([]);
    expect(tree(root)).toEqual(before);
    expect(changes.entries()).toEqual([]);
  });

  it('refuses ".." and paths that leave the root through a symlink, writing and recording nothing', async () => {
    const { dir, root, changes, target } = setup();
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    symlinkSync(outside, join(root, 'etc', 'evil'));
    symlinkSync('../..', join(root, 'etc', 'up'));
    for (const path of ['/etc/../../outside/x', '/etc/evil/passwd', '/etc/up/outside/x', '/etc/x\0y']) {
      await expect(target.writeFile('x@1', path, 'owned'), path).rejects.toMatchObject({ code: 'ITEM_PATH_REFUSED' });
    }
    await expect(target.writeSymlink('x@1', '/opt/app/escape', '../../../../../../../../etc')).rejects.toMatchObject({ code: 'ITEM_PATH_REFUSED' });
    expect(readdirSync(outside)).toEqual([]);
    expect(existsSync(join(root, 'opt'))).toBe(false);
    expect(changes.entries()).toEqual([]);
  });

  it('follows symlinks that stay inside the root (merged /usr)', async () => {
    const { root, target } = setup();
    mkdirSync(join(root, 'usr', 'lib'), { recursive: true });
    symlinkSync('usr/lib', join(root, 'lib'));
    await target.writeFile('x@1', '/lib/selfdeploy/marker', 'here\n');
    expect(readFileSync(join(root, 'usr/lib/selfdeploy/marker'), 'utf8')).toBe('here\n');
  });

  it('drops a change torn by power loss mid-append, and refuses a damaged log otherwise', async () => {
    const { changes, target } = setup();
    await target.writeFile('x@1', '/etc/a', 'a');
    appendFileSync(changes.file, '{"type":"file","item":"x@1","pa');
    expect(changes.entries()).toHaveLength(1);
    appendFileSync(changes.file, '\n');
    expect(() => changes.entries()).toThrow(/line 2 is damaged/);
  });
});
