// Every place device setup changes on a device, by what changes it: the OOBE settings, the end
// state, and each kind of Device setup item. The providers build their paths from these templates,
// and selfdeploy-helper accepts a change only where the templates of the item it serves put
// things, with at most the mode written here — one list, so the two cannot drift apart, and it is
// the list docs/architecture.md shows ("The helper's places").
//
// A template's {name} is the item's name, {pkg} an app's package and {account} the kiosk account:
// each a plain file name (letters, digits, . _ + -; no ".."), so a template never leaves its directory.
import type { AssignedItem } from '../../protocol/items.js';
import { CONFIG_FILE_MAX_MODE } from '../../protocol/profile.js';
import { TargetError } from './errors.js';

export const PLACES = {
  // Every item
  applyLog: '/var/log/selfdeploy/applied.log',
  /** apt's output of the distribution's updates ("Critical updates"). */
  osUpdatesLog: '/var/log/selfdeploy/os-updates.log',
  // Apps
  appMarker: '/var/lib/selfdeploy-setup/packages/{pkg}',
  appTree: '/opt/{pkg}',
  appImage: '/opt/{pkg}/{pkg}.AppImage',
  installerLog: '/var/log/selfdeploy/apps/{pkg}-installer.log',
  // Scripts
  scriptMarker: '/var/lib/selfdeploy-setup/scripts/{name}',
  scriptLog: '/var/log/selfdeploy/scripts/{name}.log',
  // Certificates
  trustedRoot: '/usr/local/share/ca-certificates/selfdeploy/{name}.crt',
  clientCertificate: '/etc/selfdeploy/certificates/{name}.crt',
  clientChain: '/etc/selfdeploy/certificates/{name}.chain.pem',
  clientKey: '/etc/selfdeploy/certificates/{name}.tss2.pem',
  /** The same key file as DER: what wpa_supplicant loads through the tpm2-openssl provider. */
  clientKeyDer: '/etc/selfdeploy/certificates/{name}.tss2.der',
  // Networks
  networkKeyfile: '/etc/NetworkManager/system-connections/selfdeploy-{name}.nmconnection',
  // Policies
  policyRecord: '/etc/selfdeploy/policies/{name}.json',
  pwquality: '/etc/security/pwquality.conf.d/50-selfdeploy-{name}.conf',
  loginDefs: '/etc/login.defs',
  dconfProfile: '/etc/dconf/profile/user',
  dconfKeyfile: '/etc/dconf/db/local.d/50-selfdeploy-{name}',
  dconfLocks: '/etc/dconf/db/local.d/locks/50-selfdeploy-{name}',
  chromiumPolicy: '/etc/chromium/policies/managed/selfdeploy-{name}.json',
  chromePolicy: '/etc/opt/chrome/policies/managed/selfdeploy-{name}.json',
  // OOBE: language, keyboard, time zone
  locale: '/etc/default/locale',
  /** systemd's locale file; Debian 13 makes /etc/default/locale a symlink to it. */
  localeConf: '/etc/locale.conf',
  localeGen: '/etc/locale.gen',
  keyboard: '/etc/default/keyboard',
  timezone: '/etc/timezone',
  localtime: '/etc/localtime',
  // End state: the device name, the kiosk
  hostname: '/etc/hostname',
  hosts: '/etc/hosts',
  endState: '/etc/selfdeploy/end-state.json',
  kioskConfig: '/etc/selfdeploy/kiosk.json',
  kioskSession: '/usr/lib/selfdeploy/kiosk-session',
  kioskDesktop: '/usr/share/xsessions/selfdeploy-kiosk.desktop',
  lightdm: '/etc/lightdm/lightdm.conf.d/50-selfdeploy-kiosk.conf',
  gdm: '/etc/gdm3/custom.conf',
  accountsService: '/var/lib/AccountsService/users/{account}',
  // End state: sign-in with the organisation's directory
  sssdConf: '/etc/sssd/sssd.conf',
  directoryCa: '/etc/sssd/selfdeploy-directory-ca.pem',
  /** The directory-bind policy: the account SSSD binds as, a snippet SSSD merges into sssd.conf. */
  sssdBind: '/etc/sssd/conf.d/50-selfdeploy-bind.conf',
  /** SSSD's unit with OpenSSL's tpm2 provider, for a directory that knows the device by its certificate. */
  sssdTpm: '/etc/systemd/system/sssd.service.d/50-selfdeploy-tpm2.conf',
  nsswitch: '/etc/nsswitch.conf',
  mkhomedirProfile: '/usr/share/pam-configs/selfdeploy-mkhomedir',
  // End state: the organisation's login screen (GDM)
  gdmLoginScreen: '/etc/dconf/db/gdm.d/50-selfdeploy-login-screen',
  loginLogo: '/usr/share/selfdeploy/login-screen/logo',
  /** LightDM's GTK greeter reads its drop-ins from the system data directories' lightdm-gtk-greeter.conf.d. */
  lightdmGreeter: '/usr/share/lightdm/lightdm-gtk-greeter.conf.d/50-selfdeploy-login-screen.conf',
  // End state: a shared device
  lightdmSharedDevice: '/etc/lightdm/lightdm.conf.d/50-selfdeploy-shared-device.conf',
  logindSharedDevice: '/etc/systemd/logind.conf.d/50-selfdeploy-shared-device.conf',
  /** What selfdeploy-shared-accounts deletes of members' homes (read by it as root, at each session's start and end). */
  sharedAccounts: '/etc/selfdeploy/shared-accounts.json',
  /** pam-configs profile running selfdeploy-shared-accounts (pam_exec) in the session stack. */
  sharedAccountsProfile: '/usr/share/pam-configs/selfdeploy-shared-accounts',
} as const;

