// A real Debian system to test in: a throwaway Debian 13 ("trixie") root built with Debian's own
// mmdebstrap, cached between runs under .cache/debian-roots/<recipe digest> (a new recipe — suite,
// mirror, packages — builds a new root and drops the old), copied for each test, and commands run
// inside it with chroot in a private mount and PID namespace (unshare): /proc is mounted there
// only, and whatever a test starts inside dies with it. Nothing is written outside the root.
//
// Booting systemd in the root (systemd-nspawn --boot) needs a running systemd and system bus on
// the machine; `bootSupport()` says whether this machine has them, so a suite can name what it
// does not run and why.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export const SUITE = 'trixie';
export const MIRROR = 'http://deb.debian.org/debian';

/**
 * What device setup's live half runs in the root, besides the agent package's own dependencies:
 * systemd (systemd-analyze, hostnamectl and friends), the accounts tools, the CA store, locales,
 * NetworkManager (nmcli) and wpa_supplicant, dconf, apt's dpkg, and the TPM parts (the swtpm
 * TCTI, tpm2-openssl, tpm2-tools) that make the root talk to a swtpm on loopback — and what uses
 * the TPM-held 802.1X key there: FreeRADIUS and eapol_test. Directory sign-in: SSSD with its LDAP
 * provider, NSS and PAM modules and tools (what a device image brings for it), pamtester to sign in with,
 * and the directory it signs in to — OpenLDAP's slapd and its tools, run by the test; for Active
 * Directory, SSSD's AD provider, adcli and the Kerberos tools, and Samba as the domain controller.
 */
export const SYSTEM_PACKAGES = [
  'systemd',
  'adduser',
  'passwd',
  'ca-certificates',
  'openssl',
  'locales',
  'network-manager',
  'wpasupplicant',
  'dconf-cli',
  'libtss2-tcti-swtpm0t64',
  'tpm2-openssl',
  'tpm2-tools',
  'freeradius',
  'eapoltest',
  'sssd-ldap',
  'libnss-sss',
  'libpam-sss',
  'sssd-tools',
  'pamtester',
  'slapd',
  'ldap-utils',
  // Active Directory sign-in: SSSD's AD provider, adcli (the join), and Samba as the test's domain controller.
  'sssd-ad',
  'adcli',
  'krb5-user',
  'samba-ad-dc',
  'samba-ad-provision',
] as const;

export interface RootRecipe {
  suite: string;
  mirror: string;
  variant: 'minbase';
  packages: string[];
}

/**
 * The packages a control file's Depends names, one per entry: the first alternative (the current
 * distribution's name), without its version — so a root built with them holds what the package needs.
 */
export function dependsOf(control: string): string[] {
  const field = /^Depends:(.*(?:\n[ \t].*)*)/m.exec(control)?.[1] ?? '';
  return field
    .split(',')
    .map((entry) => entry.split('|')[0]!.replace(/\(.*?\)/, '').trim())
    .filter(Boolean);
}

export function recipeOf(packages: readonly string[]): RootRecipe & { digest: string } {
  const recipe: RootRecipe = { suite: SUITE, mirror: MIRROR, variant: 'minbase', packages: [...new Set(packages)].sort() };
  const digest = createHash('sha256').update(JSON.stringify(recipe)).digest('hex').slice(0, 16);
  return { ...recipe, digest };
}

/**
 * The cached root for `recipe` under `cacheDir`, built with mmdebstrap when missing (into a
 * temporary directory renamed at the end, so an interrupted build is never taken for a root).
 */
