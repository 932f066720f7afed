// The sweep of a shared device's members' homes, on a scratch root: what is deleted when (at
// sign-out, after days, beyond the newest members), and what never is (a local account's home, a
// link, a home someone else owns, a home whose owner still runs processes).
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { HomeSweepSettings } from '../../protocol/sign-in.js';
import { HomeSweep, SWEEP_STATE_DIR, type SweepSystem } from './home-sweep.js';

const MEMBERS: Record<string, number> = { alice: 10001, bob: 10002, carol: 10003, dave: 10004 };
const isRoot = process.getuid?.() === 0;

let root: string;
let clock: Date;
let running: Set<number>;
let lines: string[];

function system(): SweepSystem {
  return {
    root,
    now: () => clock,
    account: (user) => (user in MEMBERS ? { uid: MEMBERS[user]!, home: `/home/${user}` } : user === 'daemon' ? { uid: 1, home: '/usr/sbin' } : user === 'odd' ? { uid: 10009, home: '/etc' } : null),
    isLocal: (user) => ['root', 'kiosk', 'daemon'].includes(user),
    processOwners: () => running,
    removeTree: (path) => {
      expect(spawnSync('rm', ['-rf', '--one-file-system', '--', path]).status).toBe(0);
    },
    log: (line) => lines.push(line),
  };
}

/** A member's home with a file in it, owned by them (as pam_mkhomedir makes it). */
function home(user: string, uid = MEMBERS[user]!): string {
  const path = join(root, 'home', user);
  mkdirSync(path, { recursive: true });
  writeFileSync(join(path, 'notes.txt'), `${user}'s notes\n`);
  if (isRoot) chownSync(path, uid, uid);
  return path;
}