export type PlaceName = keyof typeof PLACES;

/** The system's trusted CAs (ca-certificates), for a directory whose profile names no CA of its own. */
export const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** GDM's system dconf database, compiled from gdm.d. */
export const GDM_DATABASE = '/etc/dconf/db/gdm';

/**
 * What SSSD keeps of a directory's users (its domain's cache, the fast in-memory caches NSS reads
 * without asking SSSD, its parsed configuration): removed before SSSD starts on a new configuration
 * and again when reset takes the configuration away, so no directory user outlives it.
 */
export const SSSD_CACHES = [
  '/var/lib/sss/db/cache_selfdeploy.ldb',
  '/var/lib/sss/db/timestamps_selfdeploy.ldb',
  '/var/lib/sss/db/config.ldb',
  '/var/lib/sss/mc/passwd',
  '/var/lib/sss/mc/group',
  '/var/lib/sss/mc/initgroups',
  '/var/lib/sss/mc/sid',
] as const;
export type PlaceValues = { name?: string; pkg?: string; account?: string };

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;
const SAFE_PATTERN = '[A-Za-z0-9][A-Za-z0-9._+-]{0,127}';

/** Whether `name` can be part of a file name: letters, digits, . _ + - and no "..". */
export function isSafeName(name: string): boolean {
  return SAFE_NAME.test(name) && !name.includes('..');
}

/** A place's path for these names; ITEM_FAILED for a name that cannot be part of a file name. */
export function placePath(place: PlaceName, values: PlaceValues = {}): string {
  return PLACES[place].replace(/\{(name|pkg|account)\}/g, (_, key: keyof PlaceValues) => {
    const value = values[key];
    const what = key === 'pkg' ? 'package' : key;
    if (value === undefined || !isSafeName(value)) throw new TargetError('ITEM_FAILED', `${what} "${value ?? ''}" cannot name a file`);
    return value;
  });
}

/** Whether `path` is the place for some names (any, when `values` leaves them open). */
function matches(place: PlaceName, path: string, values: PlaceValues | null): boolean {
  if (values) {
    try {
      return placePath(place, values) === path;
    } catch {
      return false;
    }
  }
  const pattern = PLACES[place].replace(/[.+]/g, '\\$&').replace(/\{(name|pkg|account)\}/g, SAFE_PATTERN);
  const found = new RegExp(`^${pattern}$`).exec(path);
  return found !== null && !path.includes('..');
}

/** Whether `path` is the place for some safe names. */
export function matchesPlace(place: PlaceName, path: string): boolean {
  return matches(place, path, null);
}

/** A file a scope may write, and the most its mode may allow (what it may hold: place-contents.ts). */
interface FileRule {
  place: PlaceName;
  maxMode: number;
}

