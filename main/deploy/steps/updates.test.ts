// The updates step: a newer critical release is installed and ends the run with a restart, which
// the new version finishes; everything else goes on with the running version and says why.
import { describe, expect, it } from 'vitest';

import type { UpdateFeed } from '../../../protocol/api/updates.js';
import { ServiceProblem } from '../../../protocol/node/https-client.js';
import type { UpdatesPort } from '../../updates/port.js';
import { DeploymentProfileSchema } from '../../../protocol/profile.js';
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

describe("the distribution's updates in the updates step", () => {
  const security = { osUpdates: { apply: 'security' } };

  it('applies them when the profile asks, after the agent’s own check, and says what was upgraded', async () => {
    const h = harness({ profile: security });
    h.providers.osUpdateResult = { upgraded: [{ name: 'openssl', from: '3.5.1-1', to: '3.5.1-1+deb13u1' }], rebootRequired: false };
    expect(await updatesStep.run(h.context)).toEqual({ state: 'succeeded', detail: 'This agent has no update source; OS updates applied (openssl 3.5.1-1 → 3.5.1-1+deb13u1)' });
    expect(h.providers.osUpdates).toEqual([{ mode: 'security', packages: [], timeoutSeconds: 3600 }]);
    expect(h.providers.restarts).toBe(0);
    // None pending: the step says so; nothing asked without the profile.
    const none = harness({ profile: { osUpdates: { apply: 'packages', packages: ['lab-tool'], timeoutMinutes: 5 } } });
    expect(await updatesStep.run(none.context)).toEqual({ state: 'skipped', detail: 'This agent has no update source; No updates of those packages are pending' });
    expect(none.providers.osUpdates).toEqual([{ mode: 'packages', packages: ['lab-tool'], timeoutSeconds: 300 }]);
    const off = harness();
    await updatesStep.run(off.context);
    expect(off.providers.osUpdates).toEqual([]);
  });

  it('restarts the device when an update needs it, recorded first, and finishes the step after the restart without applying again', async () => {
    const h = harness({ profile: security });
    h.providers.osUpdateResult = { upgraded: [{ name: 'lab-tool', from: '1.0', to: '1.1' }], rebootRequired: true };
    h.providers.canRestart = true;
    expect(await updatesStep.run(h.context)).toEqual({ reboot: { reason: 'the OS updates (lab-tool 1.0 → 1.1) need a restart', restarting: true } });
    expect(h.providers.restarts).toBe(1);
    expect(h.journal.load()?.osUpdates).toMatchObject({ upgraded: ['lab-tool 1.0 → 1.1'] }); // on disk before the restart
    expect(await updatesStep.run(h.context)).toEqual({ state: 'succeeded', detail: 'This agent has no update source; OS updates applied (lab-tool 1.0 → 1.1); the device restarted for them' });
    expect(h.providers.osUpdates).toHaveLength(1);
    expect(h.context.progress.journal.osUpdates).toBeNull();
  });

  it('fails setup with OS_UPDATES_FAILED when apt cannot apply them, and checks the profile', async () => {
    const h = harness({ profile: security });
    h.providers.osUpdateResult = new Error('apt-get update exited with status 100');
    await expect(updatesStep.run(h.context)).rejects.toMatchObject({ code: 'OS_UPDATES_FAILED', message: expect.stringContaining('the pending security updates could not be applied: apt-get update exited with status 100') });
    expect(h.logged).toContain('os-updates.failed');
    expect(DeploymentProfileSchema.safeParse({ osUpdates: { apply: 'packages' } }).success).toBe(false);
    expect(DeploymentProfileSchema.safeParse({ osUpdates: { apply: 'security', packages: ['x1'] } }).success).toBe(false);
    expect(DeploymentProfileSchema.safeParse({ osUpdates: { apply: 'packages', packages: ['Bad Name'] } }).success).toBe(false);
  });
});
