// The target a provider changes: a root directory ("/" on a device, a scratch directory in tests
// and the lab). Every path is resolved inside it — `..` and NUL are refused, and the directories
// on the way are resolved with their symlinks, which must stay inside the root — and every change
// is recorded in the change log before it is made, so that it can be undone exactly.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, sep } from 'node:path';
import { promisify } from 'node:util';

import type { CodedError } from '../../protocol/errors/report.js';
import { writeFileDurably } from '../storage/durable-file.js';
import type { Change, ChangeLog, PreviousFile } from './changes.js';
import { placePackage } from './packages.js';

const run = promisify(execFile);

export class PathRefusedError extends Error implements CodedError {
  readonly code = 'ITEM_PATH_REFUSED' as const;
  override name = 'PathRefusedError';
}

/** An item's change that could not be made: a script or installer that failed, content that is not what was assigned. */
export class TargetError extends Error implements CodedError {
  override name = 'TargetError';

  constructor(
    readonly code: 'ITEM_FAILED' | 'CONTENT_DIGEST_MISMATCH',
    message: string,
  ) {
    super(message);
  }
}

export interface UndoReport {
  restored: number;
  removed: number;
  commands: number;
  /** What could not be put back, and why (a directory someone filled since, a command that failed). */
  left: string[];
}

/** A file as the providers see it when they check what is in place. */
export interface TargetStat {
  type: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  /** A symlink's target. */
  link?: string;
}

/** Who owns a file: numeric, as resolved from the target's own /etc/passwd and /etc/group. */
export interface Owner {
  uid: number;
  gid: number;
}

/** Downloaded content handed to the target: the target copies it privately and checks the digest itself. */
export interface VerifiedContent {
  file: string;
  sha256: string;
  /** The agent's bearer token: the privileged helper asks the service whether the content is assigned. */
  token?: string;
}

/** How an installer's exit status (0–255) reads: which statuses mean success, which "restart required". */
export interface ExitCodes {
  success: number[];
  rebootRequired: number[];
}

export interface ScriptRun extends VerifiedContent {
  interpreter: 'sh' | 'bash';
  timeoutSeconds: number;
  /** Device path of the log that keeps its output (size-capped). */
  logPath: string;
  name: string;
  /** Default: 0 is success, nothing else. */
  exitCodes?: ExitCodes;
}

export interface PackageInstall extends VerifiedContent {
  /** deb: dpkg/apt on the live system, unpacked and placed in a scratch target; tar: unpacked into `destination`. */
  format: 'deb' | 'tar';
  destination: string;
  name: string;
  timeoutSeconds: number;
}

/** What an installer or script left behind. */
export interface RunOutcome {
  rebootRequired: boolean;
}

export const DEFAULT_EXIT_CODES: ExitCodes = { success: [0], rebootRequired: [] };

/** Debian's convention: whatever needs the system restarted creates this file (update-notifier-common). */
const REBOOT_REQUIRED = '/run/reboot-required';

/**
 * What providers change the device through: in-process under a target root (`Target`: tests, the
 * lab), or the privileged helper on a device (`HelperTarget`). Every method checks its paths.
 */
export interface TargetPort {
  /** Whether this is the running system (commands run only then). */
  readonly live: boolean;
  /** Without `owner`, a file keeps the owner it had (a new file: the target's user). */
  writeFile(item: string, path: string, content: string | Uint8Array, mode?: number, owner?: Owner): Promise<boolean>;
  writeSymlink(item: string, path: string, linkTarget: string): Promise<boolean>;
  /** Creates a directory (and missing parents); `owner` is given to the directory itself when it is created. */
  ensureDir(item: string, path: string, mode?: number, owner?: Owner): Promise<void>;
  command(item: string, argv: [string, ...string[]], inverse: [string, ...string[]] | null): Promise<boolean>;
  /** Throws ITEM_PATH_REFUSED unless `path` (and, for a symlink, its target) stays inside. */
  check(path: string, linkTarget?: string): Promise<void>;
  readFile(path: string): Promise<Buffer | null>;
  stat(path: string): Promise<TargetStat | null>;
  runScript(item: string, script: ScriptRun): Promise<RunOutcome>;
  installPackage(item: string, install: PackageInstall): Promise<RunOutcome>;
  /** Whether a detection command exits 0 (run without privileges where the executor has them). */
  probe(argv: [string, ...string[]], timeoutSeconds: number): Promise<boolean>;
  undoAll(): Promise<UndoReport>;
}