/** The commands device setup runs, by name (selfdeploy-helper's allow-list matches their argv). */
export type CommandName =
  | 'update-ca-certificates'
  | 'nmcli-reload'
  | 'dconf-update'
  | 'locale-gen'
  | 'set-locale'
  | 'set-keymap'
  | 'set-timezone'
  | 'set-hostname'
  | 'add-kiosk-account'
  | 'enable-mkhomedir'
  | 'enable-shared-accounts'
  | 'clear-sssd-cache'
  | 'restart-sssd'
  | 'try-restart-sssd'
  | 'reload-systemd'
  | 'compile-gdm-database';

/** What one scope — the OOBE, the end state, an item — may change. */
export interface Scope {
  /** "the OOBE", "app \"player\"": for messages. */
  label: string;
  files: FileRule[];
  /** A file outside the templates: the config-file policy's own target (exact path), any owner. */
  configFile?: { path: string | null; maxMode: number };
  /** Directory trees the scope creates (and writes into, for files of its package). */
  trees: FileRule[];
  symlinks: PlaceName[];
  commands: CommandName[];
  /** Installs: where a package goes, and the content it must be (null: any digest, a lab). */
  installs: { format: 'deb' | 'tar'; destination: string | null }[];
  /** Scripts (a script item, an app's shell installer) and their log. */
  scripts: boolean;
  /** Joins an Active Directory domain (a directory-join policy): adcli join, its keytab. */
  domainJoin: boolean;
  /** Where installers and scripts keep their output. */
  logs: PlaceName[];
  /** The content a script or package of this scope must be (null: not bound to an item, a lab). */
  sha256: string | null;
  /** Names the templates are filled with (null: any safe name — not bound to an item, a lab). */
  values: PlaceValues | null;
  /** The item the scope is bound to, whose content its files must be (null: the OOBE, the end state, a lab). */
  item: AssignedItem | null;
}

const F = (place: PlaceName, maxMode = 0o644): FileRule => ({ place, maxMode });

function scope(label: string, values: PlaceValues | null, parts: Partial<Omit<Scope, 'label' | 'values'>>): Scope {
  return { label, values, files: [], trees: [], symlinks: [], commands: [], installs: [], scripts: false, domainJoin: false, logs: [], sha256: null, item: null, ...parts };
}

/** The OOBE: language, region and keyboard, time zone. */
export const OOBE_SCOPE: Scope = scope('the OOBE settings', {}, {
  files: [F('locale'), F('localeConf'), F('localeGen'), F('keyboard'), F('timezone')],
  symlinks: ['localtime'],
  commands: ['locale-gen', 'set-locale', 'set-keymap', 'set-timezone'],
});

/**
 * The end state: the device name, the kiosk (its account, automatic logon, its session) and
 * directory sign-in (SSSD, NSS, the home directory at the first sign-in), the login screen (GDM).
 */
export const END_STATE_SCOPE: Scope = scope('the end state', null, {
  files: [
    F('hostname'),
    F('hosts'),
    F('endState'),
    F('kioskConfig'),
    F('kioskSession', 0o755),
    F('kioskDesktop'),
    F('lightdm'),
    F('gdm'),
    F('accountsService'),
    F('sssdConf', 0o600),
    F('directoryCa'),
    F('sssdTpm'),
    F('nsswitch'),
    F('mkhomedirProfile'),
    F('gdmLoginScreen'),
    F('loginLogo'),
    F('lightdmGreeter'),
    F('lightdmSharedDevice'),
    F('logindSharedDevice'),
    F('sharedAccounts'),
    F('sharedAccountsProfile'),
  ],
  commands: ['set-hostname', 'add-kiosk-account', 'enable-mkhomedir', 'enable-shared-accounts', 'clear-sssd-cache', 'reload-systemd', 'restart-sssd', 'dconf-update', 'compile-gdm-database'],
});

type Variant = 'app' | 'script' | 'trusted-root' | 'device-client' | 'network' | 'password' | 'screen-lock' | 'chromium' | 'config-file' | 'directory-bind' | 'directory-join';

/** The places of one kind of item (its variant: a policy's kind, a certificate's type). */
function variantScope(variant: Variant, label: string, values: PlaceValues | null, item: AssignedItem | null): Scope {
  return { ...kindScope(variant, label, values, item), item };
}

