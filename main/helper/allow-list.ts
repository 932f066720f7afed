// What selfdeploy-helper lets the agent do as root — the places device setup manages and the
// commands it runs — and nothing else. A compromised agent can, at worst, change what device setup
// changes anyway: never the accounts database, sudoers, PAM, SSH or the agent's own installation.
// Paths are checked as given and again as resolved (the server checks that every directory on the
// way belongs to root, so no one else can redirect a write after the check).
import { isTimeZone, managedConfigPath } from '../../protocol/profile.js';

/** Single files device setup writes. */
const FILES = new Set([
  '/etc/hostname',
  '/etc/hosts',
  '/etc/timezone',
  '/etc/localtime',
  '/etc/default/locale',
  '/etc/default/keyboard',
  '/etc/locale.gen',
  '/etc/login.defs',
  '/etc/gdm3/custom.conf',
  '/etc/dconf/profile/user',
  '/etc/lightdm/lightdm.conf.d/50-selfdeploy-kiosk.conf',
  '/usr/share/xsessions/selfdeploy-kiosk.desktop',
]);

/** Trees (or name prefixes inside a directory) device setup writes into. */
const PREFIXES = [
  '/etc/selfdeploy/',
  '/etc/NetworkManager/system-connections/selfdeploy-',
  '/usr/local/share/ca-certificates/selfdeploy/',
  '/etc/chromium/policies/managed/selfdeploy-',
  '/etc/opt/chrome/policies/managed/selfdeploy-',
  '/etc/security/pwquality.conf.d/50-selfdeploy-',
  '/etc/dconf/db/local.d/50-selfdeploy-',
  '/etc/dconf/db/local.d/locks/50-selfdeploy-',
  '/var/lib/AccountsService/users/',
  '/usr/lib/selfdeploy/',
  '/var/lib/selfdeploy-setup/',
  '/var/log/selfdeploy/',
  '/opt/',
];

/** Directories device setup creates itself (package trees, its own records). */
const DIR_PREFIXES = ['/opt/', '/var/lib/selfdeploy-setup/', '/var/log/selfdeploy/', '/usr/lib/selfdeploy/'];

/** Never, whatever the prefix lists say: the agent's own installation. */
const NEVER = ['/opt/selfdeploy/', '/usr/lib/selfdeploy/selfdeploy-helper', '/etc/selfdeploy/helper.json'];

/** Read-only facts providers compare against (all world-readable on Debian). */
const READABLE = new Set(['/etc/passwd', '/etc/group', '/var/lib/dpkg/status']);

function under(path: string, prefix: string): boolean {
  return prefix.endsWith('/') ? path.startsWith(prefix) && path.length > prefix.length : path.startsWith(prefix) && !path.slice(prefix.length).includes('/');
}

function lexicallyClean(path: string): boolean {
  return path.startsWith('/') && !path.split('/').slice(1).some((part) => part === '' || part === '.' || part === '..');
}

export type Access = 'write' | 'read' | 'dir';

/**
 * Why `path` may not be accessed this way, or null when it may. `configFile` says the path is
 * allowed only as a config-file policy's target (the server reads those only when world-readable).
 */
export function refusal(path: string, access: Access): { refused: string } | { refused: null; configFile: boolean } {
  if (!lexicallyClean(path)) return { refused: `${path} is not a plain absolute path` };
  if (NEVER.some((prefix) => path === prefix.replace(/\/$/, '') || path.startsWith(prefix))) return { refused: `${path} belongs to selfdeploy's own installation` };
  if (access === 'dir') return DIR_PREFIXES.some((prefix) => under(path, prefix)) ? { refused: null, configFile: false } : { refused: `${path} is not a directory device setup creates` };
  if (FILES.has(path) || PREFIXES.some((prefix) => under(path, prefix))) return { refused: null, configFile: false };
  if (access === 'read' && READABLE.has(path)) return { refused: null, configFile: false };
  if (managedConfigPath.safeParse(path).success) return { refused: null, configFile: true };
  return { refused: `${path} is not a place device setup manages` };
}

