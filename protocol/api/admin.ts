// The admin API (/v1/admin/…): requests and responses of every resource an administrator or a
// technician manages — devices, groups, a device's management state, the service — with the
// documents (documents.ts) and the tenant's resources (tenant.ts) re-exported, so importers name
// one module. The service validates requests with these schemas and the admin CLI validates
// responses with them.
import { z } from 'zod';

import { HARDWARE_HASH_MAX_LENGTH } from '../hardware-hash.js';
import { EspSnapshotSchema } from '../esp.js';
import type { ItemKind } from '../items.js';
import { GroupTagSchema, ResourceNameSchema, timestamp } from './common.js';
import { LintFindingSchema } from './documents.js';

export { GroupTagSchema, ResourceNameSchema, timestamp } from './common.js';
// Profiles, policies, device-setup items and their content: documents.ts.
export * from './documents.js';
// The tenant: branding, trust anchors, settings, tokens: tenant.ts.
export * from './tenant.js';

export const AssignedUserSchema = z.string().trim().min(1).max(254);

// ---- devices ----

export const DeviceStateSchema = z.enum(['registered', 'deploying', 'deployed', 'failed']);
export type DeviceState = z.output<typeof DeviceStateSchema>;

/** Why a device is in state "failed": what its ESP reported, or what the service refused after it proved its TPM. */
export const DeviceFailureSchema = z.object({
  code: z.string(),
  /** The Windows Autopilot code where the meaning matches. */
  hresult: z.string().nullable(),
  title: z.string(),
  /** What happened this time. */
  detail: z.string().nullable(),
  phase: z.string().nullable(),
  step: z.string().nullable(),
  /** The item's name. */
  item: z.string().nullable(),
  at: timestamp,
});
export type DeviceFailure = z.output<typeof DeviceFailureSchema>;

/** The last progress a device reported from its ESP. */
export const EspProgressSchema = z.object({
  phase: z.string().max(64),
  step: z.string().max(128).nullable(),
  /** The item being applied, when a Device setup step is at one. */
  item: z.string().max(256).nullable().optional(),
  completed: z.number().int().min(0),
  total: z.number().int().min(0),
  reportedAt: timestamp,
});

export const DeviceSchema = z.object({
  id: z.string(),
  serial: z.string(),
  manufacturer: z.string(),
  model: z.string(),
  smbiosUuid: z.string().nullable(),
  macs: z.array(z.string()),
  diskSerials: z.array(z.string()),
  tpmManufacturer: z.string().nullable(),
  ekDigest: z.string().nullable(),
  hardwareHash: z.string(),
  groupTag: z.string().nullable(),
  assignedUser: z.string().nullable(),
  state: DeviceStateSchema,
  /** Its EK is trusted through the allow-list, not through a certificate chain. */
  unverifiedHardware: z.boolean(),
  espProgress: EspProgressSchema.nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
  deployedAt: timestamp.nullable(),
  /** The name given at join from the profile's template, or null. */
  deviceName: z.string().nullable(),
  /** When the device joined (received its certificate), or null. */
  joinedAt: timestamp.nullable(),
  /** The EK certificate registered with the device (a TPM that keeps none in NV, fetched offline), or null. */
  ekCertificate: z.object({ subject: z.string(), issuer: z.string(), notAfter: timestamp, sha256: z.string() }).nullable(),
  /** Set while the state is "failed". */
  failure: DeviceFailureSchema.nullable(),
  /** The device's last check-in (POST /v1/mdm/checkin), or null. */
  lastContactAt: timestamp.nullable(),
  /** Logs asked for and not yet uploaded: the device uploads them at its next check-in. */
  logsRequestedAt: timestamp.nullable(),
});
export type Device = z.output<typeof DeviceSchema>;

/** GET /v1/admin/devices/:id/attestation: the device's latest TPM attestation, as the service verified it. */
export const DeviceAttestationSchema = z.object({
  attestedAt: timestamp,
  ekDigest: z.string(),
  /** The attestation key's TPM name (hex): the key that signed the quote. */
  akName: z.string(),
  /** Its EK was trusted through the EK allow-list, not a certificate chain. */
  unverifiedHardware: z.boolean(),
  firmwareVersion: z.string(),
  clock: z.object({ resetCount: z.number().int(), restartCount: z.number().int(), safe: z.boolean() }),
  /** The PCR values the quote signed, by bank. */
  pcrs: z.array(z.object({ hash: z.string(), values: z.record(z.string(), z.string()) })),
  /** The trust anchors its EK certificate chain ended in (subject null: the anchor was removed since). */
  anchors: z.array(z.object({ fingerprint: z.string(), subject: z.string().nullable(), label: z.string().nullable() })),
});

/** POST /v1/admin/devices/:id/collect-logs */
export const CollectLogsResponseSchema = z.object({ requestedAt: timestamp, lastContactAt: timestamp.nullable() });

