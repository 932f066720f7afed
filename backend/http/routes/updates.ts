// /v1/updates: the agents' update feed in electron-updater's generic-provider format — public, a
// device reads it before it enrolls — and /v1/admin/updates, which publishes uploaded content as
// a release (critical or not).
import { createHash } from 'node:crypto';

import { stringify } from 'yaml';

import { device, admin } from '../../../protocol/api/endpoints.js';
import type { Release } from '../../../protocol/api/updates.js';
import { ServiceError, notFound } from '../../errors.js';
import type { ReleaseTable } from '../../store/database.js';
import type { Store } from '../../store/store.js';
import { sendContent } from '../range.js';
import { route, type Route } from '../route.js';

const view = (row: ReleaseTable): Release => ({
  version: row.version,
  critical: row.critical === 1,
  notes: row.notes,
  file: { name: row.file_name, sha256: row.content_sha256, sha512: row.sha512, size: row.size },
  publishedAt: row.published_at,
});

export function updateRoutes(store: Store, rateLimitPerMinute: number): Route[] {
  return [
    route(
      device.updateFeed,
      async ({ reply }) => {
        const latest = await store.releases.latest();
        if (!latest) throw notFound('a published agent release');
        const feed = {
          version: latest.version,
          files: [{ url: latest.file_name, sha512: latest.sha512, size: latest.size, sha256: latest.content_sha256 }],
          path: latest.file_name,
          sha512: latest.sha512,
          releaseDate: latest.published_at,
          critical: latest.critical === 1,
        };
        return reply.header('cache-control', 'no-cache').type('text/yaml; charset=utf-8').send(stringify(feed));
      },
      { rateLimitPerMinute },
    ),
    route(
      device.updateFile,
      async ({ params, request, reply }) => {
        const release = await store.releases.byFileName(params.file);
        const content = release && (await store.contents.find(release.content_sha256));
        if (!content) throw notFound(`release file ${params.file}`);
        return sendContent(store, content, request, reply, 'public, max-age=31536000, immutable');
      },
      { rateLimitPerMinute },
    ),
    route(admin.releases.list, async () => ({ items: (await store.releases.list()).map(view) })),
    route(
      admin.releases.publish,
      async ({ params, body }) => {
        const content = await store.contents.find(body.file.sha256);
        if (!content) throw notFound(`content ${body.file.sha256} (upload it first: selfdeploy-admin content upload FILE)`);
        if (content.size !== body.file.size) throw new ServiceError('VALIDATION_FAILED', `content ${body.file.sha256} has ${content.size} bytes, not ${body.file.size}`);
        const other = await store.releases.byFileName(body.file.name);
        if (other && other.version !== params.version) throw new ServiceError('NAME_TAKEN', `release ${other.version} already ships a file named ${body.file.name}`);
        const sha512 = createHash('sha512');
        for await (const chunk of store.contents.read(content.sha256, 0, content.size - 1)) sha512.update(chunk);
        const row: ReleaseTable = {
          version: params.version,
          critical: body.critical ? 1 : 0,
          notes: body.notes,
          file_name: body.file.name,
          content_sha256: content.sha256,
          size: content.size,
          sha512: sha512.digest('base64'),
          published_at: new Date().toISOString(),
        };
        await store.releases.publish(row);
        return view(row);
      },
    ),
    route(
      admin.releases.withdraw,
      async ({ params }) => {
        if (!(await store.releases.delete(params.version))) throw notFound(`release ${params.version}`);
        return undefined;
      },
    ),
  ];
}
