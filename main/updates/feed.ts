// The update feed and its files over the agent's HTTPS client (the service CA only): the feed in
// electron-updater's generic format (the updateFeed endpoint), and a release file downloaded
// resumably, checked against its SHA-256 while it comes and against the feed's SHA-512 after.
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { parse } from 'yaml';

import { device } from '../../protocol/api/endpoints.js';
import { UpdateFeedSchema, type UpdateFeed } from '../../protocol/api/updates.js';
import { ServiceProblem, type ServiceClient } from '../../protocol/node/https-client.js';
import { describeIssues } from '../../protocol/validation.js';

export class UpdateError extends Error {
  override name = 'UpdateError';
}

async function sha512Of(file: string): Promise<string> {
  const hash = createHash('sha512');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('base64');
}

/** The most the update feed (latest-linux.yml) may hold. */
export const FEED_MAX_BYTES = 64 * 1024;

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
      // The feed is a few lines of YAML: more than 64 KiB is no feed (SERVICE_RESPONSE_INVALID).
      bytes = await this.client.fetchBytes(device.updateFeed, { maxBytes: FEED_MAX_BYTES });
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
