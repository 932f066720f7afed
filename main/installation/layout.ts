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

/** The TPM addon (SELFDEPLOY_TPM_ADDON overrides it, for tests of a missing or broken one). */
export function addonPath(): string {
  return process.env['SELFDEPLOY_TPM_ADDON'] ?? join(packageRoot(), INSTALLED.addon);
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
