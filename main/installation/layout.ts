// Where the installed program's own files are: the package root (a source tree, dist/, or the
// unpacked part of the packaged app) and, under it, the TPM addon, the renderer's build and the
// command-line entries. Every module that needs one of these paths takes it from here.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The directory of the selfdeploy package this module belongs to (source tree, dist/ or asar). */
export function packageRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'selfdeploy') return dir;
      } catch {
        // not ours; keep walking up
      }
    }
    if (dirname(dir) === dir) throw new Error(`no selfdeploy package.json above ${from}`);
  }
}

/** The package's own files, relative to its root. */
export const INSTALLED = {
  manifest: 'package.json',
  addon: join('native', 'build', 'Release', 'selfdeploy_tpm.node'),
  renderer: join('dist', 'renderer'),
  agentCli: join('dist', 'main', 'cli', 'selfdeploy.js'),
  serverCli: join('dist', 'backend', 'cli', 'server.js'),
  adminCli: join('dist', 'backend', 'cli', 'admin.js'),
  labCli: join('dist', 'lab', 'cli.js'),
} as const;

/**
 * A development tree: the TypeScript sources beside their build. An installed agent — the packaged
 * app, a critical-update bundle — never ships its sources, so this is false there.
 */
export function isSourceTree(root = packageRoot()): boolean {
  return existsSync(join(root, 'main', 'cli', 'selfdeploy.ts'));
}

/** The environment variables that exist for tests only: another TPM addon, a kill at a checkpoint. */
export const TEST_HOOKS = ['SELFDEPLOY_TPM_ADDON', 'SELFDEPLOY_TEST_KILL_AT_CHECKPOINT'] as const;

/**
 * A test-only environment variable's value — in a source tree only. An installed agent ignores
 * them, so nobody who can set its environment can load another addon as the TPM or stop it midway.
 */
export function testHook(name: (typeof TEST_HOOKS)[number], env: NodeJS.ProcessEnv = process.env, root = packageRoot()): string | undefined {
  const value = env[name];
  return value !== undefined && isSourceTree(root) ? value : undefined;
}

/** The TPM addon (SELFDEPLOY_TPM_ADDON overrides it in a source tree, for tests of a missing or broken one). */
export function addonPath(): string {
  return testHook('SELFDEPLOY_TPM_ADDON') ?? join(packageRoot(), INSTALLED.addon);
}

/** The React ESP's built files. */
export function rendererDir(): string {
  return join(packageRoot(), INSTALLED.renderer);
}

/** The `selfdeploy` command's entry. */
export function agentCli(root = packageRoot()): string {
  return join(root, INSTALLED.agentCli);
}

/** The `selfdeploy-server` command's entry. */
export function serverCli(): string {
  return join(packageRoot(), INSTALLED.serverCli);
}
