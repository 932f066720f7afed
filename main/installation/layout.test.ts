import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { TEST_HOOKS, isSourceTree, packageRoot, testHook } from './layout.js';

const scratch = mkdtempSync(join(tmpdir(), 'selfdeploy-layout-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** An installed agent's tree: package.json and the build, no sources (the packaged app, a bundle). */
function installedTree(): string {
  const root = join(scratch, 'installed');
  mkdirSync(join(root, 'dist', 'main', 'cli'), { recursive: true });
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'selfdeploy', version: '9.9.9' }));
  writeFileSync(join(root, 'dist', 'main', 'cli', 'selfdeploy.js'), '');
  return root;
}

describe('test-only environment variables', () => {
  it('are honoured in a source tree (this checkout)', () => {
    expect(isSourceTree(packageRoot())).toBe(true);
    for (const name of TEST_HOOKS) expect(testHook(name, { [name]: '3' })).toBe('3');
    expect(testHook('SELFDEPLOY_TPM_ADDON', {})).toBeUndefined();
  });

  it('are ignored by an installed agent, which ships no sources', () => {
    const root = installedTree();
    expect(packageRoot(join(root, 'dist', 'main', 'cli'))).toBe(root);
    expect(isSourceTree(root)).toBe(false);
    for (const name of TEST_HOOKS) expect(testHook(name, { [name]: '/tmp/evil.node' }, root)).toBeUndefined();
  });
});
