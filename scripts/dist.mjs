// `npm run dist`: the Linux packages (deb, AppImage, dir) with electron-builder, from the built
// tree (`npm run build` ran first). Needs the Electron binary: electron's own download (off in
// this repository's npm settings) or an unpacked Electron named by ELECTRON_DIST. Says so plainly
// when neither is there, instead of letting electron-builder try a download. Arguments name the
// targets (default: deb AppImage dir).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

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
process.stdout.write(`dist: electron-builder --linux ${targets.join(' ')} with the Electron in ${dist}\n`);
// DIST_OUTPUT: where the packages go (default dist-electron/).
const output = process.env.DIST_OUTPUT ? [`-c.directories.output=${process.env.DIST_OUTPUT}`] : [];
const built = spawnSync(join(root, 'node_modules', '.bin', 'electron-builder'), ['--linux', ...targets, '--config', 'electron-builder.yml', `-c.electronDist=${dist}`, ...output], { cwd: root, stdio: 'inherit' });
process.exit(built.status ?? 1);
