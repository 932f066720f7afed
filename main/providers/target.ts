// The target a provider changes: a root directory ("/" on a device, a scratch directory in tests
// and the lab). Every path is resolved inside it — `..` and NUL are refused, and the directories
// on the way are resolved with their symlinks, which must stay inside the root — and every change
// is recorded in the change log before it is made, so that it can be undone exactly.
import { execFile, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  unlinkSync,
} from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { promisify } from 'node:util';

import type { CodedError } from '../../protocol/errors/report.js';
import { writeFileDurably } from '../storage/durable-file.js';
import type { Change, ChangeLog, PreviousFile } from './changes.js';

const run = promisify(execFile);

export class PathRefusedError extends Error implements CodedError {
  readonly code = 'ITEM_PATH_REFUSED' as const;
  override name = 'PathRefusedError';
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
}

export interface ScriptRun {
  /** The script's file (downloaded and checked against its digest). */
  file: string;
  interpreter: 'sh' | 'bash';
  timeoutSeconds: number;
  /** Device path of the log that keeps its output (size-capped). */
  logPath: string;
  name: string;
}

export class ScriptError extends Error implements CodedError {
  readonly code = 'ITEM_FAILED' as const;
  override name = 'ScriptError';
}

/**
 * What providers change the device through: in-process under a target root (`Target`: tests, the
 * lab), or the privileged helper on a device (`HelperTarget`). Every method checks its paths.
 */
export interface TargetPort {
  /** Whether this is the running system (commands run only then). */
  readonly live: boolean;
  writeFile(item: string, path: string, content: string | Uint8Array, mode?: number): Promise<boolean>;
  writeSymlink(item: string, path: string, linkTarget: string): Promise<boolean>;
  ensureDir(item: string, path: string, mode?: number): Promise<void>;
  command(item: string, argv: [string, ...string[]], inverse: [string, ...string[]] | null): Promise<boolean>;
  /** Throws ITEM_PATH_REFUSED unless `path` (and, for a symlink, its target) stays inside. */
  check(path: string, linkTarget?: string): Promise<void>;
  readFile(path: string): Promise<Buffer | null>;
  stat(path: string): Promise<TargetStat | null>;
  runScript(item: string, script: ScriptRun): Promise<void>;
  undoAll(): Promise<UndoReport>;
}

export class Target implements TargetPort {
  /** The root with its own symlinks resolved. */
  readonly root: string;

  constructor(
    root: string,
    readonly changes: ChangeLog,
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

  /** Writes a file unless it already holds these bytes with this mode; returns whether it changed. */
  writeFile(item: string, path: string, content: string | Uint8Array, mode = 0o644): Promise<boolean> {
    return settle(() => this.writeFileNow(item, path, content, mode));
  }

  private writeFileNow(item: string, path: string, content: string | Uint8Array, mode: number): boolean {
    const place = this.place(path);
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
    const stat = existsSync(place) ? lstatSync(place) : undefined;
    if (stat?.isFile() && (stat.mode & 0o7777) === mode && readFileSync(place).equals(bytes)) return false;
    const previous = this.previousOf(place);
    this.ensureParents(item, place);
    this.record({ type: 'file', item, path: this.devicePath(place), previous });
    writeFileDurably(place, bytes, mode);
    chmodSync(place, mode);
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
  ensureDir(item: string, path: string, mode = 0o755): Promise<void> {
    return settle(() => this.ensureDirNow(item, path, mode));
  }

  private ensureDirNow(item: string, path: string, mode: number): void {
    const place = this.place(path);
    if (existsSync(place)) {
      if (!lstatSync(place).isDirectory()) throw new PathRefusedError(`${path} exists and is not a directory`);
      return;
    }
    this.ensureParents(item, join(place, 'x'), mode);
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
      return { type, mode: stat.mode & 0o7777 };
    });
  }

  /**
   * Runs a script in its own process group, its output kept (size-capped) at `logPath`. At the
   * timeout the whole group is killed — an installer's children (a hung download, a daemon it
   * started) go with it.
   */
  async runScript(item: string, script: ScriptRun): Promise<void> {
    const result = await runInGroup(`/bin/${script.interpreter}`, [script.file], {
      cwd: this.root,
      timeoutMs: script.timeoutSeconds * 1000,
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', SELFDEPLOY_ROOT: this.root, SELFDEPLOY_ITEM: script.name },
    });
    await this.writeFile(item, script.logPath, result.output, 0o600);
    if (result.timedOut || result.status !== 0) {
      const why = result.timedOut ? `did not finish within ${script.timeoutSeconds} s` : result.signal ? `was killed by ${result.signal}` : `exited with status ${result.status}`;
      const tail = result.stderr.trim().split('\n').slice(-2).join(' / ');
      throw new ScriptError(`script "${script.name}" ${why}${tail ? `: ${tail}` : ''} (log: ${script.logPath})`);
    }
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
          if (process.getuid?.() === 0) chownSync(place, previous.uid, previous.gid);
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

/** Runs a command as the leader of a new process group; at the timeout the group is SIGKILLed. */
export function runInGroup(
  command: string,
  args: string[],
  options: { cwd: string; timeoutMs: number; env: NodeJS.ProcessEnv },
): Promise<{ status: number | null; signal: NodeJS.Signals | null; timedOut: boolean; output: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
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

function isDangling(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
