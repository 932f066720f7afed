// Critical updates as the engine's updates step reaches them: the service's feed, a verified
// download, and an installer that hands back where the agent restarts from. bundle.ts (the
// headless agent) and package.ts (the packaged app, through selfdeploy-helper) are the real ones.
import type { UpdateFeed } from '../../protocol/api/updates.js';

/** How the engine reaches updates: the feed, a verified download, and an installer that restarts the agent. */
export interface UpdatesPort {
  /** The feed, or null when the service publishes no release. Network failures throw. */
  feed(): Promise<UpdateFeed | null>;
  /** Downloads the release file; resolves with its path once its SHA-512 matches the feed's. */
  download(feed: UpdateFeed, onProgress?: (received: number, total: number) => void): Promise<string>;
  /** Installs the release; resolves with the entry the agent restarts from (after it released the TPM). */
  install(file: string, version: string): Promise<string>;
}
