// The sign-in end state with a directory: members of the organisation sign in with their directory
// credentials. SSSD answers for them — /etc/sssd/sssd.conf (0600 root) for the profile's LDAP
// directory (its TLS CA beside it) or Active Directory domain (which the device joined through a
// directory-join policy: adcli, the keytab) — NSS asks SSSD for accounts (sss in /etc/nsswitch.conf), PAM
// authenticates through pam_sss (libpam-sss enables it when installed) and makes the home
// directory at the first sign-in (selfdeploy's pam-configs profile for pam_mkhomedir). Every
// change goes through the target, recorded for undo like every other one; on the device the
// helper writes as root, so the files are root's (sssd reads sssd.conf only when it is 0600 root).
import { X509Certificate } from 'node:crypto';

import type { CodedError } from '../../protocol/errors/report.js';
import { computerName, directoryUserName, type ActiveDirectory, type Directory, type DirectoryBindPolicy, type DirectoryJoinPolicy, type LdapDirectory, type SharedDevice } from '../../protocol/sign-in.js';
import { installedDebs } from './apps.js';
import { ItemError, textOf, type LiveCommand, type Plan } from './placed.js';
import { HOST_NAME } from '../target/place-contents.js';
import { nsswitchWithSss } from '../target/sign-in-contents.js';
import { PLACES, SSSD_CACHES, SYSTEM_CA_BUNDLE, placePath } from '../target/places.js';
import type { TargetPort } from '../target/port.js';

/** The SSSD domain device setup configures. */
export const SSSD_DOMAIN = 'selfdeploy';
/**
 * SSSD's unit, for a directory that knows the device by its certificate: OpenSSL with the
 * tpm2-openssl provider (the deb's configuration, as wpa_supplicant has it), so the TPM key file
 * signs in the TPM; and the tss group, since SSSD runs as root without CAP_DAC_OVERRIDE.
 */
export const SSSD_TPM_DROP_IN = [
  '# selfdeploy: SSSD signs in to the directory with the device’s TPM-held key (the tpm2-openssl provider).',
  '[Service]',
  'Environment=OPENSSL_CONF=/usr/share/selfdeploy/openssl-tpm2.cnf',
  'SupplementaryGroups=tss',
  '',
].join('\n');

/** The pam-configs profile of pam_mkhomedir (pam-auth-update's name for it). */
export const MKHOMEDIR_PROFILE = 'selfdeploy-mkhomedir';
/** What a device needs installed to sign directory members in, by the directory's provider (Debian's names). */
export const DIRECTORY_PACKAGES = { ldap: ['sssd-ldap', 'libnss-sss', 'libpam-sss'], ad: ['sssd-ad', 'libnss-sss', 'libpam-sss'] } as const;
/** What joining an Active Directory domain needs installed. */
export const JOIN_PACKAGES = ['adcli'] as const;

export class DirectoryError extends Error implements CodedError {
  override name = 'DirectoryError';
  readonly code = 'DIRECTORY_CLIENT_MISSING' as const;
}

/**
 * Who may sign in, as SSSD's access control says it: everyone (permit), the named users and groups
 * (simple), or nobody (deny) — a rule of the primary user alone on a device that has none yet;
 * SSSD's simple provider with empty lists would let everyone in.
 */
function accessControl(directory: Directory, primaryUser: string | null): [string, string][] {
  if (directory.allow === 'all') return [['access_provider', 'permit']];
  const users: string[] = [];
  if (directory.allow.primaryUser && primaryUser !== null) {
    const name = directoryUserName(primaryUser);
    if (name === null) throw new ItemError('ITEM_FAILED', `the primary user "${primaryUser}" cannot be a directory user name (letters, digits, . _ - before any @)`);
    users.push(name);
  }
  const { groups } = directory.allow;
  if (users.length === 0 && groups.length === 0) return [['access_provider', 'deny']];
  return [
    ['access_provider', 'simple'],
    ...(users.length ? [['simple_allow_users', users.join(', ')] as [string, string]] : []),
    ...(groups.length ? [['simple_allow_groups', groups.join(', ')] as [string, string]] : []),
  ];
}