/** A symlink device setup may make: /etc/localtime to a zone, or inside a package's own /opt tree. */
export function symlinkRefusal(path: string, linkTarget: string): string | null {
  if (path === '/etc/localtime') {
    const zone = linkTarget.replace(/^\/usr\/share\/zoneinfo\//, '');
    return zone !== linkTarget && isTimeZone(zone) && lexicallyClean(linkTarget) ? null : `/etc/localtime may only point to a time zone in /usr/share/zoneinfo`;
  }
  const tree = /^\/opt\/([^/]+)\//.exec(path)?.[1];
  if (!tree || NEVER.some((prefix) => path.startsWith(prefix))) return `${path} is not a place device setup makes symlinks`;
  const base = path.slice(0, path.lastIndexOf('/'));
  const resolved = new URL(linkTarget, `file://${base}/`).pathname;
  return resolved.startsWith(`/opt/${tree}/`) || resolved === `/opt/${tree}` ? null : `the symlink ${path} → ${linkTarget} leaves the package's tree /opt/${tree}`;
}

const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const ACCOUNT = /^[a-z_][a-z0-9_-]{0,31}$/;

interface CommandRule {
  matches(argv: readonly string[]): boolean;
  /** The inverse the helper records: computed here, never taken from the request. */
  inverse(argv: readonly string[]): string[] | null;
}

const exact = (command: readonly string[], inverse: readonly string[] | null): CommandRule => ({
  matches: (argv) => argv.length === command.length && argv.every((arg, index) => arg === command[index]),
  inverse: () => (inverse ? [...inverse] : null),
});

const withValue = (command: readonly string[], valid: (value: string) => boolean, inverse: (value: string) => string[] | null = () => null): CommandRule => ({
  matches: (argv) => argv.length === command.length + 1 && command.every((arg, index) => argv[index] === arg) && valid(argv[command.length]!),
  inverse: (argv) => inverse(argv[command.length]!),
});

export const COMMANDS: readonly CommandRule[] = [
  exact(['update-ca-certificates'], ['update-ca-certificates', '--fresh']),
  exact(['nmcli', 'connection', 'reload'], ['nmcli', 'connection', 'reload']),
  exact(['dconf', 'update'], ['dconf', 'update']),
  exact(['locale-gen'], ['locale-gen']),
  withValue(['localectl', 'set-locale'], (v) => /^LANG=[a-z]{2,3}_[A-Z]{2}\.UTF-8$/.test(v)),
  withValue(['localectl', 'set-x11-keymap'], (v) => /^[a-z]{2,5}(,[a-z]{2,5})?$/.test(v)),
  withValue(['timedatectl', 'set-timezone'], (v) => isTimeZone(v) && !v.includes('..')),
  withValue(['hostnamectl', 'set-hostname'], (v) => HOST_NAME.test(v)),
  // The kiosk account: a new, unprivileged user; removed again by Reset.
  withValue(['useradd', '--create-home', '--user-group', '--shell', '/bin/sh', '--comment', 'selfdeploy kiosk'], (v) => ACCOUNT.test(v) && v !== 'root', (v) => ['userdel', '--remove', v]),
];

/** The inverse to record for an allowed command; refuses a command (or a claimed inverse) outside the list. */
export function commandRefusal(argv: readonly string[], claimedInverse: readonly string[] | null): { refused: string } | { refused: null; inverse: string[] | null } {
  const rule = COMMANDS.find((r) => r.matches(argv));
  if (!rule) return { refused: `the command ${argv.join(' ')} is not one device setup runs` };
  const inverse = rule.inverse(argv);
  if (JSON.stringify(inverse) !== JSON.stringify(claimedInverse ?? null)) return { refused: `${argv.join(' ')} is undone by ${inverse ? inverse.join(' ') : 'nothing'}, not by ${claimedInverse ? claimedInverse.join(' ') : 'nothing'}` };
  return { refused: null, inverse };
}

/** Where an installer may put a package: a .deb system-wide (through apt), a tar archive in its own /opt tree. */
export function installRefusal(format: 'deb' | 'tar', destination: string): string | null {
  if (format === 'deb') return destination === '/' ? null : 'a .deb is installed system-wide (destination /)';
  const name = /^\/opt\/([a-z0-9][a-z0-9+.-]{0,127})$/.exec(destination)?.[1];
  return name && name !== 'selfdeploy' ? null : `a tar archive goes into its own /opt/NAME, not ${destination}`;
}

/** Where scripts and installers keep their output. */
export function logRefusal(path: string): string | null {
  return lexicallyClean(path) && path.startsWith('/var/log/selfdeploy/') ? null : `${path} is not under /var/log/selfdeploy`;
}
