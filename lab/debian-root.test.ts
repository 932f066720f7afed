import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { SYSTEM_PACKAGES, dependsOf, manifestDiff, recipeOf } from './debian-root.js';

describe('the Debian root recipe', () => {
  it("takes the deb's dependencies from its control file: the first alternative of each, without version", () => {
    const control = 'Package: x\nDepends: nodejs (>= 20.19), libtss2-esys-3.0.2-0t64 | libtss2-esys-3.0.2-0,\n libgtk-3-0t64 | libgtk-3-0, cage\nSection: admin\n';
    expect(dependsOf(control)).toEqual(['nodejs', 'libtss2-esys-3.0.2-0t64', 'libgtk-3-0t64', 'cage']);
    expect(dependsOf('Package: x\n')).toEqual([]);
    const real = dependsOf(readFileSync(join(import.meta.dirname, '..', 'resources', 'deb', 'control'), 'utf8'));
    expect(real).toContain('nodejs');
    expect(real.every((name) => /^[a-z0-9][a-z0-9.+-]+$/.test(name))).toBe(true);
  });

  it('is named by a digest that changes with its packages and not with their order', () => {
    const a = recipeOf(['nodejs', ...SYSTEM_PACKAGES]);
    expect(recipeOf([...[...SYSTEM_PACKAGES].reverse(), 'nodejs']).digest).toBe(a.digest);
    expect(recipeOf([...SYSTEM_PACKAGES]).digest).not.toBe(a.digest);
    expect(a).toMatchObject({ suite: 'trixie', variant: 'minbase' });
  });

  it('compares manifests: what was added, removed and changed', () => {
    const before = new Map([
      ['/etc/a', 'file 644 0:0 aa'],
      ['/etc/b', 'file 644 0:0 bb'],
      ['/etc/c', 'file 644 0:0 cc'],
    ]);
    const after = new Map([
      ['/etc/a', 'file 644 0:0 aa'],
      ['/etc/b', 'file 600 0:0 bb'],
      ['/etc/d', 'link 777 0:0 -> /x'],
    ]);
    expect(manifestDiff(before, after)).toEqual({ added: ['/etc/d'], removed: ['/etc/c'], changed: ['/etc/b'] });
  });
});
