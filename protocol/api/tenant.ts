// The admin API's tenant resources (/v1/admin/tenant, trust-anchors, tokens): the organisation's
// branding, the TPM trust anchors, the tenant's settings and the API tokens. Re-exported by admin.ts.
import { z } from 'zod';

import { BrandingSchema, LOGO_MEDIA_TYPES } from '../branding.js';
import { GroupTagSchema, ResourceNameSchema, sha256Hex, timestamp } from './common.js';

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
