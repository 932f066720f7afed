// What reaches a device: its groups, the profile that applies (the oldest assignment wins, so the
// answer never depends on query order), the profiles that lost, and the policies. Also the lint
// context of a profile: the policies that reach the same groups.
import type { Device } from '../../protocol/api/admin.js';
import { ItemKindSchema, type AssignedItem } from '../../protocol/items.js';
import { lintProfile, type DeploymentProfile, type LintFinding, type PolicySettings } from '../../protocol/profile.js';
import { ServiceError } from '../errors.js';
import type { z } from 'zod';

import type { DocumentRepository, GroupAssignment } from '../store/documents.js';
import type { Group } from '../store/groups.js';
import type { Store } from '../store/store.js';

export interface DeviceResolution {
  groups: Group[];
  profile: GroupAssignment<DeploymentProfile> | null;
  /** Other profiles reaching the device (each once, by its oldest assignment). */
  conflicts: GroupAssignment<DeploymentProfile>[];
  policies: GroupAssignment<PolicySettings>[];
}

function firstPerDocument<T>(assignments: GroupAssignment<T>[]): GroupAssignment<T>[] {
  const seen = new Set<string>();
  return assignments.filter((a) => !seen.has(a.document.id) && seen.add(a.document.id));
}

/** The profile that reaches a device (its groups' first assignment), without its policies: what a join names the device by. */
export async function profileForDevice(store: Store, device: Pick<Device, 'id' | 'groupTag' | 'manufacturer' | 'model' | 'serial'>): Promise<DeviceResolution['profile']> {
  const [profile] = firstPerDocument(await store.profiles.forGroups(await store.groups.ofDevice(device)));
  return profile ?? null;
}

export async function resolveForDevice(store: Store, device: Pick<Device, 'id' | 'groupTag' | 'manufacturer' | 'model' | 'serial'>): Promise<DeviceResolution> {
  const groups = await store.groups.ofDevice(device);
  const [profile, ...conflicts] = firstPerDocument(await store.profiles.forGroups(groups));
  const policies = firstPerDocument(await store.policies.forGroups(groups));
  return { groups, profile: profile ?? null, conflicts, policies };
}

/**
 * The Device setup items that reach a device, each once, in ESP order (policies, certificates,
 * networks, apps, scripts; within a kind, oldest assignment first). Policies, certificates and
 * network connections always block; apps and scripts block as the profile's esp.blockingApps says.
 */
export async function assignedItems(store: Store, device: Pick<Device, 'id' | 'groupTag' | 'manufacturer' | 'model' | 'serial'>): Promise<AssignedItem[]> {
  const resolution = await resolveForDevice(store, device);
  const blockingApps = resolution.profile?.document.body.esp.blockingApps ?? 'all';
  const items: AssignedItem[] = [];
  for (const kind of ItemKindSchema.options) {
    const repo = store.items[kind] as DocumentRepository<z.ZodType>;
    // Oldest assignment first; assignments made in the same instant by name, so the order is stable.
    const assigned = firstPerDocument<unknown>(await repo.forGroups(resolution.groups)).sort(
      (a, b) => a.assignedAt.localeCompare(b.assignedAt) || (a.document.name < b.document.name ? -1 : a.document.name > b.document.name ? 1 : 0),
    );
    for (const { document } of assigned) {
      const isApp = kind === 'app' || kind === 'script';
      const blocking = !isApp || blockingApps === 'all' || blockingApps.selected.includes(document.name);
      items.push({ id: document.id, kind, name: document.name, version: document.version, blocking, payload: document.body } as AssignedItem);
    }
  }
  return items;
}

interface NamedPolicy {
  name: string;
  settings: PolicySettings;
}

/**
 * Lints a profile together with the policies assigned to `groups`; `pending` stands for a policy
 * about to be saved or assigned, replacing a stored one of the same name.
 */
export async function lintWithGroups(store: Store, profile: DeploymentProfile, groups: readonly Group[], pending?: NamedPolicy): Promise<LintFinding[]> {
  const policies = firstPerDocument(await store.policies.forGroups(groups))
    .map((a) => ({ name: a.document.name, settings: a.document.body }))
    .filter((p) => p.name !== pending?.name);
  return lintProfile(profile, pending ? [...policies, pending] : policies);
}

/** Lints every profile assigned to each of `groups` as if `pending` were assigned there too. */
export async function lintGroupsWithPolicy(store: Store, groups: readonly Group[], pending: NamedPolicy): Promise<LintFinding[]> {
  const findings: LintFinding[] = [];
  for (const group of groups) {
    for (const { document } of firstPerDocument(await store.profiles.forGroups([group]))) {
      const found = await lintWithGroups(store, document.body, [group], pending);
      findings.push(...found.map((f) => ({ ...f, message: `profile "${document.name}" in group "${group.name}": ${f.message}` })));
    }
  }
  return findings;
}

/** Refuses a change whose lint has errors; returns the warnings. */
export function requireNoLintErrors(findings: LintFinding[], what: string): LintFinding[] {
  const errors = findings.filter((f) => f.severity === 'error');
  if (errors.length > 0) {
    throw new ServiceError('LINT_FAILED', `${what}: ${errors.map((e) => e.message).join('; ')}`, errors.map((e) => ({ path: e.path, reason: `${e.code}: ${e.message}` })));
  }
  return findings;
}
