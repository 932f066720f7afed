// The target's root as a jail: every path a change names is resolved inside it — `..` and NUL
// are refused, and the directories on the way are resolved through their symlinks, which must stay
// inside — before anything is read or written.
import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';

import { PathRefusedError } from './errors.js';

export class Jail {
  constructor(
    /** The root with its own symlinks resolved. */
    readonly root: string,
  ) {}

  /** Whether the jail is the running system itself. */
  get live(): boolean {
    return this.root === sep;
  }

  inside(path: string): boolean {
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

  /** Refuses a symlink at `path` whose target would resolve outside the root; returns its place. */
  checkSymlink(path: string, linkTarget: string): string {
    const place = this.place(path);
    const resolved = linkTarget.startsWith('/') ? join(this.root, linkTarget) : join(dirname(place), linkTarget);
    if (!this.inside(resolved)) throw new PathRefusedError(`the symlink ${path} → ${linkTarget} points out of the target`);
    return place;
  }
}
