// The admin API (/v1/admin/…): requests and responses of every resource an administrator or a
// technician manages. The service validates requests with these schemas and the admin CLI
// validates responses with them.
import { z } from 'zod';

import { BrandingSchema, LOGO_MEDIA_TYPES } from '../branding.js';
import { HARDWARE_HASH_MAX_LENGTH } from '../hardware-hash.js';
import { EspSnapshotSchema } from '../esp.js';
import { ItemBodySchemas, NetworkItemInputSchema, NetworkItemViewSchema, type ItemKind } from '../items.js';
import { DeploymentProfileSchema, PolicySettingsSchema } from '../profile.js';

const timestamp = z.string();
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

export const DeviceStateSchema = z.enum(['registered', 'deploying', 'deployed']);
export type DeviceState = z.output<typeof DeviceStateSchema>;

/** The last progress a device reported from its ESP. */
export const EspProgressSchema = z.object({
  phase: z.string().max(64),
  step: z.string().max(128).nullable(),
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
});
export type Device = z.output<typeof DeviceSchema>;

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
});

// ---- groups ----

export const GroupKindSchema = z.enum(['static', 'dynamic']);

export const CreateGroupRequestSchema = z
  .object({
    name: ResourceNameSchema,
    kind: GroupKindSchema,
    /** Dynamic groups hold every device with this group tag. */
    groupTag: GroupTagSchema.optional(),
    description: z.string().max(1000).default(''),
  })
  .superRefine((g, ctx) => {
    if (g.kind === 'dynamic' && !g.groupTag) ctx.addIssue({ code: 'custom', path: ['groupTag'], message: 'is required for a dynamic group' });
    if (g.kind === 'static' && g.groupTag) ctx.addIssue({ code: 'custom', path: ['groupTag'], message: 'only dynamic groups have a group tag' });
  });

export const GroupSchema = z.object({
  name: z.string(),
  kind: GroupKindSchema,
  groupTag: z.string().nullable(),
  description: z.string(),
  memberCount: z.number().int(),
  createdAt: timestamp,
});

export const GroupViewSchema = GroupSchema.extend({
  members: z.array(z.object({ id: z.string(), serial: z.string(), manufacturer: z.string() })),
  profiles: z.array(z.object({ name: z.string(), assignedAt: timestamp })),
  policies: z.array(z.object({ name: z.string(), assignedAt: timestamp })),
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

export const PolicyResourceSchema = z.object({
  name: z.string(),
  version: z.number().int(),
  settings: PolicySettingsSchema,
  assignments: z.array(AssignmentSchema),
  createdAt: timestamp,
  updatedAt: timestamp,
});
export const PolicyListSchema = z.object({ items: z.array(PolicyResourceSchema) });

// ---- device-setup items other than policies, and their content ----

/** URL segment of each item kind under /v1/admin (policies have their own routes). */
export const ITEM_COLLECTIONS = { certificate: 'certificates', network: 'networks', app: 'apps', script: 'scripts' } as const;
export type CollectionKind = keyof typeof ITEM_COLLECTIONS;

/** A secret field of an item, as the admin API shows it: that it is set, and a keyed fingerprint to compare (never the value). */
export const SecretStateSchema = z.object({ set: z.literal(true), fingerprint: z.string().regex(/^hmac-sha256:[0-9a-f]{16}$/) });

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
});
export type TenantSettings = z.output<typeof TenantSettingsSchema>;

// ---- tokens ----

export const TokenScopeSchema = z.enum(['admin', 'technician']);
export type TokenScope = z.output<typeof TokenScopeSchema>;

export const CreateTokenRequestSchema = z.object({ name: ResourceNameSchema, scope: TokenScopeSchema });

export const TokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  scope: TokenScopeSchema,
  createdAt: timestamp,
  lastUsedAt: timestamp.nullable(),
  revokedAt: timestamp.nullable(),
});
export const CreatedTokenSchema = TokenSchema.extend({ token: z.string() });
export const TokenListSchema = z.object({ items: z.array(TokenSchema) });

// ---- service ----

export const HealthSchema = z.object({
  status: z.literal('ok'),
  version: z.string(),
  store: z.enum(['sqlite', 'postgres']),
});
