// The in-process target: device setup's changes carried out under a root directory ("/" on a
// device, a scratch directory in tests and the lab), each path resolved inside its jail and each
// change recorded in the change log before it is made, so that it can be undone exactly.
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, realpathSync, renameSync, rmdirSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

import { writeFileDurably } from '../storage/durable-file.js';
import type { Change, ChangeLog, PreviousFile } from './changes.js';
import { PathRefusedError, TargetError } from './errors.js';
import { Jail } from './jail.js';
import { aptInstall, aptUpgrade, placePackage } from './packages.js';
import { DEFAULT_EXIT_CODES, KEYTAB, REBOOT_REQUIRED, type DomainJoin, type OsUpdateRequest, type OsUpdateResult, type Owner, type PackageInstall, type RunOutcome, type ScriptRun, type TargetPort, type TargetStat, type UndoReport } from './port.js';
import { adcliJoin } from './domain-join.js';
import { runLive, systemdRuns } from './live-commands.js';
import { outcomeOf, runInGroup } from './processes.js';
import { verifiedCopy } from './verified-copy.js';

const run = promisify(execFile);

export class Target implements TargetPort {
  private readonly jail: Jail;

  constructor(
    root: string,
    readonly changes: ChangeLog,
    /** Who detection commands run as (the helper drops root for them). */
    private readonly probeAs?: Owner,
  ) {
    mkdirSync(root, { recursive: true, mode: 0o755 });
    this.jail = new Jail(realpathSync(root));
  }

  /** The root with its own symlinks resolved. */
  get root(): string {
    return this.jail.root;
  }

  /** Whether this target is the running system (commands such as update-ca-certificates run only then). */
  get live(): boolean {
    return this.jail.live;
  }

  /** Where `path` (as the device sees it) is in the target; see Jail.place. */
  place(path: string): string {
    return this.jail.place(path);
  }

