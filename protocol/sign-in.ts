// The sign-in end state of a deployment profile: the organisation's directory whose members sign
// in (and the device's primary user among them), the login screen's message, and the settings of a
// device many people share. Part of the profile (profile.ts), kept apart as its own subject.
import { z } from 'zod';

import type { LintFinding } from './lint.js';

/** One or more PEM certificates. */
export const pemCertificates = z.string().max(100_000).regex(/-----BEGIN CERTIFICATE-----/, 'must be PEM certificates');

/** ldap://HOST[:PORT] or ldaps://HOST[:PORT]: a host name or an IP address, nothing after it. */
const ldapUri = z
  .string()
  .max(300)
  .regex(/^ldaps?:\/\/(\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(:[0-9]{1,5})?\/?$/, 'must be ldap://HOST[:PORT] or ldaps://HOST[:PORT]');
/** A distinguished name on one line: attribute=value pairs (dc=contoso,dc=example). */
const distinguishedName = z
  .string()
  .max(1024)
  // eslint-disable-next-line no-control-regex
  .regex(/^[A-Za-z][A-Za-z0-9-]*=[^\u0000-\u001f\u007f]+$/, 'must be a distinguished name on one line (dc=contoso,dc=example)');
/** A directory group's name as SSSD matches it: no commas (its list separator), quotes or line breaks. */
const directoryGroup = z.string().min(1).max(256).regex(/^[^,"'\r\n\0]+$/, 'must be a group name without commas, quotes or line breaks').refine((name) => name.trim() === name, 'must not start or end with a space');

/**
 * Who may sign in: every member of the directory, or only members of these groups and, with
 * primaryUser, the device's primary user (the registration's assigned user).
 */
const allowSchema = z
  .union([
    z.literal('all'),
    z
      .object({ groups: z.array(directoryGroup).max(100).default([]), primaryUser: z.boolean().default(false) })
      .strict()
      .refine((allow) => allow.groups.length > 0 || allow.primaryUser, 'name groups, allow the primary user, or both'),
  ])
  .default('all');

const homeDirectorySchema = z
  .object({
    /** Made at the first sign-in (pam_mkhomedir), from /etc/skel. */
    create: z.boolean().default(true),
    umask: z.string().regex(/^0[0-7]{3}$/, 'must be an octal umask such as 0077').default('0077'),
  })
  .strict()
  .prefault({});

/** An LDAP directory (OpenLDAP, 389 Directory Server, …): SSSD's LDAP provider, over TLS. */
export const LdapDirectorySchema = z
  .object({
    provider: z.literal('ldap').default('ldap'),
    uri: ldapUri,
    searchBase: distinguishedName,
    /** rfc2307: groups list their members' user names (memberUid); rfc2307bis: their DNs (member). */
    schema: z.enum(['rfc2307', 'rfc2307bis']).default('rfc2307bis'),
    /** ldap:// upgraded with StartTLS (ldaps:// is TLS from the start). */
    startTls: z.boolean().default(true),
    /** The CA of the directory's TLS certificate (PEM); without one, the system's trusted CAs. */
    ca: pemCertificates.nullable().default(null),
    /** A lab directory: allows ldap:// without StartTLS (passwords in the clear). */
    lab: z.boolean().default(false),
    /**
     * SSSD searches the directory as the device itself: TLS with this device-client certificate item's
     * certificate, whose key never leaves the TPM, and SASL EXTERNAL (no password on the device).
     * null: anonymously, or as a directory-bind policy's account.
     */
    clientCertificate: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/, 'must be the name of a device-client certificate item').nullable().default(null),
    allow: allowSchema,
    homeDirectory: homeDirectorySchema,
  })
  .strict();

/** A DNS domain as Active Directory names itself (contoso.example): lower case, at least two labels. */
export const dnsDomain = z
  .string()
  .max(253)
  .regex(/^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/, 'must be a DNS domain name such as contoso.example')
  .transform((domain) => domain.toLowerCase());
/** A domain controller's DNS name. */
export const hostName = z
  .string()
  .max(253)
  .regex(/^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/, 'must be a host name such as dc1.contoso.example')
  .transform((name) => name.toLowerCase());

/**
 * Active Directory (or Samba as a domain controller): SSSD's AD provider, Kerberos and LDAP
 * signed and sealed with the computer account the device joined as (a directory-join policy).
 */
export const ActiveDirectorySchema = z
  .object({
    provider: z.literal('ad'),
    /** The domain's DNS name; its Kerberos realm is the same in capitals. */
    domain: dnsDomain,
    /** The domain controllers SSSD asks, in order; none: those DNS names (SRV records), as Windows finds them. */
    servers: z.array(hostName).max(10).default([]),
    /**
     * Members' user and group IDs: from the directory's RFC 2307 attributes (uidNumber, gidNumber,
     * unixHomeDirectory, loginShell) when true; otherwise computed from their SIDs (SSSD's ID
     * mapping, the same on every device of the domain).
     */
    unixAttributes: z.boolean().default(false),
    allow: allowSchema,
    homeDirectory: homeDirectorySchema,
  })
  .strict();

/**
 * The organisation's directory, for the sign-in end state: members sign in with their directory
 * credentials through SSSD — an LDAP directory (provider ldap, the default) or Active Directory
 * (provider ad).
 */
export const DirectorySchema = z.discriminatedUnion('provider', [LdapDirectorySchema, ActiveDirectorySchema]);

export type Directory = z.output<typeof DirectorySchema>;
export type LdapDirectory = z.output<typeof LdapDirectorySchema>;
export type ActiveDirectory = z.output<typeof ActiveDirectorySchema>;

/**
 * The directory user name of a primary user as registrations hold it (Autopilot's "Assigned User",
 * often a UPN): the part before "@", which SSSD matches against the directory's user names; null
 * when that is not a user name (letters, digits, . _ -).
 */
export function directoryUserName(assignedUser: string): string | null {
  const name = assignedUser.trim().split('@')[0]!;
  return /^[A-Za-z0-9._][A-Za-z0-9._-]{0,127}$/.test(name) ? name : null;
}

/**
 * A device many people sign in to: no guest session, idle sessions ended, and (with a directory)
 * how long a member's cached sign-in and cached account last on the device.
 */
export const SharedDeviceSchema = z
  .object({
    /** LightDM's guest session (GDM has none): off unless allowed. */
    allowGuest: z.boolean().default(false),
    /** Sign a session out after this long without input (systemd-logind); null: never. */
    idleSignOutMinutes: z.number().int().min(1).max(1440).nullable().default(null),
    /** A member signs in without the directory (cached credentials) for this many days after their last online sign-in; 0: not at all. */
    cachedSignInDays: z.number().int().min(0).max(365).nullable().default(null),
    /** A member's cached account is removed after this many days without a sign-in; null: kept. */
    removeCachedAccountsAfterDays: z.number().int().min(1).max(3650).nullable().default(null),
    /** A member's home directory is deleted once they sign out (their last session on the device ends). */
    deleteHomeAtSignOut: z.boolean().default(false),
    /** A member's home directory is deleted after this many days without a sign-in; null: kept. */
    deleteHomeAfterDays: z.number().int().min(1).max(3650).nullable().default(null),
    /** At most this many members keep a home directory on the device: those who signed in last; null: no limit. */
    maxCachedAccounts: z.number().int().min(1).max(1000).nullable().default(null),
  })
  .strict();

/** What the shared device's sweep of members' home directories acts on (SHARED_ACCOUNTS_SETTINGS on the device). */
export const HomeSweepSettingsSchema = z
  .object({ deleteHomeAtSignOut: z.boolean(), deleteHomeAfterDays: z.number().int().min(1).max(3650).nullable(), maxCachedAccounts: z.number().int().min(1).max(1000).nullable() })
  .strict();
export type HomeSweepSettings = z.output<typeof HomeSweepSettingsSchema>;

/** The sweep's settings of a shared device, or null when it deletes no home. */
export function homeSweepSettings(shared: SharedDevice | null): HomeSweepSettings | null {
  if (!shared || (!shared.deleteHomeAtSignOut && shared.deleteHomeAfterDays === null && shared.maxCachedAccounts === null)) return null;
  return { deleteHomeAtSignOut: shared.deleteHomeAtSignOut, deleteHomeAfterDays: shared.deleteHomeAfterDays, maxCachedAccounts: shared.maxCachedAccounts };
}

export type SharedDevice = z.output<typeof SharedDeviceSchema>;

/** The sign-in screen, where members of the organisation sign in: with a directory, its members. */
export const SignInSchema = z.object({
  type: z.literal('sign-in'),
  directory: DirectorySchema.nullable().default(null),
  /** Shown on the login screen under the organisation's name and support contact (GDM's banner). */
  message: z
    .string()
    .trim()
    .min(1)
    .max(1000)
    // eslint-disable-next-line no-control-regex
    .refine((text) => !/[\u0000-\u0009\u000b-\u001f\u007f]/.test(text), 'must not hold control characters (line breaks are fine)')
    .nullable()
    .default(null),
  /** Settings for a device many people share; null: the system's own. */
  sharedDevice: SharedDeviceSchema.nullable().default(null),
});

export type SignInEndState = z.output<typeof SignInSchema>;

/**
 * A bind password as SSSD's configuration holds it (one line, the value after "="): printable
 * characters, no line breaks, no spaces at either end (SSSD would trim them).
 */
const bindPassword = z
  .string()
  .min(1)
  .max(256)
  // eslint-disable-next-line no-control-regex
  .refine((value) => !/[\u0000-\u001f\u007f]/.test(value), 'must be one line without control characters')
  .refine((value) => value.trim() === value, 'must not start or end with a space');

const directoryBind = {
  kind: z.literal('directory-bind'),
  /** The service account SSSD searches the directory as (a read-only account, not a person's). */
  bindDn: distinguishedName,
};

/**
 * A policy: SSSD binds to the sign-in end state's directory as a service account, for directories
 * that do not allow anonymous search. `bindPassword` is a secret: write-only in the admin API, sent
 * only to the devices the policy is assigned to, never logged.
 */
export const DirectoryBindPolicySchema = z.object({ ...directoryBind, bindPassword }).strict();
/** As an administrator saves it: the password left out keeps the stored one. */
export const DirectoryBindPolicyInputSchema = z.object({ ...directoryBind, bindPassword: bindPassword.optional() }).strict();
/** As the admin API shows it: never the password (`secrets` says whether one is set). */
export const DirectoryBindPolicyViewSchema = z.object(directoryBind).strict();
export type DirectoryBindPolicy = z.output<typeof DirectoryBindPolicySchema>;

/** A password as adcli reads it from its standard input: one line, no control characters. */
const joinPassword = z
  .string()
  .min(1)
  .max(256)
  // eslint-disable-next-line no-control-regex
  .refine((value) => !/[\u0000-\u001f\u007f]/.test(value), 'must be one line without control characters');

const directoryJoin = {
  kind: z.literal('directory-join'),
  /** The Active Directory domain the device joins (the sign-in end state's domain). */
  domain: dnsDomain,
  /** The domain controller to join through; null: one DNS names (SRV records). */
  domainController: hostName.nullable().default(null),
  /** Where the computer account is made (OU=Kiosks,DC=contoso,DC=example); null: the domain's Computers container. */
  organizationalUnit: distinguishedName.nullable().default(null),
  /** An account allowed to join computers to the domain (delegated for that alone, not a domain admin). */
  joinUser: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be an account name (sAMAccountName) such as svc-join'),
};

/**
 * A policy: the device joins the Active Directory domain — a computer account named after the
 * device, its keys in /etc/krb5.keytab (root's alone) — as an account allowed to join computers.
 * `joinPassword` is a secret: write-only in the admin API, sent only to the devices the policy is
 * assigned to, handed to adcli on its standard input, never written or logged.
 */
export const DirectoryJoinPolicySchema = z.object({ ...directoryJoin, joinPassword }).strict();
/** As an administrator saves it: the password left out keeps the stored one. */
export const DirectoryJoinPolicyInputSchema = z.object({ ...directoryJoin, joinPassword: joinPassword.optional() }).strict();
/** As the admin API shows it: never the password. */
export const DirectoryJoinPolicyViewSchema = z.object(directoryJoin).strict();
export type DirectoryJoinPolicy = z.output<typeof DirectoryJoinPolicySchema>;

/**
 * The computer account a device joins as: its host name in capitals, cut to the 15 characters a
 * NetBIOS name has (as Windows cuts it), without a hyphen at the end.
 */
export function computerName(hostName: string): string {
  return hostName.toUpperCase().slice(0, 15).replace(/-+$/, '');
}

/**
 * The sign-in end state's findings (lintProfile's; null for a kiosk), with the policies that reach the same devices:
 * a directory without TLS, shared-device settings without a directory, directory binds and joins
 * that contradict each other or the directory, or have no directory to bind to or sign in with.
 */
export function lintSignIn(end: SignInEndState | null, policies: readonly { name: string; settings: { kind: string } }[]): LintFinding[] {
  const findings: LintFinding[] = [];
  const error = (code: string, path: string, message: string) => findings.push({ severity: 'error', code, path, message });
  const warning = (code: string, path: string, message: string) => findings.push({ severity: 'warning', code, path, message });
  const directory = end?.directory ?? null;
  const shared = end?.sharedDevice ?? null;
  if (shared && !directory && (shared.cachedSignInDays !== null || shared.removeCachedAccountsAfterDays !== null || homeSweepSettings(shared))) {
    warning('SHARED_DEVICE_WITHOUT_DIRECTORY', 'endState.sharedDevice', 'cached sign-ins, cached accounts and members’ home directories are a directory’s: without endState.directory these settings do nothing');
  }
  if (shared?.deleteHomeAtSignOut && directory && shared.cachedSignInDays !== 0) {
    warning('SHARED_DEVICE_KEEPS_CREDENTIALS', 'endState.sharedDevice.cachedSignInDays', 'home directories are deleted at sign-out, but SSSD still caches members’ credentials: set cachedSignInDays to 0 to keep none');
  }
  const binds = policies.filter((policy) => policy.settings.kind === 'directory-bind').map((policy) => policy.name);
  const joins = policies.filter((policy) => policy.settings.kind === 'directory-join') as { name: string; settings: { kind: string; domain?: string } }[];
  if (directory?.provider === 'ldap') {
    const clear = directory.uri.startsWith('ldap://') && !directory.startTls;
    if (clear && directory.clientCertificate) {
      error('DIRECTORY_CERTIFICATE_WITHOUT_TLS', 'endState.directory.clientCertificate', 'a client certificate is presented in the TLS handshake: use ldaps:// or StartTLS');
    } else if (clear && !directory.lab) {
      error('DIRECTORY_WITHOUT_TLS', 'endState.directory.startTls', 'ldap:// without StartTLS sends passwords in the clear: use ldaps:// or StartTLS, or mark the directory as a lab (lab: true)');
    } else if (directory.lab) {
      warning('DIRECTORY_LAB', 'endState.directory.lab', clear ? 'a lab directory: passwords cross the network in the clear' : 'marked as a lab directory, though it uses TLS');
    }
    if (directory.clientCertificate && binds.length > 0) {
      error('DIRECTORY_BIND_AND_CERTIFICATE', `policies.${binds[0]}`, `SSSD searches the directory as the device (clientCertificate "${directory.clientCertificate}"), so policy "${binds[0]}"'s account would not be used: take one away`);
    }
  }
  if (directory?.provider === 'ad') {
    if (binds.length > 0) error('DIRECTORY_BIND_WITH_AD', `policies.${binds[0]}`, `Active Directory is searched as the device's computer account, so policy "${binds[0]}"'s account would not be used: take it away`);
    if (joins.length === 0) warning('DIRECTORY_NOT_JOINED', 'endState.directory.domain', `members sign in only on devices joined to ${directory.domain}: assign a directory-join policy for it (or join the devices in their image)`);
    const other = joins.find((join) => join.settings.domain !== directory.domain);
    if (other) error('DIRECTORY_JOIN_OTHER_DOMAIN', `policies.${other.name}`, `policy "${other.name}" joins ${other.settings.domain}, but the end state signs in members of ${directory.domain}: make them the same domain`);
  }
  if (binds.length > 1) {
    error('DIRECTORY_BIND_TWICE', `policies.${binds[1]}`, `policies ${binds.map((name) => `"${name}"`).join(' and ')} each name the account SSSD binds as: assign one directory-bind policy to these devices`);
  }
  if (binds.length > 0 && !directory) {
    warning('DIRECTORY_BIND_WITHOUT_DIRECTORY', `policies.${binds[0]}`, `policy "${binds[0]}" names an account to bind to the directory, but the profile's end state has no directory to sign in with`);
  }
  if (joins.length > 1) {
    error('DIRECTORY_JOIN_TWICE', `policies.${joins[1]!.name}`, `policies ${joins.map((join) => `"${join.name}"`).join(' and ')} each join the device to a domain: a device joins one, so assign one directory-join policy to these devices`);
  }
  if (joins.length > 0 && directory?.provider !== 'ad') {
    warning('DIRECTORY_JOIN_WITHOUT_DIRECTORY', `policies.${joins[0]!.name}`, `policy "${joins[0]!.name}" joins the device to ${joins[0]!.settings.domain}, but the profile's end state has no Active Directory whose members sign in`);
  }
  return findings;
}
