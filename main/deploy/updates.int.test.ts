// Critical updates during the OOBE, end to end: the service's feed (electron-updater's generic
// format) offers a release built from this very agent as a bundle; `selfdeploy deploy` downloads
// it, checks it, installs it, restarts on the new version, which resumes from the journal and
// completes — the service sees the new version enroll. A tampered release is refused and the
// running version carries on; a release that is not critical waits for after setup; a feed that
// does not answer is passed over within the check's timeout, with a warning, not a failure.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { findStep } from '../../protocol/esp.js';
import { ServiceClient } from '../../protocol/node/https-client.js';
import { NO_RETRY } from '../../protocol/retry.js';
import { buildAgentBundle, buildReleaseDeb } from '../../lab/bundle.js';
import { FaultProxy } from '../../lab/fault-proxy.js';
import { agentVersion } from '../installation/version.js';
import { LabDevice } from './testing/lab-device.js';
import { HelperTarget } from '../helper/client.js';
import { ServiceReleases } from '../helper/releases.js';
import { HelperServer } from '../helper/server.js';
import { BundleUpdates } from '../updates/bundle.js';
import { FeedClient } from '../updates/feed.js';
import { PackageUpdates } from '../updates/package.js';


const RUNNING = agentVersion();
const [major, minor, patch] = RUNNING.split('.').map(Number) as [number, number, number];
const next = (n: number) => `${major}.${minor}.${patch + n}`;