/** GET /v1/admin/devices/:id/assignments: what the device will receive — its profile and every Device setup item (no secrets). */
export const DeviceAssignmentsSchema = z.object({
  profile: z.object({ name: z.string(), version: z.number().int(), group: z.string() }).nullable(),
  items: z.array(z.object({ id: z.string(), kind: z.string(), name: z.string(), version: z.number().int(), blocking: z.boolean() })),
});

/** GET /v1/admin/devices/:id/certificates: the device certificates issued to it, newest first. */
export const DeviceCertificateListSchema = z.object({
  items: z.array(z.object({ serialNumber: z.string(), notBefore: timestamp, notAfter: timestamp, revokedAt: timestamp.nullable(), createdAt: timestamp })),
});

/** PATCH /v1/admin/devices/:id: what an administrator may change of a registration (null clears). */
export const UpdateDeviceRequestSchema = z
  .object({
    groupTag: GroupTagSchema.nullable().optional(),
    assignedUser: AssignedUserSchema.nullable().optional(),
  })
  .strict()
  .refine((b) => b.groupTag !== undefined || b.assignedUser !== undefined, 'give groupTag, assignedUser or both');

export const BULK_MAX_DEVICES = 500;

/** POST /v1/admin/devices/bulk: one action on many devices, each reported. */
export const BulkDevicesRequestSchema = z.object({
  ids: z.array(z.string().max(64)).min(1).max(BULK_MAX_DEVICES),
  action: z.discriminatedUnion('type', [
    z.object({ type: z.literal('set-group-tag'), groupTag: GroupTagSchema.nullable() }),
    z.object({ type: z.literal('add-to-group'), group: z.string().max(64) }),
    z.object({ type: z.literal('remove-from-group'), group: z.string().max(64) }),
    z.object({ type: z.literal('delete-record') }),
  ]),
});

export const BulkDevicesResultSchema = z.object({
  results: z.array(z.object({ id: z.string(), ok: z.boolean(), code: z.string().nullable(), detail: z.string().nullable() })),
  lint: z.array(z.lazy(() => LintFindingSchema)),
});

/** PUT /v1/admin/devices/:id/ek-certificate: one PEM certificate (selfdeploy tpm info --fetch-ek-certificate printed it), or null to remove it. */
export const PutEkCertificateRequestSchema = z.object({
  pem: z.string().max(100_000).regex(/^\s*-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----\s*$/, 'must be one PEM certificate').nullable(),
});

export const ProfileResolutionSchema = z.object({
  profile: z.string(),
  group: z.string(),
  assignedAt: timestamp,
});

export const DeviceViewSchema = DeviceSchema.extend({
  groups: z.array(z.object({ name: z.string(), kind: z.enum(['static', 'dynamic']) })),
  /** The profile that applies (oldest assignment wins), or null. */
  profile: ProfileResolutionSchema.nullable(),
  /** Other profiles that reach the device and lost to the oldest assignment. */
  profileConflicts: z.array(ProfileResolutionSchema),
  /** Device certificates issued to this record, revoked ones included: one per join. */
  certificatesIssued: z.number().int().min(0),
});
export type DeviceView = z.output<typeof DeviceViewSchema>;

export const DeviceListQuerySchema = z.object({
  state: DeviceStateSchema.optional(),
  groupTag: z.string().max(64).optional(),
  serialPrefix: z.string().max(64).optional(),
  /** Members of this group (static or dynamic). */
  group: z.string().max(64).optional(),
  manufacturer: z.string().max(256).optional(),
  model: z.string().max(256).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(512).optional(),
});

export const DeviceListSchema = z.object({
  items: z.array(DeviceSchema),
  nextCursor: z.string().nullable(),
});

export const AddDeviceRequestSchema = z.object({
  hardwareHash: z.string().min(1).max(HARDWARE_HASH_MAX_LENGTH),
  /** When given, must equal the serial inside the hash. */
  serial: z.string().trim().min(1).max(64).optional(),
  groupTag: GroupTagSchema.nullable().optional(),
  assignedUser: AssignedUserSchema.nullable().optional(),
});

export const ImportResultSchema = z.object({
  imported: z.number().int(),
  devices: z.array(z.object({ id: z.string(), serial: z.string() })),
  /** Lint warnings about what the new devices receive (errors refuse the import). */
  lint: z.array(z.lazy(() => LintFindingSchema)),
});

/** POST /v1/admin/devices/import/preview: what an import would do, row by row; nothing is stored. */
export const ImportPreviewSchema = z.object({
  /** Whether the import would go through. */
  valid: z.boolean(),
  /** Devices it would register. */
  devices: z.number().int(),
  rows: z.array(
    z.object({
      row: z.number().int(),
      serial: z.string().nullable(),
      manufacturer: z.string().nullable(),
      model: z.string().nullable(),
      groupTag: z.string().nullable(),
      assignedUser: z.string().nullable(),
      errors: z.array(z.object({ column: z.string().nullable(), reason: z.string() })),
    }),
  ),
  lint: z.array(z.lazy(() => LintFindingSchema)),
});

// ---- groups ----

