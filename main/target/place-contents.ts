// What each place may hold. The places say where device setup writes (places.ts); root acts on
// much of what is written there — setupcon sources /etc/default/keyboard, userdel runs login.defs'
// USERDEL_CMD, LightDM runs a session-setup-script, GDM logs an account in, update-ca-certificates
// trusts what is in its directory — so selfdeploy-helper also checks content: a file the system
// owns (login.defs, /etc/hosts, GDM's custom.conf …) may change only in the keys device setup
// manages, to values of their form, every other line kept as it was and in its order; a file
// device setup writes whole must be of the form it writes; content bound to an item (a trusted
// root, an AppImage) must be that item's.
import { X509Certificate, createHash } from 'node:crypto';

import { isTimeZone } from '../../protocol/profile.js';
import { parseTss2PrivateKeyDer } from '../../protocol/tpm/key-file.js';
import { PLACES, SYSTEM_CA_BUNDLE, matchesPlace, type PlaceName, type Scope } from './places.js';

/** What a content rule may look at besides the new content. */
export interface ContentContext {
  /** The path written (as given, already matched to the place). */
  path: string;
  /** The file as it is now, or null. */
  current: string | null;
  scope: Scope;
  /** A file of the device, as text (/etc/passwd, /etc/group), or null. */
  read: (path: string) => string | null;
}

/** Why `next` may not be the place's content, or null. */
export type ContentRule = (next: Buffer, context: ContentContext) => string | null;

/** The X session the kiosk account logs in to. */
export const KIOSK_SESSION = 'selfdeploy-kiosk';
/** RFC 1123 host name label: what hostnamectl accepts as a static name. */
export const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
/** A local account's name as useradd takes it. */
export const ACCOUNT = /^[a-z_][a-z0-9_-]{0,31}$/;
/** /etc/hosts as device setup starts it when a system has none. */
export const FRESH_HOSTS = '127.0.0.1\tlocalhost\n';
/** Groups that administer a Debian system (sudo), or that used to (admin, wheel). */
export const ADMIN_GROUPS = ['sudo', 'admin', 'wheel', 'root'];

const LOCALE = '[a-z]{2,3}_[A-Z]{2,3}\\.UTF-8';

function lines(text: string | null): string[] {
  return text === null || text === '' ? [] : text.replace(/\n$/, '').split('\n');
}

function utf8(next: Buffer): string | null {
  const text = next.toString('utf8');
  return Buffer.from(text, 'utf8').equals(next) && !text.includes('\0') ? text : null;
}

/**
 * A file the system owns, edited in some keys only: every line of `managed` keys in the new content
 * is `valid` (or one the file already had), and the other lines are the file's own, in its order
 * (blank lines and the `headers` a merge may add aside; `fresh`: what a missing file starts from).
 */
function editedKeys(what: string, managed: (line: string) => boolean, valid: (line: string, context: ContentContext) => string | null, headers: string[] = [], fresh = ''): ContentRule {
  return (next, context) => {
    const text = utf8(next);
    if (text === null) return `${context.path} must be text`;
    const before = lines(context.current ?? fresh);
    const after = lines(text);
    for (const line of after.filter(managed)) {
      if (before.includes(line)) continue;
      const why = valid(line, context);
      if (why) return `${context.path}: "${line.slice(0, 80)}" ${why}`;
    }
    const kept = (all: string[]) => all.filter((line) => !managed(line) && line.trim() !== '' && !headers.includes(line.trim()));
    const was = kept(before);
    const is = kept(after);
    const at = is.findIndex((line, index) => line !== was[index]);
    if (at >= 0 || is.length !== was.length) {
      const line = at >= 0 ? is[at]! : was[is.length] ?? '';
      return `${context.path}: device setup changes only ${what} there, not "${line.slice(0, 80)}"`;
    }
    return null;
  };
}

