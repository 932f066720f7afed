// Agent releases the helper installs as root: only a deb of the "selfdeploy" package that the
// deployment service's public update feed (the helper's own configured address and CA) offers as
// its newest release, marked critical, newer than what is installed, with the very SHA-256 and
// SHA-512 the feed names — checked on the helper's private copy, which is what gets installed.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

import { compareVersions, type UpdateFeed } from '../../protocol/api/updates.js';
import type { Target } from '../target/target.js';
import { verifiedCopy } from '../target/verified-copy.js';
import { HelperError } from './errors.js';

const run = promisify(execFile);

export interface ReleaseUpdate {
  file: string;
  sha256: string;
  version: string;
}

export interface ReleaseAuthority {
  /** Resolves when the service's feed offers `update` as a critical release newer than `installed`, with `bytes`' SHA-512; throws HELPER_REFUSED otherwise. */
  check(update: ReleaseUpdate, installed: string, bytes: Buffer): Promise<void>;
}

/** The service's feed, read by the helper itself. */
export class ServiceReleases implements ReleaseAuthority {
  constructor(private readonly feed: () => Promise<UpdateFeed | null>) {}

  async check(update: ReleaseUpdate, installed: string, bytes: Buffer): Promise<void> {
    let feed: UpdateFeed | null;
    try {
      feed = await this.feed();
    } catch (error) {
      throw new HelperError('HELPER_REFUSED', `the service's update feed could not be read, so no release is installed: ${(error as Error).message}`);
    }
    const refuse = (why: string) => new HelperError('HELPER_REFUSED', `release ${update.version} is not installed: ${why}`);
    if (!feed) throw refuse('the service publishes no release');
    if (feed.version !== update.version) throw refuse(`the service's feed offers ${feed.version}`);
    if (!feed.critical) throw refuse('it is not critical, and only critical releases are installed during setup');
    if (compareVersions(update.version, installed) <= 0) throw refuse(`it is not newer than the installed ${installed}`);
    const entry = feed.files.find((file) => file.sha256 === update.sha256);
    if (!entry) throw refuse(`the feed names no file with SHA-256 ${update.sha256}`);
    if (createHash('sha512').update(bytes).digest('base64') !== entry.sha512) throw refuse('its SHA-512 is not the one the feed names');
  }
}

/**
 * Checks and installs a release: a private copy of the download (its SHA-256 checked), the
 * authority's word on that copy, the deb's package name, then apt on the running system — or,
 * in a scratch target (tests, image building), its files unpacked into the root.
 */
export async function installRelease(target: Target, update: ReleaseUpdate, installed: string, authority: ReleaseAuthority): Promise<{ installed: string }> {
  const copy = verifiedCopy(update, '.deb'); // apt wants a path ending in .deb
  try {
    await authority.check(update, installed, readFileSync(copy.file));
    const field = async (name: string) => (await run('dpkg-deb', ['-f', copy.file, name]).catch(() => ({ stdout: '' }))).stdout.trim();
    const name = await field('Package');
    if (name !== 'selfdeploy') throw new HelperError('HELPER_REFUSED', `release ${update.version} is not installed: it is ${name ? `the package "${name}"` : 'no Debian package'}, not selfdeploy`);
    const version = await field('Version');
    if (target.live) {
      // The copy is root's, in a directory only root can enter.
      await run('apt-get', ['install', '-y', '--no-install-recommends', copy.file], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 30 * 60_000, maxBuffer: 16 * 1024 * 1024 }).catch((error: unknown) => {
        throw new HelperError('HELPER_REFUSED', `apt-get could not install release ${update.version}: ${String((error as { stderr?: string }).stderr ?? (error as Error).message).trim().split('\n').slice(-2).join(' / ')}`);
      });
    } else {
      await run('dpkg-deb', ['-x', copy.file, target.root]);
    }
    return { installed: version };
  } finally {
    copy.remove();
  }
}
