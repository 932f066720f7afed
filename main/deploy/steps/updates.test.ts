// The updates step: a newer critical release is installed and ends the run with a restart, which
// the new version finishes; everything else goes on with the running version and says why.
import { describe, expect, it } from 'vitest';

import type { UpdateFeed } from '../../../protocol/api/updates.js';
import { ServiceProblem } from '../../../protocol/node/https-client.js';
import type { UpdatesPort } from '../../updates/port.js';
import { harness } from '../testing/fakes.js';
import { updatesStep } from './updates.js';

const feed = (version: string, critical = true): UpdateFeed => ({
  version,
  files: [{ url: `selfdeploy-${version}.tar.gz`, sha512: 'x', size: 3, sha256: 'a'.repeat(64) }],
  path: `selfdeploy-${version}.tar.gz`,
  sha512: 'x',
  releaseDate: '2026-12-01T00:00:00Z',
  critical,
});

function updates(given: Partial<UpdatesPort> & { installed?: string[] }): UpdatesPort & { installed: string[] } {
  const installed = given.installed ?? [];
  return {
    installed,
    feed: given.feed ?? (() => Promise.resolve(null)),
    download: given.download ?? ((f) => Promise.resolve(`/state/updates/${f.path}`)),
    install: given.install ?? ((file, version) => (installed.push(version), Promise.resolve(`/state/versions/${version}/dist/main/cli/selfdeploy.js`))),
  };
}

describe('the updates step', () => {
  it('installs a newer critical release, records it, and asks for a restart', async () => {
    const port = updates({ feed: () => Promise.resolve(feed('1.3.0')) });
    const h = harness({ engine: { updates: port } });
    expect(await updatesStep.run(h.context)).toEqual({ restart: { version: '1.3.0', entry: '/state/versions/1.3.0/dist/main/cli/selfdeploy.js' } });
    expect(port.installed).toEqual(['1.3.0']);
    expect(h.journal.load()?.update).toMatchObject({ from: '1.2.3', to: '1.3.0' }); // on disk before the restart
  });

  it('finishes the step on the restarted version, or says the update did not take', async () => {
    const took = harness();
    took.context.progress.journal.update = { from: '1.2.0', to: '1.2.3', at: 'then' };
    expect(await updatesStep.run(took.context)).toEqual({ state: 'succeeded', detail: 'Updated from 1.2.0 to 1.2.3' });
    expect(took.context.progress.journal.update).toBeNull();
    const missed = harness();
    missed.context.progress.journal.update = { from: '1.2.0', to: '1.4.0', at: 'then' };
    expect(await updatesStep.run(missed.context)).toEqual({ state: 'skipped', detail: 'The update to 1.4.0 did not take; staying on 1.2.3' });
  });

  it('goes on with the running version, saying why, for every release it does not apply', async () => {
    const cases: [UpdatesPort | undefined, string][] = [
      [undefined, 'This agent has no update source'],
      [updates({}), 'No release is published; 1.2.3 is current'],
      [updates({ feed: () => Promise.resolve(feed('1.2.3')) }), 'Up to date (1.2.3)'],
      [updates({ feed: () => Promise.resolve(feed('1.5.0', false)) }), '1.5.0 is available but not critical: it is not applied during setup'],
      [updates({ feed: () => Promise.resolve(feed('1.5.0')), install: () => Promise.reject(new Error('SHA-512 mismatch')) }), 'Update 1.5.0 not applied: SHA-512 mismatch; staying on 1.2.3'],
    ];
    for (const [port, detail] of cases) {
      const h = harness({ engine: port ? { updates: port } : {} });
      expect(await updatesStep.run(h.context), detail).toEqual({ state: 'skipped', detail });
    }
  });

  it('passes over a feed that does not answer within the check time', async () => {
    let asked = 0;
    const h = harness({ engine: { updateCheckMs: 20_000, updates: updates({ feed: () => (asked++, Promise.reject(new ServiceProblem('SERVICE_UNREACHABLE', 'ECONNREFUSED'))) }) } });
    expect(await updatesStep.run(h.context)).toMatchObject({ state: 'skipped', detail: expect.stringContaining('The update feed did not answer') });
    expect(asked).toBeGreaterThan(1);
    expect(h.logged).toContain('update.feed-unreachable');
  });
});
