// `npm run dist:server`: the deployment service's Debian package, selfdeploy-server_VERSION_ARCH.deb,
// built with Debian's own dpkg-deb from the built tree (`npm run build` ran first):
//   /usr/lib/selfdeploy-server/  package.json, dist/{backend,protocol,renderer}, and the production
//                                dependencies from node_modules (the lockfile's non-dev packages;
//                                better-sqlite3's native module is why the package has an ARCH)
//   /usr/bin/selfdeploy-server, /usr/bin/selfdeploy-admin   on the system's Node (Depends: nodejs)
//   /usr/lib/systemd/system/selfdeploy-server.service       the hardened unit
//   /usr/share/doc/selfdeploy-server/                       the operations guide the unit names
// with resources/server/{control,postinst,postrm}. Usage: node scripts/server-deb.mjs [OUTPUT_DIR]
// (default dist-server/); prints the package's path.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';

const root = join(import.meta.dirname, '..');
const resources = join(root, 'resources', 'server');
const LIB = '/usr/lib/selfdeploy-server';

/** What of a dependency is not needed to run it: sources a native module was built from, build leftovers. */
function runtimeOnly(source) {
  const path = relative(join(root, 'node_modules'), source).split(sep).join('/');
  return !/^better-sqlite3\/(deps|src)(\/|$)|^better-sqlite3\/build\/(?!Release(\/better_sqlite3\.node)?$)/.test(path) && !/\.(ts|map|md)$/.test(path);
}

export function buildServerDeb(output) {
  for (const built of ['dist/backend/cli/server.js', 'dist/backend/cli/admin.js', 'dist/renderer/admin.html']) {
    if (!existsSync(join(root, built))) throw new Error(`${built} is missing: run npm run build first`);
  }
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const arch = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
  const work = mkdtempSync(join(tmpdir(), 'selfdeploy-server-deb-'));
  try {
    const pkg = join(work, 'pkg');
    const lib = join(pkg, LIB);
    mkdirSync(lib, { recursive: true });
    // The version the service reports is this package.json's (backend/version.ts finds it).
    writeFileSync(join(lib, 'package.json'), JSON.stringify({ name: 'selfdeploy', version, private: true, type: 'module', license: 'Apache-2.0' }, null, 2) + '\n');
    for (const part of ['backend', 'protocol', 'renderer']) {
      cpSync(join(root, 'dist', part), join(lib, 'dist', part), { recursive: true, filter: (source) => !/\.(map|d\.ts)$/.test(source) && !/[/\\](testing)([/\\]|$)|\.test\.js$/.test(source) });
    }
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (!path || entry.dev) continue;
      if (!existsSync(join(root, path))) {
        if (entry.optional) continue;
        throw new Error(`${path} (a production dependency) is not installed: run npm ci`);
      }
      cpSync(join(root, path), join(lib, path), { recursive: true, filter: runtimeOnly });
    }
    const bin = join(pkg, 'usr', 'bin');
    mkdirSync(bin, { recursive: true });
    for (const [name, script] of [['selfdeploy-server', 'server.js'], ['selfdeploy-admin', 'admin.js']]) {
      writeFileSync(join(bin, name), `#!/bin/sh\nexec /usr/bin/node ${LIB}/dist/backend/cli/${script} "$@"\n`);
      chmodSync(join(bin, name), 0o755);
    }
    const units = join(pkg, 'usr', 'lib', 'systemd', 'system');
    mkdirSync(units, { recursive: true });
    copyFileSync(join(resources, 'selfdeploy-server.service'), join(units, 'selfdeploy-server.service'));
    const doc = join(pkg, 'usr', 'share', 'doc', 'selfdeploy-server');
    mkdirSync(doc, { recursive: true });
    for (const page of ['operations.md', 'errors.md', 'protocol.md']) copyFileSync(join(root, 'docs', page), join(doc, page));
    writeFileSync(join(doc, 'copyright'), 'selfdeploy-server\nCopyright: selfdeploy contributors\nLicense: Apache-2.0\n See /usr/share/common-licenses/Apache-2.0.\n');
    const control = join(pkg, 'DEBIAN');
    mkdirSync(control, { recursive: true });
    const size = execFileSync('du', ['-sk', '--apparent-size', pkg], { encoding: 'utf8' }).split('\t')[0];
    writeFileSync(join(control, 'control'), readFileSync(join(resources, 'control'), 'utf8').replace('@VERSION@', version).replace('@ARCH@', arch).replace('@INSTALLED_SIZE@', size));
    for (const script of ['postinst', 'postrm']) {
      copyFileSync(join(resources, script), join(control, script));
      chmodSync(join(control, script), 0o755);
    }
    mkdirSync(output, { recursive: true });
    const deb = join(output, `selfdeploy-server_${version}_${arch}.deb`);
    execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', pkg, deb], { stdio: ['ignore', 'ignore', 'inherit'] });
    return deb;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const deb = buildServerDeb(process.argv[2] ?? join(root, 'dist-server'));
  process.stdout.write(`dist:server: ${deb} (dpkg-deb)\n`);
}
