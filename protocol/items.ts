// Device-setup items: what the service assigns to a device's groups and the agent applies in the
// ESP's Device setup phase — policies, certificates, network connections, apps and scripts.
// Each is a named, versioned document; the agent applies a version once and records it.
import { z } from 'zod';

import { PolicySettingsSchema } from './profile.js';

export const ItemKindSchema = z.enum(['policy', 'certificate', 'network', 'app', 'script']);
export type ItemKind = z.output<typeof ItemKindSchema>;

/** Content uploaded to the service, referenced by digest (GET /v1/content/{sha256}). */
export const ContentRefSchema = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a lower-case SHA-256 hex digest'),
  size: z.number().int().min(0).max(4 * 1024 * 1024 * 1024),
});
export type ContentRef = z.output<typeof ContentRefSchema>;

const pem = z.string().max(100_000).regex(/-----BEGIN CERTIFICATE-----/, 'must be a PEM certificate');
const packageName = z.string().regex(/^[a-z0-9][a-z0-9+.-]{0,127}$/, 'must be a package-style name (lower-case letters, digits, + . -)');

export const CertificateItemSchema = z.discriminatedUnion('type', [
  /** A CA to trust system-wide (update-ca-certificates). */
  z.object({ type: z.literal('trusted-root'), pem }),
  /** A client certificate for the device, its key made in the TPM and issued by the service. */
  z.object({ type: z.literal('device-client'), purpose: z.string().max(128).default('network') }),
]);

/** The name of another certificate item of the same assignment (the file it put in place). */
const certificateItemName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/, 'must name a certificate item');

/** 802.1X EAP-TLS (IEEE 802.1X-2020, RFC 5216): the device's TPM-held client certificate, and the CA that must vouch for the RADIUS server. */
const EapTlsSchema = z.object({
  identity: z.string().min(1).max(128),
  /** A device-client certificate item: its key stays in the TPM. */
  clientCertificate: certificateItemName,
  /** A trusted-root certificate item; the server's certificate must chain to it. */
  caCertificate: certificateItemName,
  /** The server's name must end with this (NetworkManager domain-suffix-match). */
  serverDomain: z.string().max(253).regex(/^[A-Za-z0-9.-]+$/, 'must be a DNS name').optional(),
});

const WifiSchema = z.object({
  type: z.literal('wifi'),
  ssid: z.string().min(1).max(32),
  security: z.enum(['wpa2-psk', 'wpa3-sae', 'wpa2-eap-tls', 'open']),
  /** Pre-shared key for wpa2-psk and wpa3-sae: 8–63 characters. A secret: the admin API never shows it. */
  psk: z.string().min(8).max(63).optional(),
  /** For wpa2-eap-tls. */
  eap: EapTlsSchema.optional(),
  hidden: z.boolean().default(false),
  autoConnect: z.boolean().default(true),
});
type Wifi = z.output<typeof WifiSchema>;

/** What a Wi-Fi network needs with its security; `keyRequired` false when a stored key may still fill it in. */
function checkWifi(wifi: Partial<Wifi> & Pick<Wifi, 'security'>, ctx: z.RefinementCtx, keyRequired: boolean): void {
  const needsKey = wifi.security === 'wpa2-psk' || wifi.security === 'wpa3-sae';
  if (needsKey && !wifi.psk && keyRequired) ctx.addIssue({ code: 'custom', path: ['psk'], message: `is required for ${wifi.security}` });
  if (!needsKey && wifi.psk) ctx.addIssue({ code: 'custom', path: ['psk'], message: `is not used with ${wifi.security}` });
  if (wifi.security === 'wpa2-eap-tls' && !wifi.eap) ctx.addIssue({ code: 'custom', path: ['eap'], message: 'is required for wpa2-eap-tls' });
  if (wifi.security !== 'wpa2-eap-tls' && wifi.eap) ctx.addIssue({ code: 'custom', path: ['eap'], message: `is not used with ${wifi.security}` });
}

const WiredSchema = z.object({ type: z.literal('wired-8021x'), ...EapTlsSchema.shape });
const WireguardSchema = z.object({
  type: z.literal('wireguard'),
  address: z.string().max(64),
  peerPublicKey: z.string().regex(/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/, 'must be a WireGuard public key'),
  endpoint: z.string().max(256),
  allowedIps: z.array(z.string().max(64)).min(1).max(64),
});

