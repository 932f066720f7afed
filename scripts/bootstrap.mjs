// Brings a fresh Debian checkout to a buildable, testable state before `npm test`, `npm run lab`
// and the benchmarks: Debian packages (apt-get as root, else the exact command to run), npm ci
// when node_modules is missing or older than the lockfile, the native addon and the TypeScript
// projects when their sources changed. Plain Node, no dependencies: it runs before npm ci.
// Usage: node scripts/bootstrap.mjs <test|lab|bench|build> [--quiet]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Debian packages by purpose. Runtime TCTI modules are loaded by tctildr at run time. */
const PACKAGES = {
  build: ['g++', 'make', 'python3', 'pkg-config', 'libtss2-dev', 'libtss2-tcti-device0', 'libtss2-tcti-swtpm0'],
  lab: ['swtpm', 'swtpm-tools', 'tpm2-tools', 'openssl'],
  // The real renderer in a real browser (the dev host; Playwright drives it); a font with Arabic.
  browser: ['chromium', 'fonts-dejavu-core'],
  // The service's multi-instance store; tests and benchmarks start private servers from it.
  service: ['postgresql'],
  // Operating the service: Prometheus scrapes it (promtool checks its exposition); HAProxy balances replicas.
  operations: ['prometheus', 'haproxy'],
  // The packaging test checks the systemd units with systemd-analyze.
  packaging: ['systemd'],
  // The system suite: a throwaway Debian 13 root built with Debian's own tool (lab/debian-root.ts).
  system: ['mmdebstrap'],
};
const PURPOSES = {
  build: ['build'],
  lab: ['build', 'lab', 'browser'],
  test: ['build', 'lab', 'service', 'browser', 'operations', 'packaging', 'system'],
  bench: ['build', 'lab', 'service', 'browser', 'operations'], // browser: the report's charts are Chromium screenshots; operations: the replicas' balancer
};

const quiet = process.argv.includes('--quiet');
const say = (text) => {
  if (!quiet) process.stdout.write(`bootstrap: ${text}\n`);
};

class BootstrapError extends Error {}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit', cwd: root, ...options });
  if (result.error) throw new BootstrapError(`${command} could not run: ${result.error.message}`);
  if (result.status !== 0) throw new BootstrapError(`${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
}

function missingDebianPackages(packages) {
  let output = '';
  try {
    output = execFileSync('dpkg-query', ['-W', '-f=${Package} ${db:Status-Status}\\n', ...packages], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch (error) {
    // dpkg-query exits 1 when some package is unknown; its stdout still lists the known ones.
    if (error.status === undefined) return null; // no dpkg: not Debian
    output = error.stdout?.toString() ?? '';
  }
  const installed = new Set(
    output
      .split('\n')
      .filter((line) => line.endsWith(' installed'))
      .map((line) => line.split(' ')[0].split(':')[0]),
  );
  return packages.filter((p) => !installed.has(p));
}

function ensureDebianPackages(purpose) {
  const wanted = [...new Set(PURPOSES[purpose].flatMap((p) => PACKAGES[p]))];
  const missing = missingDebianPackages(wanted);
  if (missing === null) {
    say(`not a Debian system: make sure these (or their equivalents) are installed: ${wanted.join(' ')}`);
    return;
  }
  if (missing.length === 0) {
    say(`Debian packages present (${wanted.length})`);
    return;
  }
  const install = ['install', '-y', '--no-install-recommends', ...missing];
  if (process.getuid?.() !== 0) {
    throw new BootstrapError(
      `missing Debian packages: ${missing.join(' ')}\n  run:  sudo apt-get update && sudo apt-get ${install.join(' ')}\n  then run this command again.`,
    );
  }
  say(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], { env });
  run('apt-get', ['-qq', ...install], { env });
}

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function newestIn(dir, filter = () => true) {
  let newest = 0;
  if (!existsSync(dir)) return 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === 'build' || entry.name === 'node_modules') continue;
      newest = Math.max(newest, newestIn(path, filter));
    } else if (filter(entry.name)) {
      newest = Math.max(newest, mtime(path));
    }
  }
  return newest;
}

function ensureNodeModules() {
  const lockfile = join(root, 'package-lock.json');
  const installed = join(root, 'node_modules', '.package-lock.json');
  if (!existsSync(installed)) {
    say('npm ci (node_modules is missing)');
  } else if (mtime(installed) < mtime(lockfile)) {
    say('npm ci (node_modules is older than package-lock.json)');
  } else {
    say('node_modules up to date');
    return;
  }
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

/** Node's headers: node-gyp would download them, and this machine has no internet. */
function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = dirname(dirname(process.execPath));
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

export function buildNative({ force = false } = {}) {
  const addon = join(root, 'native', 'build', 'Release', 'selfdeploy_tpm.node');
  const sources = Math.max(newestIn(join(root, 'native')), mtime(join(root, 'node_modules', 'node-addon-api', 'package.json')));
  if (!force && mtime(addon) > sources) {
    say('native addon up to date');
    return;
  }
  say('building the native TPM addon (node-gyp, tpm2-tss)');
  const dir = nodeDir();
  run(process.execPath, [
    join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    'rebuild',
    '--directory',
    join(root, 'native'),
    ...(dir ? [`--nodedir=${dir}`] : []),
    ...(quiet ? ['--silent'] : ['--loglevel=warn']),
  ]);
}

function buildTypeScript() {
  say('compiling TypeScript (tsc -b, incremental)');
  run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-b']);
}

/** The renderer (React) into dist/renderer with Vite; type-checked by the test run. */
function buildRenderer() {
  say('bundling the renderer (vite build → dist/renderer)');
  run(process.execPath, [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', join(root, 'renderer', 'vite.config.ts'), '--logLevel', 'warn']);
}

export function bootstrap(purpose) {
  if (!PURPOSES[purpose]) throw new BootstrapError(`unknown purpose "${purpose}" (test, lab, bench, build)`);
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    throw new BootstrapError(`Node.js ${process.versions.node} is too old: selfdeploy needs 20.19 or newer`);
  }
  ensureDebianPackages(purpose);
  ensureNodeModules();
  buildNative();
  buildTypeScript();
  buildRenderer();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const purpose = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 'build';
  try {
    if (process.argv.includes('--native-only')) buildNative({ force: true });
    else bootstrap(purpose);
  } catch (error) {
    if (!(error instanceof BootstrapError)) throw error;
    process.stderr.write(`bootstrap: ${error.message}\n`);
    process.exit(1);
  }
}
