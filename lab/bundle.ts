// Agent releases for the update feed, as the lab and the tests publish them: a bundle (what the
// headless agent's critical-update step installs, main/deploy/updates.ts — this build's
// package.json with the version given, dist/main, dist/protocol and the TPM addon, as a .tar.gz),
// and a small deb of the package as the packaged app's release would be (installed by the helper).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { packageRoot } from '../main/installation/layout.js';

/** Writes the bundle of this build as `version` to `file` (a .tar.gz); returns its bytes. */
export function buildAgentBundle(version: string, file: string, patch: (dir: string) => void = () => undefined): Buffer {
  const root = packageRoot();
  const staging = mkdtempSync(join(tmpdir(), 'selfdeploy-bundle-'));
  try {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(staging, 'package.json'), JSON.stringify({ ...manifest, version }, null, 2) + '\n');
    for (const part of ['main', 'protocol']) cpSync(join(root, 'dist', part), join(staging, 'dist', part), { recursive: true, filter: (path) => !path.endsWith('.test.js') && !path.includes('/testing/') && !path.endsWith('.d.ts') });
    mkdirSync(join(staging, 'native', 'build', 'Release'), { recursive: true });
    cpSync(join(root, 'native', 'build', 'Release', 'selfdeploy_tpm.node'), join(staging, 'native', 'build', 'Release', 'selfdeploy_tpm.node'));
    patch(staging);
    execFileSync('tar', ['-czf', file, '-C', staging, '--owner=0', '--group=0', '.']);
    return readFileSync(file);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** A deb of `name` (selfdeploy, or another to be refused) at `version`, holding /opt/selfdeploy/version. */
export function buildReleaseDeb(version: string, name = 'selfdeploy'): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'selfdeploy-release-deb-'));
  try {
    mkdirSync(join(dir, 'pkg', 'DEBIAN'), { recursive: true });
    mkdirSync(join(dir, 'pkg', 'opt', 'selfdeploy'), { recursive: true });
    writeFileSync(join(dir, 'pkg', 'DEBIAN', 'control'), `Package: ${name}\nVersion: ${version}\nArchitecture: all\nMaintainer: selfdeploy lab <lab@selfdeploy.invalid>\nDescription: a selfdeploy release for the lab\n`);
    writeFileSync(join(dir, 'pkg', 'opt', 'selfdeploy', 'version'), `${version}\n`);
    execFileSync('dpkg-deb', ['--root-owner-group', '--build', join(dir, 'pkg'), join(dir, 'out.deb')], { stdio: 'ignore' });
    return readFileSync(join(dir, 'out.deb'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