/** A file device setup writes whole: exactly `pattern` (anchored), then `check` on its groups. */
function whole(pattern: RegExp, form: string, check: (found: RegExpExecArray, context: ContentContext) => string | null = () => null): ContentRule {
  return (next, context) => {
    const text = utf8(next);
    const found = text === null ? null : pattern.exec(text);
    if (!found) return `${context.path} must be ${form}`;
    return check(found, context);
  };
}

/**
 * Why `name` may not be the kiosk account that logs in by itself: root, a system account, or one
 * that administers the device would give whoever stands at the screen root.
 */
export function kioskAccountRefusal(name: string, read: (path: string) => string | null): string | null {
  if (!ACCOUNT.test(name) || name === 'root') return `"${name}" cannot be the kiosk account`;
  const entry = lines(read('/etc/passwd')).find((line) => line.split(':')[0] === name);
  if (entry) {
    const [, , uid, gid] = entry.split(':');
    if (!(Number(uid) >= 1000 && Number(uid) < 60000) || Number(gid) === 0) return `the account "${name}" is a system account (uid ${uid}), so it cannot log in as the kiosk`;
  }
  const groups = lines(read('/etc/group')).map((line) => line.split(':'));
  const admin = groups.filter((g) => ADMIN_GROUPS.includes(g[0]!) && (g[3] ?? '').split(',').includes(name)).map((g) => g[0]!);
  if (admin.length) return `the account "${name}" is in ${admin.join(', ')}, so it cannot log in as the kiosk`;
  return null;
}

