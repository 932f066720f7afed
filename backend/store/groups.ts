// Device groups: static (explicit members) or dynamic (every device with a group tag), the unit
// that profiles and policies are assigned to.
import { randomUUID } from 'node:crypto';

import { ServiceError, notFound } from '../errors.js';
import { now, type Db, type GroupTable } from './database.js';

export type GroupKind = 'static' | 'dynamic';

export interface Group {
  id: string;
  name: string;
  kind: GroupKind;
  groupTag: string | null;
  description: string;
  createdAt: string;
}

const toGroup = (row: GroupTable): Group => ({
  id: row.id,
  name: row.name,
  kind: row.kind as GroupKind,
  groupTag: row.group_tag,
  description: row.description,
  createdAt: row.created_at,
});

export class GroupRepository {
  constructor(private readonly db: Db) {}

  async create(input: { name: string; kind: GroupKind; groupTag?: string | undefined; description: string }): Promise<Group> {
    if (await this.find(input.name)) throw new ServiceError('NAME_TAKEN', `a group named "${input.name}" already exists`);
    const row: GroupTable = {
      id: randomUUID(),
      name: input.name,
      kind: input.kind,
      group_tag: input.groupTag ?? null,
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

  async list(): Promise<(Group & { memberCount: number })[]> {
    const groups = await this.db.selectFrom('device_groups').selectAll().orderBy('name').execute();
    const staticCounts = await this.db
      .selectFrom('group_members')
      .select(['group_id', (eb) => eb.fn.countAll<string>().as('n')])
      .groupBy('group_id')
      .execute();
    const tagCounts = await this.db
      .selectFrom('devices')
      .select(['group_tag', (eb) => eb.fn.countAll<string>().as('n')])
      .where('group_tag', 'is not', null)
      .groupBy('group_tag')
      .execute();
    const byGroup = new Map(staticCounts.map((c) => [c.group_id, Number(c.n)]));
    const byTag = new Map(tagCounts.map((c) => [c.group_tag, Number(c.n)]));
    return groups.map((row) => ({
      ...toGroup(row),
      memberCount: row.kind === 'dynamic' ? (byTag.get(row.group_tag) ?? 0) : (byGroup.get(row.id) ?? 0),
    }));
  }

  async members(group: Group): Promise<{ id: string; serial: string; manufacturer: string }[]> {
    const select = this.db.selectFrom('devices').select(['devices.id', 'devices.serial', 'devices.manufacturer']);
    const rows =
      group.kind === 'dynamic'
        ? await select.where('devices.group_tag', '=', group.groupTag).orderBy('devices.serial').execute()
        : await select
            .innerJoin('group_members', 'group_members.device_id', 'devices.id')
            .where('group_members.group_id', '=', group.id)
            .orderBy('devices.serial')
            .execute();
    return rows;
  }

  /** The groups a device is in: static memberships and dynamic groups matching its tag. */
  async ofDevice(device: { id: string; groupTag: string | null }): Promise<Group[]> {
    const rows = await this.db
      .selectFrom('device_groups')
      .selectAll()
      .where((eb) =>
        eb.or([
          eb('id', 'in', eb.selectFrom('group_members').select('group_id').where('device_id', '=', device.id)),
          ...(device.groupTag === null ? [] : [eb.and([eb('kind', '=', 'dynamic'), eb('group_tag', '=', device.groupTag)])]),
        ]),
      )
      .orderBy('name')
      .execute();
    return rows.map(toGroup);
  }

  async addMember(group: Group, deviceId: string): Promise<void> {
    if (group.kind !== 'static') {
      throw new ServiceError('VALIDATION_FAILED', `"${group.name}" is a dynamic group: its members are the devices with group tag "${group.groupTag}"`);
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
