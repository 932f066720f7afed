// Lint over what devices actually receive: a device's profile and policies come from every group
// it is in, so a kiosk group's auto-logon and an all-staff group's password expiry meet only on the
// devices in both. Each change that can combine them — assigning a profile or policy, saving one,
// taking a profile off a group (another group's may then apply), adding or removing a group member,
// editing a group tag, importing devices — is linted over the affected
// devices' *resolved* sets as they would be after it, before it is made. Devices with the same
// groups resolve alike, so each combination of groups is linted once and its devices named.
import type { Device } from '../../protocol/api/admin.js';
import { lintProfile, type DeploymentProfile, type LintFinding, type PolicySettings } from '../../protocol/profile.js';
import type { GroupAssignment, StoredDocument } from '../store/documents.js';
import { ruleMatches, type Group } from '../store/groups.js';
import type { Store } from '../store/store.js';

/** A device as the lint needs it; `id` null for a registration not yet stored (an import). */
export type LintDevice = Pick<Device, 'serial' | 'manufacturer' | 'model' | 'groupTag'> & { id: string | null };

/** A change, as the lint should see it: applied on top of what is stored. */
export interface FleetChange {
  /** The devices it affects, as they would be after it. */
  devices: readonly LintDevice[];
  /** Static memberships it adds. */
  addMembers?: readonly { group: Group; deviceId: string }[];
  /** Static memberships it removes (a device out of a group may get another group's profile). */
  removeMembers?: readonly { group: Group; deviceId: string }[];
  /** An assignment it removes (a profile taken off a group lets a newer one from another group apply). */
  unassign?: { kind: 'profile' | 'policy'; name: string; group: Group };
  /** An assignment it adds (the newest, so it loses to older profile assignments). */
  assign?: { kind: 'profile' | 'policy'; document: StoredDocument<DeploymentProfile | PolicySettings>; group: Group };
  /** A document body it saves (replacing the stored one of the same name). */
  save?: { kind: 'profile'; name: string; body: DeploymentProfile } | { kind: 'policy'; name: string; settings: PolicySettings };
}

/** How many devices a finding names before "and N more". */
const NAMED_DEVICES = 5;

function firstPerDocument<T>(assignments: readonly GroupAssignment<T>[]): GroupAssignment<T>[] {
  const seen = new Set<string>();
  return assignments.filter((a) => !seen.has(a.document.name) && seen.add(a.document.name));
}

/** The devices of these groups, as the lint needs them. */
export async function groupDevices(store: Store, groups: readonly Group[]): Promise<LintDevice[]> {
  if (groups.length === 0) return [];
  return store.db
    .selectFrom('devices')
    .select(['devices.id', 'devices.serial', 'devices.manufacturer', 'devices.model', 'devices.group_tag as groupTag'])
    .where(store.groups.unionSet(groups))
    .execute();
}

/**
 * The lint findings that depend on what a device receives (rules about the profile *with* its
 * policies), over every affected device's resolved set after `change`; each finding names the
 * devices and the groups that combine.
 */
export async function lintFleet(store: Store, change: FleetChange): Promise<LintFinding[]> {
  if (change.devices.length === 0) return [];
  const groups = await store.groups.all();
  const ids = change.devices.map((d) => d.id).filter((id): id is string => id !== null);
  const memberships = new Map<string, Set<string>>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await store.db.selectFrom('group_members').select(['group_id', 'device_id']).where('device_id', 'in', ids.slice(i, i + 500)).execute();
    for (const row of rows) (memberships.get(row.device_id) ?? memberships.set(row.device_id, new Set()).get(row.device_id)!).add(row.group_id);
  }
  for (const { group, deviceId } of change.addMembers ?? []) (memberships.get(deviceId) ?? memberships.set(deviceId, new Set()).get(deviceId)!).add(group.id);
  for (const { group, deviceId } of change.removeMembers ?? []) memberships.get(deviceId)?.delete(group.id);

  // Devices by the combination of groups they are in.
  const combos = new Map<string, { groups: Group[]; devices: LintDevice[] }>();
  for (const device of change.devices) {
    const statics = device.id ? (memberships.get(device.id) ?? new Set()) : new Set<string>();
    const of = groups.filter((g) => (g.kind === 'static' ? statics.has(g.id) : g.rule !== null && ruleMatches(g.rule, device)));
    if (of.length === 0) continue;
    const key = of.map((g) => g.id).join(',');
    (combos.get(key) ?? combos.set(key, { groups: of, devices: [] }).get(key)!).devices.push(device);
  }
  if (combos.size === 0) return [];

  const involved = [...new Map([...combos.values()].flatMap((c) => c.groups).map((g) => [g.id, g])).values()];
  const save = change.save;
  let profiles = (await store.profiles.forGroups(involved)).map((a) => (save?.kind === 'profile' && a.document.name === save.name ? { ...a, document: { ...a.document, body: save.body } } : a));
  let policies = (await store.policies.forGroups(involved)).map((a) => (save?.kind === 'policy' && a.document.name === save.name ? { ...a, document: { ...a.document, body: save.settings } } : a));
  const unassign = change.unassign;
  if (unassign) {
    const kept = <T>(a: GroupAssignment<T>) => !(a.document.name === unassign.name && a.group === unassign.group.name);
    if (unassign.kind === 'profile') profiles = profiles.filter(kept);
    else policies = policies.filter(kept);
  }
  const assign = change.assign;
  if (assign) {
    const added = { document: assign.document, group: assign.group.name, assignedAt: '9999', assignmentId: '' };
    if (assign.kind === 'profile') profiles = [...profiles, added as GroupAssignment<DeploymentProfile>];
    else policies = [...policies, added as GroupAssignment<PolicySettings>];
  }

  const findings: LintFinding[] = [];
  for (const combo of combos.values()) {
    const names = new Set(combo.groups.map((g) => g.name));
    const profile = firstPerDocument(profiles.filter((a) => names.has(a.group)))[0];
    if (!profile) continue;
    const reaching = firstPerDocument(policies.filter((a) => names.has(a.group)));
    const found = lintProfile(profile.document.body, reaching.map((a) => ({ name: a.document.name, settings: a.document.body })));
    const serials = combo.devices.map((d) => d.serial);
    const named = serials.slice(0, NAMED_DEVICES).join(', ') + (serials.length > NAMED_DEVICES ? ` and ${serials.length - NAMED_DEVICES} more` : '');
    for (const finding of found.filter((f) => f.path.startsWith('policies.'))) {
      const policy = reaching.find((a) => `policies.${a.document.name}` === finding.path);
      findings.push({
        ...finding,
        message: `${serials.length === 1 ? 'device' : 'devices'} ${named} (groups ${[...names].join(', ')}) ${serials.length === 1 ? 'receives' : 'receive'} profile "${profile.document.name}" from group "${profile.group}"${policy ? ` and policy "${policy.document.name}" from group "${policy.group}"` : ''}: ${finding.message}`,
      });
    }
  }
  return findings;
}
