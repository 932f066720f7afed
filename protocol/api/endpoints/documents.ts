// The admin API's documents: deployment profiles, policies and the other device-setup items
// (certificates, network connections, apps, scripts). Every kind has the same list, show, delete,
// assign and unassign endpoints; each has its own save (and profiles their lint).
import { z } from 'zod';

import { DeploymentProfileSchema, PolicySettingsInputSchema } from '../../profile.js';
import {
  AssignRequestSchema,
  AssignedSchema,
  ITEM_COLLECTIONS,
  ItemInputSchemas,
  LintResultSchema,
  PolicyResourceSchema,
  ProfileResourceSchema,
  ProfileSavedSchema,
  ResourceNameSchema,
  itemResourceSchema,
  type CollectionKind,
} from '../admin.js';
import { endpoint } from '../endpoint.js';

export const NameParams = z.object({ name: ResourceNameSchema });
export const IdParams = z.object({ id: z.string().max(64) });
const AssignmentParams = z.object({ name: ResourceNameSchema, group: ResourceNameSchema });

const capital = (word: string) => word[0]!.toUpperCase() + word.slice(1);

/** List, show, delete, assign and unassign: the same for every kind of document (R: the resource as shown). */
function documentEndpoints<R extends z.ZodType>(plural: string, singular: string, resourceSchema: R) {
  const base = `/v1/admin/${plural}`;
  const Singular = capital(singular);
  return {
    list: endpoint({
      method: 'GET',
      path: base,
      operationId: `list${capital(plural)}`,
      summary: `List ${plural} with their assignments`,
      tag: plural,
      access: 'read',
      success: { status: 200, description: `The ${plural}`, schema: z.object({ items: z.array(resourceSchema) }) },
    }),
    get: endpoint({
      method: 'GET',
      path: `${base}/:name`,
      operationId: `get${Singular}`,
      summary: `One ${singular}, with every default filled in`,
      tag: plural,
      access: 'read',
      params: NameParams,
      problems: [404],
      success: { status: 200, description: `The ${singular}`, schema: resourceSchema },
    }),
    delete: endpoint({
      method: 'DELETE',
      path: `${base}/:name`,
      operationId: `delete${Singular}`,
      summary: `Delete a ${singular} that is not assigned`,
      tag: plural,
      access: 'admin',
      params: NameParams,
      problems: [404, 409],
      success: { status: 204, description: 'Deleted' },
    }),
    assign: endpoint({
      method: 'POST',
      path: `${base}/:name/assignments`,
      operationId: `assign${Singular}`,
      summary: `Assign a ${singular} to a group (refused when it would break a deployment there)`,
      tag: plural,
      access: 'admin',
      params: NameParams,
      body: AssignRequestSchema,
      problems: [404],
      success: { status: 201, description: 'The assignment and its lint warnings', schema: AssignedSchema },
    }),
    unassign: endpoint({
      method: 'DELETE',
      path: `${base}/:name/assignments/:group`,
      operationId: `unassign${Singular}`,
      summary: `Remove a ${singular} assignment`,
      tag: plural,
      access: 'admin',
      params: AssignmentParams,
      problems: [404],
      success: { status: 204, description: 'Unassigned' },
    }),
  };
}

/** The endpoints every kind of document has, for a resource schema R. */
export type DocumentEndpoints<R extends z.ZodType> = ReturnType<typeof documentEndpoints<R>>;

export const profiles = {
  ...documentEndpoints('profiles', 'profile', ProfileResourceSchema),
  put: endpoint({
    method: 'PUT',
    path: '/v1/admin/profiles/:name',
    operationId: 'putProfile',
    summary: 'Create or replace a deployment profile (validated and linted against the policies of its groups)',
    tag: 'profiles',
    access: 'admin',
    params: NameParams,
    body: DeploymentProfileSchema,
    success: { status: 200, description: 'The saved profile and its lint warnings', schema: ProfileSavedSchema },
  }),
  lint: endpoint({
    method: 'POST',
    path: '/v1/admin/profiles/lint',
    operationId: 'lintProfile',
    summary: 'Validate and lint a profile without saving it (optionally with the policies of a group)',
    tag: 'profiles',
    access: 'read',
    query: z.object({ group: ResourceNameSchema.optional() }),
    body: DeploymentProfileSchema,
    success: { status: 200, description: 'Errors and warnings', schema: LintResultSchema },
  }),
};

export const policies = {
  ...documentEndpoints('policies', 'policy', PolicyResourceSchema),
  put: endpoint({
    method: 'PUT',
    path: '/v1/admin/policies/:name',
    operationId: 'putPolicy',
    summary: 'Create or replace a policy (refused when it would break a profile on its groups)',
    tag: 'policies',
    access: 'admin',
    params: NameParams,
    body: PolicySettingsInputSchema,
    success: { status: 200, description: 'The saved policy', schema: PolicyResourceSchema },
  }),
};

function itemEndpoints<K extends CollectionKind>(kind: K) {
  const plural = ITEM_COLLECTIONS[kind];
  const resource = itemResourceSchema(kind);
  return {
    ...documentEndpoints(plural, kind, resource),
    put: endpoint({
      method: 'PUT',
      path: `/v1/admin/${plural}/:name`,
      operationId: `put${capital(kind)}`,
      summary: `Create or replace a ${kind} item (a changed body gets the next version, which devices apply; a secret field left out keeps the stored one)`,
      tag: plural,
      access: 'admin',
      params: NameParams,
      body: ItemInputSchemas[kind],
      success: { status: 200, description: `The saved ${kind}`, schema: resource },
    }),
  };
}

/** The device-setup items other than policies, by kind. */
export const items = {
  certificate: itemEndpoints('certificate'),
  network: itemEndpoints('network'),
  app: itemEndpoints('app'),
  script: itemEndpoints('script'),
};
