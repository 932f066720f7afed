// The helper installs an agent release as root only when the service's own update feed offers it
// — newest, critical, newer than what is installed, with the file's SHA-256 and SHA-512 — and only
// a deb of the selfdeploy package; against a real service over HTTPS, a real deb, a scratch root.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ServiceClient } from '../../protocol/node/https-client.js';
import { NO_RETRY } from '../../protocol/retry.js';
import { startTestService, type TestService } from '../../backend/testing/service.js';
import { buildReleaseDeb } from '../../lab/bundle.js';
import { FeedClient } from '../updates/feed.js';
import { HelperTarget } from './client.js';
import { ServiceReleases } from './releases.js';
import { HelperServer } from './server.js';

const INSTALLED = '0.1.0';

const deb = (name: string, version: string) => buildReleaseDeb(version, name);

describe('the helper installs agent releases', () => {
  let service: TestService;
  let server: HelperServer;
  let client: HelperTarget;
  let feedClient: ServiceClient;
  const dir = mkdtempSync(join(tmpdir(), 'selfdeploy-helper-releases-'));
  const content = join(dir, 'content');
  const root = join(dir, 'root');

  beforeAll(async () => {
    service = await startTestService('sqlite', undefined, {}, { https: true });
    feedClient = new ServiceClient({ server: service.url!, ca: service.serviceCa, retry: NO_RETRY });
    mkdirSync(content, { recursive: true });
    const socket = join(dir, 'helper.sock');
    server = new HelperServer({ socket, root, state: join(dir, 'state'), group: null, contentDir: content, authority: null, releases: new ServiceReleases(() => new FeedClient(feedClient, content).feed()), version: INSTALLED });
    await server.start();
    client = await HelperTarget.connect(socket);
  });

  afterAll(async () => {
    client?.close();
    await server?.close();
    feedClient?.close();
    await service?.close();
  });

  /** Publishes `bytes` as `version`, puts them where the agent downloads, and returns the request the agent would make. */
  async function offer(version: string, bytes: Buffer, critical = true) {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await service.request({ method: 'POST', url: `/v1/admin/content?label=release`, payload: bytes, headers: { 'content-type': 'application/octet-stream' } });
    for (const release of (await service.request({ method: 'GET', url: '/v1/admin/updates' })).json<{ items: { version: string }[] }>().items) {
      await service.request({ method: 'DELETE', url: `/v1/admin/updates/${release.version}` });
    }
    const published = await service.request({ method: 'PUT', url: `/v1/admin/updates/${version}`, payload: { critical, file: { name: `selfdeploy_${version}_all.deb`, sha256, size: bytes.length } } });
    expect(published.statusCode, published.body).toBe(200);
    writeFileSync(join(content, sha256), bytes);
    return { file: join(content, sha256), sha256, version };
  }

  it('installs the critical release the feed offers, and nothing it does not', async () => {
    const good = await offer('0.2.0', deb('selfdeploy', '0.2.0'));
    expect(await client.installUpdate(good)).toEqual({ installed: '0.2.0' });
    expect(readFileSync(join(root, 'opt', 'selfdeploy', 'version'), 'utf8')).toBe('0.2.0\n');
  });

  it('refuses a release the feed does not offer as it is asked: another version, not critical, not newer, another file, tampered, another package, outside the download directory', async () => {
    const refused = async (update: { file: string; sha256: string; version: string }, why: string) => {
      await expect(client.installUpdate(update), why).rejects.toMatchObject({ code: 'HELPER_REFUSED', message: expect.stringContaining(why) });
    };
    const current = await offer('0.3.0', deb('selfdeploy', '0.3.0'));
    await refused({ ...current, version: '0.4.0' }, "the service's feed offers 0.3.0");
    await refused(await offer('0.3.1', deb('selfdeploy', '0.3.1'), false), 'it is not critical');
    await refused(await offer('0.0.9', deb('selfdeploy', '0.0.9')), `it is not newer than the installed ${INSTALLED}`);
    const other = await offer('0.3.2', deb('selfdeploy', '0.3.2'));
    const stray = deb('selfdeploy', '0.3.2-stray');
    const straySha = createHash('sha256').update(stray).digest('hex');
    writeFileSync(join(content, straySha), stray);
    await refused({ file: join(content, straySha), sha256: straySha, version: other.version }, 'the feed names no file with SHA-256');
    const tampered = await offer('0.3.3', deb('selfdeploy', '0.3.3'));
    await service.store.db.updateTable('releases').set({ sha512: createHash('sha512').update('another file').digest('base64') }).where('version', '=', '0.3.3').execute();
    await refused(tampered, "its SHA-512 is not the one the feed names");
    await refused(await offer('0.3.4', deb('not-selfdeploy', '0.3.4')), 'it is the package "not-selfdeploy", not selfdeploy');
    const elsewhere = join(dir, 'elsewhere.deb');
    writeFileSync(elsewhere, readFileSync(current.file));
    await expect(client.installUpdate({ ...current, file: elsewhere })).rejects.toMatchObject({ code: 'HELPER_REFUSED', message: expect.stringContaining('content is taken from') });
    expect(readFileSync(join(root, 'opt', 'selfdeploy', 'version'), 'utf8')).toBe('0.2.0\n');
  });
});
