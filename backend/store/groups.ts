// Device groups: static (explicit members) or dynamic (every device a rule matches: group tag,
// manufacturer, model, serial prefix), the unit that profiles and policies are assigned to.
// Dynamic membership is never stored: it is the rule applied to the devices as they are now, so a
// changed group tag moves a device at once.
import { randomUUID } from 'node:crypto';

import { sql, type SqlBool } from 'kysely';

import { describeRule, type Device, type GroupRule } from '../../protocol/api/admin.js';
import { ServiceError, notFound } from '../errors.js';
import { now, prepared, type Db, type GroupTable } from './database.js';
import type { DeviceSet } from './devices.js';

export type GroupKind = 'static' | 'dynamic';

export interface Group {
  id: string;
  name: string;
  kind: GroupKind;
  /** The rule's group tag when the rule is only that. */
  groupTag: string | null;
  rule: GroupRule | null;
  description: string;
  createdAt: string;
}

const toGroup = (row: GroupTable): Group => {
  const rule = row.rule ? (JSON.parse(row.rule) as GroupRule) : row.kind === 'dynamic' && row.group_tag ? { groupTag: row.group_tag } : null;
  return {
    id: row.id,
    name: row.name,
    kind: row.kind as GroupKind,
    groupTag: rule && Object.keys(rule).length === 1 && rule.groupTag ? rule.groupTag : null,
    rule,
    description: row.description,
    createdAt: row.created_at,
  };
};

/** No device (a literal both stores take: SQLite binds no booleans). */
const NOTHING = sql<SqlBool>`1 = 0`;

/** Whether a device matches a dynamic group's rule: every field given must match. */
export function ruleMatches(rule: GroupRule, device: Pick<Device, 'groupTag' | 'manufacturer' | 'model' | 'serial'>): boolean {
  return (
    (rule.groupTag === undefined || device.groupTag === rule.groupTag) &&
    (rule.manufacturer === undefined || device.manufacturer === rule.manufacturer) &&
    (rule.model === undefined || device.model === rule.model) &&
    (rule.serialPrefix === undefined || device.serial.startsWith(rule.serialPrefix))
  );
}

/** The devices a rule matches, as a condition (the same test as ruleMatches, in SQL). */
export function ruleSet(rule: GroupRule): DeviceSet {
  return (eb) =>
    eb.and([
      ...(rule.groupTag !== undefined ? [eb('devices.group_tag', '=', rule.groupTag)] : []),
      ...(rule.manufacturer !== undefined ? [eb('devices.manufacturer', '=', rule.manufacturer)] : []),
      ...(rule.model !== undefined ? [eb('devices.model', '=', rule.model)] : []),
      // A plain prefix comparison: LIKE would give % and _ a meaning.
      ...(rule.serialPrefix !== undefined ? [eb(sql<string>`substr(devices.serial, 1, ${rule.serialPrefix.length})`, '=', rule.serialPrefix)] : []),
    ]);
}

// Read on every enrollment: built once (database.ts, prepared). A device's static groups, and every dynamic one (its rule decides).
const groupsOfDevice = prepared((db, $: { deviceId: string }) =>
  db
    .selectFrom('device_groups')
    .selectAll()
    .where((eb) => eb.or([eb('id', 'in', eb.selectFrom('group_members').select('group_id').where('device_id', '=', $.deviceId)), eb('kind', '=', 'dynamic')]))
    .orderBy('name'),
);

export class GroupRepository {
  constructor(private readonly db: Db) {}

  async create(input: { name: string; kind: GroupKind; groupTag?: string | undefined; rule?: GroupRule | undefined; description: string }): Promise<Group> {
    if (await this.find(input.name)) throw new ServiceError('NAME_TAKEN', `a group named "${input.name}" already exists`);
    const rule = input.kind === 'dynamic' ? (input.rule ?? (input.groupTag ? { groupTag: input.groupTag } : null)) : null;
    const row: GroupTable = {
      id: randomUUID(),
      name: input.name,
      kind: input.kind,
      group_tag: rule?.groupTag ?? null,
      rule: rule && JSON.stringify(rule),
      description: input.description,
      created_at: now(),
    };
    await this.db.insertInto('device_groups').values(row).execute();
    return toGroup(row);
  }

  async find(name: string): Promise<Group | undefined> {
    const row = await this.db.selectFrom('device_groups').selectAll().where('name', '=', name).executeTakeFirst();
    return row && toGroup(row);
  }

  async require(name: string): Promise<Group> {
    const group = await this.find(name);
    if (!group) throw notFound(`group "${name}"`);
    return group;
  }

  async all(): Promise<Group[]> {
    return (await this.db.selectFrom('device_groups').selectAll().orderBy('name').execute()).map(toGroup);
  }