/** The [domain/selfdeploy] keys of an LDAP directory. */
function ldapKeys(directory: LdapDirectory): [string, string][] {
  const tls = directory.uri.startsWith('ldaps://') || directory.startTls;
  return [
    ['ldap_uri', directory.uri.replace(/\/$/, '')],
    ['ldap_search_base', directory.searchBase],
    ['ldap_schema', directory.schema],
    ['ldap_id_use_start_tls', String(directory.uri.startsWith('ldap://') && directory.startTls)],
    ['ldap_tls_reqcert', 'demand'],
    ['ldap_tls_cacert', directory.ca ? PLACES.directoryCa : SYSTEM_CA_BUNDLE],
    // The device as the directory's client: its TPM-held certificate in the TLS handshake, SASL EXTERNAL.
    ...(directory.clientCertificate
      ? ([
          ['ldap_sasl_mech', 'EXTERNAL'],
          ['ldap_tls_cert', placePath('clientCertificate', { name: directory.clientCertificate })],
          ['ldap_tls_key', placePath('clientKey', { name: directory.clientCertificate })],
        ] as [string, string][])
      : []),
    // Password sign-in over a connection without TLS: SSSD refuses it unless told (a lab only, as the profile says).
    ...(tls ? [] : [['ldap_auth_disable_tls_never_use_in_production', 'true'] as [string, string]]),
  ];
}

/**
 * The [domain/selfdeploy] keys of Active Directory: the domain and its realm, the controllers to
 * ask, the device's name in the domain (its computer account's host name), IDs from the directory
 * or from SIDs, and members known by their plain user names with homes right under /home.
 */
function adKeys(directory: ActiveDirectory, host: string): [string, string][] {
  return [
    ['ad_domain', directory.domain],
    ['krb5_realm', directory.domain.toUpperCase()],
    ...(directory.servers.length ? [['ad_server', directory.servers.join(', ')] as [string, string]] : []),
    ['ad_hostname', `${host}.${directory.domain}`],
    ['ldap_id_mapping', String(!directory.unixAttributes)],
    ['use_fully_qualified_names', 'false'],
    ['fallback_homedir', '/home/%u'],
    // The device does not write its own DNS records; the domain's DNS is the admin's.
    ['dyndns_update', 'false'],
  ];
}

/**
 * sssd.conf for `directory`: one domain (LDAP or Active Directory), NSS and PAM responders, and
 * who may sign in. `host` is the device's host name (Active Directory knows the device by it).
 */
export function sssdConf(directory: Directory, primaryUser: string | null = null, shared: SharedDevice | null = null, host: string | null = null): string {
  if (directory.provider === 'ad' && host === null) throw new ItemError('ITEM_FAILED', 'the device has no host name to be known by in the domain: name devices in the profile (deviceName) or give the image one');
  const domain: [string, string][] = [
    ['id_provider', directory.provider],
    ['auth_provider', directory.provider],
    ['chpass_provider', directory.provider],
    ...accessControl(directory, primaryUser),
    ...(directory.provider === 'ldap' ? ldapKeys(directory) : adKeys(directory, host!)),
    // A shared device that keeps no cached sign-in caches no credentials at all.
    ['cache_credentials', String(shared?.cachedSignInDays !== 0)],
    ...(shared?.removeCachedAccountsAfterDays ? [['account_cache_expiration', String(shared.removeCachedAccountsAfterDays)] as [string, string]] : []),
    ['enumerate', 'false'],
  ];
  const pam: [string, string][] = shared?.cachedSignInDays ? [['offline_credentials_expiration', String(shared.cachedSignInDays)]] : [];
  return [
    '# selfdeploy: directory sign-in (the profile’s end state). Device setup writes this file; selfdeploy reset removes it.',
    '[sssd]',
    'services = nss, pam',
    `domains = ${SSSD_DOMAIN}`,
    '',
    ...(pam.length ? ['[pam]', ...pam.map(([key, value]) => `${key} = ${value}`), ''] : []),
    `[domain/${SSSD_DOMAIN}]`,
    ...domain.map(([key, value]) => `${key} = ${value}`),
    '',
  ].join('\n');
}

