// Critical updates of the headless agent (and the lab): a newer critical release is unpacked as a
// versioned bundle into the state directory — the agent's code (dist/, package.json, the TPM
// addon), checked entry by entry — and the agent restarts from it with the same arguments; the new
// process resumes from the journal. A failed or tampered update leaves the running version in place.
import { execFile, spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import type { UpdateFeed } from '../../protocol/api/updates.js';
import { INSTALLED, agentCli, packageRoot } from '../installation/layout.js';
import { statePath } from '../storage/state-dir.js';
import { UpdateError, type FeedClient } from './feed.js';
import type { UpdatesPort } from './port.js';

const run = promisify(execFile);

/**
 * Unpacks a bundle (a .tar.gz of package.json, dist/ and the addon) into STATE/versions/VERSION:
 * into a private staging directory first, every entry a plain file or directory inside it (no
 * links, no devices), its package.json naming `version` and its agent entry present — else
 * nothing is installed.
 */
export async function unpackBundle(file: string, version: string, state: string): Promise<string> {
  // STATE/versions/VERSION, beside a link to the dependencies the bundles share.
  const versions = statePath(state, 'versions');
  mkdirSync(versions, { recursive: true, mode: 0o700 });
  const staging = mkdtempSync(join(versions, '.staging-'));
  try {
    await run('tar', ['-xzf', file, '-C', staging, '--no-same-owner', '--no-same-permissions'], { timeout: 120_000, maxBuffer: 1024 * 1024 }).catch((error: unknown) => {
      throw new UpdateError(`the bundle does not unpack: ${String((error as { stderr?: string }).stderr ?? (error as Error).message).trim().split('\n')[0]}`);
    });
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        const stat = lstatSync(path);
        if (stat.isDirectory()) walk(path);
        else if (!stat.isFile()) throw new UpdateError(`the bundle holds ${path.slice(staging.length + 1)}, which is neither a file nor a directory`);
      }
    };
    walk(staging);
    let manifest: { version?: unknown };
    try {
      manifest = JSON.parse(readFileSync(join(staging, 'package.json'), 'utf8')) as { version?: unknown };
    } catch {
      throw new UpdateError('the bundle has no readable package.json');
    }
    if (manifest.version !== version) throw new UpdateError(`the bundle is version ${String(manifest.version)}, the feed says ${version}`);
    if (!existsSync(agentCli(staging))) throw new UpdateError(`the bundle has no ${INSTALLED.agentCli}`);
    // The bundle uses the installed dependencies: Node finds STATE/versions/node_modules walking up.
    const modules = join(versions, 'node_modules');
    if (!existsSync(modules)) symlinkSync(join(packageRoot(), 'node_modules'), modules, 'dir');
    const target = join(versions, version);
    rmSync(target, { recursive: true, force: true });
    renameSync(staging, target);
    return target;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** The headless agent's updates: bundles from the feed, and a restart of this process from the new one. */
export class BundleUpdates implements UpdatesPort {
  constructor(
    private readonly client: FeedClient,
    private readonly state: string,
  ) {}

  feed(): Promise<UpdateFeed | null> {
    return this.client.feed();
  }

  download(feed: UpdateFeed, onProgress?: (received: number, total: number) => void): Promise<string> {
    return this.client.download(feed, onProgress);
  }

  async install(file: string, version: string): Promise<string> {
    const dir = await unpackBundle(file, version, this.state);
    return agentCli(dir);
  }
}

/**
 * Runs `entry` with this process's arguments and environment, its output ours, and exits with
 * its status: the agent goes on from the new version (and the journal). Never returns.
 */
export async function restartFrom(entry: string): Promise<never> {
  // The same command, but never --reset again: the journal says where to go on.
  const args = process.argv.slice(2).filter((arg) => arg !== '--reset');
  const child = spawn(process.execPath, [entry, ...args], { stdio: 'inherit', env: { ...process.env, SELFDEPLOY_RESTARTED_FROM: process.argv[1] ?? '' } });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  const status = await new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
  process.exit(status);
}
