// /v1/admin/profiles and /v1/admin/policies: documents assigned to groups. They (and the other
// device-setup items, routes/items.ts) share the list/show/delete/assign/unassign routes; they
// differ in how they are saved and linted. A change whose lint has errors (e.g. kiosk auto-logon
// with a password-expiry policy on the same group) is refused; warnings come back with the result.
import { z } from 'zod';

import {
  AssignRequestSchema,
  AssignedSchema,
  LintResultSchema,
  PolicyListSchema,
  PolicyResourceSchema,
  ProfileListSchema,
  ProfileResourceSchema,
  ProfileSavedSchema,
  ResourceNameSchema,
} from '../../../protocol/api/admin.js';
import { DeploymentProfileSchema, PolicySettingsSchema, type LintFinding } from '../../../protocol/profile.js';
import { lintGroupsWithPolicy, lintWithGroups, requireNoLintErrors } from '../../deployment/assignments.js';
import { notFound } from '../../errors.js';
import type { DocumentRepository, StoredDocument } from '../../store/documents.js';
import type { Group } from '../../store/groups.js';
import type { Store } from '../../store/store.js';
import { defineRoute, type AnyRoute } from '../route.js';

const NameParams = z.object({ name: ResourceNameSchema });
const AssignmentParams = z.object({ name: ResourceNameSchema, group: ResourceNameSchema });

