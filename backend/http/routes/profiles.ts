// /v1/admin/profiles and /v1/admin/policies: documents assigned to groups. A profile or policy
// change whose lint has errors (e.g. kiosk auto-logon with a password-expiry policy on the same
// group) is refused; warnings come back with the result.
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
import { DeploymentProfileSchema, PolicySettingsSchema } from '../../../protocol/profile.js';
import { lintGroupsWithPolicy, lintWithGroups, requireNoLintErrors } from '../../deployment/assignments.js';
import { notFound } from '../../errors.js';
import type { DocumentRepository, StoredDocument } from '../../store/documents.js';
import type { Store } from '../../store/store.js';
import { defineRoute, type AnyRoute } from '../route.js';

const NameParams = z.object({ name: ResourceNameSchema });
const AssignmentParams = z.object({ name: ResourceNameSchema, group: ResourceNameSchema });

async function withAssignments<T>(repo: DocumentRepository<z.ZodType<T>>, document: StoredDocument<T>) {
  const assignments = (await repo.assignments(document.id)).map((a) => ({ group: a.group, assignedAt: a.assignedAt }));
  return { name: document.name, assignments, createdAt: document.createdAt, updatedAt: document.updatedAt };
}

async function groupsOf(store: Store, repo: DocumentRepository<z.ZodType>, documentId: string) {
  return Promise.all((await repo.assignments(documentId)).map((a) => store.groups.require(a.group)));
}

export function profileRoutes(store: Store): AnyRoute[] {
  const profileView = async (document: StoredDocument<z.output<typeof DeploymentProfileSchema>>) => ({
    ...(await withAssignments(store.profiles, document)),
    profile: document.body,
  });
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/admin/profiles',
      operationId: 'listProfiles',
      summary: 'List deployment profiles with their assignments',
      tag: 'profiles',
      access: 'read',
      success: { status: 200, description: 'The profiles', schema: ProfileListSchema },
      handler: async () => ({ items: await Promise.all((await store.profiles.list()).map(profileView)) }),
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/admin/profiles/:name',
      operationId: 'getProfile',
      summary: 'One deployment profile, with every default filled in',
      tag: 'profiles',
      access: 'read',
      params: NameParams,
      problems: [404],
      success: { status: 200, description: 'The profile', schema: ProfileResourceSchema },
      handler: async ({ params }) => profileView(await store.profiles.require(params.name)),
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
        return { ...(await profileView(document)), lint };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/admin/profiles/:name',
      operationId: 'deleteProfile',
      summary: 'Delete a profile that is not assigned',
      tag: 'profiles',
      access: 'admin',
      params: NameParams,
      problems: [404, 409],
      success: { status: 204, description: 'Deleted' },
      handler: async ({ params }) => {
        await store.profiles.delete(params.name);
        return undefined;
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
    defineRoute({
      method: 'POST',
      url: '/v1/admin/profiles/:name/assignments',
      operationId: 'assignProfile',
      summary: 'Assign a profile to a group (linted with the policies of that group)',
      tag: 'profiles',
      access: 'admin',
      params: NameParams,
      body: AssignRequestSchema,
      problems: [404],
      success: { status: 201, description: 'The assignment and its lint warnings', schema: AssignedSchema },
      handler: async ({ params, body }) => {
        const profile = await store.profiles.require(params.name);
        const group = await store.groups.require(body.group);
        const lint = requireNoLintErrors(await lintWithGroups(store, profile.body, [group]), `profile "${profile.name}" was not assigned to "${group.name}"`);
        return { name: profile.name, group: group.name, assignedAt: await store.profiles.assign(profile, group), lint };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/admin/profiles/:name/assignments/:group',
      operationId: 'unassignProfile',
      summary: 'Remove a profile assignment',
      tag: 'profiles',
      access: 'admin',
      params: AssignmentParams,
      problems: [404],
      success: { status: 204, description: 'Unassigned' },
      handler: async ({ params }) => {
        const profile = await store.profiles.require(params.name);
        const group = await store.groups.require(params.group);
        if (!(await store.profiles.unassign(profile, group))) throw notFound(`assignment of "${profile.name}" to "${group.name}"`);
        return undefined;
      },
    }),
  ];
}

export function policyRoutes(store: Store): AnyRoute[] {
  const policyView = async (document: StoredDocument<z.output<typeof PolicySettingsSchema>>) => ({
    ...(await withAssignments(store.policies, document)),
    settings: document.body,
  });
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/admin/policies',
      operationId: 'listPolicies',
      summary: 'List policies with their assignments',
      tag: 'policies',
      access: 'read',
      success: { status: 200, description: 'The policies', schema: PolicyListSchema },
      handler: async () => ({ items: await Promise.all((await store.policies.list()).map(policyView)) }),
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/admin/policies/:name',
      operationId: 'getPolicy',
      summary: 'One policy',
      tag: 'policies',
      access: 'read',
      params: NameParams,
      problems: [404],
      success: { status: 200, description: 'The policy', schema: PolicyResourceSchema },
      handler: async ({ params }) => policyView(await store.policies.require(params.name)),
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
        return policyView(document);
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/admin/policies/:name',
      operationId: 'deletePolicy',
      summary: 'Delete a policy that is not assigned',
      tag: 'policies',
      access: 'admin',
      params: NameParams,
      problems: [404, 409],
      success: { status: 204, description: 'Deleted' },
      handler: async ({ params }) => {
        await store.policies.delete(params.name);
        return undefined;
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/admin/policies/:name/assignments',
      operationId: 'assignPolicy',
      summary: 'Assign a policy to a group (refused when it would break a profile there)',
      tag: 'policies',
      access: 'admin',
      params: NameParams,
      body: AssignRequestSchema,
      problems: [404],
      success: { status: 201, description: 'The assignment', schema: AssignedSchema },
      handler: async ({ params, body }) => {
        const policy = await store.policies.require(params.name);
        const group = await store.groups.require(body.group);
        const lint = requireNoLintErrors(await lintGroupsWithPolicy(store, [group], { name: policy.name, settings: policy.body }), `policy "${policy.name}" was not assigned to "${group.name}"`);
        return { name: policy.name, group: group.name, assignedAt: await store.policies.assign(policy, group), lint };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/admin/policies/:name/assignments/:group',
      operationId: 'unassignPolicy',
      summary: 'Remove a policy assignment',
      tag: 'policies',
      access: 'admin',
      params: AssignmentParams,
      problems: [404],
      success: { status: 204, description: 'Unassigned' },
      handler: async ({ params }) => {
        const policy = await store.policies.require(params.name);
        const group = await store.groups.require(params.group);
        if (!(await store.policies.unassign(policy, group))) throw notFound(`assignment of "${policy.name}" to "${group.name}"`);
        return undefined;
      },
    }),
  ];
}