  /** The device path ("/etc/x") of a place in the target. */
  devicePath(place: string): string {
    return this.jail.devicePath(place);
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
    if (!stat.isFile()) throw new PathRefusedError(`${this.jail.devicePath(place)} exists and is not a file`);
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
      this.record({ type: 'dir', item, path: this.jail.devicePath(dir) });
      mkdirSync(dir, { mode });
    }
  }

  /** Writes a file unless it already holds these bytes with this mode and owner; returns whether it changed. */
  writeFile(item: string, path: string, content: string | Uint8Array, mode = 0o644, owner?: Owner): Promise<boolean> {
    return settle(() => this.writeFileNow(item, path, content, mode, owner));
  }

  private writeFileNow(item: string, path: string, content: string | Uint8Array, mode: number, owner: Owner | undefined): boolean {
    if (mode & ~0o777) throw new PathRefusedError(`${path}: set-ID and sticky bits are not set by device setup`);
    const place = this.jail.place(path);
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
    this.record({ type: 'file', item, path: this.jail.devicePath(place), previous });
    writeFileDurably(place, bytes, mode);
    chmodSync(place, mode);
    if (wanted && isRoot()) chownSync(place, wanted.uid, wanted.gid);
    return true;
  }

  /** Places a symlink (as unpacked from a package); its target must resolve inside the root. */
  writeSymlink(item: string, path: string, linkTarget: string): Promise<boolean> {
    return settle(() => this.writeSymlinkNow(item, path, linkTarget));
  }

  private writeSymlinkNow(item: string, path: string, linkTarget: string): boolean {
    const place = this.jail.checkSymlink(path, linkTarget);
    const stat = existsSync(place) || isDangling(place) ? lstatSync(place) : undefined;
    if (stat?.isSymbolicLink() && readlinkSync(place) === linkTarget) return false;
    const previous = this.previousOf(place);
    this.ensureParents(item, place);
    this.record({ type: 'file', item, path: this.jail.devicePath(place), previous });
    replaceWithSymlink(place, linkTarget);
    return true;
  }

  /** Creates a directory (and its parents) if missing. */
  ensureDir(item: string, path: string, mode = 0o755, owner?: Owner): Promise<void> {
    return settle(() => this.ensureDirNow(item, path, mode, owner));
  }

  private ensureDirNow(item: string, path: string, mode: number, owner: Owner | undefined): void {
    if (mode & ~0o777) throw new PathRefusedError(`${path}: set-ID and sticky bits are not set by device setup`);
    const place = this.jail.place(path);
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
      if (linkTarget === undefined) this.jail.place(path);
      else this.jail.checkSymlink(path, linkTarget);
    });
  }

  readFile(path: string): Promise<Buffer | null> {
    return settle(() => {
      const place = this.jail.place(path);
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
      const place = this.jail.place(path);
      let stat;
      try {
        stat = lstatSync(place);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
      const type = stat.isFile() ? 'file' : stat.isDirectory() ? 'dir' : stat.isSymbolicLink() ? 'symlink' : 'other';
      return { type, mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid, ...(type === 'symlink' ? { link: readlinkSync(place) } : {}) };
    });
  }

  /**
   * Runs a script in its own process group, its output kept (size-capped) at `logPath`, from a
   * private copy whose digest was checked. At the timeout the whole group is killed — an
   * installer's children (a hung download, a daemon it started) go with it.
   */
  async runScript(item: string, script: ScriptRun): Promise<RunOutcome> {
    const copy = verifiedCopy(script);
    try {
      this.record({ type: 'script', item, name: script.name });
      const flag = this.jail.place(REBOOT_REQUIRED);
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

  /** Installs a package from a private, digest-checked copy: apt on the live system for a .deb, else unpacked and placed (packages.ts). */
  async installPackage(item: string, install: PackageInstall): Promise<RunOutcome> {
    const copy = verifiedCopy(install, install.format === 'deb' ? '.deb' : '');
    try {
      if (install.format === 'deb' && this.live) return await aptInstall(this, (change) => this.record(change), item, copy.file, install);
      await placePackage(this, item, install.format === 'deb' ? ['dpkg-deb', '-x', copy.file] : ['tar', '-x', '--no-same-owner', '--no-same-permissions', '-f', copy.file], install);
      return { rebootRequired: false };
    } finally {
      copy.remove();
    }
  }

  /** The distribution's updates, on the live system only (a scratch target has no package manager of its own). */
  async upgradePackages(request: OsUpdateRequest): Promise<OsUpdateResult> {
    if (!this.live) return { upgraded: [], rebootRequired: false };
    return aptUpgrade(this, (change) => this.record(change), OS_UPDATES_ITEM, request);
  }

  /** Restarts the device (systemctl reboot) while an update asks for it, where systemd runs; false otherwise. */
  async reboot(): Promise<boolean> {
    if (!this.live || !existsSync(REBOOT_REQUIRED) || !systemdRuns()) return false;
    await run('systemctl', ['reboot'], { timeout: 60_000 });
    return true;
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

  /**
   * Runs a command on the live system (never in a scratch target), recorded with its inverse
   * first; false when it was not run (see runLive).
   */
  async command(item: string, argv: [string, ...string[]], inverse: [string, ...string[]] | null): Promise<boolean> {
    if (!this.live) return false;
    this.record({ type: 'command', item, argv, inverse });
    return runLive(argv);
  }

  /**
   * Joins the domain with adcli (live system only), recorded first so that undo removes the keytab
   * even when the join stopped halfway. A keytab selfdeploy did not make is never replaced: the
   * device belongs to a domain already. The password goes to adcli's standard input alone.
   */
  async joinDomain(item: string, join: DomainJoin): Promise<boolean> {
    if (!this.live) return false;
    const place = this.jail.place(KEYTAB);
    const joined = this.changes.entries().findLast((change) => change.type === 'join');
    if (existsSync(place) || isDangling(place)) {
      if (joined?.type === 'join' && joined.domain === join.domain && joined.computerName === join.computerName) return false;
      if (joined?.type === 'join') {
        throw new TargetError('DIRECTORY_JOIN_FAILED', `selfdeploy joined the device to ${joined.domain} as ${joined.computerName}; to join ${join.domain} as ${join.computerName}, reset the device (selfdeploy reset) and run device setup again`);
      }
      throw new TargetError('DIRECTORY_JOIN_FAILED', `${KEYTAB} exists: the device already belongs to a domain that selfdeploy did not join it to (klist -k ${KEYTAB} names it); leave that domain (adcli delete-computer, or remove the keytab), then run device setup again`);
    }
    this.record({ type: 'join', item, domain: join.domain, computerName: join.computerName, path: KEYTAB });
    try {
      await adcliJoin(join);
    } catch (error) {
      rmSync(place, { force: true }); // a keytab adcli left halfway is no join
      throw error;
    }
    return true;
  }

  /**
   * Undoes every recorded change and forgets them: files and directories newest first, then the
   * commands' inverses, newest first and each once. The inverses come last because they re-read
   * what the files say (update-ca-certificates --fresh, locale-gen, dconf update, nmcli reload):
   * run before the files are back, they would rebuild what setup made.
   */
  async undoAll(): Promise<UndoReport> {
    const report: UndoReport = { restored: 0, removed: 0, commands: 0, left: [], notUndone: [] };
    const newestFirst = this.changes.entries().reverse();
    const commands = newestFirst.filter((change) => change.type === 'command');
    const inverses = new Set<string>();
    for (const change of [...newestFirst.filter((change) => change.type !== 'command'), ...commands]) {
      if (change.type === 'command') {
        const key = JSON.stringify(change.inverse);
        if (inverses.has(key)) continue;
        inverses.add(key);
      }
      try {
        await this.undo(change, report);
      } catch (error) {
        report.left.push(`${change.type === 'command' ? change.argv.join(' ') : change.type === 'script' ? `script "${change.name}"` : change.type === 'upgrade' ? 'OS updates' : change.path}: ${(error as Error).message}`);
      }
    }
    if (report.left.length === 0) this.changes.clear();
    return report;
  }

  private async undo(change: Change, report: UndoReport): Promise<void> {
    if (change.type === 'script' || change.type === 'upgrade') {
      const named = change.type === 'script' ? `script "${change.name}": what it changed itself` : `OS updates: ${change.packages.join(', ')} stay upgraded`;
      if (!report.notUndone.includes(named)) report.notUndone.push(named);
      return;
    }
    if (change.type === 'command') {
      if (change.inverse && this.live && (await runLive(change.inverse as [string, ...string[]]))) report.commands++;
      return;
    }
    if (change.type === 'join') {
      // The device leaves with its keys; the computer account stays in the directory (deleting it needs the directory's credentials).
      const keytab = this.jail.place(change.path);
      if (existsSync(keytab) || isDangling(keytab)) {
        unlinkSync(keytab);
        report.removed++;
      }
      return;
    }
    const place = this.jail.place(change.path);
    if (change.type === 'dir') {
      if (!existsSync(place)) return;
      try {
        rmdirSync(place);
        report.removed++;
      } catch (error) {
        report.left.push(`${change.path}: ${(error as NodeJS.ErrnoException).code === 'ENOTEMPTY' ? 'holds files that setup did not put there' : (error as Error).message}`);
      }
      return;
    }
    const previous = change.previous;
    if (!previous.exists) {
      if (existsSync(place) || isDangling(place)) {
        unlinkSync(place);
        report.removed++;
      }
    } else if ('symlink' in previous) {
      replaceWithSymlink(place, previous.symlink);
      report.restored++;
    } else {
      writeFileDurably(place, this.changes.restore(previous.sha256), previous.mode);
      chmodSync(place, previous.mode);
      if (isRoot()) chownSync(place, previous.uid, previous.gid);
      report.restored++;
    }
  }
}

/** The change log's item for the distribution's updates (they belong to no assigned item). */
export const OS_UPDATES_ITEM = 'os-updates';

/** Puts a symlink at `place` in one rename, whatever was there. */
function replaceWithSymlink(place: string, linkTarget: string): void {
  const temp = `${place}.tmp-${process.pid}`;
  rmSync(temp, { force: true });
  symlinkSync(linkTarget, temp);
  renameSync(temp, place);
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
