// A scratch target for provider tests: a fresh root with the files a Debian system starts with
// (as far as a test needs them), its change log, and a snapshot of the tree to compare after undo.
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { AssignedItemSchema, type AssignedItem } from '../../../protocol/items.js';
import type { ApplyContext } from '../port.js';
import { ChangeLog } from '../../target/changes.js';
import { FileProviders } from '../files.js';
import { Target } from '../../target/target.js';

export function scratchTarget(files: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'selfdeploy-scratch-'));
  const root = join(dir, 'root');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  const changes = new ChangeLog(join(dir, 'changes'));
  const target = new Target(root, changes);
  // Content as the engine hands it over: downloaded (here: written) under its digest.
  const downloads = new Map<string, string>();
  const progress: [number, string][] = [];
  const context: ApplyContext = {
    progress: (fraction, detail) => progress.push([fraction, detail]),
    fetchContent: (content) => {
      const file = downloads.get(content.sha256);
      return file ? Promise.resolve(file) : Promise.reject(new Error('no such content'));
    },
  };
  const content = (bytes: Buffer) => {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const file = join(dir, sha256);
    writeFileSync(file, bytes);
    downloads.set(sha256, file);
    return { sha256, size: bytes.length, file };
  };
  return {
    dir,
    context,
    content,
    progress,
    root,
    changes,
    target,
    providers: new FileProviders(target),
    /** A file of the target as text. */
    read: (path: string) => readFileSync(join(root, path), 'utf8'),
    stat: (path: string) => lstatSync(join(root, path)),
    tree: () => tree(root),
  };
}

/** Every file and directory under `dir` with its bytes, mode, owner and link. */
export function tree(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const stat = lstatSync(path);
    const key = `${prefix}/${name}`;
    const mode = `${(stat.mode & 0o7777).toString(8)} ${stat.uid}:${stat.gid}`;
    if (stat.isSymbolicLink()) out[key] = `-> ${readlinkSync(path)}`;
    else if (stat.isDirectory()) Object.assign(out, { [key]: `dir ${mode}` }, tree(path, key));
    else out[key] = `${mode} ${readFileSync(path).toString('base64')}`;
  }
  return out;
}

let serial = 0;

/** An item as the agent receives it, defaults filled in by the wire schema. */
export function assigned(input: { kind: AssignedItem['kind']; name: string; payload: unknown; version?: number; blocking?: boolean }): AssignedItem {
  serial++;
  return AssignedItemSchema.parse({ id: `7d6f0a52-0000-4000-8000-${String(serial).padStart(12, '0')}`, version: 1, blocking: true, ...input });
}
