// What a token may see: an admin token and an unscoped technician or read-only token see every
// device; a scoped one only the devices of its groups or with its group tags. A device outside the
// scope is answered exactly as one that does not exist.
import type { Device } from '../../protocol/api/admin.js';
import { ServiceError, notFound } from '../errors.js';
import type { DeviceSet } from '../store/devices.js';
import { ruleMatches } from '../store/groups.js';
import type { Store } from '../store/store.js';
import { isScoped, type AdminToken } from '../store/tokens.js';

/** The devices `token` may see as a condition, or undefined for all of them. */
export async function deviceScope(store: Store, token: AdminToken | null): Promise<DeviceSet | undefined> {
  if (!token || !isScoped(token)) return undefined;
  const groups = (await store.groups.all()).filter((g) => token.groups?.includes(g.name));
  const tags = token.groupTags ?? [];
  const inGroups = store.groups.unionSet(groups);
  return (eb) => eb.or([inGroups(eb), ...(tags.length ? [eb('devices.group_tag', 'in', tags)] : [])]);
}

/** Whether `token` may see a device (or a registration about to be stored, id null). */
export async function inScope(store: Store, token: AdminToken | null, device: Pick<Device, 'groupTag' | 'manufacturer' | 'model' | 'serial'> & { id: string | null }): Promise<boolean> {
  if (!token || !isScoped(token)) return true;
  if (device.groupTag !== null && token.groupTags?.includes(device.groupTag)) return true;
  const groups = (await store.groups.all()).filter((g) => token.groups?.includes(g.name));
  for (const group of groups) {
    if (group.kind === 'dynamic' && group.rule && ruleMatches(group.rule, device)) return true;
    if (group.kind === 'static' && device.id && (await store.groups.ofDevice({ ...device, id: device.id })).some((g) => g.id === group.id)) return true;
  }
  return false;
}

/** The device, if the token may see it; NOT_FOUND otherwise (out of scope looks like absent). */
export async function visibleDevice(store: Store, token: AdminToken | null, id: string): Promise<Device> {
  const device = await store.devices.get(id);
  if (!device || !(await inScope(store, token, device))) throw notFound(`device ${id}`);
  return device;
}

/** Refuses a registration a scoped token could not see once stored. */
export function outOfScope(token: AdminToken, groupTag: string | null): ServiceError {
  return new ServiceError('FORBIDDEN', `this token is limited to ${[...(token.groups ?? []).map((g) => `group "${g}"`), ...(token.groupTags ?? []).map((t) => `group tag "${t}"`)].join(', ') || 'no devices'}; a device with ${groupTag === null ? 'no group tag' : `group tag "${groupTag}"`} would be outside it`);
}
