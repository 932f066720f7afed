// The sign-in end state with a directory: members of the organisation sign in with their directory
// credentials. SSSD answers for them — /etc/sssd/sssd.conf (0600 root) for the profile's LDAP
// directory, its TLS CA beside it — NSS asks SSSD for accounts (sss in /etc/nsswitch.conf), PAM
// authenticates through pam_sss (libpam-sss enables it when installed) and makes the home
// directory at the first sign-in (selfdeploy's pam-configs profile for pam_mkhomedir). Every
// change goes through the target, recorded for undo like every other one; on the device the
// helper writes as root, so the files are root's (sssd reads sssd.conf only when it is 0600 root).
import { X509Certificate } from 'node:crypto';

import type { CodedError } from '../../protocol/errors/report.js';
import { directoryUserName, type Directory, type DirectoryBindPolicy, type SharedDevice } from '../../protocol/sign-in.js';
import { installedDebs } from './apps.js';
import { ItemError, textOf, type LiveCommand, type Plan } from './placed.js';
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
/** What a device needs installed to sign directory members in (Debian's names). */
export const DIRECTORY_PACKAGES = ['sssd-ldap', 'libnss-sss', 'libpam-sss'] as const;

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

/** sssd.conf for `directory`: one LDAP domain, NSS and PAM responders, and who may sign in. */
export function sssdConf(directory: Directory, primaryUser: string | null = null, shared: SharedDevice | null = null): string {
  const tls = directory.uri.startsWith('ldaps://') || directory.startTls;
  const domain: [string, string][] = [
    ['id_provider', 'ldap'],
    ['auth_provider', 'ldap'],
    ['chpass_provider', 'ldap'],
    ...accessControl(directory, primaryUser),
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

/** On the running system, DIRECTORY_CLIENT_MISSING unless SSSD's LDAP client, NSS and PAM modules are installed. */
async function requireDirectoryClient(target: TargetPort, what: string): Promise<void> {
  if (!target.live) return;
  const installed = await installedDebs(target);
  const missing = DIRECTORY_PACKAGES.filter((name) => !installed.has(name) && !(name === 'sssd-ldap' && installed.has('sssd')));
  if (missing.length) throw new DirectoryError(`${what} needs ${missing.join(', ')} installed on the device (apt-get install ${DIRECTORY_PACKAGES.join(' ')})`);
}

/**
 * The directory-bind policy: SSSD binds to the directory as a service account, in a snippet SSSD
 * merges into sssd.conf's domain (0600 root, as sssd.conf). A running SSSD restarts onto it; one
 * not running yet (device setup comes before the end state) reads it when it starts.
 */
export async function directoryBindPlan(target: TargetPort, policy: string, bind: DirectoryBindPolicy): Promise<Plan> {
  await requireDirectoryClient(target, `policy "${policy}"`);
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
 * What directory sign-in puts in place. On the running system its packages must be installed
 * (DIRECTORY_CLIENT_MISSING otherwise: the image or an app item brings them); a scratch target
 * (a lab) gets the files only.
 */
export async function directoryPlan(target: TargetPort, directory: Directory, primaryUser: string | null = null, shared: SharedDevice | null = null): Promise<Plan> {
  await requireDirectoryClient(target, 'directory sign-in');
  // The directory's CA as the helper takes it: the PEM blocks alone, each a CA certificate.
  const ca = directory.ca ? (directory.ca.replace(/\r/g, '').match(/-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g) ?? []) : [];
  if (directory.ca) {
    const valid = ca.length > 0 && ca.length <= 16 && ca.every((block) => {
      try {
        return new X509Certificate(block).ca;
      } catch {
        return false;
      }
    });
    if (!valid) throw new ItemError('ITEM_FAILED', "the directory's CA (endState.directory.ca) must be PEM CA certificates (at most 16)");
  }
  const files: Plan['files'] = [{ path: PLACES.sssdConf, content: sssdConf(directory, primaryUser, shared), mode: 0o600 }];
  if (ca.length) files.push({ path: PLACES.directoryCa, content: ca.map((block) => `${block.split('\n').map((line) => line.trim()).filter(Boolean).join('\n')}\n`).join(''), mode: 0o644 });
  const nsswitch = await textOf(target, PLACES.nsswitch);
  const withSss = nsswitchWithSss(nsswitch);
  if (withSss !== null && withSss !== nsswitch) files.push({ path: PLACES.nsswitch, content: withSss, mode: 0o644 });
  const commands: LiveCommand[] = [];
  if (directory.clientCertificate) {
    // The certificate item comes before the end state; without it SSSD could not sign in at all.
    const certificate = placePath('clientCertificate', { name: directory.clientCertificate });
    if ((await textOf(target, certificate)) === null) {
      throw new ItemError('ITEM_FAILED', `the directory's client certificate "${directory.clientCertificate}" is not on the device (${certificate}): assign the device-client certificate item of that name to the device's group`);
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
