// Critical updates of the packaged app: the release is a deb, which selfdeploy-helper (root)
// installs after checking it against the service's feed itself; the app then exits for its unit to
// start the new version, which resumes from the journal. (electron-updater's own download path
// needs the packaged app; this one is proven against the helper.)
import type { UpdateFeed } from '../../protocol/api/updates.js';
import { UpdateError, type FeedClient } from './feed.js';
import type { UpdatesPort } from './port.js';

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