const settings = (fields: Partial<HomeSweepSettings>): HomeSweepSettings => ({ deleteHomeAtSignOut: false, deleteHomeAfterDays: null, maxCachedAccounts: null, ...fields });
const at = (iso: string) => (clock = new Date(iso));

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'selfdeploy-sweep-'));
  mkdirSync(join(root, 'home'));
  at('2026-12-01T09:00:00Z');
  running = new Set();
  lines = [];
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe.skipIf(!isRoot)('the sweep of members’ homes (as root, which owns the homes it checks)', () => {
  it('deletes a member’s home when their last session ends, and keeps it while another is open', () => {
    const sweep = new HomeSweep(system(), settings({ deleteHomeAtSignOut: true }));
    const alice = home('alice');
    sweep.run({ type: 'open_session', user: 'alice' });
    sweep.run({ type: 'open_session', user: 'alice' });
    running.add(MEMBERS['alice']!); // her other session's processes
    expect(sweep.run({ type: 'close_session', user: 'alice' }).deleted).toEqual([]);
    expect(existsSync(alice)).toBe(true);
    running.clear();
    expect(sweep.run({ type: 'close_session', user: 'alice' }).deleted).toEqual([{ user: 'alice', reason: 'signed out' }]);
    expect(existsSync(alice)).toBe(false);
    // Nothing left aside in /home, and the records forget her; the state is root's alone.
    expect(readdirSync(join(root, 'home'))).toEqual([]);
    expect(JSON.parse(readFileSync(join(root, SWEEP_STATE_DIR, 'members.json'), 'utf8'))).toEqual({ members: {} });
    expect(statSync(join(root, SWEEP_STATE_DIR)).mode & 0o777).toBe(0o700);
    expect(statSync(join(root, SWEEP_STATE_DIR, 'members.json')).mode & 0o777).toBe(0o600);
    expect(lines).toEqual(['alice: deleted /home/alice (signed out)']);
  });

  it('waits while the member still runs processes, then deletes at the next sweep', () => {
    const sweep = new HomeSweep(system(), settings({ deleteHomeAtSignOut: true }));
    const bob = home('bob');
    sweep.run({ type: 'open_session', user: 'bob' });
    running.add(MEMBERS['bob']!);
    expect(sweep.run({ type: 'close_session', user: 'bob' })).toEqual({ deleted: [], deferred: ['bob'] });
    expect(existsSync(bob)).toBe(true);
    running.clear();
    expect(sweep.run(null).deleted).toEqual([{ user: 'bob', reason: 'signed out' }]);
    expect(existsSync(bob)).toBe(false);
  });

  it('counts a session that ended without its close (a crash) as ended once its owner runs nothing', () => {
    const sweep = new HomeSweep(system(), settings({ deleteHomeAtSignOut: true }));
    const carol = home('carol');
    sweep.run({ type: 'open_session', user: 'carol' });
    running.add(MEMBERS['carol']!);
    expect(sweep.run(null).deleted).toEqual([]);
    running.clear();
    expect(sweep.run({ type: 'open_session', user: 'alice' }).deleted).toEqual([{ user: 'carol', reason: 'signed out' }]);
    expect(existsSync(carol)).toBe(false);
  });

  it('deletes the homes of members who have not signed in for the set number of days, and only theirs', () => {
    const sweep = new HomeSweep(system(), settings({ deleteHomeAfterDays: 7 }));
    const [alice, bob] = [home('alice'), home('bob')];
    sweep.run({ type: 'open_session', user: 'alice' });
    sweep.run({ type: 'close_session', user: 'alice' });
    at('2026-12-05T09:00:00Z');
    sweep.run({ type: 'open_session', user: 'bob' });
    sweep.run({ type: 'close_session', user: 'bob' });
    // Signing out alone deletes nothing here.
    expect([existsSync(alice), existsSync(bob)]).toEqual([true, true]);
    at('2026-12-08T09:00:01Z');
    expect(sweep.run(null).deleted).toEqual([{ user: 'alice', reason: 'no sign-in for 7 days' }]);
    expect([existsSync(alice), existsSync(bob)]).toEqual([false, true]);
  });

  it('keeps the homes of the most recent members only, never of one signed in now', () => {
    const sweep = new HomeSweep(system(), settings({ maxCachedAccounts: 2 }));
    const homes = Object.fromEntries(['alice', 'bob', 'carol', 'dave'].map((user) => [user, home(user)]));
    sweep.run({ type: 'open_session', user: 'alice' }); // alice stays signed in
    running.add(MEMBERS['alice']!);
    for (const [user, when] of [['bob', '2026-12-02'], ['carol', '2026-12-03']] as const) {
      at(`${when}T09:00:00Z`);
      sweep.run({ type: 'open_session', user });
      sweep.run({ type: 'close_session', user });
    }
    // alice is the oldest, but signed in: bob, the oldest signed out, went when carol came.
    expect(Object.entries(homes).filter(([, path]) => existsSync(path)).map(([user]) => user)).toEqual(['alice', 'carol', 'dave']);
    at('2026-12-04T09:00:00Z');
    expect(sweep.run({ type: 'open_session', user: 'dave' }).deleted).toEqual([{ user: 'carol', reason: 'more than 2 members keep a home here' }]);
    expect(Object.entries(homes).filter(([, path]) => existsSync(path)).map(([user]) => user)).toEqual(['alice', 'dave']);
  });

  it('never touches a local account, a system account, or a home outside /home', () => {
    const sweep = new HomeSweep(system(), settings({ deleteHomeAtSignOut: true }));
    const kiosk = home('kiosk', 1001);
    for (const user of ['kiosk', 'root', 'daemon', 'odd', '../etc', 'nobody-known']) {
      sweep.run({ type: 'open_session', user });
      sweep.run({ type: 'close_session', user });
    }
    expect(existsSync(kiosk)).toBe(true);
    expect(JSON.parse(readFileSync(join(root, SWEEP_STATE_DIR, 'members.json'), 'utf8'))).toEqual({ members: {} });
  });

  it('leaves alone a home that is a link, or that another user owns — and follows no link inside one', () => {
    const sweep = new HomeSweep(system(), settings({ deleteHomeAtSignOut: true }));
    const precious = join(root, 'precious');
    mkdirSync(precious);
    writeFileSync(join(precious, 'keep'), 'keep\n');
    symlinkSync(precious, join(root, 'home', 'alice'));
    home('bob', 10003); // carol's, though it is called bob's
    const dave = home('dave');
    symlinkSync(precious, join(dave, 'link-to-precious'));
    for (const user of ['alice', 'bob', 'dave']) {
      sweep.run({ type: 'open_session', user });
      sweep.run({ type: 'close_session', user });
    }
    expect(readFileSync(join(precious, 'keep'), 'utf8')).toBe('keep\n');
    expect(existsSync(join(root, 'home', 'bob', 'notes.txt'))).toBe(true);
    expect(existsSync(dave)).toBe(false);
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^alice: \/home\/alice is left alone/), expect.stringMatching(/^bob: \/home\/bob is left alone: it is not a directory owned by 10002/)]));
  });

  it('finishes removing a home whose removal was cut short', () => {
    const sweep = new HomeSweep(system(), settings({ deleteHomeAtSignOut: true }));
    const leftover = join(root, 'home', '.selfdeploy-removed-bob-1764000000000');
    mkdirSync(join(leftover, 'deep'), { recursive: true });
    writeFileSync(join(leftover, 'deep', 'file'), 'x');
    home('alice');
    sweep.run({ type: 'open_session', user: 'alice' });
    expect(existsSync(leftover)).toBe(false);
    expect(existsSync(join(root, 'home', 'alice'))).toBe(true);
    expect(lines).toEqual(["removed what was left of bob's home"]);
  });

  it('starts afresh from records it cannot read, saying so', () => {
    mkdirSync(join(root, SWEEP_STATE_DIR), { recursive: true });
    writeFileSync(join(root, SWEEP_STATE_DIR, 'members.json'), '{"members": {"../x": 1}}');
    const sweep = new HomeSweep(system(), settings({ deleteHomeAtSignOut: true }));
    home('alice');
    sweep.run({ type: 'open_session', user: 'alice' });
    expect(lines[0]).toMatch(/are not readable; starting afresh/);
    const { members } = JSON.parse(readFileSync(join(root, SWEEP_STATE_DIR, 'members.json'), 'utf8')) as { members: Record<string, unknown> };
    expect(Object.keys(members)).toEqual(['alice']);
  });
});
