// Critical updates during the OOBE, for the headless agent (and the lab): the service's feed
// (electron-updater's generic format, the updateFeed endpoint) names a release; a
// newer *critical* one is downloaded (resumable, SHA-256 while it comes, SHA-512 as the feed
// says), unpacked as a versioned bundle into the state directory — the agent's code (dist/,
// package.json, the TPM addon), checked entry by entry — and the agent restarts from it with the
// same arguments; the new process resumes from the journal. A failed or tampered update leaves the
// running version in place and says so. (The Electron app takes the same feed through
// electron-updater; that path needs the packaged app.)
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { parse } from 'yaml';

import { device } from '../../protocol/api/endpoints.js';
import { UpdateFeedSchema, type UpdateFeed } from '../../protocol/api/updates.js';
import { describeIssues } from '../../protocol/validation.js';
import { ServiceProblem, type ServiceClient } from '../../protocol/node/https-client.js';
import { INSTALLED, agentCli, packageRoot } from '../installation/layout.js';

const run = promisify(execFile);

/** How the engine reaches updates: the feed, a verified download, and an installer that restarts the agent. */
export interface UpdatesPort {
  /** The feed, or null when the service publishes no release. Network failures throw. */
  feed(): Promise<UpdateFeed | null>;
  /** Downloads the release file; resolves with its path once its SHA-512 matches the feed's. */
  download(feed: UpdateFeed, onProgress?: (received: number, total: number) => void): Promise<string>;
  /** Installs the release; resolves with the entry the agent restarts from (after it released the TPM). */
  install(file: string, version: string): Promise<string>;
}

export class UpdateError extends Error {
  override name = 'UpdateError';
}

async function sha512Of(file: string): Promise<string> {
  const hash = createHash('sha512');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('base64');
}

/** The feed and the file over the agent's HTTPS client (the service CA only). */
export class FeedClient {
  constructor(
    private readonly client: ServiceClient,
    private readonly dir: string,
    /** Name the download by its SHA-256 (the helper takes content from DIR/<sha256> only), not by the feed's file name. */
    private readonly byDigest = false,
  ) {}

  async feed(): Promise<UpdateFeed | null> {
    let bytes: Buffer;
    try {
      bytes = await this.client.fetchBytes(device.updateFeed);
    } catch (error) {
      if (error instanceof ServiceProblem && error.status === 404) return null;
      throw error;
    }
    let document: unknown;
    try {
      document = parse(bytes.toString('utf8'));
    } catch {
      throw new UpdateError('the update feed is not YAML');
    }
    const feed = UpdateFeedSchema.safeParse(document);
    if (!feed.success) throw new UpdateError(`the update feed is not one this agent reads: ${describeIssues(feed.error)}`);
    return feed.data;
  }

  async download(feed: UpdateFeed, onProgress?: (received: number, total: number) => void): Promise<string> {
    const entry = feed.files.find((f) => f.url === feed.path) ?? feed.files[0]!;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    if (!entry.sha256) throw new UpdateError(`the feed gives no SHA-256 for ${entry.url}; this agent downloads only what it can resume and check`);
    const file = join(this.dir, this.byDigest ? entry.sha256 : entry.url);
    // Resumable and checked against the SHA-256 while it comes; then against the feed's SHA-512.
    await this.client.download(device.updateFile, { params: { file: entry.url }, file, size: entry.size, sha256: entry.sha256, ...(onProgress ? { onProgress } : {}) });
    const digest = await sha512Of(file);
    if (digest !== entry.sha512) {
      rmSync(file, { force: true });
      throw new UpdateError(`${entry.url} has SHA-512 ${digest.slice(0, 16)}…, the feed says ${entry.sha512.slice(0, 16)}…: refused`);
    }
    return file;
  }
}

/** Where versioned bundles go: STATE/versions/VERSION, beside a link to the dependencies they share. */
export function versionsDir(state: string): string {
  return join(state, 'versions');
}

/**
 * Unpacks a bundle (a .tar.gz of package.json, dist/ and the addon) into STATE/versions/VERSION:
 * into a private staging directory first, every entry a plain file or directory inside it (no
 * links, no devices), its package.json naming `version` and its agent entry present — else
 * nothing is installed.
 */
export async function unpackBundle(file: string, version: string, state: string): Promise<string> {
  const versions = versionsDir(state);
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
 * The packaged app's updates: the release is a deb, which selfdeploy-helper (root) installs after
 * checking it against the service's feed itself; the app then exits for its unit to start the new
 * version (RESTART_FOR_UPDATE), which resumes from the journal.
 */
export class PackageUpdates implements UpdatesPort {
  constructor(
    private readonly client: FeedClient,
    private readonly helper: { installUpdate(update: { file: string; sha256: string; version: string }): Promise<{ installed: string }> },
  ) {}

  feed(): Promise<UpdateFeed | null> {
    return this.client.feed();
  }

  download(feed: UpdateFeed, onProgress?: (received: number, total: number) => void): Promise<string> {
    return this.client.download(feed, onProgress);
  }

  async install(file: string, version: string): Promise<string> {
    const sha256 = file.slice(file.lastIndexOf('/') + 1);
    const { installed } = await this.helper.installUpdate({ file, sha256, version });
    if (installed !== version) throw new UpdateError(`the helper installed ${installed}, not ${version}`);
    return '';
  }
}

/** The exit status that asks the app's systemd unit to start it again (the new version, after an update). */
export const RESTART_FOR_UPDATE = 75;

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