export async function cachedRoot(cacheDir: string, recipe: RootRecipe & { digest: string }, log: (line: string) => void = () => undefined): Promise<string> {
  const root = join(cacheDir, recipe.digest);
  mkdirSync(cacheDir, { recursive: true });
  // Older recipes' roots, and copies a crashed run left behind (1 GB each), go.
  const cached = existsSync(join(root, 'etc', 'os-release'));
  for (const entry of readdirSync(cacheDir)) if (!cached || entry !== recipe.digest) rmSync(join(cacheDir, entry), { recursive: true, force: true });
  if (cached) {
    log(`debian root: cached ${root}`);
    return root;
  }
  const building = `${root}.building`;
  const started = Date.now();
  log(`debian root: mmdebstrap ${recipe.suite} (${recipe.variant}, ${recipe.packages.length} packages) into ${root}`);
  try {
    await exec('mmdebstrap', [`--variant=${recipe.variant}`, `--include=${recipe.packages.join(',')}`, '--skip=cleanup/apt/lists', recipe.suite, building, recipe.mirror], { timeout: 20 * 60_000, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    rmSync(building, { recursive: true, force: true });
    const stderr = String((error as { stderr?: string }).stderr ?? '').trim().split('\n').slice(-5).join('\n');
    throw new Error(`mmdebstrap could not build the Debian ${recipe.suite} root: ${stderr || (error as Error).message}`);
  }
  renameSync(building, root);
  log(`debian root: built in ${Math.round((Date.now() - started) / 1000)} s`);
  return root;
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** A user of the root (by name, looked up in the root's own /etc/passwd); default root. */
  user?: string;
  env?: Record<string, string>;
  /** The working directory inside the root (default /). */
  cwd?: string;
  input?: string | Buffer;
  timeoutMs?: number;
}

/** Whether systemd can be booted in a container here, and if not, why. */
export function bootSupport(): { boot: true } | { boot: false; reason: string } {
  if (!existsSync('/run/systemd/system')) return { boot: false, reason: 'this machine does not run systemd (no /run/systemd/system, no system bus), so systemd-nspawn --boot cannot start a container' };
  if (!existsSync('/usr/bin/systemd-nspawn')) return { boot: false, reason: 'systemd-nspawn is not installed (Debian: systemd-container)' };
  return { boot: true };
}

/** One throwaway copy of a cached root, and the commands run inside it. */
export class DebianRoot {
  private readonly children = new Set<ChildProcess>();

  private constructor(readonly dir: string) {}

  /** Copies `base` to `dir` (which must not exist), every owner, mode and link kept. */
  static async copy(base: string, dir: string): Promise<DebianRoot> {
    if (existsSync(dir)) throw new Error(`${dir} exists already`);
    await exec('cp', ['-a', '--reflink=auto', base, dir], { timeout: 10 * 60_000 });
    return new DebianRoot(dir);
  }

  /** The host path of a path inside the root. */
  path(devicePath: string): string {
    if (!devicePath.startsWith('/') || devicePath.split('/').includes('..')) throw new Error(`${devicePath} is not an absolute path inside the root`);
    return join(this.dir, devicePath);
  }

  read(devicePath: string): string {
    return readFileSync(this.path(devicePath), 'utf8');
  }

  /** uid and gid of a user, from the root's own account database. */
  account(user: string): { uid: number; gid: number } {
    const line = this.read('/etc/passwd')
      .split('\n')
      .find((l) => l.split(':')[0] === user);
    if (!line) throw new Error(`the root has no user "${user}"`);
    const [, , uid, gid] = line.split(':');
    return { uid: Number(uid), gid: Number(gid) };
  }

  /** Supplementary groups of a user, from the root's /etc/group. */
  private groupsOf(user: string): number[] {
    return this.read('/etc/group')
      .split('\n')
      .filter((l) => (l.split(':')[3] ?? '').split(',').includes(user))
      .map((l) => Number(l.split(':')[2]));
  }

  private argv(argv: readonly string[], options: RunOptions): string[] {
    const who: string[] = [];
    if (options.user && options.user !== 'root') {
      const { uid, gid } = this.account(options.user);
      const groups = this.groupsOf(options.user);
      who.push(`--userspec=${uid}:${gid}`, ...(groups.length ? [`--groups=${groups.join(',')}`] : []));
    }
    const home = options.user && options.user !== 'root' ? '/tmp' : '/root';
    const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: home, LANG: 'C.UTF-8', ...options.env };
    const cwd = options.cwd ? ['--chdir', options.cwd] : [];
    return ['--mount', '--pid', '--fork', '--kill-child', `--mount-proc=${join(this.dir, 'proc')}`, 'chroot', ...who, this.dir, '/usr/bin/env', '-i', ...cwd, ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv];
  }

  /** Runs a command inside the root and waits for it; never throws for an exit status. */
  run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = spawn('unshare', this.argv(argv, options), { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => killNamespace(child), options.timeoutMs ?? 300_000);
      child.once('error', reject);
      child.once('close', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      });
      // A command that exits without reading its input (getent, a refused sign-in) closes the pipe: not an error.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input ?? '');
    });
  }

  /** Runs a command and returns its stdout; throws with its stderr when it fails. */
  async ok(argv: readonly string[], options: RunOptions = {}): Promise<string> {
    const result = await this.run(argv, options);
    if (result.status !== 0) throw new Error(`${argv.join(' ')} exited with ${result.status} in the Debian root:\n${result.stderr}${result.stdout}`);
    return result.stdout;
  }

  /** Starts a long-running command inside the root (a daemon); it is killed by `close`. */
  start(argv: readonly string[], options: RunOptions = {}): ChildProcess & { output: () => string } {
    const child = spawn('unshare', this.argv(argv, options), { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return Object.assign(child, { output: () => output });
  }

  /** Installs a package file from the host with apt, as an administrator would (`apt-get install ./FILE`). */
  async aptInstall(hostFile: string, extra: readonly string[] = []): Promise<RunResult> {
    const inside = `/tmp/${basename(hostFile)}`;
    copyFileSync(hostFile, this.path(inside));
    try {
      return await this.run(['apt-get', 'install', '--yes', '--no-install-recommends', ...extra, `./${basename(hostFile)}`], { env: { DEBIAN_FRONTEND: 'noninteractive' }, cwd: '/tmp' });
    } finally {
      rmSync(this.path(inside), { force: true });
    }
  }

  /**
   * Starts an installed systemd service's ExecStart as its User= — what systemd would start, for a
   * machine where systemd cannot run in the root (bootSupport) — and waits until `ready` exists
   * (a path in the root) or answers true (a check, e.g. of a port).
   */
  async startService(unit: string, ready: string | (() => Promise<boolean>), timeoutMs = 20_000): Promise<ChildProcess & { output: () => string }> {
    const text = this.read(`/usr/lib/systemd/system/${unit}`);
    const execStart = /^ExecStart=(.+)$/m.exec(text)?.[1];
    if (!execStart) throw new Error(`${unit} has no ExecStart`);
    const user = /^User=(.+)$/m.exec(text)?.[1] ?? 'root';
    const child = this.start(execStart.trim().split(/\s+/), { user });
    const deadline = Date.now() + timeoutMs;
    const isReady = typeof ready === 'string' ? () => Promise.resolve(existsSync(this.path(ready))) : ready;
    while (!(await isReady())) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${unit} did not ${typeof ready === 'string' ? `make ${ready}` : 'become ready'} (exit ${child.exitCode}): ${child.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return child;
  }

  /** Stops what `start` started, and removes the root unless `keep`. */
  async close(keep = false): Promise<void> {
    for (const child of this.children) killNamespace(child);
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (!keep) rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * The root as a manifest: every path with its type, mode, owner and content digest (a symlink's
   * target), except what lives only while the system runs or is a cache (/proc, /sys, /dev, /run,
   * /tmp, /var/tmp, /var/cache, apt's lists).
   */
  manifest(): Map<string, string> {
    const skip = new Set(['/proc', '/sys', '/dev', '/run', '/tmp', '/var/tmp', '/var/cache', '/var/lib/apt/lists']);
    const entries = new Map<string, string>();
    const walk = (devicePath: string) => {
      for (const name of readdirSync(join(this.dir, devicePath)).sort()) {
        const path = devicePath === '/' ? `/${name}` : `${devicePath}/${name}`;
        if (skip.has(path)) continue;
        const place = join(this.dir, path);
        const stat = lstatSync(place);
        const head = `${(stat.mode & 0o7777).toString(8)} ${stat.uid}:${stat.gid}`;
        if (stat.isSymbolicLink()) entries.set(path, `link ${head} -> ${readlinkSync(place)}`);
        else if (stat.isDirectory()) {
          entries.set(path, `dir ${head}`);
          walk(path);
        } else if (stat.isFile()) entries.set(path, `file ${head} ${createHash('sha256').update(readFileSync(place)).digest('hex')}`);
        else entries.set(path, `other ${head}`);
      }
    };
    walk('/');
    return entries;
  }
}

/**
 * Kills everything a command started in the root: the first process of its PID namespace (the
 * child unshare forked), which takes the whole namespace with it, then unshare. (--kill-child is
 * not enough: a daemon that changes its user, as FreeRADIUS does, loses that parent-death signal.)
 */
export function killNamespace(child: ChildProcess): void {
  if (child.pid !== undefined) {
    let first: number[] = [];
    try {
      first = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      // unshare is gone already
    }
    for (const pid of first) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  child.kill('SIGKILL');
}

/** What differs between two manifests: paths added, removed and changed. */
export function manifestDiff(before: Map<string, string>, after: Map<string, string>): { added: string[]; removed: string[]; changed: string[] } {
  const added = [...after.keys()].filter((p) => !before.has(p));
  const removed = [...before.keys()].filter((p) => !after.has(p));
  const changed = [...after.keys()].filter((p) => before.has(p) && before.get(p) !== after.get(p));
  return { added, removed, changed };
}