describe('critical updates during the OOBE', () => {
  let device: LabDevice;
  const work = mkdtempSync(join(tmpdir(), 'selfdeploy-updates-'));

  beforeAll(async () => {
    device = await LabDevice.create('LAB-UPDATE-1');
    await device.register();
  });

  afterAll(async () => {
    await device?.close();
  });

  /** Uploads `bytes` and publishes them as `version` of the agent. */
  async function publish(version: string, bytes: Buffer, critical: boolean): Promise<void> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const uploaded = await device.service.request({ method: 'POST', url: `/v1/admin/content?label=${encodeURIComponent(`agent ${version}`)}`, payload: bytes, headers: { 'content-type': 'application/octet-stream' } });
    expect(uploaded.statusCode, uploaded.body).toBeLessThan(300);
    const published = await device.service.request({ method: 'PUT', url: `/v1/admin/updates/${version}`, payload: { critical, notes: `test ${version}`, file: { name: `selfdeploy-${version}.tar.gz`, sha256, size: bytes.length } } });
    expect(published.statusCode, published.body).toBe(200);
  }

  const withdraw = async (version: string) => expect((await device.service.request({ method: 'DELETE', url: `/v1/admin/updates/${version}` })).statusCode).toBe(204);
  const journalOf = (state: string) => JSON.parse(readFileSync(join(state, 'deploy-journal.json'), 'utf8')) as { steps: Record<string, { state: string; detail: string | null }>; update: unknown };

  it('serves the feed as electron-updater reads it, and its file with ranges', async () => {
    await publish(next(9), buildAgentBundle(next(9), join(work, 'feed.tar.gz')), false);
    const client = new ServiceClient({ server: device.service.url!, ca: device.service.serviceCa, retry: NO_RETRY });
    const feed = await new FeedClient(client, join(work, 'downloads')).feed();
    expect(feed).toMatchObject({ version: next(9), path: `selfdeploy-${next(9)}.tar.gz`, critical: false, files: [{ url: `selfdeploy-${next(9)}.tar.gz` }] });
    expect(feed!.sha512).toBe(createHash('sha512').update(readFileSync(join(work, 'feed.tar.gz'))).digest('base64'));
    const file = await new FeedClient(client, join(work, 'downloads')).download(feed!);
    expect(readFileSync(file).equals(readFileSync(join(work, 'feed.tar.gz')))).toBe(true);
    client.close();
    await withdraw(next(9));
  }, 120_000);

  it('installs a critical release, restarts on it, resumes from the journal and completes; the service sees the new version', async () => {
    await publish(next(1), buildAgentBundle(next(1), join(work, 'good.tar.gz')), true);
    const paths = device.fresh();
    const run = await device.deploy(paths);
    expect(run.status, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toContain(`Critical update ${next(1)} installed; the agent restarts on it and resumes.`);
    expect(run.stdout).toMatch(/Provisioned: device [0-9a-f-]{36}/);
    const journal = journalOf(paths.state);
    expect(journal.steps['updates']).toMatchObject({ state: 'succeeded', detail: `Updated from ${RUNNING} to ${next(1)}` });
    expect(journal.update).toBeNull();
    expect(journal.steps['end-state']?.state).toBe('succeeded');
    const installed = join(paths.state, 'versions', next(1), 'dist', 'main', 'cli', 'selfdeploy.js');
    expect(execFileSync(process.execPath, [installed, '--version'], { encoding: 'utf8' })).toBe(`selfdeploy ${next(1)}\n`);
    const row = await device.service.store.db.selectFrom('devices').select('mdm_agent').where('id', '=', device.deviceId).executeTakeFirstOrThrow();
    expect(JSON.parse(row.mdm_agent!)).toMatchObject({ agentVersion: next(1) });
    await withdraw(next(1));
    await device.resetRecord();
  }, 180_000);

  it('refuses a tampered release (its SHA-512 is not the feed’s), keeps the running version and says so', async () => {
    await publish(next(2), buildAgentBundle(next(2), join(work, 'tampered.tar.gz')), true);
    // The file on the service no longer matches what the feed promises (as if replaced on the way).
    await device.service.store.db.updateTable('releases').set({ sha512: createHash('sha512').update('something else').digest('base64') }).where('version', '=', next(2)).execute();
    const paths = device.fresh();
    const run = await device.deploy(paths, {}, ['--json']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).not.toContain('restarts on it');
    const step = journalOf(paths.state).steps['updates']!;
    expect(step.state).toBe('skipped');
    expect(step.detail).toMatch(new RegExp(`^Update ${next(2).replaceAll('.', '\\.')} not applied: .*SHA-512.*refused; staying on ${RUNNING.replaceAll('.', '\\.')}$`));
    expect(existsSync(join(paths.state, 'versions', next(2)))).toBe(false);
    await withdraw(next(2));
    await device.resetRecord();
  }, 180_000);

  it('does not apply a release that is not critical during setup', async () => {
    await publish(next(3), buildAgentBundle(next(3), join(work, 'optional.tar.gz')), false);
    const paths = device.fresh();
    const run = await device.deploy(paths);
    expect(run.status, run.stderr).toBe(0);
    expect(journalOf(paths.state).steps['updates']).toMatchObject({ state: 'skipped', detail: `${next(3)} is available but not critical: it is not applied during setup` });
    await withdraw(next(3));
    await device.resetRecord();
  }, 180_000);

  it('passes over a feed that does not answer within the check’s timeout, with a warning, and completes', async () => {
    await publish(next(4), buildAgentBundle(next(4), join(work, 'unreachable.tar.gz')), true);
    const proxy = await FaultProxy.inFrontOf(device.service.url!, device.service.dataDir, { rules: [{ fault: { kind: 'reset' }, match: /^GET \/v1\/updates\// }] });
    device.service.publicUrls.push(proxy.url.origin); // the agent reaches the service through the proxy
    const client = new ServiceClient({ server: proxy.url, ca: device.service.serviceCa, retry: NO_RETRY, timeoutMs: 2_000 });
    try {
      const started = Date.now();
      const { outcome, snapshot, paths } = await device.runEngine({ server: proxy.url, updates: new BundleUpdates(new FeedClient(client, join(work, 'unreachable')), join(work, 'unreachable')), updateCheckMs: 3_000 });
      expect(outcome.status).toBe('provisioned');
      const step = findStep(snapshot, 'updates');
      expect(step.state).toBe('skipped');
      expect(step.detail).toMatch(/^The update feed did not answer \(.*\); carrying on with test$/);
      // It asked again while the check's three seconds allowed, then went on (the ESP is not held up).
      expect(proxy.stats.faults['reset@request']).toBeGreaterThanOrEqual(2);
      expect(Date.now() - started).toBeLessThan(3_000 + 15_000);
      expect(readFileSync(join(paths.state, 'agent.log'), 'utf8')).toContain('"event":"update.feed-unreachable"');
    } finally {
      client.close();
      await proxy.close();
      await withdraw(next(4));
      await device.resetRecord();
    }
  }, 120_000);

  it('the packaged app’s path: selfdeploy-helper installs the release deb after checking the feed itself, the run ends asking for a restart, and the new version resumes', async () => {
    const deb = buildReleaseDeb(next(5));
    await publish(next(5), deb, true);
    const paths = device.fresh();
    const content = join(paths.state, 'content');
    mkdirSync(content, { recursive: true });
    const feedClient = new ServiceClient({ server: device.service.url!, ca: device.service.serviceCa, retry: NO_RETRY });
    const socket = join(work, 'helper.sock');
    const helper = new HelperServer({ socket, root: join(work, 'helper-root'), state: join(work, 'helper-state'), group: null, contentDir: content, authority: null, releases: new ServiceReleases(() => new FeedClient(feedClient, content).feed()), version: RUNNING });
    await helper.start();
    const helperClient = await HelperTarget.connect(socket);
    try {
      const updates = new PackageUpdates(new FeedClient(feedClient, content, true), helperClient);
      const first = await device.engineFor(paths, { updates, agentVersion: RUNNING });
      const outcome = await first.engine.run().finally(() => first.close());
      expect(outcome).toEqual({ status: 'restart', version: next(5), entry: '' });
      expect(readFileSync(join(work, 'helper-root', 'opt', 'selfdeploy', 'version'), 'utf8')).toBe(`${next(5)}\n`);
      // The unit starts the app again: the new version finishes the step and goes on.
      const second = await device.engineFor(paths, { updates, agentVersion: next(5) });
      const resumed = await second.engine.run().finally(() => second.close());
      expect(resumed.status).toBe('provisioned');
      expect(findStep(second.engine.current(), 'updates')).toMatchObject({ state: 'succeeded', detail: `Updated from ${RUNNING} to ${next(5)}` });
    } finally {
      helperClient.close();
      await helper.close();
      feedClient.close();
      await withdraw(next(5));
      await device.resetRecord();
    }
  }, 180_000);
});

