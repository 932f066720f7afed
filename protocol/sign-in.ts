// The sign-in end state of a deployment profile: the organisation's directory whose members sign
// in (and the device's primary user among them), the login screen's message, and the settings of a
// device many people share. Part of the profile (profile.ts), kept apart as its own subject.
import { z } from 'zod';

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
  .regex(/^[A-Za-z][A-Za-z0-9-]*=[^\r\n\0]+$/, 'must be a distinguished name (dc=contoso,dc=example)');
/** A directory group's name as SSSD matches it: no commas (its list separator), quotes or line breaks. */
const directoryGroup = z.string().min(1).max(256).regex(/^[^,"'\r\n\0]+$/, 'must be a group name without commas, quotes or line breaks').refine((name) => name.trim() === name, 'must not start or end with a space');

/**
 * The organisation's directory, for the sign-in end state: members sign in with their directory
 * credentials through SSSD (LDAP; Active Directory and FreeIPA later).
 */
export const DirectorySchema = z.object({
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
   * Who may sign in: every member of the directory, or only members of these groups and, with
   * primaryUser, the device's primary user (the registration's assigned user).
   */
  allow: z
    .union([
      z.literal('all'),
      z
        .object({ groups: z.array(directoryGroup).max(100).default([]), primaryUser: z.boolean().default(false) })
        .strict()
        .refine((allow) => allow.groups.length > 0 || allow.primaryUser, 'name groups, allow the primary user, or both'),
    ])
    .default('all'),
  homeDirectory: z
    .object({
      /** Made at the first sign-in (pam_mkhomedir), from /etc/skel. */
      create: z.boolean().default(true),
      umask: z.string().regex(/^0[0-7]{3}$/, 'must be an octal umask such as 0077').default('0077'),
    })
    .strict()
    .prefault({}),
}).strict();

export type Directory = z.output<typeof DirectorySchema>;

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
  })
  .strict();

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