/**
 * The device's host name: the one the profile gives it (the end state sets it), else the one it
 * has (/etc/hostname); null when it has none.
 */
export async function hostNameOf(target: TargetPort, deviceName: string | null | undefined): Promise<string | null> {
  const name = deviceName ?? (await textOf(target, PLACES.hostname))?.split('\n')[0]?.trim() ?? '';
  return HOST_NAME.test(name) ? name.toLowerCase() : null;
}

/** pam-auth-update's profile for pam_mkhomedir: the home directory made at the first sign-in. */
export function mkhomedirProfile(umask: string): string {
  return [
    'Name: Create the home directory at the first sign-in (selfdeploy)',
    'Default: yes',
    'Priority: 0',
    'Session-Type: Additional',
    'Session-Interactive-Only: yes',
    'Session:',
    `\toptional\tpam_mkhomedir.so umask=${umask}`,
    '',
  ].join('\n');
}

/** On the running system, DIRECTORY_CLIENT_MISSING unless `packages` (SSSD's provider, its NSS and PAM modules; adcli) are installed. */
async function requireDirectoryClient(target: TargetPort, what: string, packages: readonly string[]): Promise<void> {
  if (!target.live) return;
  const installed = await installedDebs(target);
  // Debian's sssd package brings every provider.
  const missing = packages.filter((name) => !installed.has(name) && !(name.startsWith('sssd-') && installed.has('sssd')));
  if (missing.length) throw new DirectoryError(`${what} needs ${missing.join(', ')} installed on the device (apt-get install ${packages.join(' ')})`);
}

/**
 * The directory-bind policy: SSSD binds to the directory as a service account, in a snippet SSSD
 * merges into sssd.conf's domain (0600 root, as sssd.conf). A running SSSD restarts onto it; one
 * not running yet (device setup comes before the end state) reads it when it starts.
 */
export async function directoryBindPlan(target: TargetPort, policy: string, bind: DirectoryBindPolicy): Promise<Plan> {
  await requireDirectoryClient(target, `policy "${policy}"`, DIRECTORY_PACKAGES.ldap);
  const content = [
    `# selfdeploy policy "${policy}": the account SSSD binds to the directory as. selfdeploy reset removes it.`,
    `[domain/${SSSD_DOMAIN}]`,
    `ldap_default_bind_dn = ${bind.bindDn}`,
    'ldap_default_authtok_type = password',
    `ldap_default_authtok = ${bind.bindPassword}`,
    '',
  ].join('\n');
  return { files: [{ path: PLACES.sssdBind, content, mode: 0o600 }], commands: [{ argv: ['systemctl', 'try-restart', 'sssd'], inverse: ['systemctl', 'try-restart', 'sssd'] }] };
}

/**
 * The directory-join policy: the device joins the Active Directory domain as the device's name
 * (`deviceName`, which the end state makes its host name; else the name it has) — adcli with the
 * policy's account, the password on its standard input — before the policy's record is written.
 * Undone by removing the keytab; the computer account stays in the directory.
 */
export async function directoryJoinPlan(target: TargetPort, join: DirectoryJoinPolicy, deviceName: string | null | undefined): Promise<Plan> {
  await requireDirectoryClient(target, `joining ${join.domain}`, JOIN_PACKAGES);
  const host = await hostNameOf(target, deviceName);
  if (host === null) throw new ItemError('ITEM_FAILED', `the device has no host name to join ${join.domain} as: name devices in the profile (deviceName) or give the image one`);
  return {
    files: [],
    commands: [],
    joins: [{ domain: join.domain, domainController: join.domainController, organizationalUnit: join.organizationalUnit, computerName: computerName(host), hostFqdn: `${host}.${join.domain}`, user: join.joinUser, password: join.joinPassword }],
  };
}

