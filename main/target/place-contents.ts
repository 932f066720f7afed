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
import { editedKeys, isKey, json, lines, only, pem, utf8, whole, type ContentContext, type ContentRule } from './content-rules.js';
import { PLACES, matchesPlace, type PlaceName } from './places.js';
import { SIGN_IN_CONTENTS } from './sign-in-contents.js';

export type { ContentContext, ContentRule } from './content-rules.js';
export { nsswitchWithSss } from './sign-in-contents.js';

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
  ...SIGN_IN_CONTENTS,
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
