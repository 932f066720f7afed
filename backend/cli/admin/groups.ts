// selfdeploy-admin groups: static groups of chosen devices and dynamic groups of every device with
// a group tag — what profiles, policies and items are assigned to.
import type { Command } from 'commander';

import { CreateGroupRequestSchema } from '../../../protocol/api/admin.js';
import { admin } from '../../../protocol/api/endpoints.js';
import { table, viewCommand, type AdminActions } from './session.js';

export function groupsCommands(program: Command, action: AdminActions): void {
  const groups = program.command('groups').description('static and dynamic device groups');

  viewCommand(groups, action, 'list', 'the groups with their member counts', admin.groups.list, ({ items }) =>
    items.length ? table([['NAME', 'KIND', 'GROUP TAG', 'MEMBERS'], ...items.map((g) => [g.name, g.kind, g.groupTag ?? '', String(g.memberCount)])]) : 'No groups.\n',
  );

  groups
    .command('show')
    .description('one group: its members and what is assigned to it')
    .argument('<NAME>')
    .action(
      action(async (session, name: string) => {
        const g = await session.client.request(admin.groups.get, { params: { name } });
        session.out(g, () =>
          [
            `Group     ${g.name} (${g.kind}${g.groupTag ? `, every device tagged "${g.groupTag}"` : ''})`,
            `Profiles  ${g.profiles.map((p) => p.name).join(', ') || '-'}`,
            `Policies  ${g.policies.map((p) => p.name).join(', ') || '-'}`,
            `Members   ${g.memberCount}`,
            ...g.members.map((m) => `  ${m.serial}  ${m.manufacturer}  ${m.id}`),
            '',
          ].join('\n'),
        );
      }),
    );

  groups
    .command('create')
    .description('a static group (add members by hand), or a dynamic group of every device with --group-tag')
    .argument('<NAME>')
    .option('--static', 'members are added by hand (groups add-member)')
    .option('--dynamic', 'members are every device with --group-tag')
    .option('--group-tag <TAG>', 'the group tag of a dynamic group')
    .option('--description <TEXT>', 'what the group is for')
    .action(
      action(async (session, name: string, options: { static?: boolean; dynamic?: boolean; groupTag?: string; description?: string }) => {
        if (Boolean(options.static) === Boolean(options.dynamic)) throw session.usage('give exactly one of --static or --dynamic');
        const flags = { name: 'NAME', groupTag: '--group-tag', description: '--description', kind: '--static/--dynamic' };
        const body = {
          name,
          kind: options.static ? ('static' as const) : ('dynamic' as const),
          ...(options.groupTag !== undefined ? { groupTag: options.groupTag } : {}),
          ...(options.description !== undefined ? { description: options.description } : {}),
        };
        session.check(CreateGroupRequestSchema, body, flags);
        const group = await session.sent(() => session.client.request(admin.groups.create, { body }), { flags });
        session.out(group, () => `Created ${group.kind} group ${group.name} (${group.memberCount} members)\n`);
      }),
    );

  groups
    .command('delete')
    .description('delete a group that nothing is assigned to')
    .argument('<NAME>')
    .action(
      action(async (session, name: string) => {
        await session.client.request(admin.groups.delete, { params: { name } });
        session.out({ deleted: name }, () => `Deleted group ${name}\n`);
      }),
    );

  for (const [verb, endpoint, done] of [
    ['add-member', admin.groups.addMember, (serial: string, name: string) => `Added ${serial} to ${name}\n`],
    ['remove-member', admin.groups.removeMember, (serial: string, name: string) => `Removed ${serial} from ${name}\n`],
  ] as const) {
    groups
      .command(verb)
      .description(verb === 'add-member' ? 'add a device to a static group' : 'remove a device from a static group')
      .argument('<NAME>', 'the group')
      .argument('<DEVICE>', 'an id or a serial number')
      .action(
        action(async (session, name: string, reference: string) => {
          const device = await session.device(reference);
          await session.client.request(endpoint, { params: { name, deviceId: device.id } });
          session.out({ group: name, device: device.id }, () => done(device.serial, name));
        }),
      );
  }
}
