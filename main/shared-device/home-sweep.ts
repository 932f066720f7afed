// The home directories of a shared device's members (directory users who signed in; never a local
// account): deleted when the member signs out, after days without a sign-in, or beyond the most
// recent N members, as the profile's sharedDevice says (SHARED_ACCOUNTS_SETTINGS, written by
// device setup). PAM runs the sweep as root at every session's start and end (pam_exec, selfdeploy's
// pam-configs profile): it counts each member's sessions and their last sign-in in a root-only
// state file, then deletes what is due. A home is only deleted while its owner runs no process, as
// a directory `/home/NAME` owned by that member (never a link), first renamed aside within /home so
// nothing can be swapped under it, then removed by GNU rm, which does not follow links.
import { spawnSync } from 'node:child_process';
import { closeSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { z } from 'zod';

import type { HomeSweepSettings } from '../../protocol/sign-in.js';

/** The sweep's own records: root's alone (0700), since root acts on them. */
export const SWEEP_STATE_DIR = '/var/lib/selfdeploy-shared-accounts';
/** What the sweep did, for the administrator (root's). */
export const SWEEP_LOG = '/var/log/selfdeploy-shared-accounts.log';

/** A member's name as the sweep takes it: one path component, never "." or "..". */
const MEMBER_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
/** Where a member's home may be: a directory right under /home. */
const MEMBER_HOME = /^\/home\/[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
/** The lowest user ID taken for a member (below: system accounts); nobody (65534) is never one. */
const FIRST_MEMBER_UID = 1000;
const NOBODY = 65534;
/** A home renamed aside within /home, before it is removed. */
const ASIDE_PREFIX = '.selfdeploy-removed-';

const MemberSchema = z.object({
  uid: z.number().int().min(FIRST_MEMBER_UID),
  home: z.string().regex(MEMBER_HOME),
  lastSignIn: z.string(),
  sessions: z.number().int().min(0),
  /** Why the home is to be deleted, once its owner runs no process. */
  due: z.string().nullable().default(null),
});
type Member = z.output<typeof MemberSchema>;
const StateSchema = z.object({ members: z.record(z.string().regex(MEMBER_NAME), MemberSchema) });
type State = z.output<typeof StateSchema>;

/** What the sweep asks of the system (the device's, or a test's). */
export interface SweepSystem {
  /** Prefix of every path: "" on the device. */
  root: string;
  now(): Date;
  /** The account as NSS answers (SSSD for members), or null. */
  account(user: string): { uid: number; home: string } | null;
  /** Whether `user` is a local account (/etc/passwd): never a member. */
  isLocal(user: string): boolean;
  /** The user IDs (real and effective) of every running process: read once per sweep. */
  processOwners(): ReadonlySet<number>;
  /** Removes the tree at `path` without following links (GNU rm --one-file-system). */
  removeTree(path: string): void;
  log(line: string): void;
}

export interface SweepEvent {
  type: 'open_session' | 'close_session';
  user: string;
}

export interface SweepResult {
  /** Members whose homes were deleted, with why. */
  deleted: { user: string; reason: string }[];
  /** Members whose homes are due but who still run processes. */
  deferred: string[];
}

const DAY_MS = 86_400_000;

export class HomeSweep {
  constructor(
    private readonly system: SweepSystem,
    private readonly settings: HomeSweepSettings,
  ) {}

  private path(devicePath: string): string {
    return this.system.root + devicePath;
  }

  /** Records `event` (if any), then deletes the homes that are due; under a lock, so sessions starting together count right. */
  run(event: SweepEvent | null): SweepResult {
    const dir = this.path(SWEEP_STATE_DIR);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const release = lock(join(dir, 'lock'));
    try {
      const state = this.load();
      if (event) this.record(state, event);
      const result = this.sweep(state, event);
      this.save(state);
      return result;
    } finally {
      release();
    }
  }

  private load(): State {
    const file = this.path(`${SWEEP_STATE_DIR}/members.json`);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return { members: {} };
    }
    const parsed = StateSchema.safeParse(safeJson(text));
    if (!parsed.success) this.system.log(`the records in ${file} are not readable; starting afresh`);
    return parsed.success ? parsed.data : { members: {} };
  }

  private save(state: State): void {
    const file = this.path(`${SWEEP_STATE_DIR}/members.json`);
    writeFileSync(`${file}.new`, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
    renameSync(`${file}.new`, file);
  }

  private record(state: State, { type, user }: SweepEvent): void {
    if (!MEMBER_NAME.test(user) || this.system.isLocal(user)) return;
    const now = this.system.now().toISOString();
    const known = state.members[user];
    if (type === 'open_session') {
      const account = this.system.account(user);
      if (!account || account.uid < FIRST_MEMBER_UID || account.uid === NOBODY || !MEMBER_HOME.test(account.home)) return;
      state.members[user] = { uid: account.uid, home: account.home, lastSignIn: now, sessions: (known?.sessions ?? 0) + 1, due: null };
    } else if (known) {
      known.sessions = Math.max(0, known.sessions - 1);
      if (this.settings.deleteHomeAtSignOut && known.sessions === 0) known.due = 'signed out';
    }
  }

  private sweep(state: State, event: SweepEvent | null): SweepResult {
    this.removeLeftovers();
    const now = this.system.now().getTime();
    const entries = Object.entries(state.members);
    const owners = this.system.processOwners();
    // A session that ended without its close (a crash, a power cut) counts no more once its owner runs nothing.
    for (const [user, member] of entries) {
      const starting = event?.type === 'open_session' && event.user === user;
      if (member.sessions > 0 && !starting && !owners.has(member.uid)) {
        member.sessions = 0;
        if (this.settings.deleteHomeAtSignOut) member.due ??= 'signed out';
      }
    }
    const { deleteHomeAfterDays: days, maxCachedAccounts: max } = this.settings;
    for (const [, member] of entries) {
      if (member.sessions === 0 && days !== null && now - Date.parse(member.lastSignIn) > days * DAY_MS) member.due ??= `no sign-in for ${days} days`;
    }
    if (max !== null) {
      // Members signed in keep their homes; the most recent of the others fill the places left.
      const kept = entries.filter(([, m]) => m.due === null);
      let room = max - kept.filter(([, m]) => m.sessions > 0).length;
      const newestFirst = kept.filter(([, m]) => m.sessions === 0).sort(([, a], [, b]) => Date.parse(b.lastSignIn) - Date.parse(a.lastSignIn));
      for (const [, member] of newestFirst) if (room-- <= 0) member.due = `more than ${max} members keep a home here`;
    }
    const result: SweepResult = { deleted: [], deferred: [] };
    for (const [user, member] of entries) {
      if (member.due === null || member.sessions > 0) continue;
      if (owners.has(member.uid)) {
        result.deferred.push(user);
        continue;
      }
      this.deleteHome(user, member);
      result.deleted.push({ user, reason: member.due });
      delete state.members[user];
    }
    return result;
  }

  /** Homes renamed aside whose removal did not finish (a power cut, rm failing): only root can make these names in /home. */
  private removeLeftovers(): void {
    let names: string[];
    try {
      names = readdirSync(this.path('/home'));
    } catch {
      return;
    }
    for (const name of names.filter((n) => n.startsWith(ASIDE_PREFIX))) {
      this.system.removeTree(this.path(`/home/${name}`));
      this.system.log(`removed what was left of ${name.slice(ASIDE_PREFIX.length).replace(/-[0-9]+$/, '')}'s home`);
    }
  }

  /** Deletes `member`'s home, if it is theirs: a directory (not a link) they own, right under /home. */
  private deleteHome(user: string, member: Member): void {
    const home = this.path(member.home);
    let stat;
    try {
      stat = lstatSync(home);
    } catch {
      this.system.log(`${user}: ${member.home} is gone already (${member.due})`);
      return;
    }
    if (!stat.isDirectory() || stat.uid !== member.uid) {
      this.system.log(`${user}: ${member.home} is left alone: it is not a directory owned by ${member.uid}`);
      return;
    }
    const aside = this.path(`/home/${ASIDE_PREFIX}${user}-${this.system.now().getTime()}`);
    renameSync(home, aside);
    this.system.removeTree(aside);
    this.system.log(`${user}: deleted ${member.home} (${member.due})`);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** An exclusive lock file; one left by a sweep that died is taken over after a minute. */
function lock(file: string): () => void {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      closeSync(openSync(file, 'wx', 0o600));
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      try {
        if (Date.now() - statSync(file).mtimeMs > 60_000) rmSync(file, { force: true });
      } catch {
        // gone meanwhile
      }
      if (Date.now() > deadline) throw new Error(`${file} is held by another sweep`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
}

/** The device's system: NSS through getent, /etc/passwd, /proc, GNU rm. */
export function deviceSystem(log: (line: string) => void): SweepSystem {
  return {
    root: '',
    now: () => new Date(),
    account: (user) => {
      const found = spawnSync('getent', ['passwd', user], { encoding: 'utf8', timeout: 30_000 });
      const fields = found.status === 0 ? found.stdout.trim().split(':') : [];
      return fields.length === 7 && fields[0] === user ? { uid: Number(fields[2]), home: fields[5]! } : null;
    },
    isLocal: (user) => readFileSync('/etc/passwd', 'utf8').split('\n').some((line) => line.split(':')[0] === user),
    processOwners: processUids,
    removeTree: (path) => {
      const removed = spawnSync('rm', ['-rf', '--one-file-system', '--', path], { encoding: 'utf8', timeout: 600_000 });
      if (removed.status !== 0) throw new Error(`rm ${path}: ${removed.stderr.trim() || `exit ${removed.status}`}`);
    },
    log,
  };
}

/** The real and effective user IDs of every running process. */
function processUids(): Set<number> {
  const uids = new Set<number>();
  for (const pid of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(pid)) continue;
    try {
      const line = /^Uid:\s+([0-9]+)\s+([0-9]+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (line) uids.add(Number(line[1])).add(Number(line[2]));
    } catch {
      // the process ended meanwhile
    }
  }
  return uids;
}