export interface DocumentKind<S extends z.ZodType> {
  /** URL segment and OpenAPI tag: "profiles". */
  plural: string;
  /** For messages and operation ids: "profile". */
  singular: string;
  repo: DocumentRepository<S>;
  listSchema: z.ZodType;
  resourceSchema: z.ZodType;
  /** The resource as the API shows it. */
  view: (document: StoredDocument<z.output<S>>) => Promise<unknown>;
  /** Lint findings of assigning the document to a group; errors refuse the assignment. */
  lintAssignment: (document: StoredDocument<z.output<S>>, group: Group) => Promise<LintFinding[]>;
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
export function documentRoutes<S extends z.ZodType>(store: Store, kind: DocumentKind<S>): AnyRoute[] {
  const base = `/v1/admin/${kind.plural}`;
  const capital = (word: string) => word[0]!.toUpperCase() + word.slice(1);
  const Singular = capital(kind.singular);
  return [
    defineRoute({
      method: 'GET',
      url: base,
      operationId: `list${capital(kind.plural)}`,
      summary: `List ${kind.plural} with their assignments`,
      tag: kind.plural,
      access: 'read',
      success: { status: 200, description: `The ${kind.plural}`, schema: kind.listSchema },
      handler: async () => ({ items: await Promise.all((await kind.repo.list()).map(kind.view)) }),
    }),
    defineRoute({
      method: 'GET',
      url: `${base}/:name`,
      operationId: `get${Singular}`,
      summary: `One ${kind.singular}, with every default filled in`,
      tag: kind.plural,
      access: 'read',
      params: NameParams,
      problems: [404],
      success: { status: 200, description: `The ${kind.singular}`, schema: kind.resourceSchema },
      handler: async ({ params }) => kind.view(await kind.repo.require(params.name)),
    }),
    defineRoute({
      method: 'DELETE',
      url: `${base}/:name`,
      operationId: `delete${Singular}`,
      summary: `Delete a ${kind.singular} that is not assigned`,
      tag: kind.plural,
      access: 'admin',
      params: NameParams,
      problems: [404, 409],
      success: { status: 204, description: 'Deleted' },
      handler: async ({ params }) => {
        await kind.repo.delete(params.name);
        return undefined;
      },
    }),
    defineRoute({
      method: 'POST',
      url: `${base}/:name/assignments`,
      operationId: `assign${Singular}`,
      summary: `Assign a ${kind.singular} to a group (refused when it would break a deployment there)`,
      tag: kind.plural,
      access: 'admin',
      params: NameParams,
      body: AssignRequestSchema,
      problems: [404],
      success: { status: 201, description: 'The assignment and its lint warnings', schema: AssignedSchema },
      handler: async ({ params, body }) => {
        const document = await kind.repo.require(params.name);
        const group = await store.groups.require(body.group);
        const lint = requireNoLintErrors(await kind.lintAssignment(document, group), `${kind.singular} "${document.name}" was not assigned to "${group.name}"`);
        return { name: document.name, group: group.name, assignedAt: await kind.repo.assign(document, group), lint };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: `${base}/:name/assignments/:group`,
      operationId: `unassign${Singular}`,
      summary: `Remove a ${kind.singular} assignment`,
      tag: kind.plural,
      access: 'admin',
      params: AssignmentParams,
      problems: [404],
      success: { status: 204, description: 'Unassigned' },
      handler: async ({ params }) => {
        const document = await kind.repo.require(params.name);
        const group = await store.groups.require(params.group);
        if (!(await kind.repo.unassign(document, group))) throw notFound(`assignment of "${document.name}" to "${group.name}"`);
        return undefined;
      },
    }),
  ];
}

export function profileRoutes(store: Store): AnyRoute[] {
  const view = async (document: StoredDocument<z.output<typeof DeploymentProfileSchema>>) => ({
    ...(await documentFields(store.profiles, document)),
    profile: document.body,
  });
  return [
    ...documentRoutes(store, {
      plural: 'profiles',
      singular: 'profile',
      repo: store.profiles,
      listSchema: ProfileListSchema,
      resourceSchema: ProfileResourceSchema,
      view,
      lintAssignment: (profile, group) => lintWithGroups(store, profile.body, [group]),
    }),
    defineRoute({
      method: 'PUT',
      url: '/v1/admin/profiles/:name',
      operationId: 'putProfile',
      summary: 'Create or replace a deployment profile (validated and linted against the policies of its groups)',
      tag: 'profiles',
      access: 'admin',
      params: NameParams,
      body: DeploymentProfileSchema,
      success: { status: 200, description: 'The saved profile and its lint warnings', schema: ProfileSavedSchema },
      handler: async ({ params, body, reply }) => {
        const existing = await store.profiles.find(params.name);
        const groups = existing ? await groupsOf(store, store.profiles, existing.id) : [];
        const lint = requireNoLintErrors(await lintWithGroups(store, body, groups), `profile "${params.name}" was not saved`);
        const { document, created } = await store.profiles.put(params.name, body);
        if (created) void reply.code(201);
        return { ...(await view(document)), lint };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/admin/profiles/lint',
      operationId: 'lintProfile',
      summary: 'Validate and lint a profile without saving it (optionally with the policies of a group)',
      tag: 'profiles',
      access: 'read',
      query: z.object({ group: ResourceNameSchema.optional() }),
      body: DeploymentProfileSchema,
      success: { status: 200, description: 'Errors and warnings', schema: LintResultSchema },
      handler: async ({ body, query }) => {
        const groups = query.group ? [await store.groups.require(query.group)] : [];
        return { findings: await lintWithGroups(store, body, groups) };
      },
    }),
  ];
}

export function policyRoutes(store: Store): AnyRoute[] {
  const view = async (document: StoredDocument<z.output<typeof PolicySettingsSchema>>) => ({
    ...(await documentFields(store.policies, document)),
    settings: document.body,
  });
  return [
    ...documentRoutes(store, {
      plural: 'policies',
      singular: 'policy',
      repo: store.policies,
      listSchema: PolicyListSchema,
      resourceSchema: PolicyResourceSchema,
      view,
      lintAssignment: (policy, group) => lintGroupsWithPolicy(store, [group], { name: policy.name, settings: policy.body }),
    }),
    defineRoute({
      method: 'PUT',
      url: '/v1/admin/policies/:name',
      operationId: 'putPolicy',
      summary: 'Create or replace a policy (refused when it would break a profile on its groups)',
      tag: 'policies',
      access: 'admin',
      params: NameParams,
      body: PolicySettingsSchema,
      success: { status: 200, description: 'The saved policy', schema: PolicyResourceSchema },
      handler: async ({ params, body, reply }) => {
        const existing = await store.policies.find(params.name);
        if (existing) {
          const groups = await groupsOf(store, store.policies, existing.id);
          requireNoLintErrors(await lintGroupsWithPolicy(store, groups, { name: params.name, settings: body }), `policy "${params.name}" was not saved`);
        }
        const { document, created } = await store.policies.put(params.name, body);
        if (created) void reply.code(201);
        return view(document);
      },
    }),
  ];
}
