// Release versions: semantic-version order, which decides what the update feed offers and
// whether an agent is behind it.
import { describe, expect, it } from 'vitest';

import { UpdateFeedSchema, compareVersions } from './updates.js';

describe('compareVersions', () => {
  it('orders as semver.org §11 says', () => {
    const ordered = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.0.1', '1.2.0', '1.10.0', '2.0.0', '10.0.0'];
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++) expect(Math.sign(compareVersions(ordered[i]!, ordered[j]!)), `${ordered[i]} vs ${ordered[j]}`).toBe(Math.sign(i - j));
    }
  });

  it('refuses what is not a semantic version', () => {
    for (const bad of ['1.0', 'v1.0.0', '01.0.0', '1.0.0-', '1.0.0+build', '']) expect(() => compareVersions(bad, '1.0.0'), bad).toThrow('not semantic versions');
  });
});

describe('the update feed', () => {
  it('reads electron-updater’s latest-linux.yml with selfdeploy’s critical flag, defaulting to not critical', () => {
    const sha512 = `${'A'.repeat(86)}==`;
    const feed = { version: '1.2.3', files: [{ url: 'selfdeploy-1.2.3.tar.gz', sha512, size: 10 }], path: 'selfdeploy-1.2.3.tar.gz', sha512, releaseDate: '2026-11-27T00:00:00.000Z' };
    expect(UpdateFeedSchema.parse(feed).critical).toBe(false);
    expect(UpdateFeedSchema.safeParse({ ...feed, files: [{ ...feed.files[0], url: '../etc/passwd' }] }).success).toBe(false);
    expect(UpdateFeedSchema.safeParse({ ...feed, version: 'latest' }).success).toBe(false);
  });
});
