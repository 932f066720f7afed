// /v1/admin/{certificates,networks,apps,scripts} and /v1/admin/content: the device-setup items
// other than policies, and the packages and scripts they install. Items share the document
// routes of profiles and policies; an app or script must name content the service holds.
import { z } from 'zod';

import {
  CONTENT_MAX_BYTES,
  ContentListSchema,
  ContentSchema,
  ContentUploadQuerySchema,
  ITEM_COLLECTIONS,
  ResourceNameSchema,
  itemResourceSchema,
  type CollectionKind,
} from '../../../protocol/api/admin.js';
import { ContentParamsSchema } from '../../../protocol/api/mdm.js';
import { ItemBodySchemas, type ContentRef } from '../../../protocol/items.js';
import { ServiceError } from '../../errors.js';
import type { DocumentRepository, StoredDocument } from '../../store/documents.js';
import type { Store } from '../../store/store.js';
import { defineRoute, type AnyRoute } from '../route.js';
import { StreamBodySchema } from './mdm.js';
import { documentFields, documentRoutes } from './profiles.js';

const NameParams = z.object({ name: ResourceNameSchema });

function contentOf(kind: CollectionKind, body: unknown): ContentRef | undefined {
  return kind === 'app' || kind === 'script' ? (body as { content: ContentRef }).content : undefined;
}

async function requireContent(store: Store, ref: ContentRef | undefined): Promise<void> {
  if (!ref) return;
  const content = await store.contents.find(ref.sha256);
  if (!content) throw new ServiceError('CONTENT_MISSING', `no content with SHA-256 ${ref.sha256} was uploaded`, [{ path: 'content.sha256', reason: 'not uploaded' }]);
  if (content.size !== ref.size) {
    throw new ServiceError('CONTENT_MISSING', `content ${ref.sha256} has ${content.size} bytes, not ${ref.size}`, [{ path: 'content.size', reason: `is ${content.size}` }]);
  }
}

function itemRoutes<K extends CollectionKind>(store: Store, kind: K): AnyRoute[] {
  const plural = ITEM_COLLECTIONS[kind];
  const repo = store.items[kind] as unknown as DocumentRepository<z.ZodType>;
  const resource: z.ZodType = itemResourceSchema(kind);
  const view = async (document: StoredDocument<unknown>) => ({ ...(await documentFields(repo, document)), kind, body: document.body });
  return [
    ...documentRoutes(store, {
      plural,
      singular: kind,
      repo,
      listSchema: z.object({ items: z.array(resource) }),
      resourceSchema: resource,
      view,
      lintAssignment: () => Promise.resolve([]),
    }),
    defineRoute({
      method: 'PUT',
      url: `/v1/admin/${plural}/:name`,
      operationId: `put${kind[0]!.toUpperCase()}${kind.slice(1)}`,
      summary: `Create or replace a ${kind} item (a changed body gets the next version, which devices apply)`,
      tag: plural,
      access: 'admin',
      params: NameParams,
      body: ItemBodySchemas[kind],
      success: { status: 200, description: `The saved ${kind}`, schema: resource },
      handler: async ({ params, body, reply }) => {
        await requireContent(store, contentOf(kind, body));
        const { document, created } = await repo.put(params.name, body);
        if (created) void reply.code(201);
        return view(document);
      },
    }),
  ];
}

/** Items that name this content. */
async function contentUsers(store: Store, sha256: string): Promise<string[]> {
  const users: string[] = [];
  for (const kind of ['app', 'script'] as const) {
    for (const document of await store.items[kind].list()) if (document.body.content.sha256 === sha256) users.push(`${kind} "${document.name}"`);
  }
  for (const release of await store.releases.list()) if (release.content_sha256 === sha256) users.push(`agent release ${release.version}`);
  return users;
}

export function itemAndContentRoutes(store: Store): AnyRoute[] {
  return [
    ...(Object.keys(ITEM_COLLECTIONS) as CollectionKind[]).flatMap((kind) => itemRoutes(store, kind)),
    defineRoute({
      method: 'POST',
      url: '/v1/admin/content',
      operationId: 'uploadContent',
      summary: `Upload an app package or script (at most ${CONTENT_MAX_BYTES / 1024 / 1024} MiB); its SHA-256 names it`,
      tag: 'content',
      access: 'admin',
      query: ContentUploadQuerySchema,
      body: StreamBodySchema,
      bodyMediaType: 'application/octet-stream',
      problems: [413],
      success: { status: 200, description: 'The stored content (201 when it is new, 200 when it was already there)', schema: ContentSchema },
      handler: async ({ query, body, reply }) => {
        const { content, created } = await store.contents.put(body, {
          mediaType: 'application/octet-stream',
          label: query.label,
          maxBytes: CONTENT_MAX_BYTES,
          ...(query.sha256 ? { expectedSha256: query.sha256 } : {}),
        });
        if (created) void reply.code(201);
        return content;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/admin/content',
      operationId: 'listContent',
      summary: 'List uploaded content',
      tag: 'content',
      access: 'read',
      success: { status: 200, description: 'The content, oldest first', schema: ContentListSchema },
      handler: async () => ({ items: await store.contents.list() }),
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/admin/content/:sha256',
      operationId: 'deleteContent',
      summary: 'Delete content no app, script or agent release uses',
      tag: 'content',
      access: 'admin',
      params: ContentParamsSchema,
      problems: [404, 409],
      success: { status: 204, description: 'Deleted' },
      handler: async ({ params }) => {
        const users = await contentUsers(store, params.sha256);
        if (users.length) throw new ServiceError('IN_USE', `content ${params.sha256} is used by ${users.join(', ')}`);
        await store.contents.delete(params.sha256);
        return undefined;
      },
    }),
  ];
}