export class Target implements TargetPort {
  /** The root with its own symlinks resolved. */
  readonly root: string;

  constructor(
    root: string,
    readonly changes: ChangeLog,
    /** Who detection commands run as (the helper drops root for them). */
    private readonly probeAs?: Owner,
  ) {
    mkdirSync(root, { recursive: true, mode: 0o755 });
    this.root = realpathSync(root);
  }

  /** Whether this target is the running system (commands such as update-ca-certificates run only then). */
  get live(): boolean {
    return this.root === sep;
  }

  private inside(path: string): boolean {
    return path === this.root || path.startsWith(this.root === sep ? sep : this.root + sep);
  }

  /** The device path ("/etc/x") of an absolute target path. */
  devicePath(path: string): string {
    return `/${relative(this.root, path).split(sep).join('/')}`;
  }

  /**
   * Where `path` (as the device sees it, e.g. /etc/hostname) is in the target. The directories on
   * the way are resolved through their symlinks, which must stay inside the root; the last
   * component is not followed (a change replaces a symlink rather than writing through it).
   */
  place(path: string): string {
    if (path.includes('\0')) throw new PathRefusedError('a path holds a NUL character');
    if (path.split(/[\\/]/).includes('..')) throw new PathRefusedError(`${path} climbs out with ".."`);
    const lexical = join(this.root, path);
    if (!this.inside(lexical) || lexical === this.root) throw new PathRefusedError(`${path} is not a path inside the target`);
    const parent = dirname(lexical);
    let existing = parent;
    while (!existsSync(existing)) existing = dirname(existing);
    const real = realpathSync(existing);
    if (!this.inside(real)) throw new PathRefusedError(`${path} leads out of the target through the symlink ${this.devicePath(existing)}`);
    return join(real, relative(existing, parent), basename(lexical));
  }

  private previousOf(place: string): PreviousFile {
    let stat;
    try {
      stat = lstatSync(place);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { exists: false };
      throw error;
    }
    if (stat.isSymbolicLink()) return { exists: true, symlink: readlinkSync(place) };
    if (!stat.isFile()) throw new PathRefusedError(`${this.devicePath(place)} exists and is not a file`);
    return { exists: true, sha256: this.changes.backup(readFileSync(place)), mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid };
  }

  private record(change: Change): void {
    this.changes.record(change);
  }

  /** Creates the directories of `place` that are missing, each recorded first. */
  private ensureParents(item: string, place: string, mode = 0o755): void {
    const missing: string[] = [];
    for (let dir = dirname(place); !existsSync(dir); dir = dirname(dir)) missing.unshift(dir);
    for (const dir of missing) {
      this.record({ type: 'dir', item, path: this.devicePath(dir) });
      mkdirSync(dir, { mode });
    }
  }

  /** Writes a file unless it already holds these bytes with this mode and owner; returns whether it changed. */
  writeFile(item: string, path: string, content: string | Uint8Array, mode = 0o644, owner?: Owner): Promise<boolean> {
    return settle(() => this.writeFileNow(item, path, content, mode, owner));
  }

  private writeFileNow(item: string, path: string, content: string | Uint8Array, mode: number, owner: Owner | undefined): boolean {
    if (mode & ~0o777) throw new PathRefusedError(`${path}: set-ID and sticky bits are not set by device setup`);
    const place = this.place(path);
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
    const stat = existsSync(place) ? lstatSync(place) : undefined;
    const sameOwner = !owner || (stat?.uid === owner.uid && stat.gid === owner.gid);
    if (stat?.isFile() && (stat.mode & 0o7777) === mode && sameOwner && readFileSync(place).equals(bytes)) return false;
    const wanted = owner ?? (stat?.isFile() ? { uid: stat.uid, gid: stat.gid } : undefined);
    if (wanted && !isRoot() && (wanted.uid !== process.getuid?.() || wanted.gid !== process.getgid?.())) {
      throw new TargetError('ITEM_FAILED', `${path} must belong to ${wanted.uid}:${wanted.gid}, which only root can arrange`);
    }
    const previous = this.previousOf(place);
    this.ensureParents(item, place);
    this.record({ type: 'file', item, path: this.devicePath(place), previous });
    writeFileDurably(place, bytes, mode);
    chmodSync(place, mode);
    if (wanted && isRoot()) chownSync(place, wanted.uid, wanted.gid);
    return true;
  }

