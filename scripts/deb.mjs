// The deb, built with Debian's own dpkg-deb from the unpacked app (electron-builder's `dir`
// target): /opt/selfdeploy, the desktop entry, the icons, the operations guide the units name,
// and wpa_supplicant's OpenSSL with the tpm2 provider (802.1X keys in the TPM),
// with the control file resources/deb/control (its Depends are what the package needs from the
// distribution) and the maintainer scripts resources/deb/postinst and postrm. Not electron-builder's
// deb target: that needs fpm, which it downloads from GitHub at build time.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

/** Installed-Size: kibibytes, as dpkg counts them (du of the tree). */
function installedSize(dir) {
  return execFileSync('du', ['-sk', '--apparent-size', dir], { encoding: 'utf8' }).split('\t')[0];
}

/**
 * Builds `selfdeploy_VERSION_ARCH.deb` into `output` from the unpacked app in `app`; returns its path.
 * VERSION is package.json's, ARCH this machine's (dpkg --print-architecture).
 */
export function buildDeb(app, output) {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const arch = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
  const work = mkdtempSync(join(tmpdir(), 'selfdeploy-deb-'));
  try {
    const pkg = join(work, 'pkg');
    cpSync(app, join(pkg, 'opt', 'selfdeploy'), { recursive: true, verbatimSymlinks: true });
    const share = join(pkg, 'usr', 'share');
    mkdirSync(join(share, 'applications'), { recursive: true });
    writeFileSync(
      join(share, 'applications', 'selfdeploy.desktop'),
      '[Desktop Entry]\nName=selfdeploy\nComment=Set up this device for your organization\nExec=/opt/selfdeploy/selfdeploy-app %U\nTerminal=false\nType=Application\nIcon=selfdeploy\nCategories=System;\nNoDisplay=true\n',
    );
    for (const size of ['256x256', '512x512']) {
      const icons = join(share, 'icons', 'hicolor', size, 'apps');
      mkdirSync(icons, { recursive: true });
      copyFileSync(join(root, 'resources', 'icons', `${size}.png`), join(icons, 'selfdeploy.png'));
    }
    // 802.1X with the TPM-held key: OpenSSL with the tpm2 provider, for wpa_supplicant.service.
    mkdirSync(join(share, 'selfdeploy'), { recursive: true });
    copyFileSync(join(root, 'resources', 'deb', 'openssl-tpm2.cnf'), join(share, 'selfdeploy', 'openssl-tpm2.cnf'));
    const dropIns = join(pkg, 'usr', 'lib', 'systemd', 'system', 'wpa_supplicant.service.d');
    mkdirSync(dropIns, { recursive: true });
    copyFileSync(join(root, 'resources', 'deb', 'wpa_supplicant-tpm2.conf'), join(dropIns, '50-selfdeploy-tpm2.conf'));
    const doc = join(share, 'doc', 'selfdeploy');
    mkdirSync(doc, { recursive: true });
    copyFileSync(join(root, 'docs', 'operations.md'), join(doc, 'operations.md'));
    writeFileSync(join(doc, 'copyright'), 'selfdeploy\nCopyright: selfdeploy contributors\nLicense: Apache-2.0\n See /usr/share/common-licenses/Apache-2.0.\n');
    const control = join(pkg, 'DEBIAN');
    mkdirSync(control, { recursive: true });
    const fields = readFileSync(join(root, 'resources', 'deb', 'control'), 'utf8')
      .replace('@VERSION@', version)
      .replace('@ARCH@', arch)
      .replace('@INSTALLED_SIZE@', installedSize(pkg));
    writeFileSync(join(control, 'control'), fields);
    for (const script of ['postinst', 'postrm']) {
      copyFileSync(join(root, 'resources', 'deb', script), join(control, script));
      chmodSync(join(control, script), 0o755);
    }
    mkdirSync(output, { recursive: true });
    const file = join(output, `selfdeploy_${version}_${arch}.deb`);
    execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '-z1', '--build', pkg, file], { stdio: ['ignore', 'ignore', 'inherit'] });
    return file;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