export const GroupKindSchema = z.enum(['static', 'dynamic']);

/**
 * A dynamic group's membership rule: every device that matches all the fields given — group tag,
 * manufacturer and model exactly, serial number by prefix.
 */
export const GroupRuleSchema = z
  .object({
    groupTag: GroupTagSchema.optional(),
    manufacturer: z.string().trim().min(1).max(256).optional(),
    model: z.string().trim().min(1).max(256).optional(),
    serialPrefix: z.string().trim().min(1).max(64).optional(),
  })
  .strict()
  .refine((r) => Object.values(r).some((v) => v !== undefined), 'a rule needs at least one of groupTag, manufacturer, model, serialPrefix');
export type GroupRule = z.output<typeof GroupRuleSchema>;

/** A rule in words: group tag "Kiosk", manufacturer "Lenovo", serial number starting "PF". */
export function describeRule(rule: GroupRule | null): string {
  if (!rule) return 'no rule';
  return [
    rule.groupTag !== undefined && `group tag "${rule.groupTag}"`,
    rule.manufacturer !== undefined && `manufacturer "${rule.manufacturer}"`,
    rule.model !== undefined && `model "${rule.model}"`,
    rule.serialPrefix !== undefined && `serial number starting "${rule.serialPrefix}"`,
  ]
    .filter(Boolean)
    .join(', ');
}

export const CreateGroupRequestSchema = z
  .object({
    name: ResourceNameSchema,
    kind: GroupKindSchema,
    /** Dynamic groups: every device with this group tag (short for rule {groupTag}). */
    groupTag: GroupTagSchema.optional(),
    /** Dynamic groups: every device the rule matches. */
    rule: GroupRuleSchema.optional(),
    description: z.string().max(1000).default(''),
  })
  .superRefine((g, ctx) => {
    if (g.kind === 'dynamic' && !g.groupTag && !g.rule) ctx.addIssue({ code: 'custom', path: ['groupTag'], message: 'is required for a dynamic group, unless it has a rule' });
    if (g.kind === 'dynamic' && g.groupTag && g.rule) ctx.addIssue({ code: 'custom', path: ['groupTag'], message: 'give either groupTag or rule, not both' });
    if (g.kind === 'static' && (g.groupTag || g.rule)) ctx.addIssue({ code: 'custom', path: [g.rule ? 'rule' : 'groupTag'], message: 'only dynamic groups have a rule or group tag' });
  });

/** POST /v1/admin/groups/preview: the devices a rule would hold. */
export const GroupPreviewRequestSchema = z.object({ rule: GroupRuleSchema, limit: z.number().int().min(1).max(500).default(50) });
export const GroupPreviewSchema = z.object({
  count: z.number().int(),
  members: z.array(z.object({ id: z.string(), serial: z.string(), manufacturer: z.string(), model: z.string(), groupTag: z.string().nullable() })),
});

export const GroupSchema = z.object({
  name: z.string(),
  kind: GroupKindSchema,
  /** The rule's group tag when that is all it matches on (dynamic groups as they were first made). */
  groupTag: z.string().nullable(),
  rule: GroupRuleSchema.nullable(),
  description: z.string(),
  memberCount: z.number().int(),
  createdAt: timestamp,
});

export const GroupViewSchema = GroupSchema.extend({
  members: z.array(z.object({ id: z.string(), serial: z.string(), manufacturer: z.string() })),
  profiles: z.array(z.object({ name: z.string(), assignedAt: timestamp })),
  policies: z.array(z.object({ name: z.string(), assignedAt: timestamp })),
  /** Certificates, network connections, apps and scripts assigned to the group. */
  items: z.array(z.object({ kind: z.enum(['certificate', 'network', 'app', 'script']), name: z.string(), assignedAt: timestamp })),
});

export const GroupListSchema = z.object({ items: z.array(GroupSchema) });

// ---- a device's management state ----

export const ItemStatusSchema = z.object({
  itemId: z.string(),
  kind: z.string(),
  name: z.string(),
  version: z.number().int(),
  state: z.string(),
  detail: z.string().nullable(),
  errorCode: z.string().nullable(),
  updatedAt: timestamp,
});

export const DeviceEspSchema = z.object({
  mdmEnrolledAt: timestamp.nullable(),
  snapshot: EspSnapshotSchema.nullable(),
  items: z.array(ItemStatusSchema),
});

export const DiagnosticsInfoSchema = z.object({ id: z.string(), size: z.number().int(), sha256: z.string(), mediaType: z.string(), createdAt: timestamp });
export const DiagnosticsListSchema = z.object({ items: z.array(DiagnosticsInfoSchema) });

export type { ItemKind };

// ---- service ----

export const HealthSchema = z.object({
  status: z.literal('ok'),
  version: z.string(),
  store: z.enum(['sqlite', 'postgres']),
});

/** The process answers (liveness): nothing else is checked. */
export const LivenessSchema = z.object({
  status: z.literal('ok'),
  version: z.string(),
});