  /** Refuses a symlink at `path` whose target would resolve outside the root; returns its place. */
  checkSymlink(path: string, linkTarget: string): string {
    const place = this.place(path);
    const resolved = linkTarget.startsWith('/') ? join(this.root, linkTarget) : join(dirname(place), linkTarget);
    if (!this.inside(resolved)) throw new PathRefusedError(`the symlink ${path} → ${linkTarget} points out of the target`);
    return place;
  }

  /** Places a symlink (as unpacked from a package); its target must resolve inside the root. */
  writeSymlink(item: string, path: string, linkTarget: string): Promise<boolean> {
    return settle(() => this.writeSymlinkNow(item, path, linkTarget));
  }

  private writeSymlinkNow(item: string, path: string, linkTarget: string): boolean {
    const place = this.checkSymlink(path, linkTarget);
    const stat = existsSync(place) || isDangling(place) ? lstatSync(place) : undefined;
    if (stat?.isSymbolicLink() && readlinkSync(place) === linkTarget) return false;
    const previous = this.previousOf(place);
    this.ensureParents(item, place);
    this.record({ type: 'file', item, path: this.devicePath(place), previous });
    const temp = `${place}.tmp-${process.pid}`;
    rmSync(temp, { force: true });
    symlinkSync(linkTarget, temp);
    renameSync(temp, place);
    return true;
  }

  /** Creates a directory (and its parents) if missing. */
  ensureDir(item: string, path: string, mode = 0o755, owner?: Owner): Promise<void> {
    return settle(() => this.ensureDirNow(item, path, mode, owner));
  }

  private ensureDirNow(item: string, path: string, mode: number, owner: Owner | undefined): void {
    if (mode & ~0o777) throw new PathRefusedError(`${path}: set-ID and sticky bits are not set by device setup`);
    const place = this.place(path);
    if (existsSync(place)) {
      if (!lstatSync(place).isDirectory()) throw new PathRefusedError(`${path} exists and is not a directory`);
      return;
    }
    if (owner && !isRoot()) throw new TargetError('ITEM_FAILED', `${path} must belong to ${owner.uid}:${owner.gid}, which only root can arrange`);
    this.ensureParents(item, join(place, 'x'), mode);
    chmodSync(place, mode); // mkdir's mode is masked by the umask
    if (owner) chownSync(place, owner.uid, owner.gid);
  }

  check(path: string, linkTarget?: string): Promise<void> {
    return settle(() => {
      if (linkTarget === undefined) this.place(path);
      else this.checkSymlink(path, linkTarget);
    });
  }