/**
 * What directory sign-in puts in place. On the running system its packages must be installed
 * (DIRECTORY_CLIENT_MISSING otherwise: the image or an app item brings them); a scratch target
 * (a lab) gets the files only. `deviceName`: the name the end state gives the device (Active
 * Directory knows it by that name); null: the name it has.
 */
export async function directoryPlan(target: TargetPort, directory: Directory, primaryUser: string | null = null, shared: SharedDevice | null = null, deviceName: string | null = null): Promise<Plan> {
  await requireDirectoryClient(target, 'directory sign-in', DIRECTORY_PACKAGES[directory.provider]);
  const ldap = directory.provider === 'ldap' ? directory : null;
  // The directory's CA as the helper takes it: the PEM blocks alone, each a CA certificate.
  const ca = ldap?.ca ? (ldap.ca.replace(/\r/g, '').match(/-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g) ?? []) : [];
  if (ldap?.ca) {
    const valid = ca.length > 0 && ca.length <= 16 && ca.every((block) => {
      try {
        return new X509Certificate(block).ca;
      } catch {
        return false;
      }
    });
    if (!valid) throw new ItemError('ITEM_FAILED', "the directory's CA (endState.directory.ca) must be PEM CA certificates (at most 16)");
  }
  const host = directory.provider === 'ad' ? await hostNameOf(target, deviceName) : null;
  const files: Plan['files'] = [{ path: PLACES.sssdConf, content: sssdConf(directory, primaryUser, shared, host), mode: 0o600 }];
  if (ca.length) files.push({ path: PLACES.directoryCa, content: ca.map((block) => `${block.split('\n').map((line) => line.trim()).filter(Boolean).join('\n')}\n`).join(''), mode: 0o644 });
  const nsswitch = await textOf(target, PLACES.nsswitch);
  const withSss = nsswitchWithSss(nsswitch);
  if (withSss !== null && withSss !== nsswitch) files.push({ path: PLACES.nsswitch, content: withSss, mode: 0o644 });
  const commands: LiveCommand[] = [];
  if (ldap?.clientCertificate) {
    // The certificate item comes before the end state; without it SSSD could not sign in at all.
    const certificate = placePath('clientCertificate', { name: ldap.clientCertificate });
    if ((await textOf(target, certificate)) === null) {
      throw new ItemError('ITEM_FAILED', `the directory's client certificate "${ldap.clientCertificate}" is not on the device (${certificate}): assign the device-client certificate item of that name to the device's group`);
    }
    // SSSD's unit gets OpenSSL with the tpm2 provider and the TPM's group, to sign with the key.
    files.push({ path: PLACES.sssdTpm, content: SSSD_TPM_DROP_IN, mode: 0o644 });
    commands.push({ argv: ['systemctl', 'daemon-reload'], inverse: ['systemctl', 'daemon-reload'] });
  }
  if (directory.homeDirectory.create) {
    files.push({ path: PLACES.mkhomedirProfile, content: mkhomedirProfile(directory.homeDirectory.umask), mode: 0o644 });
    commands.push({ argv: ['pam-auth-update', '--package', '--enable', MKHOMEDIR_PROFILE], inverse: ['pam-auth-update', '--package', '--remove', MKHOMEDIR_PROFILE] });
  }
  // Undone newest first: SSSD stopped, then its caches removed, so no directory user outlives reset.
  commands.push({ argv: ['rm', '-f', '--', ...SSSD_CACHES], inverse: ['rm', '-f', '--', ...SSSD_CACHES] });
  commands.push({ argv: ['systemctl', 'restart', 'sssd'], inverse: ['systemctl', 'stop', 'sssd'] });
  return { files, commands };
}
