// The admin API (/v1/admin/…): requests and responses of every resource an administrator or a
// technician manages. The service validates requests with these schemas and the admin CLI
// validates responses with them.
import { z } from 'zod';

import { BrandingSchema, LOGO_MEDIA_TYPES } from '../branding.js';
import { HARDWARE_HASH_MAX_LENGTH } from '../hardware-hash.js';
import { EspSnapshotSchema } from '../esp.js';
import { ItemBodySchemas, NetworkItemInputSchema, NetworkItemViewSchema, type ItemKind } from '../items.js';
import { DeploymentProfileSchema, PolicySettingsViewSchema } from '../profile.js';

export const timestamp = z.string();
const sha256Hex = z
  .string()
  .transform((s) => s.trim().toLowerCase())
  .pipe(z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 digest in hex'));

/** Names of groups, profiles, policies and tokens: what the CLI and URLs use. */
export const ResourceNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'use 1-64 letters, digits, ".", "_" or "-"');

export const GroupTagSchema = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9 ._-]{1,64}$/, 'use 1-64 letters, digits, spaces, ".", "_" or "-"');

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

// ---- profiles and policies ----

export const LintFindingSchema = z.object({
  severity: z.enum(['error', 'warning']),
  code: z.string(),
  path: z.string(),
  message: z.string(),
});

export const AssignmentSchema = z.object({ group: z.string(), assignedAt: timestamp });

export const ProfileResourceSchema = z.object({
  name: z.string(),
  /** Bumped whenever the body changes. */
  version: z.number().int(),
  profile: DeploymentProfileSchema,
  assignments: z.array(AssignmentSchema),
  createdAt: timestamp,
  updatedAt: timestamp,
});

export const ProfileSavedSchema = ProfileResourceSchema.extend({ lint: z.array(LintFindingSchema) });
export const ProfileListSchema = z.object({ items: z.array(ProfileResourceSchema) });
export const LintResultSchema = z.object({ findings: z.array(LintFindingSchema) });

export const AssignRequestSchema = z.object({ group: ResourceNameSchema });
export const AssignedSchema = z.object({ name: z.string(), group: z.string(), assignedAt: timestamp, lint: z.array(LintFindingSchema) });

/** A secret field of a policy or item, as the admin API shows it: that it is set, and a keyed fingerprint to compare (never the value). */
export const SecretStateSchema = z.object({ set: z.literal(true), fingerprint: z.string().regex(/^hmac-sha256:[0-9a-f]{16}$/) });

export const PolicyResourceSchema = z.object({
  name: z.string(),
  version: z.number().int(),
  /** Without its secret fields (a directory bind's password): `secrets` says which are set. */
  settings: PolicySettingsViewSchema,
  secrets: z.record(z.string(), SecretStateSchema),
  assignments: z.array(AssignmentSchema),
  createdAt: timestamp,
  updatedAt: timestamp,
});
export const PolicyListSchema = z.object({ items: z.array(PolicyResourceSchema) });

// ---- device-setup items other than policies, and their content ----

/** URL segment of each item kind under /v1/admin (policies have their own routes). */
export const ITEM_COLLECTIONS = { certificate: 'certificates', network: 'networks', app: 'apps', script: 'scripts' } as const;
export type CollectionKind = keyof typeof ITEM_COLLECTIONS;


/** Each kind's body as the admin API shows it: without its secret fields (ITEM_SECRETS). */
export const ItemViewSchemas = { ...ItemBodySchemas, network: NetworkItemViewSchema } as const;
/** Each kind's body as an administrator saves it: a secret field left out keeps the stored one. */
export const ItemInputSchemas = { ...ItemBodySchemas, network: NetworkItemInputSchema } as const;

export function itemResourceSchema<K extends CollectionKind>(kind: K) {
  return z.object({
    name: z.string(),
    kind: z.literal(kind),
    version: z.number().int(),
    body: ItemViewSchemas[kind],
    /** The secret fields that are set (a Wi-Fi key: `psk`), each with its fingerprint. */
    secrets: z.record(z.string(), SecretStateSchema),
    assignments: z.array(AssignmentSchema),
    createdAt: timestamp,
    updatedAt: timestamp,
  });
}

export const ItemResourceSchema = z.discriminatedUnion('kind', [
  itemResourceSchema('certificate'),
  itemResourceSchema('network'),
  itemResourceSchema('app'),
  itemResourceSchema('script'),
]);
export type ItemResource = z.output<typeof ItemResourceSchema>;
export const ItemListSchema = z.object({ items: z.array(ItemResourceSchema) });

export const ContentSchema = z.object({
  sha256: z.string(),
  size: z.number().int(),
  mediaType: z.string(),
  label: z.string(),
  createdAt: timestamp,
});
export const ContentListSchema = z.object({ items: z.array(ContentSchema) });
export const ContentUploadQuerySchema = z.object({
  label: z.string().trim().min(1).max(128),
  /** When given, the upload is refused unless its digest is this. */
  sha256: sha256Hex.optional(),
});
/** Content is stored in the database: a package larger than this belongs on a package mirror. */
export const CONTENT_MAX_BYTES = 512 * 1024 * 1024;

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

// ---- branding ----

export const PutBrandingRequestSchema = BrandingSchema.extend({
  /** base64 image, PNG/JPEG/SVG by content, at most 512 KB; null removes the logo; absent keeps it. */
  logo: z.string().max(1_000_000).nullable().optional(),
});

