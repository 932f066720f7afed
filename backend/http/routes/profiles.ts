// /v1/admin/profiles and /v1/admin/policies: documents assigned to groups. They (and the other
// device-setup items, routes/items.ts) share the list/show/delete/assign/unassign routes; they
// differ in how they are saved and linted. A change whose lint has errors (e.g. kiosk auto-logon
// with a password-expiry policy on the same group) is refused; warnings come back with the result.
import type { z } from 'zod';

import { documents } from '../../../protocol/api/endpoints.js';
import type { DocumentEndpoints } from '../../../protocol/api/endpoints/documents.js';
import type { DeploymentProfileSchema, PolicySettingsSchema, PolicySettingsViewSchema, LintFinding } from '../../../protocol/profile.js';
import { lintGroupsWithPolicy, lintWithGroups, requireNoLintErrors } from '../../deployment/assignments.js';
import { groupDevices, lintFleet } from '../../deployment/fleet-lint.js';
import { notFound } from '../../errors.js';
import type { DocumentRepository, StoredDocument } from '../../store/documents.js';
import type { Group } from '../../store/groups.js';
import type { Store } from '../../store/store.js';
import { route, type Route } from '../route.js';
import { redacted, withStoredSecrets, type Fingerprint } from './secrets.js';

export interface DocumentKind<S extends z.ZodType, R extends z.ZodType> {
  /** For messages: "profile". */
  singular: string;
  endpoints: DocumentEndpoints<R>;
  repo: DocumentRepository<S>;
  /** The resource as the API shows it. */
  view: (document: StoredDocument<z.output<S>>) => Promise<z.input<R>>;
  /** Lint findings of assigning the document to a group; errors refuse the assignment. */
  lintAssignment: (document: StoredDocument<z.output<S>>, group: Group) => Promise<LintFinding[]>;
  /** Lint findings of taking it off a group (what then applies instead); errors refuse it. */
  lintUnassignment?: (document: StoredDocument<z.output<S>>, group: Group) => Promise<LintFinding[]>;
}

export async function groupsOf(store: Store, repo: DocumentRepository<z.ZodType>, documentId: string): Promise<Group[]> {
  return Promise.all((await repo.assignments(documentId)).map((a) => store.groups.require(a.group)));
}

/** The resource fields every document has: name, assignments and dates. */
export async function documentFields<T>(repo: DocumentRepository<z.ZodType<T>>, document: StoredDocument<T>) {
  const assignments = (await repo.assignments(document.id)).map((a) => ({ group: a.group, assignedAt: a.assignedAt }));
  return { name: document.name, version: document.version, assignments, createdAt: document.createdAt, updatedAt: document.updatedAt };
}

/** List, show, delete, assign and unassign: the same for every kind of document. */
export function documentRoutes<S extends z.ZodType, R extends z.ZodType>(store: Store, kind: DocumentKind<S, R>): Route[] {
  const { endpoints } = kind;
  return [
    route(endpoints.list, async () => ({ items: await Promise.all((await kind.repo.list()).map(kind.view)) })),
    route(endpoints.get, async ({ params }) => kind.view(await kind.repo.require(params.name))),
    route(endpoints.delete, async ({ params }) => {
      await kind.repo.delete(params.name);
      return undefined;
    }),
    route(endpoints.assign, async ({ params, body }) => {
      const document = await kind.repo.require(params.name);
      const group = await store.groups.require(body.group);
      const lint = requireNoLintErrors(await kind.lintAssignment(document, group), `${kind.singular} "${document.name}" was not assigned to "${group.name}"`);
      return { name: document.name, group: group.name, assignedAt: await kind.repo.assign(document, group), lint };
    }),
    route(endpoints.unassign, async ({ params }) => {
      const document = await kind.repo.require(params.name);
      const group = await store.groups.require(params.group);
      if (kind.lintUnassignment) requireNoLintErrors(await kind.lintUnassignment(document, group), `${kind.singular} "${document.name}" was not taken off "${group.name}"`);
      if (!(await kind.repo.unassign(document, group))) throw notFound(`assignment of "${document.name}" to "${group.name}"`);
      return undefined;
    }),
  ];
}

export function profileRoutes(store: Store): Route[] {
  const view = async (document: StoredDocument<z.output<typeof DeploymentProfileSchema>>) => ({
    ...(await documentFields(store.profiles, document)),
    profile: document.body,
  });
  return [
    ...documentRoutes(store, {
      singular: 'profile',
      endpoints: documents.profiles,
      repo: store.profiles,
      view,
      lintAssignment: async (profile, group) => [
        ...(await lintWithGroups(store, profile.body, [group])),
        ...(await lintFleet(store, { devices: await groupDevices(store, [group]), assign: { kind: 'profile', document: profile, group } })),
      ],
      lintUnassignment: async (profile, group) => lintFleet(store, { devices: await groupDevices(store, [group]), unassign: { kind: 'profile', name: profile.name, group } }),
    }),
    route(
      documents.profiles.put,
      async ({ params, body, reply }) => {
        const existing = await store.profiles.find(params.name);
        const groups = existing ? await groupsOf(store, store.profiles, existing.id) : [];
        const lint = requireNoLintErrors(
          [...(await lintWithGroups(store, body, groups)), ...(await lintFleet(store, { devices: await groupDevices(store, groups), save: { kind: 'profile', name: params.name, body } }))],
          `profile "${params.name}" was not saved`,
        );
        const { document, created } = await store.profiles.put(params.name, body);
        if (created) void reply.code(201);
        return { ...(await view(document)), lint };
      },
    ),
    route(
      documents.profiles.lint,
      async ({ body, query }) => {
        const groups = query.group ? [await store.groups.require(query.group)] : [];
        return { findings: await lintWithGroups(store, body, groups) };
      },
    ),
  ];
}

export function policyRoutes(store: Store, fingerprint: Fingerprint): Route[] {
  // A policy's secrets (a directory bind's password) are write-only, as items' are.
  const view = async (document: StoredDocument<z.output<typeof PolicySettingsSchema>>) => {
    const { body, secrets } = redacted('policy', document.body, fingerprint);
    return { ...(await documentFields(store.policies, document)), settings: body as z.output<typeof PolicySettingsViewSchema>, secrets };
  };
  return [
    ...documentRoutes(store, {
      singular: 'policy',
      endpoints: documents.policies,
      repo: store.policies,
      view,
      lintAssignment: async (policy, group) => [
        ...(await lintGroupsWithPolicy(store, [group], { name: policy.name, settings: policy.body })),
        ...(await lintFleet(store, { devices: await groupDevices(store, [group]), assign: { kind: 'policy', document: policy, group } })),
      ],
    }),
    route(
      documents.policies.put,
      async ({ params, body, reply }) => {
        const existing = await store.policies.find(params.name);
        const settings = withStoredSecrets('policy', body, existing?.body) as z.output<typeof PolicySettingsSchema>;
        if (existing) {
          const groups = await groupsOf(store, store.policies, existing.id);
          requireNoLintErrors(
            [
              ...(await lintGroupsWithPolicy(store, groups, { name: params.name, settings })),
              ...(await lintFleet(store, { devices: await groupDevices(store, groups), save: { kind: 'policy', name: params.name, settings } })),
            ],
            `policy "${params.name}" was not saved`,
          );
        }
        const { document, created } = await store.policies.put(params.name, settings);
        if (created) void reply.code(201);
        return view(document);
      },
    ),
  ];
}