function kindScope(variant: Variant, label: string, values: PlaceValues | null, item: AssignedItem | null): Scope {
  const log = F('applyLog');
  switch (variant) {
    case 'app': {
      const payload = item?.kind === 'app' ? item.payload : null;
      const tree = payload ? [{ format: 'tar' as const, destination: placePath('appTree', { pkg: payload.package }) }] : [{ format: 'tar' as const, destination: null }];
      return scope(label, values, {
        files: [log, F('appMarker'), F('appImage', 0o755)],
        trees: [F('appTree', 0o755)],
        installs: [...(!payload || payload.installer === 'deb' ? [{ format: 'deb' as const, destination: '/' }] : []), ...(!payload || payload.installer === 'tar' ? tree : [])],
        scripts: !payload || payload.installer === 'script',
        logs: ['installerLog'],
        sha256: payload?.content.sha256 ?? null,
      });
    }
    case 'script':
      return scope(label, values, { files: [log, F('scriptMarker')], scripts: true, logs: ['scriptLog'], sha256: item?.kind === 'script' ? item.payload.content.sha256 : null });
    case 'trusted-root':
      return scope(label, values, { files: [log, F('trustedRoot')], commands: ['update-ca-certificates'] });
    case 'device-client':
      return scope(label, values, { files: [log, F('clientCertificate'), F('clientChain'), F('clientKey', 0o600), F('clientKeyDer', 0o600)] });
    case 'network':
      return scope(label, values, { files: [log, F('networkKeyfile', 0o600)], commands: ['nmcli-reload'] });
    case 'password':
      return scope(label, values, { files: [log, F('policyRecord'), F('pwquality'), F('loginDefs')] });
    case 'screen-lock':
      return scope(label, values, { files: [log, F('policyRecord'), F('dconfProfile'), F('dconfKeyfile'), F('dconfLocks')], commands: ['dconf-update'] });
    case 'chromium':
      return scope(label, values, { files: [log, F('policyRecord'), F('chromiumPolicy'), F('chromePolicy')] });
    case 'directory-bind':
      return scope(label, values, { files: [log, F('policyRecord'), F('sssdBind', 0o600)], commands: ['try-restart-sssd'] });
    case 'directory-join':
      return scope(label, values, { files: [log, F('policyRecord')], domainJoin: true });
    case 'config-file': {
      const payload = item?.kind === 'policy' && item.payload.kind === 'config-file' ? item.payload : null;
      return scope(label, values, { files: [log, F('policyRecord')], configFile: { path: payload?.path ?? null, maxMode: payload ? parseInt(payload.mode, 8) & CONFIG_FILE_MAX_MODE : CONFIG_FILE_MAX_MODE } });
    }
  }
}

function variantOf(item: AssignedItem): Variant {
  if (item.kind === 'policy') return item.payload.kind;
  if (item.kind === 'certificate') return item.payload.type;
  return item.kind;
}

/** What this assigned item may change: its kind's places, filled with its own names and content. */
export function itemScope(item: AssignedItem): Scope {
  const values: PlaceValues = { name: item.name, ...(item.kind === 'app' ? { pkg: item.payload.package } : {}) };
  return variantScope(variantOf(item), `${item.kind} "${item.name}"`, values, item);
}

/** Every kind of item's places, for any names and content: a lab helper that has no service to ask. */
export const ANY_ITEM_SCOPES: readonly Scope[] = (['app', 'script', 'trusted-root', 'device-client', 'network', 'password', 'screen-lock', 'chromium', 'config-file', 'directory-bind', 'directory-join'] as const).map((variant) =>
  variantScope(variant, `any ${variant} item`, null, null),
);

/** The file rule of `scope` that `path` is, if any. */
export function fileRule(scope: Scope, path: string): FileRule | undefined {
  return scope.files.find((rule) => matches(rule.place, path, scope.values));
}

/** The tree of `scope` that `path` is, or lies in. */
export function treeRule(scope: Scope, path: string): FileRule | undefined {
  return scope.trees.find((rule) => {
    const parts = path.split('/');
    for (let end = parts.length; end > 1; end--) if (matches(rule.place, parts.slice(0, end).join('/'), scope.values)) return true;
    return false;
  });
}

export function isSymlinkPlace(scope: Scope, path: string): boolean {
  return scope.symlinks.some((place) => matches(place, path, scope.values));
}

export function isLogPlace(scope: Scope, path: string): boolean {
  return scope.logs.some((place) => matches(place, path, scope.values));
}
