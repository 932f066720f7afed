// The change log: every change a provider makes to the device is recorded here, durably, before
// it is made — a file's previous bytes, mode and owner (or that it did not exist), a directory
// created, a command and its inverse, a script that ran — so that "Reset device" can undo all of it, in reverse.
// Previous bytes are kept content-addressed beside the log (backups/<sha256>).
import { createHash } from 'node:crypto';
import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { z } from 'zod';

import { writeFileDurably } from '../storage/durable-file.js';

const PreviousFileSchema = z.union([
  z.object({ exists: z.literal(false) }),
  z.object({ exists: z.literal(true), symlink: z.string() }),
  z.object({ exists: z.literal(true), sha256: z.string().regex(/^[0-9a-f]{64}$/), mode: z.number().int(), uid: z.number().int(), gid: z.number().int() }),
]);

export const ChangeSchema = z.discriminatedUnion('type', [
  /** A file written or removed at `path` (absolute, inside the target root). */
  z.object({ type: z.literal('file'), item: z.string(), path: z.string(), previous: PreviousFileSchema }),
  /** A directory that did not exist and was created. */
  z.object({ type: z.literal('dir'), item: z.string(), path: z.string() }),
  /** A command run on the live system, with the command that reverses it (if any). */
  z.object({ type: z.literal('command'), item: z.string(), argv: z.array(z.string()).min(1), inverse: z.array(z.string()).min(1).nullable() }),
  /** A script (or shell installer) that ran: what it changed itself is not recorded, so not undone. */
  z.object({ type: z.literal('script'), item: z.string(), name: z.string() }),
  /** The device joined to an Active Directory domain: undone by removing its keytab (`path`). */
  z.object({ type: z.literal('join'), item: z.string(), domain: z.string(), computerName: z.string(), path: z.string() }),
  /** Packages upgraded by the distribution's updates: they stay upgraded (no downgrades). */
  z.object({ type: z.literal('upgrade'), item: z.string(), packages: z.array(z.string()) }),
]);
export type Change = z.output<typeof ChangeSchema>;
export type PreviousFile = z.output<typeof PreviousFileSchema>;

export class ChangeLog {
  readonly file: string;
  readonly backups: string;

  constructor(readonly dir: string) {
    this.file = join(dir, 'changes.jsonl');
    this.backups = join(dir, 'backups');
  }

  /** Keeps previous bytes; returns their digest. */
  backup(bytes: Uint8Array): string {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const path = join(this.backups, sha256);
    if (!existsSync(path)) writeFileDurably(path, bytes, 0o600);
    return sha256;
  }

  restore(sha256: string): Buffer {
    return readFileSync(join(this.backups, sha256));
  }

  /** Appends one change and fsyncs before returning: only then may the change be made. */
  record(change: Change): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    appendFileSync(this.file, JSON.stringify(ChangeSchema.parse(change)) + '\n', { mode: 0o600 });
    const fd = openSync(this.file, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Every recorded change, oldest first; a torn last line (power loss mid-append) is dropped. */
  entries(): Change[] {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const lines = text.split('\n').filter(Boolean);
    const changes: Change[] = [];
    lines.forEach((line, index) => {
      try {
        changes.push(ChangeSchema.parse(JSON.parse(line)));
      } catch (error) {
        if (index !== lines.length - 1 || text.endsWith('\n')) throw new Error(`${this.file} line ${index + 1} is damaged: ${(error as Error).message}`);
      }
    });
    return changes;
  }

  /** Forgets everything (after a reset has undone it). */
  clear(): void {
    rmSync(this.file, { force: true });
    rmSync(this.backups, { recursive: true, force: true });
  }
}