const keyOf = (line: string, separator: RegExp) => line.trim().split(separator)[0]!;
const isKey = (keys: string[], separator = /=/) => (line: string) => !/^\s*[#;]/.test(line) && keys.includes(keyOf(line, separator));
const only = (pattern: RegExp, form: string) => (line: string) => (pattern.test(line) ? null : `is not ${form}`);

function json(what: string): ContentRule {
  return (next, context) => {
    const text = utf8(next);
    try {
      const value: unknown = text === null ? null : JSON.parse(text);
      return value !== null && typeof value === 'object' && !Array.isArray(value) ? null : `${context.path} must be ${what} (a JSON object)`;
    } catch {
      return `${context.path} must be ${what} (a JSON object)`;
    }
  };
}

/** PEM blocks of `label` only, each one parsing as what it says. */
function pem(label: 'CERTIFICATE' | 'TSS2 PRIVATE KEY', most: number): ContentRule {
  return (next, context) => {
    const text = utf8(next);
    const blocks = text?.match(new RegExp(`-----BEGIN ${label}-----\\n[A-Za-z0-9+/=\\n]+-----END ${label}-----\\n?`, 'g')) ?? [];
    if (text === null || blocks.length === 0 || blocks.length > most || blocks.join('').replace(/\n/g, '') !== text.replace(/\n/g, '')) {
      return `${context.path} must be ${most === 1 ? 'one' : 'only'} PEM ${label.toLowerCase()}${most === 1 ? '' : 's'}`;
    }
    if (label === 'CERTIFICATE') {
      for (const block of blocks) {
        try {
          new X509Certificate(block);
        } catch {
          return `${context.path} holds a certificate that does not parse`;
        }
      }
    }
    return null;
  };
}

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

/** The sections and keys a network keyfile of device setup has; the 802.1X files are certificate items' places. */
const NETWORK_KEYS: Record<string, string[]> = {
  connection: ['id', 'type', 'autoconnect', 'interface-name'],
  wifi: ['mode', 'ssid', 'hidden'],
  'wifi-security': ['key-mgmt', 'psk'],
  '802-1x': ['eap', 'identity', 'ca-cert', 'client-cert', 'private-key', 'private-key-password-flags', 'domain-suffix-match'],
  wireguard: ['private-key'],
  'wireguard-peer': ['endpoint', 'allowed-ips'],
  ipv4: ['method', 'address1'],
  ipv6: ['method'],
};
const NETWORK_VALUES: Record<string, (value: string) => boolean> = {
  'connection.type': (v) => ['wifi', 'ethernet', 'wireguard'].includes(v),
  '802-1x.eap': (v) => v === 'tls;',
  '802-1x.ca-cert': (v) => matchesPlace('trustedRoot', v),
  '802-1x.client-cert': (v) => matchesPlace('clientCertificate', v),
  '802-1x.private-key': (v) => matchesPlace('clientKeyDer', v),
  'ipv4.method': (v) => ['auto', 'manual'].includes(v),
  'ipv6.method': (v) => ['auto', 'disabled'].includes(v),
};

const networkKeyfile: ContentRule = (next, context) => {
  const text = utf8(next);
  if (text === null) return `${context.path} must be text`;
  let section = '';
  let id: string | null = null;
  for (const line of lines(text)) {
    if (line === '') continue;
    const header = /^\[([a-z0-9-]+)(\.[A-Za-z0-9+/]{43}=)?\]$/.exec(line);
    if (header) {
      section = header[1]!;
      if (!NETWORK_KEYS[section] || (section === 'wireguard-peer') !== Boolean(header[2])) return `${context.path}: device setup writes no [${line.slice(1, 40)} section into a network profile`;
      continue;
    }
    const [key, ...rest] = line.split('=');
    const value = rest.join('=');
    if (!section || !NETWORK_KEYS[section]!.includes(key!) || rest.length === 0) return `${context.path}: device setup writes no "${line.slice(0, 40)}" into [${section}]`;
    const valid = NETWORK_VALUES[`${section}.${key}`];
    if (valid && !valid(value)) return `${context.path}: ${section}.${key} may not be "${value.slice(0, 80)}"`;
    if (section === 'connection' && key === 'id') id = value;
  }
  const name = context.scope.values?.name;
  if (name !== undefined && id !== name) return `${context.path} must be the profile of network "${name}" (id=${name})`;
  return null;
};

const DCONF_KEYS = ['/org/gnome/desktop/session/idle-delay', '/org/gnome/desktop/screensaver/lock-enabled', '/org/gnome/desktop/screensaver/lock-delay', '/org/gnome/desktop/screensaver/idle-activation-enabled'];

/** /etc/default/locale and /etc/locale.conf (which Debian 13 links it to): only the language keys are edited. */
const LANGUAGE_FILE: ContentRule = editedKeys('the language (LANG, LC_*)', isKey(['LANG', 'LANGUAGE', 'LC_ALL', 'LC_TIME', 'LC_NUMERIC', 'LC_MONETARY', 'LC_PAPER', 'LC_MEASUREMENT', 'LC_CTYPE', 'LC_COLLATE', 'LC_MESSAGES', 'LC_NAME', 'LC_ADDRESS', 'LC_TELEPHONE', 'LC_IDENTIFICATION']), only(new RegExp(`^(LANG|LC_(TIME|NUMERIC|MONETARY|PAPER|MEASUREMENT))=${LOCALE}$`), 'LANG or LC_* set to a UTF-8 locale'));

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

const LDAP_URI = /^ldaps?:\/\/(\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(:[0-9]{1,5})?$/;
/** What device setup writes into sssd.conf, by section: each key's form. Nothing else may be there. */
const SSSD_KEYS: Record<string, Record<string, RegExp>> = {
  sssd: { services: /^nss, pam$/, domains: /^selfdeploy$/ },
  pam: { offline_credentials_expiration: /^[0-9]{1,3}$/ },
  'domain/selfdeploy': {
    id_provider: /^ldap$/,
    auth_provider: /^ldap$/,
    chpass_provider: /^ldap$/,
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
    cache_credentials: /^(true|false)$/,
    account_cache_expiration: /^[0-9]{1,4}$/,
    enumerate: /^false$/,
  },
};
const SSSD_REQUIRED = ['id_provider', 'auth_provider', 'access_provider', 'ldap_uri', 'ldap_search_base', 'ldap_tls_reqcert'];

/**
 * sssd.conf as device setup writes it, nothing more: sssd runs as root and loads what its
 * configuration names (proxy libraries, commands), so only the keys of one LDAP domain pass, each
 * of its form; simple access control comes with its groups, and TLS certificates are checked.
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
    const [, key, value] = /^([a-z_]+) = (.*)$/.exec(line) ?? [];
    const form = section && key ? SSSD_KEYS[section]![key] : undefined;
    if (!section || !key || !form || value === undefined || seen.get(section)!.has(key)) return `${context.path}: device setup writes no "${line.slice(0, 60)}"${section ? ` into [${section}]` : ''}`;
    if (!form.test(value)) return `${context.path}: ${key} may not be "${value.slice(0, 80)}"`;
    seen.get(section)!.add(key);
  }
  const domain = seen.get('domain/selfdeploy');
  if (!seen.has('sssd') || !domain) return `${context.path} must configure [sssd] and [domain/selfdeploy]`;
  const missing = SSSD_REQUIRED.filter((key) => !domain.has(key));
  if (missing.length) return `${context.path}: [domain/selfdeploy] lacks ${missing.join(', ')}`;
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

/** The content rule of each place that has one (the others hold what only device setup reads: markers, logs). */
export const PLACE_CONTENTS: Partial<Record<PlaceName, ContentRule>> = {
  // OOBE
  locale: LANGUAGE_FILE,
  localeConf: LANGUAGE_FILE,
  localeGen: editedKeys('which UTF-8 locales are generated', (line) => new RegExp(`^#?\\s*${LOCALE} UTF-8\\s*$`).test(line), only(new RegExp(`^${LOCALE} UTF-8$`), 'a UTF-8 locale to generate')),
  keyboard: editedKeys('the keyboard layout (XKB*)', isKey(['XKBMODEL', 'XKBLAYOUT', 'XKBVARIANT', 'XKBOPTIONS']), only(/^XKB(MODEL|LAYOUT|VARIANT|OPTIONS)="[A-Za-z0-9_,:()+-]{0,100}"$/, 'an XKB setting of letters, digits and , : _ ( ) + -')),
  timezone: whole(/^([A-Za-z0-9_+/-]{1,64})\n$/, 'one time zone', (found) => (isTimeZone(found[1]!) && !found[1]!.split('/').includes('..') ? null : `"${found[1]}" is not a time zone`)),
  // End state
  hostname: whole(/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\n$/, 'one host name'),
  hosts: editedKeys('the device’s own name (the 127.0.1.1 line)', (line) => /^\s*127\.0\.1\.1\s/.test(line), only(/^127\.0\.1\.1\t[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/, 'the device name on 127.0.1.1'), [], FRESH_HOSTS),
  endState: json('the end state'),
  kioskConfig: json('the kiosk’s settings'),
  kioskDesktop: whole(new RegExp(`^\\[Desktop Entry\\]\\nName=[^\\n]{1,300}\\nComment=[^\\n]{0,300}\\nExec=${PLACES.kioskSession}\\nType=Application\\n$`), `the kiosk session's entry (Exec=${PLACES.kioskSession})`),
  lightdm: whole(new RegExp(`^\\[Seat:\\*\\]\\nautologin-user=([^\\n]*)\\nautologin-user-timeout=0\\nautologin-session=${KIOSK_SESSION}\\n$`), `automatic logon of the kiosk account into the ${KIOSK_SESSION} session, nothing else`, (found, context) => kioskAccountRefusal(found[1]!, context.read)),
  gdm: editedKeys('automatic logon (AutomaticLoginEnable, AutomaticLogin)', isKey(['AutomaticLoginEnable', 'AutomaticLogin']), (line, context) => {
    const account = /^AutomaticLogin=(.*)$/.exec(line)?.[1];
    if (account !== undefined) return kioskAccountRefusal(account, context.read);
    return line === 'AutomaticLoginEnable=true' ? null : 'is not AutomaticLoginEnable=true';
  }, ['[daemon]']),
  accountsService: (next, context) => {
    const account = context.path.slice(context.path.lastIndexOf('/') + 1);
    return kioskAccountRefusal(account, context.read) ?? editedKeys(`the account's session (Session, XSession, SystemAccount)`, isKey(['Session', 'XSession', 'SystemAccount']), only(new RegExp(`^((X?Session)=${KIOSK_SESSION}|SystemAccount=false)$`), `the ${KIOSK_SESSION} session`), ['[User]'])(next, context);
  },
  sssdConf: SSSD_CONF,
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
  lightdmSharedDevice: whole(/^\[Seat:\*\]\nallow-guest=false\n$/, 'the guest session switched off'),
  logindSharedDevice: whole(/^\[Login\]\nStopIdleSessionSec=[1-9][0-9]{1,5}\n$/, 'idle sessions stopped after a number of seconds'),
  mkhomedirProfile: whole(
    /^Name: Create the home directory at the first sign-in \(selfdeploy\)\nDefault: yes\nPriority: 0\nSession-Type: Additional\nSession-Interactive-Only: yes\nSession:\n\toptional\tpam_mkhomedir\.so umask=0[0-7]{3}\n$/,
    'selfdeploy’s pam_mkhomedir profile (an umask, nothing else)',
  ),
  // Policies
  loginDefs: editedKeys('the password age (PASS_MAX_DAYS)', isKey(['PASS_MAX_DAYS'], /\s/), only(/^PASS_MAX_DAYS\t[0-9]{1,5}$/, 'PASS_MAX_DAYS and a number of days')),
  pwquality: whole(/^# selfdeploy policy "[^"\n]{1,128}"\nminlen = [0-9]{1,4}\n$/, 'a minimum password length (minlen)'),
  dconfProfile: editedKeys('which dconf databases apply', (line) => /^\s*(user|system)-db:/.test(line), only(/^(user-db:user|system-db:local)$/, 'user-db:user or system-db:local')),
  dconfKeyfile: whole(/^# selfdeploy policy "[^"\n]{1,128}"\n\[org\/gnome\/desktop\/session\]\nidle-delay=uint32 [0-9]{1,9}\n\n\[org\/gnome\/desktop\/screensaver\]\nlock-enabled=(true|false)\nlock-delay=uint32 0\nidle-activation-enabled=(true|false)\n$/, 'the screen lock settings'),
  dconfLocks: whole(new RegExp(`^${DCONF_KEYS.join('\\n')}\\n$`), 'the screen lock keys'),
  policyRecord: json('the policy’s record'),
  chromiumPolicy: json('a Chromium policy'),
  chromePolicy: json('a Chrome policy'),
  // Certificates
  trustedRoot: (next, context) => {
    const why = pem('CERTIFICATE', 1)(next, context);
    if (why) return why;
    const item = context.scope.item;
    const certificate = new X509Certificate(next);
    if (!certificate.ca) return `${context.path} must be a CA certificate`;
    if (item?.kind === 'certificate' && item.payload.type === 'trusted-root' && certificate.fingerprint256 !== new X509Certificate(item.payload.pem).fingerprint256) return `${context.path} must be the certificate of ${context.scope.label}`;
    return null;
  },
  clientCertificate: pem('CERTIFICATE', 1),
  clientChain: pem('CERTIFICATE', 16),
  clientKey: pem('TSS2 PRIVATE KEY', 1),
  clientKeyDer: (next, context) => {
    try {
      parseTss2PrivateKeyDer(next);
      return null;
    } catch {
      return `${context.path} must be a TPM key file (TSS2 PRIVATE KEY, DER)`;
    }
  },
  networkKeyfile,
  // Apps
  appImage: (next, context) => (context.scope.sha256 === null || sha256(next) === context.scope.sha256 ? null : `${context.path} must be the AppImage of ${context.scope.label} (sha256 ${context.scope.sha256})`),
  appMarker: whole(/^[^\n]{1,64}\n$/, 'the installed version (one line)'),
  scriptMarker: whole(/^[A-Za-z0-9-]{1,64}@[0-9]{1,9}\n$/, 'the script item that ran (ID@VERSION)'),
};

/** Why `next` may not be what a place holds, or null (places without a rule hold anything). */
export function placeContentRefusal(place: PlaceName, next: Buffer, context: ContentContext): string | null {
  const rule = PLACE_CONTENTS[place];
  return rule ? rule(next, context) : null;
}