  readFile(path: string): Promise<Buffer | null> {
    return settle(() => {
      const place = this.place(path);
      try {
        return readFileSync(place);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
    });
  }

  stat(path: string): Promise<TargetStat | null> {
    return settle(() => {
      let stat;
      try {
        stat = lstatSync(this.place(path));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
      const type = stat.isFile() ? 'file' : stat.isDirectory() ? 'dir' : stat.isSymbolicLink() ? 'symlink' : 'other';
      const place = this.place(path);
      return { type, mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid, ...(type === 'symlink' ? { link: readlinkSync(place) } : {}) };
    });
  }

  /**
   * Runs a script in its own process group, its output kept (size-capped) at `logPath`. The
   * script runs from a private copy whose digest was checked (the downloaded file could change
   * after the check). At the timeout the whole group is killed — an installer's children (a hung
   * download, a daemon it started) go with it. Its exit status is read through `exitCodes`.
   */
  async runScript(item: string, script: ScriptRun): Promise<RunOutcome> {
    const copy = verifiedCopy(script);
    try {
      const flag = this.place(REBOOT_REQUIRED);
      const flaggedBefore = existsSync(flag);
      const result = await runInGroup(`/bin/${script.interpreter}`, [copy.file], {
        cwd: this.root,
        timeoutMs: script.timeoutSeconds * 1000,
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', SELFDEPLOY_ROOT: this.root, SELFDEPLOY_ITEM: script.name },
      });
      await this.writeFile(item, script.logPath, result.output, 0o600);
      const outcome = outcomeOf(`script "${script.name}"`, result, script.timeoutSeconds, script.exitCodes ?? DEFAULT_EXIT_CODES, script.logPath);
      return { rebootRequired: outcome.rebootRequired || (!flaggedBefore && existsSync(flag)) };
    } finally {
      copy.remove();
    }
  }

  /**
   * Installs a package from a private, digest-checked copy. On the live system a .deb goes through
   * apt (dependencies resolved, maintainer scripts run, recorded with `apt-get remove` as its
   * inverse); in a scratch target, and for tar archives, the package is unpacked into staging,
   * every entry checked, then placed file by file through this target.
   */
  async installPackage(item: string, install: PackageInstall): Promise<RunOutcome> {
    const copy = verifiedCopy(install);
    try {
      if (install.format === 'deb' && this.live) return await this.aptInstall(item, copy.file, install);
      await placePackage(this, item, install.format === 'deb' ? ['dpkg-deb', '-x', copy.file] : ['tar', '-x', '--no-same-owner', '--no-same-permissions', '-f', copy.file], install);
      return { rebootRequired: false };
    } finally {
      copy.remove();
    }
  }

  private async aptInstall(item: string, file: string, install: PackageInstall): Promise<RunOutcome> {
    const fields = await run('dpkg-deb', ['--field', file, 'Package'], { timeout: 60_000 }).catch((error: Error) => {
      throw new TargetError('ITEM_FAILED', `"${install.name}" is not a Debian package: ${error.message}`);
    });
    const name = fields.stdout.trim();
    this.record({ type: 'command', item, argv: ['apt-get', 'install', '--yes', file], inverse: ['apt-get', 'remove', '--yes', name] });
    const result = await runInGroup('apt-get', ['install', '--yes', '--no-install-recommends', '-o', 'Dpkg::Options::=--force-confold', file], {
      cwd: '/',
      timeoutMs: install.timeoutSeconds * 1000,
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', DEBIAN_FRONTEND: 'noninteractive' },
    });
    const logPath = `/var/log/selfdeploy/apps/${name}.log`;
    await this.writeFile(item, logPath, result.output, 0o600);
    const outcome = outcomeOf(`apt-get install ${name}`, result, install.timeoutSeconds, DEFAULT_EXIT_CODES, logPath);
    return { rebootRequired: outcome.rebootRequired || existsSync(REBOOT_REQUIRED) };
  }

  /** Runs a detection command (cwd: the root, SELFDEPLOY_ROOT set); true when it exits 0 in time. */
  async probe(argv: [string, ...string[]], timeoutSeconds: number): Promise<boolean> {
    const result = await runInGroup(argv[0], argv.slice(1), {
      cwd: this.root,
      timeoutMs: timeoutSeconds * 1000,
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', SELFDEPLOY_ROOT: this.root },
      ...(this.probeAs ? { user: this.probeAs } : {}),
    }).catch(() => null); // a command that does not exist is "not detected"
    return result !== null && !result.timedOut && result.status === 0;
  }

  /** Runs a command on the live system (never in a scratch target), recorded with its inverse first. */
  async command(item: string, argv: [string, ...string[]], inverse: [string, ...string[]] | null): Promise<boolean> {
    if (!this.live) return false;
    this.record({ type: 'command', item, argv, inverse });
    await run(argv[0], argv.slice(1), { timeout: 120_000 });
    return true;
  }

  /** Undoes every recorded change, newest first, and forgets them. */
  async undoAll(): Promise<UndoReport> {
    const report: UndoReport = { restored: 0, removed: 0, commands: 0, left: [] };
    for (const change of this.changes.entries().reverse()) {
      try {
        if (change.type === 'command') {
          if (change.inverse && this.live) {
            await run(change.inverse[0]!, change.inverse.slice(1), { timeout: 120_000 });
            report.commands++;
          }
          continue;
        }
        const place = this.place(change.path);
        if (change.type === 'dir') {
          if (existsSync(place)) {
            try {
              rmdirSync(place);
              report.removed++;
            } catch (error) {
              report.left.push(`${change.path}: ${(error as NodeJS.ErrnoException).code === 'ENOTEMPTY' ? 'holds files that setup did not put there' : (error as Error).message}`);
            }
          }
          continue;
        }
        const previous = change.previous;
        if (!previous.exists) {
          if (existsSync(place) || isDangling(place)) {
            unlinkSync(place);
            report.removed++;
          }
        } else if ('symlink' in previous) {
          const temp = `${place}.tmp-${process.pid}`;
          rmSync(temp, { force: true });
          symlinkSync(previous.symlink, temp);
          renameSync(temp, place);
          report.restored++;
        } else {
          writeFileDurably(place, this.changes.restore(previous.sha256), previous.mode);
          chmodSync(place, previous.mode);
          if (isRoot()) chownSync(place, previous.uid, previous.gid);
          report.restored++;
        }
      } catch (error) {
        report.left.push(`${change.type === 'command' ? change.argv.join(' ') : change.path}: ${(error as Error).message}`);
      }
    }
    if (report.left.length === 0) this.changes.clear();
    return report;
  }
}

const OUTPUT_CAP = 256 * 1024;

interface GroupResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  output: string;
  stderr: string;
}

/** Reads an exit status: success, success that needs a reboot, or a failure with the last lines of stderr. */
function outcomeOf(what: string, result: GroupResult, timeoutSeconds: number, codes: ExitCodes, logPath: string): RunOutcome {
  if (!result.timedOut && result.status !== null) {
    if (codes.success.includes(result.status)) return { rebootRequired: false };
    if (codes.rebootRequired.includes(result.status)) return { rebootRequired: true };
  }
  const why = result.timedOut ? `did not finish within ${timeoutSeconds} s` : result.signal ? `was killed by ${result.signal}` : `exited with status ${result.status}`;
  const tail = result.stderr.trim().split('\n').slice(-2).join(' / ');
  throw new TargetError('ITEM_FAILED', `${what} ${why}${tail ? `: ${tail}` : ''} (log: ${logPath})`);
}

/**
 * Copies downloaded content into a fresh private directory and checks the copy's SHA-256: what
 * runs is what was checked, whatever happens to the download afterwards.
 */
export function verifiedCopy(content: VerifiedContent): { file: string; remove(): void } {
  if (!/^[0-9a-f]{64}$/.test(content.sha256)) throw new TargetError('CONTENT_DIGEST_MISMATCH', 'content names no SHA-256 digest');
  const dir = mkdtempSync(join(tmpdir(), 'selfdeploy-content-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    const file = join(dir, content.sha256);
    // Not through a symlink: whoever can write the download directory must not make us read another file.
    const source = openSync(content.file, constants.O_RDONLY | constants.O_NOFOLLOW);
    let bytes: Buffer;
    try {
      bytes = readFileSync(source);
    } finally {
      closeSync(source);
    }
    writeFileSync(file, bytes, { mode: 0o600 });
    const digest = createHash('sha256').update(readFileSync(file)).digest('hex');
    if (digest !== content.sha256) throw new TargetError('CONTENT_DIGEST_MISMATCH', `${basename(content.file)} does not have the SHA-256 ${content.sha256} assigned`);
    return { file, remove };
  } catch (error) {
    remove();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TargetError('ITEM_FAILED', `the downloaded content ${basename(content.file)} is missing`);
    if (code === 'ELOOP') throw new TargetError('CONTENT_DIGEST_MISMATCH', `the downloaded content ${basename(content.file)} is a symlink, not the download`);
    throw error;
  }
}

/** Runs a command as the leader of a new process group; at the timeout the group is SIGKILLed. */
export function runInGroup(command: string, args: string[], options: { cwd: string; timeoutMs: number; env: NodeJS.ProcessEnv; user?: Owner }): Promise<GroupResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.user ? { uid: options.user.uid, gid: options.user.gid } : {}),
    });
    let output = '';
    let stderr = '';
    const keep = (chunk: Buffer, errorStream: boolean) => {
      const text = chunk.toString('utf8');
      if (output.length < OUTPUT_CAP) output += text.slice(0, OUTPUT_CAP - output.length);
      if (errorStream && stderr.length < OUTPUT_CAP) stderr += text.slice(0, OUTPUT_CAP - stderr.length);
    };
    child.stdout.on('data', (chunk: Buffer) => keep(chunk, false));
    child.stderr.on('data', (chunk: Buffer) => keep(chunk, true));
    let timedOut = false;
    const killGroup = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      killGroup(); // what the script left running in its group does not outlive it
      if (output.length >= OUTPUT_CAP) output += '\n[output cut at 256 KiB]\n';
      resolve({ status, signal, timedOut, output, stderr });
    });
  });
}

/** A synchronous step as a promise (thrown errors become rejections). */
function settle<T>(step: () => T): Promise<T> {
  try {
    return Promise.resolve(step());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function isDangling(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
