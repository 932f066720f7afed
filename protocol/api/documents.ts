// The admin API's documents (/v1/admin/profiles, policies, certificates, networks, apps, scripts,
// content): profiles and policies assigned to groups, device-setup items with their write-only
// secrets, and the uploaded packages and scripts they install. Re-exported by admin.ts.
import { z } from 'zod';

import { ItemBodySchemas, NetworkItemInputSchema, NetworkItemViewSchema } from '../items.js';
import { DeploymentProfileSchema, PolicySettingsViewSchema } from '../profile.js';
import { ResourceNameSchema, sha256Hex, timestamp } from './common.js';

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