export const BrandingViewSchema = BrandingSchema.extend({
  logo: z.object({ mediaType: z.enum(LOGO_MEDIA_TYPES), bytes: z.number().int(), sha256: z.string() }).nullable(),
});

// ---- trust anchors ----

export const AddTrustAnchorRequestSchema = z.union([
  z.object({ pem: z.string().min(1).max(100_000), label: z.string().max(128).optional() }),
  /** A vendor bundle as files: each PEM (one or more certificates) or DER, named for the report. */
  z.object({
    files: z.array(z.object({ name: z.string().min(1).max(256), data: z.string().max(1_400_000).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64') })).min(1).max(1000),
    label: z.string().max(128).optional(),
  }),
  z.object({ ekDigest: sha256Hex, label: z.string().min(1).max(128) }),
]);

export const TrustAnchorSchema = z.object({
  id: z.string(),
  kind: z.enum(['certificate', 'ek-digest']),
  label: z.string(),
  subject: z.string().nullable(),
  issuer: z.string().nullable(),
  fingerprint: z.string().nullable(),
  notBefore: timestamp.nullable(),
  notAfter: timestamp.nullable(),
  /** "RSA 2048", "EC P-384" … (certificates) */
  keyType: z.string().nullable(),
  ekDigest: z.string().nullable(),
  /** How many devices attested through it (their EK chain went through this CA, or their EK is this digest). */
  devices: z.number().int(),
  createdAt: timestamp,
});
export const TrustAnchorListSchema = z.object({ items: z.array(TrustAnchorSchema) });

/** What became of each certificate of an import (backend/tenant/trust.ts). */
export const AnchorOutcomeSchema = z.object({
  file: z.string(),
  subject: z.string(),
  fingerprint: z.string(),
  outcome: z.enum(['added', 'added, expired', 'left out, expired', 'already trusted', 'duplicate']),
  detail: z.string().nullable(),
});
export const AddTrustAnchorsResultSchema = TrustAnchorListSchema.extend({ outcomes: z.array(AnchorOutcomeSchema) });

// ---- tenant settings ----

export const TenantSettingsSchema = z.object({
  /**
   * A registration without an EK digest (a hash exported without a TPM) takes the EK of the
   * first device that attests for it. Off by default: such registrations are refused.
   */
  bindEkOnFirstUse: z.boolean().default(false),
  /**
   * When a certificate of an EK chain counts as valid: "at-issuance" (every certificate issued
   * while its issuer was valid — an expired vendor intermediate still vouches for the TPMs it
   * certified) or "now" (every certificate valid today). See backend/attestation/verify.ts.
   */
  ekIssuerValidity: z.enum(['at-issuance', 'now']).default('at-issuance'),
  /**
   * Hosts ("pki.vendor.example", or "host:port") the service may fetch intermediate CA certificates
   * from, when an EK certificate names one in its Authority Information Access (caIssuers). None by default.
   */
  aiaHosts: z.array(z.string().min(1).max(255).regex(/^[A-Za-z0-9.-]+(:[0-9]{1,5})?$/, 'must be a host name, or host:port')).max(64).default([]),
  /** Devices whose TPM is virtual (swtpm, a hypervisor's) may attest: for labs. Off by default: they are refused (TPM_VIRTUAL). */
  allowVirtualTpms: z.boolean().default(false),
  /**
   * A deployed device that proves the same TPM (the same EK) may deploy again after a wipe without
   * an administrator deleting its record; the previous run stays in its history, and the audit log
   * records it. Off by default: a deployed device is refused (REENROLLMENT_BLOCKED, 0x80180014).
   */
  reprovisionSameTpm: z.boolean().default(false),
});
export type TenantSettings = z.output<typeof TenantSettingsSchema>;

// ---- tokens ----

/**
 * admin: everything. technician: register devices, view, collect logs, delete a device record so
 * it may deploy again. read-only: view, reports, the bench board.
 */
export const TokenScopeSchema = z.enum(['admin', 'technician', 'read-only']);
export type TokenScope = z.output<typeof TokenScopeSchema>;

/** How long a new token lives unless said otherwise. */
export const TOKEN_DEFAULT_DAYS = 90;

export const CreateTokenRequestSchema = z
  .object({
    name: ResourceNameSchema,
    scope: TokenScopeSchema,
    /** Days until it expires (default 90); null: it never expires. */
    expiresInDays: z.number().int().min(1).max(3650).nullable().default(TOKEN_DEFAULT_DAYS),
    /** A technician or read-only token limited to the devices of these groups … */
    groups: z.array(ResourceNameSchema).max(64).optional(),
    /** … or with these group tags (either matching lets it see a device). */
    groupTags: z.array(GroupTagSchema).max(64).optional(),
  })
  .superRefine((t, ctx) => {
    if (t.scope === 'admin' && (t.groups?.length || t.groupTags?.length)) ctx.addIssue({ code: 'custom', path: ['groups'], message: 'an admin token cannot be limited to groups or group tags' });
  });

export const TokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  scope: TokenScopeSchema,
  createdAt: timestamp,
  lastUsedAt: timestamp.nullable(),
  revokedAt: timestamp.nullable(),
  expiresAt: timestamp.nullable(),
  /** Null: every device. */
  groups: z.array(z.string()).nullable(),
  groupTags: z.array(z.string()).nullable(),
});
export const CreatedTokenSchema = TokenSchema.extend({ token: z.string() });
export const TokenListSchema = z.object({ items: z.array(TokenSchema) });

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
