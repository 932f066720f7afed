// Packages on the target. On the live system a .deb goes through apt (dependencies resolved,
// maintainer scripts run, `apt-get remove` recorded as its inverse). Otherwise — a scratch root,
// and tar archives everywhere — the package is unpacked (dpkg-deb -x, tar -x) into a private
// staging directory, every entry is checked against the target before anything is placed (a
// package with one bad path changes nothing), then each is placed and recorded. Set-user-ID and
// set-group-ID bits are dropped; maintainer scripts do not run outside apt.
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import type { Change } from './changes.js';
import { TargetError } from './errors.js';
import { DEFAULT_EXIT_CODES, REBOOT_REQUIRED, type OsUpdateRequest, type OsUpdateResult, type PackageInstall, type RunOutcome, type TargetPort } from './port.js';
import { outcomeOf, runInGroup } from './processes.js';

const run = promisify(execFile);

interface Entry {
  path: string;
  source: string;
  kind: 'dir' | 'file' | 'symlink';
  mode: number;
}

/** Unpacks with `argv` (the staging directory is appended) and places every entry under `install.destination`. */
export async function placePackage(target: TargetPort, item: string, argv: [string, ...string[]], install: PackageInstall): Promise<void> {
  const staging = mkdtempSync(join(tmpdir(), 'selfdeploy-unpack-'));
  try {
    const [command, ...args] = argv;
    const into = command === 'tar' ? ['-C', staging] : [staging];
    try {
      await run(command, [...args, ...into], { timeout: install.timeoutSeconds * 1000, maxBuffer: 4 * 1024 * 1024 });
    } catch (error) {
      const stderr = String((error as { stderr?: string }).stderr ?? '').trim().split('\n').slice(-3).join(' / ');
      throw new TargetError('ITEM_FAILED', `${command} could not unpack "${install.name}": ${stderr || (error as Error).message}`);
    }
    const entries: Entry[] = [];
    const walk = async (dir: string, device: string): Promise<void> => {
      for (const name of readdirSync(dir).sort()) {
        const source = join(dir, name);
        const path = `${device === '/' ? '' : device}/${name}`;
        const stat = lstatSync(source);
        if (stat.isDirectory()) {
          await target.check(path);
          entries.push({ path, source, kind: 'dir', mode: 0o755 });
          await walk(source, path);
        } else if (stat.isSymbolicLink()) {
          await target.check(path, readlinkSync(source));
          entries.push({ path, source, kind: 'symlink', mode: 0 });
        } else if (stat.isFile()) {
          await target.check(path);
          entries.push({ path, source, kind: 'file', mode: stat.mode & 0o777 });
        }
      }
    };
    await walk(staging, install.destination);
    if (install.destination !== '/') await target.ensureDir(item, install.destination, 0o755);
    for (const entry of entries) {
      if (entry.kind === 'dir') await target.ensureDir(item, entry.path, entry.mode);
      else if (entry.kind === 'symlink') await target.writeSymlink(item, entry.path, readlinkSync(entry.source));
      else await target.writeFile(item, entry.path, readFileSync(entry.source), entry.mode);
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * Installs a .deb on the live system with apt, recorded first with its inverse; the installer's
 * output is kept at `install.logPath` (the same log "Collect logs" gathers for the item).
 */
export async function aptInstall(target: TargetPort, record: (change: Change) => void, item: string, file: string, install: PackageInstall): Promise<RunOutcome> {
  const fields = await run('dpkg-deb', ['--field', file, 'Package'], { timeout: 60_000 }).catch((error: Error) => {
    throw new TargetError('ITEM_FAILED', `"${install.name}" is not a Debian package: ${error.message}`);
  });
  const name = fields.stdout.trim();
  record({ type: 'command', item, argv: ['apt-get', 'install', '--yes', file], inverse: ['apt-get', 'remove', '--yes', name] });
  const result = await runInGroup('apt-get', ['install', '--yes', '--no-install-recommends', '-o', 'Dpkg::Options::=--force-confold', file], {
    cwd: '/',
    timeoutMs: install.timeoutSeconds * 1000,
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', DEBIAN_FRONTEND: 'noninteractive' },
  });
  await target.writeFile(item, install.logPath, result.output, 0o600);
  const outcome = outcomeOf(`apt-get install ${name}`, result, install.timeoutSeconds, DEFAULT_EXIT_CODES, install.logPath);
  return { rebootRequired: outcome.rebootRequired || existsSync(REBOOT_REQUIRED) };
}

/** `Inst NAME [OLD] (NEW RELEASES [ARCH])`: a line of apt-get's simulation. */
const SIMULATED = /^Inst (\S+) \[([^\]]+)\] \((\S+) (.*) \[[^\]]+\]\)$/;

/**
 * The distribution's updates on the live system: apt-get update, a simulation that says what would
 * be upgraded (for "security", only what comes from a "-security" archive), then apt-get install
 * --only-upgrade of exactly those — recorded first (an upgrade is not undone) — with apt's output
 * kept at `request.logPath`.
 */
export async function aptUpgrade(target: TargetPort, record: (change: Change) => void, item: string, request: OsUpdateRequest): Promise<OsUpdateResult> {
  const deadline = Date.now() + request.timeoutSeconds * 1000;
  const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', DEBIAN_FRONTEND: 'noninteractive' };
  let log = '';
  const apt = async (args: string[]) => {
    const result = await runInGroup('apt-get', args, { cwd: '/', timeoutMs: Math.max(1000, deadline - Date.now()), env });
    log += `$ apt-get ${args.join(' ')}\n${result.output}\n`;
    if (result.timedOut || result.status !== 0) {
      await target.writeFile(item, request.logPath, log, 0o600);
      outcomeOf(`apt-get ${args[0] === '-s' ? args.slice(0, 2).join(' ') : args[0]}`, result, request.timeoutSeconds, DEFAULT_EXIT_CODES, request.logPath);
    }
    return result;
  };
  await apt(['update']);
  const simulated = await apt(request.mode === 'security' ? ['-s', 'upgrade', '--with-new-pkgs'] : ['-s', 'install', '--only-upgrade', ...request.packages]);
  const upgraded = simulated.output
    .split('\n')
    .map((line) => SIMULATED.exec(line))
    .filter((found): found is RegExpExecArray => found !== null)
    .filter((found) => request.mode === 'packages' ? request.packages.includes(found[1]!) : found[4]!.split(', ').some((release) => /:[^:\s]*-security$/.test(release)))
    .map((found) => ({ name: found[1]!, from: found[2]!, to: found[3]! }));
  if (upgraded.length) {
    record({ type: 'upgrade', item, packages: upgraded.map((u) => `${u.name} ${u.from} → ${u.to}`) });
    await apt(['install', '--yes', '--only-upgrade', '-o', 'Dpkg::Options::=--force-confold', ...upgraded.map((u) => u.name)]);
  }
  await target.writeFile(item, request.logPath, log, 0o600);
  return { upgraded, rebootRequired: existsSync(REBOOT_REQUIRED) };
}
