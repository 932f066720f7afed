// /v1/admin/groups: static and dynamic device groups.
import { z } from 'zod';

import { CreateGroupRequestSchema, GroupListSchema, GroupSchema, GroupViewSchema, ResourceNameSchema } from '../../../protocol/api/admin.js';
import { notFound } from '../../errors.js';
import type { Store } from '../../store/store.js';
import { defineRoute, type AnyRoute } from '../route.js';

const NameParams = z.object({ name: ResourceNameSchema });
const MemberParams = z.object({ name: ResourceNameSchema, deviceId: z.string().max(64) });

export function groupRoutes(store: Store): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/admin/groups',
      operationId: 'listGroups',
      summary: 'List groups with their member counts',
      tag: 'groups',
      access: 'read',
      success: { status: 200, description: 'The groups', schema: GroupListSchema },
      handler: async () => ({ items: await store.groups.list() }),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/admin/groups',
      operationId: 'createGroup',
      summary: 'Create a static group, or a dynamic group of every device with a group tag',
      tag: 'groups',
      access: 'admin',
      body: CreateGroupRequestSchema,
      problems: [409],
      success: { status: 201, description: 'The group', schema: GroupSchema },
      handler: async ({ body }) => {
        const group = await store.groups.create(body);
        return { ...group, memberCount: (await store.groups.members(group)).length };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/admin/groups/:name',
      operationId: 'getGroup',
      summary: 'One group: members and what is assigned to it',
      tag: 'groups',
      access: 'read',
      params: NameParams,
      problems: [404],
      success: { status: 200, description: 'The group', schema: GroupViewSchema },
      handler: async ({ params }) => {
        const group = await store.groups.require(params.name);
        const members = await store.groups.members(group);
        const assigned = async (repo: typeof store.profiles | typeof store.policies) =>
          (await repo.forGroups([group])).map((a) => ({ name: a.document.name, assignedAt: a.assignedAt }));
        return { ...group, memberCount: members.length, members, profiles: await assigned(store.profiles), policies: await assigned(store.policies) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/admin/groups/:name',
      operationId: 'deleteGroup',
      summary: 'Delete a group that nothing is assigned to',
      tag: 'groups',
      access: 'admin',
      params: NameParams,
      problems: [404, 409],
      success: { status: 204, description: 'Deleted' },
      handler: async ({ params }) => {
        await store.groups.delete(await store.groups.require(params.name));
        return undefined;
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/v1/admin/groups/:name/members/:deviceId',
      operationId: 'addGroupMember',
      summary: 'Add a device to a static group',
      tag: 'groups',
      access: 'admin',
      params: MemberParams,
      problems: [404],
      success: { status: 204, description: 'The device is a member' },
      handler: async ({ params }) => {
        const group = await store.groups.require(params.name);
        if (!(await store.devices.get(params.deviceId))) throw notFound(`device ${params.deviceId}`);
        await store.groups.addMember(group, params.deviceId);
        return undefined;
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/admin/groups/:name/members/:deviceId',
      operationId: 'removeGroupMember',
      summary: 'Remove a device from a static group',
      tag: 'groups',
      access: 'admin',
      params: MemberParams,
      problems: [404],
      success: { status: 204, description: 'The device is no longer a member' },
      handler: async ({ params }) => {
        const group = await store.groups.require(params.name);
        if (!(await store.groups.removeMember(group, params.deviceId))) throw notFound(`device ${params.deviceId} in group "${group.name}"`);
        return undefined;
      },
    }),
  ];
}
