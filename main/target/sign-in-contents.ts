// What the places of the sign-in end state may hold (place-contents.ts gathers every place's rule):
// SSSD's configuration key by key (an LDAP or an Active Directory domain) (sssd runs as root and loads what it names), its bind snippet and
// its unit's drop-in, nsswitch.conf gaining sss, PAM's profiles, GDM's login screen, a shared
// device's LightDM, logind and home-sweep settings.
import { X509Certificate } from 'node:crypto';

import { HomeSweepSettingsSchema } from '../../protocol/sign-in.js';
import { editedKeys, json, lines, pem, utf8, whole, type ContentRule } from './content-rules.js';
import { PLACES, SYSTEM_CA_BUNDLE, type PlaceName } from './places.js';

const nssLine = (line: string) => /^\s*(passwd|group|shadow)\s*:/.exec(line)?.[1];
const hasSss = (line: string) => line.replace(/^[^:]*:/, '').split(/\s+/).includes('sss');

/** /etc/nsswitch.conf with sss added to the passwd, group and shadow lines that lack it (null stays null). */
export function nsswitchWithSss(text: string | null): string | null {
  if (text === null) return null;
  return text
    .split('\n')
    .map((line) => (nssLine(line) && !/^\s*#/.test(line) && !hasSss(line) ? `${line.replace(/\s+$/, '')} sss` : line))
    .join('\n');
}

/** nsswitch.conf: a passwd, group or shadow line may only gain "sss" at its end. */
const NSSWITCH: ContentRule = (next, context) =>
  editedKeys('the sss source of passwd, group and shadow', (line) => nssLine(line) !== undefined && !/^\s*#/.test(line), (line) => {
    const database = nssLine(line);
    const was = lines(context.current).find((old) => nssLine(old) === database && !/^\s*#/.test(old));
    return was !== undefined && line === `${was.replace(/\s+$/, '')} sss` ? null : `is not the ${database} line with sss added`;
  })(next, context);

const DNS_DOMAIN = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const HOST = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const LDAP_URI = /^ldaps?:\/\/(\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(:[0-9]{1,5})?$/;
/** What device setup writes into sssd.conf, by section: each key's form. Nothing else may be there. */
const SSSD_KEYS: Record<string, Record<string, RegExp>> = {
  sssd: { services: /^nss, pam$/, domains: /^selfdeploy$/ },
  pam: { offline_credentials_expiration: /^[0-9]{1,3}$/ },
  'domain/selfdeploy': {
    id_provider: /^(ldap|ad)$/,
    auth_provider: /^(ldap|ad)$/,
    chpass_provider: /^(ldap|ad)$/,
    access_provider: /^(permit|simple|deny)$/,
    simple_allow_users: /^[A-Za-z0-9._][A-Za-z0-9._-]{0,127}$/,
    simple_allow_groups: /^[^,"'\0]{1,256}(, [^,"'\0]{1,256}){0,99}$/,
    ldap_uri: LDAP_URI,
    ldap_search_base: /^[A-Za-z][A-Za-z0-9-]*=[^\0]{1,1020}$/,
    ldap_schema: /^rfc2307(bis)?$/,
    ldap_id_use_start_tls: /^(true|false)$/,
    ldap_tls_reqcert: /^demand$/,
    ldap_tls_cacert: new RegExp(`^(${PLACES.directoryCa}|${SYSTEM_CA_BUNDLE})$`),
    ldap_auth_disable_tls_never_use_in_production: /^true$/,
    ldap_sasl_mech: /^EXTERNAL$/,
    ldap_tls_cert: /^\/etc\/selfdeploy\/certificates\/[A-Za-z0-9][A-Za-z0-9._+-]{0,63}\.crt$/,
    ldap_tls_key: /^\/etc\/selfdeploy\/certificates\/[A-Za-z0-9][A-Za-z0-9._+-]{0,63}\.tss2\.pem$/,
    ad_domain: DNS_DOMAIN,
    krb5_realm: /^[A-Z0-9.-]{1,253}$/,
    ad_server: new RegExp(`^${HOST.source.slice(1, -1)}(, ${HOST.source.slice(1, -1)}){0,9}$`),
    ad_hostname: HOST,
    ldap_id_mapping: /^(true|false)$/,
    use_fully_qualified_names: /^false$/,
    fallback_homedir: /^\/home\/%u$/,
    dyndns_update: /^false$/,
    cache_credentials: /^(true|false)$/,
    account_cache_expiration: /^[0-9]{1,4}$/,
    enumerate: /^false$/,
  },
};
/** What each provider's domain must say, and the keys that belong to the other provider alone. */
const SSSD_PROVIDERS: Record<string, { required: string[]; foreign: RegExp }> = {
  ldap: { required: ['ldap_uri', 'ldap_search_base', 'ldap_tls_reqcert'], foreign: /^(ad_|krb5_|use_fully|fallback_homedir|dyndns_|ldap_id_mapping$)/ },
  ad: { required: ['ad_domain', 'krb5_realm', 'ad_hostname'], foreign: /^ldap_(?!id_mapping$)/ },
};
const SSSD_REQUIRED = ['id_provider', 'auth_provider', 'access_provider'];

/**
 * sssd.conf as device setup writes it, nothing more: sssd runs as root and loads what its
 * configuration names (proxy libraries, commands), so only the keys of one LDAP or Active Directory
 * domain pass, each of its form; simple access control comes with its groups, and TLS certificates are checked.
 */
const SSSD_CONF: ContentRule = (next, context) => {
  const text = utf8(next);
  if (text === null) return `${context.path} must be text`;
  let section: string | null = null;
  const seen = new Map<string, Set<string>>();
  for (const line of lines(text)) {
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[([a-z/]+)\]$/.exec(line)?.[1];
    if (header !== undefined) {
      if (!SSSD_KEYS[header] || seen.has(header)) return `${context.path}: device setup writes no section [${header}] (or writes it once)`;
      section = header;
      seen.set(header, new Set());
      continue;
    }
    const [, key, value] = /^([a-z0-9_]+) = (.*)$/.exec(line) ?? [];
    const form = section && key ? SSSD_KEYS[section]![key] : undefined;
    if (!section || !key || !form || value === undefined || seen.get(section)!.has(key)) return `${context.path}: device setup writes no "${line.slice(0, 60)}"${section ? ` into [${section}]` : ''}`;
    if (!form.test(value)) return `${context.path}: ${key} may not be "${value.slice(0, 80)}"`;
    seen.get(section)!.add(key);
  }
  const domain = seen.get('domain/selfdeploy');
  if (!seen.has('sssd') || !domain) return `${context.path} must configure [sssd] and [domain/selfdeploy]`;
  const provider = /^id_provider = (ldap|ad)$/m.exec(text)?.[1];
  const rules = SSSD_PROVIDERS[provider ?? ''];
  if (!rules || !/^auth_provider = (ldap|ad)$/m.test(text) || [...text.matchAll(/^(id|auth|chpass)_provider = (.*)$/gm)].some((match) => match[2] !== provider)) return `${context.path}: [domain/selfdeploy] has one provider (ldap or ad) for identities, sign-in and passwords`;
  const missing = [...SSSD_REQUIRED, ...rules.required].filter((key) => !domain.has(key));
  if (missing.length) return `${context.path}: [domain/selfdeploy] lacks ${missing.join(', ')}`;
  const foreign = [...domain].find((key) => rules.foreign.test(key));
  if (foreign) return `${context.path}: ${foreign} is not a key of the ${provider} provider`;
  if (provider === 'ad') {
    const domainName = /^ad_domain = (.*)$/m.exec(text)![1]!;
    if (/^krb5_realm = (.*)$/m.exec(text)![1] !== domainName.toUpperCase()) return `${context.path}: krb5_realm is ad_domain in capitals`;
    if (!/^ad_hostname = (.*)$/m.exec(text)![1]!.endsWith(`.${domainName}`)) return `${context.path}: ad_hostname is the device's name in ad_domain`;
  }
  // The device's certificate: all three keys or none, the certificate and key of one item, over TLS.
  const external = ['ldap_sasl_mech', 'ldap_tls_cert', 'ldap_tls_key'].filter((key) => domain.has(key)).length;
  if (external !== 0 && external !== 3) return `${context.path}: ldap_sasl_mech, ldap_tls_cert and ldap_tls_key go together`;
  if (external === 3) {
    const cert = /^ldap_tls_cert = (.*)\.crt$/m.exec(text)?.[1];
    const key = /^ldap_tls_key = (.*)\.tss2\.pem$/m.exec(text)?.[1];
    if (cert !== key) return `${context.path}: ldap_tls_cert and ldap_tls_key name different certificates`;
    if (!/^ldap_uri = ldaps:/m.test(text) && !/^ldap_id_use_start_tls = true$/m.test(text)) return `${context.path}: a client certificate goes only over TLS (ldaps:// or StartTLS)`;
  }
  const simple = /^access_provider = simple$/m.test(text);
  if (simple !== (domain.has('simple_allow_groups') || domain.has('simple_allow_users'))) return `${context.path}: simple access control goes with simple_allow_users or simple_allow_groups, and only with them`;
  return null;
};

/** A GVariant string literal as dconf keyfiles hold it: single-quoted, backslash escapes only for \\ ' n. */
const GVARIANT_STRING = "'(?:[^'\\\\\\n\\u0000-\\u001f]|\\\\[\\\\'n])*'";

/** The login screen's logo: a PNG, JPEG or SVG image (what branding takes), at most 512 KiB. */
const LOGIN_LOGO: ContentRule = (next, context) => {
  const png = next.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const jpeg = next[0] === 0xff && next[1] === 0xd8 && next[2] === 0xff;
  const svg = !png && !jpeg && /^\s*(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*<svg[\s>]/.test(next.subarray(0, 4096).toString('utf8'));
  if (next.length > 512 * 1024) return `${context.path} must be at most 512 KiB`;
  return png || jpeg || svg ? null : `${context.path} must be a PNG, JPEG or SVG image`;
};

/** The rule of each sign-in place. */
export const SIGN_IN_CONTENTS: Partial<Record<PlaceName, ContentRule>> = {
  sssdConf: SSSD_CONF,
  // The directory-bind policy: the bind DN and password of selfdeploy's domain, nothing else (its
  // keys could otherwise point SSSD anywhere). The values as the policy's schema allows them.
  sssdBind: whole(
    // eslint-disable-next-line no-control-regex
    /^# selfdeploy policy "[A-Za-z0-9][A-Za-z0-9._+-]{0,127}": the account SSSD binds to the directory as\. selfdeploy reset removes it\.\n\[domain\/selfdeploy\]\nldap_default_bind_dn = [A-Za-z][A-Za-z0-9-]*=[^\x00-\x1f\x7f]{1,1020}\nldap_default_authtok_type = password\nldap_default_authtok = [^\s\x00-\x1f\x7f]([^\x00-\x1f\x7f]{0,254}[^\s\x00-\x1f\x7f])?\n$/,
    'the bind DN and password of the selfdeploy domain, nothing else',
  ),
  directoryCa: (next, context) => {
    const why = pem('CERTIFICATE', 16)(next, context);
    if (why) return why;
    const blocks = utf8(next)!.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)!;
    return blocks.every((block) => new X509Certificate(block).ca) ? null : `${context.path} must hold CA certificates only`;
  },
  nsswitch: NSSWITCH,
  gdmLoginScreen: whole(
    new RegExp(
      `^# selfdeploy: the organisation’s login screen \\(the profile’s sign-in end state\\)\\n\\[org/gnome/login-screen\\]\\n(logo='${PLACES.loginLogo}'\\n)?banner-message-enable=true\\nbanner-message-text=${GVARIANT_STRING}\\n$`,
    ),
    'GDM’s login-screen logo (selfdeploy’s) and banner, nothing else',
  ),
  loginLogo: LOGIN_LOGO,
  lightdmGreeter: whole(
    new RegExp(`^# selfdeploy: the organisation’s login screen \\(the profile’s sign-in end state\\)\\n\\[greeter\\]\\nbackground = #[0-9A-Fa-f]{6}\\n(default-user-image = ${PLACES.loginLogo}\\n)?$`),
    'the GTK greeter’s background colour and selfdeploy’s logo, nothing else',
  ),
  lightdmSharedDevice: whole(/^\[Seat:\*\]\nallow-guest=false\n$/, 'the guest session switched off'),
  sssdTpm: whole(
    /^# selfdeploy: SSSD signs in to the directory with the device’s TPM-held key \(the tpm2-openssl provider\)\.\n\[Service\]\nEnvironment=OPENSSL_CONF=\/usr\/share\/selfdeploy\/openssl-tpm2\.cnf\nSupplementaryGroups=tss\n$/,
    'selfdeploy’s drop-in for SSSD (OpenSSL’s tpm2 provider, the tss group), nothing else',
  ),
  sharedAccounts: (next, context) => {
    const why = json('the shared device’s sweep settings')(next, context);
    if (why) return why;
    return HomeSweepSettingsSchema.safeParse(JSON.parse(utf8(next)!)).success ? null : `${context.path} must hold deleteHomeAtSignOut, deleteHomeAfterDays and maxCachedAccounts, nothing else`;
  },
  sharedAccountsProfile: whole(
    /^Name: Delete the home directories of a shared device’s members \(selfdeploy\)\nDefault: yes\nPriority: 0\nSession-Type: Additional\nSession-Interactive-Only: yes\nSession:\n\toptional\tpam_exec\.so quiet \/usr\/sbin\/selfdeploy-shared-accounts\n$/,
    'selfdeploy’s shared-accounts profile (pam_exec of /usr/sbin/selfdeploy-shared-accounts), nothing else',
  ),
  logindSharedDevice: whole(/^\[Login\]\nStopIdleSessionSec=[1-9][0-9]{1,5}\n$/, 'idle sessions stopped after a number of seconds'),
  mkhomedirProfile: whole(
    /^Name: Create the home directory at the first sign-in \(selfdeploy\)\nDefault: yes\nPriority: 0\nSession-Type: Additional\nSession-Interactive-Only: yes\nSession:\n\toptional\tpam_mkhomedir\.so umask=0[0-7]{3}\n$/,
    'selfdeploy’s pam_mkhomedir profile (an umask, nothing else)',
  ),
};
