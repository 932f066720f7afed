// /v1/admin/groups: static and dynamic device groups.
import { admin } from '../../../protocol/api/endpoints.js';
import { requireNoLintErrors } from '../../deployment/assignments.js';
import { lintFleet } from '../../deployment/fleet-lint.js';
import { notFound } from '../../errors.js';
import type { Store } from '../../store/store.js';
import { route, type Route } from '../route.js';

export function groupRoutes(store: Store): Route[] {
  return [
    route(admin.groups.list, async () => ({ items: await store.groups.list() })),
    route(
      admin.groups.create,
      async ({ body }) => {
        const group = await store.groups.create(body);
        return { ...group, memberCount: (await store.groups.members(group)).length };
      },
    ),
    route(admin.groups.preview, ({ body }) => store.groups.preview(body.rule, body.limit)),
    route(
      admin.groups.get,
      async ({ params }) => {
        const group = await store.groups.require(params.name);
        const members = await store.groups.members(group);
        const assigned = async (repo: typeof store.profiles | typeof store.policies) =>
          (await repo.forGroups([group])).map((a) => ({ name: a.document.name, assignedAt: a.assignedAt }));
        const items = [];
        for (const kind of ['certificate', 'network', 'app', 'script'] as const)
          for (const a of await store.items[kind].forGroups([group])) items.push({ kind, name: a.document.name, assignedAt: a.assignedAt });
        return { ...group, memberCount: members.length, members, profiles: await assigned(store.profiles), policies: await assigned(store.policies), items };
      },
    ),
    route(
      admin.groups.delete,
      async ({ params }) => {
        await store.groups.delete(await store.groups.require(params.name));
        return undefined;
      },
    ),
    route(
      admin.groups.addMember,
      async ({ params }) => {
        const group = await store.groups.require(params.name);
        const device = await store.devices.get(params.deviceId);
        if (!device) throw notFound(`device ${params.deviceId}`);
        if (group.kind === 'static') {
          requireNoLintErrors(await lintFleet(store, { devices: [device], addMembers: [{ group, deviceId: device.id }] }), `device ${device.serial} was not added to "${group.name}"`);
        }
        await store.groups.addMember(group, params.deviceId);
        return undefined;
      },
    ),
    route(
      admin.groups.removeMember,
      async ({ params }) => {
        const group = await store.groups.require(params.name);
        const device = await store.devices.get(params.deviceId);
        if (device && group.kind === 'static') {
          requireNoLintErrors(await lintFleet(store, { devices: [device], removeMembers: [{ group, deviceId: device.id }] }), `device ${device.serial} was not removed from "${group.name}"`);
        }
        if (!(await store.groups.removeMember(group, params.deviceId))) throw notFound(`device ${params.deviceId} in group "${group.name}"`);
        return undefined;
      },
    ),
  ];
}
