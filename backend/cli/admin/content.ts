// selfdeploy-admin content and updates: app packages and scripts uploaded to the service (streamed
// from disk with a progress bar, named by their SHA-256), and agent releases published from them to
// the update feed.
import { basename } from 'node:path';

import type { Command } from 'commander';
import type { z } from 'zod';

import { ContentUploadQuerySchema, type ContentSchema } from '../../../protocol/api/admin.js';
import { admin } from '../../../protocol/api/endpoints.js';
import { PublishReleaseRequestSchema, versionField } from '../../../protocol/api/updates.js';
import { checkReadable } from '../../../protocol/node/input-file.js';
import { table, viewCommand, type AdminActions, type AdminSession } from './session.js';

/** Uploads a file as content, streamed, with its progress on a terminal; the service names it by its SHA-256. */
export async function uploadContent(session: AdminSession, path: string, label: string): Promise<z.output<typeof ContentSchema>> {
  checkReadable(path, 'the file'); // a missing or unreadable file is said before anything is sent
  const query = session.check(ContentUploadQuerySchema, { label }, { label: '--label' });
  const bar = session.progress(`Uploading ${basename(path)}`);
  try {
    return await session.client.request(admin.content.upload, { query, body: { file: path, onProgress: bar.update } });
  } finally {
    bar.end();
  }
}

export function contentCommands(program: Command, action: AdminActions): void {
  const content = program.command('content').description('app packages and scripts the service holds');

  content
    .command('upload')
    .description('upload an app package or script; prints its SHA-256 and size')
    .argument('<FILE>')
    .option('--label <LABEL>', 'what to call it (default: the file name)')
    .action(
      action(async (session, path: string, options: { label?: string }) => {
        const uploaded = await uploadContent(session, path, options.label ?? basename(path));
        session.out(uploaded, () => `Uploaded ${uploaded.label}: ${uploaded.size} bytes\n  content: { sha256: ${uploaded.sha256}, size: ${uploaded.size} }\n`);
      }),
    );

  viewCommand(content, action, 'list', 'the uploaded content, oldest first', admin.content.list, (list) =>
    list.items.length ? table([['SHA256', 'SIZE', 'LABEL', 'UPLOADED'], ...list.items.map((c) => [c.sha256, String(c.size), c.label, c.createdAt])]) : 'No content.\n',
  );

  content
    .command('delete')
    .description('delete content no app, script or agent release uses')
    .argument('<SHA256>')
    .action(
      action(async (session, sha256: string) => {
        await session.client.request(admin.content.delete, { params: { sha256 } });
        session.out({ deleted: sha256 }, () => `Deleted content ${sha256}\n`);
      }),
    );

  const updates = program.command('updates').description('agent releases on the update feed devices read during setup');

  updates
    .command('publish')
    .description('upload an agent release (a bundle or package) and publish it to the update feed')
    .argument('<VERSION>', 'its semantic version, e.g. 1.4.2')
    .argument('<FILE>')
    .option('--critical', 'devices apply it during setup')
    .option('--notes <TEXT>', 'what changed')
    .action(
      action(async (session, version: string, path: string, options: { critical?: boolean; notes?: string }) => {
        const flags = { critical: '--critical', notes: '--notes' };
        session.checkArgument(versionField, version, 'VERSION');
        const uploaded = await uploadContent(session, path, `agent release ${version}`);
        const body = { critical: options.critical ?? false, notes: options.notes ?? '', file: { name: basename(path), sha256: uploaded.sha256, size: uploaded.size } };
        session.check(PublishReleaseRequestSchema, body, { ...flags, 'file.name': 'FILE (its name)', file: 'FILE' });
        const release = await session.sent(() => session.client.request(admin.releases.publish, { params: { version }, body }), { flags });
        session.out(release, () => `Published ${release.version}${release.critical ? ' (critical: applied during setup)' : ''}: ${release.file.name}, ${release.file.size} bytes, sha512 ${release.file.sha512}\n`);
      }),
    );

  viewCommand(updates, action, 'list', 'the published releases, newest first', admin.releases.list, (list) =>
    list.items.length ? table([['VERSION', 'CRITICAL', 'FILE', 'SIZE', 'PUBLISHED'], ...list.items.map((r) => [r.version, r.critical ? 'yes' : 'no', r.file.name, String(r.file.size), r.publishedAt])]) : 'No releases.\n',
  );

  updates
    .command('withdraw')
    .description('take a release off the feed (its content stays until deleted)')
    .argument('<VERSION>')
    .action(
      action(async (session, version: string) => {
        await session.client.request(admin.releases.withdraw, { params: { version } });
        session.out({ withdrawn: version }, () => `Withdrew ${version} from the update feed\n`);
      }),
    );
}