export const NetworkItemSchema = z.discriminatedUnion('type', [WifiSchema.superRefine((wifi, ctx) => checkWifi(wifi, ctx, true)), WiredSchema, WireguardSchema]);

/** A network as an administrator saves it: the key may be left out to keep the one stored. */
export const NetworkItemInputSchema = z.discriminatedUnion('type', [WifiSchema.superRefine((wifi, ctx) => checkWifi(wifi, ctx, false)), WiredSchema, WireguardSchema]);

/** A network as the admin API shows it: never its key (`secrets` says whether one is set). */
export const NetworkItemViewSchema = z.discriminatedUnion('type', [WifiSchema.omit({ psk: true }), WiredSchema, WireguardSchema]);

/**
 * The secret fields of each kind (a Wi-Fi key, a directory-bind policy's password): write-only. The admin API never returns them, to any scope —
 * it says that one is set, with a keyed fingerprint to compare — and they reach only the devices
 * the item is assigned to (GET /v1/mdm/assignments). Saving a body without one keeps the stored one.
 */
export const ITEM_SECRETS: Readonly<Partial<Record<ItemKind, readonly string[]>>> = { network: ['psk'], policy: ['bindPassword', 'joinPassword'] };

const exitCode = z.number().int().min(0).max(255);

export const AppItemSchema = z.object({
  package: packageName,
  version: z.string().min(1).max(64),
  installer: z.enum(['deb', 'tar', 'appimage', 'script']),
  content: ContentRefSchema,
  /** The installer's process tree is killed after this long. */
  timeoutSeconds: z.number().int().min(10).max(4 * 3600).default(1800),
  /**
   * How a shell installer's exit status (0–255) reads. Whatever the status, an installer that
   * creates /run/reboot-required (Debian's convention) asks for a restart too.
   */
  exitCodes: z
    .object({ success: z.array(exitCode).min(1).max(32).default([0]), rebootRequired: z.array(exitCode).max(32).default([]) })
    .refine((codes) => !codes.rebootRequired.some((code) => codes.success.includes(code)), 'a status cannot mean both success and restart required')
    .prefault({}),
  /** How the agent tells the app is already installed at this version. */
  detection: z
    .discriminatedUnion('type', [
      z.object({ type: z.literal('file-exists'), path: z.string().startsWith('/').max(1024) }),
      z.object({ type: z.literal('deb-version'), package: packageName, version: z.string().max(64) }),
      /** argv run without a shell and without privileges; exit 0 = installed. */
      z.object({ type: z.literal('command'), argv: z.array(z.string().min(1).max(4096)).min(1).max(64), timeoutSeconds: z.number().int().min(1).max(300).default(30) }),
    ])
    .optional(),
});

export const ScriptItemSchema = z.object({
  interpreter: z.enum(['sh', 'bash']),
  content: ContentRefSchema,
  timeoutSeconds: z.number().int().min(1).max(3600).default(300),
});

/** The body of each kind of item, as an administrator writes it. */
export const ItemBodySchemas = {
  policy: PolicySettingsSchema,
  certificate: CertificateItemSchema,
  network: NetworkItemSchema,
  app: AppItemSchema,
  script: ScriptItemSchema,
} as const;

export type ItemBody<K extends ItemKind> = z.output<(typeof ItemBodySchemas)[K]>;

const assignedBase = {
  id: z.string(),
  name: z.string(),
  /** Bumped by the service whenever the item's body changes; the agent applies each version once. */
  version: z.number().int().min(1),
  /** A blocking item that fails fails the ESP (unless the profile allows continuing). */
  blocking: z.boolean(),
};

/** One item as the device receives it (GET /v1/mdm/assignments). */
export const AssignedItemSchema = z.discriminatedUnion('kind', [
  z.object({ ...assignedBase, kind: z.literal('policy'), payload: PolicySettingsSchema }),
  z.object({ ...assignedBase, kind: z.literal('certificate'), payload: CertificateItemSchema }),
  z.object({ ...assignedBase, kind: z.literal('network'), payload: NetworkItemSchema }),
  z.object({ ...assignedBase, kind: z.literal('app'), payload: AppItemSchema }),
  z.object({ ...assignedBase, kind: z.literal('script'), payload: ScriptItemSchema }),
]);
export type AssignedItem = z.output<typeof AssignedItemSchema>;

/** The key under which the agent records an applied item: a new version is a new key. */
export function itemKey(item: Pick<AssignedItem, 'id' | 'version'>): string {
  return `${item.id}@${item.version}`;
}
