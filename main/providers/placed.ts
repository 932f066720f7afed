// What an item puts in place, as data: files (bytes, mode, owner) and the commands that make the
// live system take them up. `detect` compares the files with what is there; `apply` writes the ones
// that differ through the target. Shared by every kind's module in this folder.
import type { CodedError } from '../../protocol/errors/report.js';
import type { DomainJoin, Owner, TargetPort } from '../target/port.js';

export class ItemError extends Error implements CodedError {
  override name = 'ItemError';

  constructor(
    readonly code: 'ITEM_FAILED' | 'ITEM_NOT_DETECTED',
    message: string,
  ) {
    super(message);
  }
}

export interface Placed {
  path: string;
  /** Text, or bytes (an image). */
  content: string | Uint8Array;
  mode: number;
  owner?: Owner;
}

/** A command for the live system (never run in a scratch target) and the one that reverses it. */
export interface LiveCommand {
  argv: [string, ...string[]];
  inverse: [string, ...string[]] | null;
}

export interface Plan {
  /** Directories to create (with their owner) before the files. */
  dirs?: { path: string; mode: number; owner?: Owner }[];
  files: Placed[];
  symlinks?: { path: string; target: string }[];
  commands: LiveCommand[];
  /** Domains to join (live system only), before anything else: a join that fails leaves the files unwritten. */
  joins?: DomainJoin[];
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

/** An item or package name that becomes part of a file name. */
export function safe(name: string, what: string): string {
  if (!SAFE_NAME.test(name) || name.includes('..')) throw new ItemError('ITEM_FAILED', `${what} "${name}" cannot name a file`);
  return name;
}

export async function textOf(target: TargetPort, path: string): Promise<string | null> {
  return (await target.readFile(path))?.toString('utf8') ?? null;
}

/** Whether every file and symlink of the plan is in place with its bytes, mode and owner. */
export async function inPlace(target: TargetPort, plan: Plan): Promise<boolean> {
  for (const dir of plan.dirs ?? []) if ((await target.stat(dir.path))?.type !== 'dir') return false;
  for (const file of plan.files) {
    const stat = await target.stat(file.path);
    if (stat?.type !== 'file' || stat.mode !== file.mode) return false;
    if (file.owner && (stat.uid !== file.owner.uid || stat.gid !== file.owner.gid)) return false;
    if (typeof file.content === 'string' ? (await textOf(target, file.path)) !== file.content : !(await target.readFile(file.path))?.equals(file.content)) return false;
  }
  for (const link of plan.symlinks ?? []) {
    const stat = await target.stat(link.path);
    if (stat?.type !== 'symlink' || stat.link !== link.target) return false;
  }
  return true;
}

/** Joins, writes what differs, then runs the commands (joins and commands: live system only); each change recorded by the target. */
export async function carryOut(target: TargetPort, item: string, plan: Plan): Promise<void> {
  for (const join of plan.joins ?? []) await target.joinDomain(item, join);
  for (const dir of plan.dirs ?? []) await target.ensureDir(item, dir.path, dir.mode, dir.owner);
  for (const file of plan.files) await target.writeFile(item, file.path, file.content, file.mode, file.owner);
  for (const link of plan.symlinks ?? []) await target.writeSymlink(item, link.path, link.target);
  for (const command of plan.commands) await target.command(item, command.argv, command.inverse);
}

/**
 * Sets keys in an INI-style file, keeping every other line (comments, other sections, other keys)
 * as it was. `settings` maps section → key → value; a missing section is appended.
 */
export function mergeIni(existing: string | null, settings: Record<string, Record<string, string | number | boolean>>): string {
  const lines = existing === null || existing === '' ? [] : existing.replace(/\n$/, '').split('\n');
  for (const [section, values] of Object.entries(settings)) {
    let start = lines.findIndex((line) => line.trim() === `[${section}]`);
    if (start < 0) {
      if (lines.length && lines[lines.length - 1]!.trim() !== '') lines.push('');
      lines.push(`[${section}]`);
      start = lines.length - 1;
    }
    let end = lines.findIndex((line, index) => index > start && /^\s*\[.*\]\s*$/.test(line));
    if (end < 0) end = lines.length;
    for (const [key, value] of Object.entries(values)) {
      const text = `${key}=${String(value)}`;
      const at = lines.findIndex((line, index) => index > start && index < end && line.split('=')[0]!.trim() === key && !/^\s*[#;]/.test(line));
      if (at >= 0) lines[at] = text;
      else {
        // After the section's last non-blank line.
        let insert = end;
        while (insert - 1 > start && lines[insert - 1]!.trim() === '') insert--;
        lines.splice(insert, 0, text);
        end++;
      }
    }
  }
  return lines.join('\n') + '\n';
}

/** Sets `KEY<separator>value` lines (shell-style /etc/default files, login.defs), keeping all others. */
export function mergeAssignments(existing: string | null, values: Record<string, string>, separator: '=' | ' ' = '='): string {
  const lines = existing === null || existing === '' ? [] : existing.replace(/\n$/, '').split('\n');
  for (const [key, value] of Object.entries(values)) {
    const pattern = separator === '=' ? new RegExp(`^\\s*${key}=`) : new RegExp(`^\\s*${key}\\s`);
    const text = separator === '=' ? `${key}=${value}` : `${key}\t${value}`;
    const at = lines.findIndex((line) => pattern.test(line));
    if (at >= 0) lines[at] = text;
    else lines.push(text);
  }
  return lines.join('\n') + '\n';
}

/** Resolves user and group names in the target's own /etc/passwd and /etc/group (root is always 0). */
export async function ownerOf(target: TargetPort, user: string, group: string): Promise<Owner> {
  const lookup = async (file: string, name: string): Promise<number> => {
    if (name === 'root') return 0;
    const line = (await textOf(target, file))?.split('\n').find((l) => l.split(':')[0] === name);
    const id = line ? Number(line.split(':')[2]) : NaN;
    if (!Number.isInteger(id)) throw new ItemError('ITEM_FAILED', `there is no ${file === '/etc/passwd' ? 'user' : 'group'} "${name}" on the device (${file})`);
    return id;
  };
  return { uid: await lookup('/etc/passwd', user), gid: await lookup('/etc/group', group) };
}
