// selfdeploy-admin groups: static groups of chosen devices and dynamic groups of every device with
// a group tag — what profiles, policies and items are assigned to.
import type { Command } from 'commander';

import { CreateGroupRequestSchema, describeRule, type GroupRule } from '../../../protocol/api/admin.js';
import { admin } from '../../../protocol/api/endpoints.js';
import { table, viewCommand, type AdminActions } from './session.js';

/** The rule fields given as flags. */
function ruleOf(options: { groupTag?: string; manufacturer?: string; model?: string; serialPrefix?: string }): GroupRule {
  return Object.fromEntries(
    (['groupTag', 'manufacturer', 'model', 'serialPrefix'] as const).filter((key) => options[key] !== undefined).map((key) => [key, options[key]]),
  );
}


export function groupsCommands(program: Command, action: AdminActions): void {
  const groups = program.command('groups').description('static and dynamic device groups');

  viewCommand(groups, action, 'list', 'the groups with their member counts', admin.groups.list, ({ items }) =>
    items.length ? table([['NAME', 'KIND', 'RULE', 'MEMBERS'], ...items.map((g) => [g.name, g.kind, g.rule ? describeRule(g.rule) : '', String(g.memberCount)])]) : 'No groups.\n',
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
            `Group     ${g.name} (${g.kind}${g.rule ? `, every device with ${describeRule(g.rule)}` : ''})`,
            `Profiles  ${g.profiles.map((p) => p.name).join(', ') || '-'}`,
            `Policies  ${g.policies.map((p) => p.name).join(', ') || '-'}`,
            `Items     ${g.items.map((i) => `${i.kind} ${i.name}`).join(', ') || '-'}`,
            `Members   ${g.memberCount}`,
            ...g.members.map((m) => `  ${m.serial}  ${m.manufacturer}  ${m.id}`),
            '',
          ].join('\n'),
        );
      }),
    );

  groups
    .command('create')
    .description('a static group (add members by hand), or a dynamic group of every device its rule matches (--group-tag, --manufacturer, --model, --serial-prefix: all given must match)')
    .argument('<NAME>')
    .option('--static', 'members are added by hand (groups add-member)')
    .option('--dynamic', 'members are every device the rule matches')
    .option('--group-tag <TAG>', 'rule: devices with this group tag')
    .option('--manufacturer <NAME>', 'rule: devices of this manufacturer')
    .option('--model <NAME>', 'rule: devices of this model')
    .option('--serial-prefix <PREFIX>', 'rule: serial numbers that start with this')
    .option('--description <TEXT>', 'what the group is for')
    .action(
      action(async (session, name: string, options: { static?: boolean; dynamic?: boolean; groupTag?: string; manufacturer?: string; model?: string; serialPrefix?: string; description?: string }) => {
        if (Boolean(options.static) === Boolean(options.dynamic)) throw session.usage('give exactly one of --static or --dynamic');
        const rule = ruleOf(options);
        const onlyTag = Object.keys(rule).length === 1 && rule.groupTag !== undefined;
        const flags = { name: 'NAME', groupTag: '--group-tag', 'rule.groupTag': '--group-tag', 'rule.manufacturer': '--manufacturer', 'rule.model': '--model', 'rule.serialPrefix': '--serial-prefix', rule: '--group-tag/--manufacturer/--model/--serial-prefix', description: '--description', kind: '--static/--dynamic' };
        const body = {
          name,
          kind: options.static ? ('static' as const) : ('dynamic' as const),
          // A rule that is only a group tag is sent as groupTag, as groups were first made.
          ...(onlyTag ? { groupTag: rule.groupTag } : Object.keys(rule).length ? { rule } : {}),
          ...(options.description !== undefined ? { description: options.description } : {}),
        };
        session.check(CreateGroupRequestSchema, body, flags);
        const group = await session.sent(() => session.client.request(admin.groups.create, { body }), { flags });
        session.out(group, () => `Created ${group.kind} group ${group.name} (${group.memberCount} members)\n`);
      }),
    );

  groups
    .command('preview')
    .description("the devices a dynamic group's rule would hold, before the group is made")
    .option('--group-tag <TAG>', 'rule: devices with this group tag')
    .option('--manufacturer <NAME>', 'rule: devices of this manufacturer')
    .option('--model <NAME>', 'rule: devices of this model')
    .option('--serial-prefix <PREFIX>', 'rule: serial numbers that start with this')
    .action(
      action(async (session, options: { groupTag?: string; manufacturer?: string; model?: string; serialPrefix?: string }) => {
        const rule = ruleOf(options);
        if (Object.keys(rule).length === 0) throw session.usage('give the rule: --group-tag, --manufacturer, --model and/or --serial-prefix');
        const preview = await session.client.request(admin.groups.preview, { body: { rule, limit: 50 } });
        session.out(preview, () =>
          `${preview.count} device(s) match ${describeRule(rule)}\n` + (preview.members.length ? table([['SERIAL', 'MANUFACTURER', 'MODEL', 'GROUP TAG'], ...preview.members.map((m) => [m.serial, m.manufacturer, m.model, m.groupTag ?? ''])]) : ''),
        );
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
