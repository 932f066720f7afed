// /v1/admin/{certificates,networks,apps,scripts} and /v1/admin/content: the device-setup items
// other than policies, and the packages and scripts they install. Items share the document
// routes of profiles and policies; an app or script must name content the service holds. Secret
// fields (a Wi-Fi key) are write-only (routes/secrets.ts): no answer of the admin API carries them.
import type { z } from 'zod';

import { CONTENT_MAX_BYTES, ITEM_COLLECTIONS, type CollectionKind } from '../../../protocol/api/admin.js';
import type { Endpoint } from '../../../protocol/api/endpoint.js';
import { admin, documents } from '../../../protocol/api/endpoints.js';
import type { DocumentEndpoints } from '../../../protocol/api/endpoints/documents.js';
import type { ContentRef } from '../../../protocol/items.js';
import { ServiceError } from '../../errors.js';
import type { DocumentRepository, StoredDocument } from '../../store/documents.js';
import type { Store } from '../../store/store.js';
import { route, type Route } from '../route.js';
import { documentFields, documentRoutes } from './profiles.js';
import { redacted, withStoredSecrets, type Fingerprint } from './secrets.js';

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

function itemRoutes<K extends CollectionKind>(store: Store, kind: K, fingerprint: Fingerprint): Route[] {
  // The four kinds share one implementation: each body is checked by its kind's own schema at the
  // boundary (the endpoint's), so inside, a body and a resource are simply what that schema made.
  const endpoints = documents.items[kind] as unknown as DocumentEndpoints<z.ZodType> & { put: Endpoint & { params: typeof documents.NameParams; body: z.ZodType; success: { schema: z.ZodType } } };
  const repo = store.items[kind] as unknown as DocumentRepository<z.ZodType>;
  // Secrets are write-only: shown as set, with a fingerprint, to every scope.
  const view = async (document: StoredDocument<unknown>) => ({ ...(await documentFields(repo, document)), kind, ...redacted(kind, document.body, fingerprint) });
  return [
    ...documentRoutes(store, { singular: kind, endpoints, repo, view, lintAssignment: () => Promise.resolve([]) }),
    route(endpoints.put, async ({ params, body, reply }) => {
      const full = withStoredSecrets(kind, body, (await repo.find(params.name))?.body);
      await requireContent(store, contentOf(kind, full));
      const { document, created } = await repo.put(params.name, full);
      if (created) void reply.code(201);
      return view(document);
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

export function itemAndContentRoutes(store: Store, fingerprint: Fingerprint): Route[] {
  return [
    ...(Object.keys(ITEM_COLLECTIONS) as CollectionKind[]).flatMap((kind) => itemRoutes(store, kind, fingerprint)),
    route(
      admin.content.upload,
      async ({ query, body, reply }) => {
        const { content, created } = await store.contents.put(body, {
          mediaType: 'application/octet-stream',
          label: query.label,
          maxBytes: CONTENT_MAX_BYTES,
          ...(query.sha256 ? { expectedSha256: query.sha256 } : {}),
        });
        if (created) void reply.code(201);
        return content;
      },
    ),
    route(admin.content.list, async () => ({ items: await store.contents.list() })),
    route(
      admin.content.delete,
      async ({ params }) => {
        const users = await contentUsers(store, params.sha256);
        if (users.length) throw new ServiceError('IN_USE', `content ${params.sha256} is used by ${users.join(', ')}`);
        await store.contents.delete(params.sha256);
        return undefined;
      },
    ),
  ];
}