  async list(): Promise<(Group & { memberCount: number })[]> {
    const groups = (await this.db.selectFrom('device_groups').selectAll().orderBy('name').execute()).map(toGroup);
    const staticCounts = await this.db
      .selectFrom('group_members')
      .select(['group_id', (eb) => eb.fn.countAll<string>().as('n')])
      .groupBy('group_id')
      .execute();
    const byGroup = new Map(staticCounts.map((c) => [c.group_id, Number(c.n)]));
    const counted: (Group & { memberCount: number })[] = [];
    for (const group of groups) {
      counted.push({ ...group, memberCount: group.kind === 'dynamic' ? await this.count(this.memberSet(group)) : (byGroup.get(group.id) ?? 0) });
    }
    return counted;
  }

  private async count(set: DeviceSet): Promise<number> {
    const row = await this.db.selectFrom('devices').select((eb) => eb.fn.countAll<string>().as('n')).where(set).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** A group's members as a condition on devices. */
  memberSet(group: Group): DeviceSet {
    if (group.kind === 'dynamic') return group.rule ? ruleSet(group.rule) : () => NOTHING;
    return (eb) => eb('devices.id', 'in', eb.selectFrom('group_members').select('group_members.device_id').where('group_members.group_id', '=', group.id));
  }

  /** The devices in any of `groups`. */
  unionSet(groups: readonly Group[]): DeviceSet {
    return (eb) => (groups.length ? eb.or(groups.map((g) => this.memberSet(g)(eb))) : NOTHING);
  }

  async members(group: Group, limit?: number): Promise<{ id: string; serial: string; manufacturer: string; model: string; groupTag: string | null }[]> {
    let select = this.db
      .selectFrom('devices')
      .select(['devices.id', 'devices.serial', 'devices.manufacturer', 'devices.model', 'devices.group_tag as groupTag'])
      .where(this.memberSet(group))
      .orderBy('devices.serial')
      .orderBy('devices.id');
    if (limit !== undefined) select = select.limit(limit);
    return select.execute();
  }

  /** The devices a rule would hold (a dynamic group's preview): how many, and the first `limit`. */
  async preview(rule: GroupRule, limit: number): Promise<{ count: number; members: Awaited<ReturnType<GroupRepository['members']>> }> {
    const group: Group = { id: '', name: '', kind: 'dynamic', groupTag: null, rule, description: '', createdAt: '' };
    return { count: await this.count(ruleSet(rule)), members: await this.members(group, limit) };
  }

  /** The groups a device is in: static memberships and the dynamic groups whose rule it matches. */
  async ofDevice(device: Pick<Device, 'id' | 'groupTag' | 'manufacturer' | 'model' | 'serial'>): Promise<Group[]> {
    const { rows } = await groupsOfDevice.run(this.db, { deviceId: device.id });
    return rows.map(toGroup).filter((g) => g.kind === 'static' || (g.rule !== null && ruleMatches(g.rule, device)));
  }

  async addMember(group: Group, deviceId: string): Promise<void> {
    if (group.kind !== 'static') {
      throw new ServiceError('VALIDATION_FAILED', `"${group.name}" is a dynamic group: its members are the devices its rule matches (${describeRule(group.rule)})`);
    }
    const exists = await this.db
      .selectFrom('group_members')
      .select('device_id')
      .where('group_id', '=', group.id)
      .where('device_id', '=', deviceId)
      .executeTakeFirst();
    if (!exists) await this.db.insertInto('group_members').values({ group_id: group.id, device_id: deviceId, created_at: now() }).execute();
  }

  async removeMember(group: Group, deviceId: string): Promise<boolean> {
    const result = await this.db.deleteFrom('group_members').where('group_id', '=', group.id).where('device_id', '=', deviceId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Deletes a group that nothing is assigned to. */
  async delete(group: Group): Promise<void> {
    const assigned = [
      ...(await this.db.selectFrom('profile_assignments').innerJoin('profiles', 'profiles.id', 'profile_assignments.subject_id').select('profiles.name').where('group_id', '=', group.id).execute()).map((r) => `profile ${r.name}`),
      ...(await this.db.selectFrom('policy_assignments').innerJoin('policies', 'policies.id', 'policy_assignments.subject_id').select('policies.name').where('group_id', '=', group.id).execute()).map((r) => `policy ${r.name}`),
    ];
    if (assigned.length > 0) {
      throw new ServiceError('IN_USE', `group "${group.name}" still has assignments: ${assigned.join(', ')}; unassign them first`);
    }
    await this.db.deleteFrom('device_groups').where('id', '=', group.id).execute();
  }
}

