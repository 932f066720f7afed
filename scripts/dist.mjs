// `npm run dist`: the Linux packages (deb, AppImage, dir) from the built tree (`npm run build` ran
// first): electron-builder makes the unpacked app (`dir`) and the AppImage, Debian's dpkg-deb the
// deb from the unpacked app (scripts/deb.mjs). Needs the Electron binary: electron's own download (off in
// this repository's npm settings) or an unpacked Electron named by ELECTRON_DIST. Says so plainly
// when neither is there, instead of letting electron-builder try a download. Arguments name the
// targets (default: deb AppImage dir).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { buildDeb } from './deb.mjs';

const root = join(import.meta.dirname, '..');
const bundled = join(root, 'node_modules', 'electron', 'dist');
const dist = process.env.ELECTRON_DIST ?? (existsSync(join(bundled, 'electron')) ? bundled : undefined);
if (!dist || !existsSync(join(dist, 'electron'))) {
  process.stderr.write(
    'dist: no Electron binary. Either let the electron package download it (npm rebuild electron, where its\n' +
      'download is reachable) or set ELECTRON_DIST to an unpacked Electron 45 for Linux x64; then run npm run dist again.\n',
  );
  process.exit(1);
}
const targets = process.argv.slice(2).length ? process.argv.slice(2) : ['deb', 'AppImage', 'dir'];
const unknown = targets.filter((t) => !['deb', 'AppImage', 'dir'].includes(t));
if (unknown.length) {
  process.stderr.write(`dist: unknown target ${unknown.join(', ')}; the targets are deb, AppImage and dir\n`);
  process.exit(2);
}
// The deb is made from the unpacked app, so electron-builder builds `dir` whenever the deb is asked for.
const builderTargets = [...new Set(targets.flatMap((t) => (t === 'deb' ? ['dir'] : [t])))];
process.stdout.write(`dist: electron-builder --linux ${builderTargets.join(' ')} with the Electron in ${dist}\n`);
// DIST_OUTPUT: where the packages go (default dist-electron/).
const output = process.env.DIST_OUTPUT ?? join(root, 'dist-electron');
const built = spawnSync(join(root, 'node_modules', '.bin', 'electron-builder'), ['--linux', ...builderTargets, '--config', 'electron-builder.yml', `-c.electronDist=${dist}`, `-c.directories.output=${output}`], { cwd: root, stdio: 'inherit' });
if (built.status !== 0) process.exit(built.status ?? 1);
if (targets.includes('deb')) {
  const deb = buildDeb(join(output, 'linux-unpacked'), output);
  process.stdout.write(`dist: ${deb} (dpkg-deb)\n`);
}
