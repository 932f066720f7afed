// What selfdeploy-helper lets the agent do as root: a change is accepted only where the scope it
// claims — the OOBE, the end state, or an item the service assigned to this device — puts things
// (main/target/places.ts), with at most the mode that place allows and content of the form that
// place holds (main/target/place-contents.ts), and only the commands, installs and scripts of that scope. Nothing else: no other file under /etc, no executable configuration,
// no world-writable directory, never the accounts database, sudoers, PAM, SSH, cron, systemd or the
// agent's own installation. Paths are checked as given and again as resolved (the server checks
// that every directory on the way belongs to root, so no one else can redirect a write after the check).
import { isTimeZone, managedConfigPath } from '../../protocol/profile.js';
import { DirectoryJoinPolicySchema, computerName } from '../../protocol/sign-in.js';
import { ACCOUNT, HOST_NAME, placeContentRefusal } from '../target/place-contents.js';
import { ANY_ITEM_SCOPES, END_STATE_SCOPE, GDM_DATABASE, OOBE_SCOPE, SSSD_CACHES, fileRule, isLogPlace, isSymlinkPlace, treeRule, type CommandName, type Scope } from '../target/places.js';
import type { DomainJoin, Owner } from '../target/port.js';

/** Never, whatever a scope says: the agent's own installation and the helper's configuration. */
const NEVER = ['/opt/selfdeploy/', '/usr/lib/selfdeploy/selfdeploy-helper', '/etc/selfdeploy/helper.json', '/etc/opt/selfdeploy/'];

/** Read-only facts providers compare against (all world-readable on Debian). */
const READABLE = new Set(['/etc/passwd', '/etc/group', '/var/lib/dpkg/status']);

/** Every scope there is: what the agent may read back (to compare, to merge) is what some scope writes. */
const ALL_SCOPES: readonly Scope[] = [OOBE_SCOPE, END_STATE_SCOPE, ...ANY_ITEM_SCOPES];

function lexicallyClean(path: string): boolean {
  return path.startsWith('/') && !path.split('/').slice(1).some((part) => part === '' || part === '.' || part === '..');
}

function ownInstallation(path: string): boolean {
  return NEVER.some((prefix) => path === prefix.replace(/\/$/, '') || path.startsWith(prefix));
}

const octal = (mode: number) => `0${mode.toString(8).padStart(3, '0')}`;

/** Why `path` is no plain path or belongs to selfdeploy itself, or null. */
function basicRefusal(path: string): string | null {
  if (!lexicallyClean(path)) return `${path} is not a plain absolute path`;
  if (ownInstallation(path)) return `${path} belongs to selfdeploy's own installation`;
  return null;
}

/**
 * Why the agent may not read (or stat, or check) `path`, or null. `configFile` says the path is
 * readable only as a config-file policy's target (the server reads those only when world-readable).
 */
export function readRefusal(path: string): { refused: string } | { refused: null; configFile: boolean } {
  const basic = basicRefusal(path);
  if (basic) return { refused: basic };
  if (READABLE.has(path)) return { refused: null, configFile: false };
  if (ALL_SCOPES.some((scope) => fileRule(scope, path) || treeRule(scope, path) || isSymlinkPlace(scope, path) || isLogPlace(scope, path))) return { refused: null, configFile: false };
  if (managedConfigPath.safeParse(path).success) return { refused: null, configFile: true };
  return { refused: `${path} is not a place device setup manages` };
}

/** The content a write puts in place, what is there now, and the device's files a rule may consult. */
export interface WrittenContent {
  next: Buffer;
  current: string | null;
  read: (path: string) => string | null;
}

/**
 * Why `scopes` may not write `path` with `mode` and `owner` — and, given `content`, that content
 * (place-contents.ts) — or null: any one scope allowing it is enough.
 */
export function writeRefusal(scopes: readonly Scope[], path: string, mode: number, owner: Owner | undefined, content?: WrittenContent): string | null {
  const basic = basicRefusal(path);
  if (basic) return basic;
  const byRoot = !owner || (owner.uid === 0 && owner.gid === 0);
  const reasons: string[] = [];
  for (const scope of scopes) {
    const file = fileRule(scope, path);
    const rule = file ?? treeRule(scope, path) ?? (isLogPlace(scope, path) ? { maxMode: 0o644 } : undefined);
    const config = scope.configFile && (scope.configFile.path === null ? managedConfigPath.safeParse(path).success : scope.configFile.path === path) ? scope.configFile : undefined;
    const maxMode = rule?.maxMode ?? config?.maxMode;
    if (maxMode === undefined) continue;
    if ((mode & ~maxMode) !== 0) reasons.push(`${path} may have mode ${octal(maxMode)} at most, not ${octal(mode)}`);
    else if (!byRoot && !config) reasons.push(`${path} belongs to root; only a config-file policy's file may have another owner`);
    else {
      const why = content && file ? placeContentRefusal(file.place, content.next, { path, current: content.current, scope, read: content.read }) : null;
      if (why === null) return null;
      reasons.push(why);
    }
  }
  return reasons[0] ?? `${path} is not a place ${describe(scopes)} puts things`;
}

/** Why `scopes` may not create the directory `path` with `mode`, or null. */
export function dirRefusal(scopes: readonly Scope[], path: string, mode: number, owner: Owner | undefined): string | null {
  const basic = basicRefusal(path);
  if (basic) return basic;
  if (owner && (owner.uid !== 0 || owner.gid !== 0)) return `${path}: the directories device setup creates belong to root`;
  if ((mode & 0o022) !== 0) return `${path}: a directory device setup creates is writable by root only, not ${octal(mode)}`;
  return scopes.some((scope) => treeRule(scope, path)) ? null : `${path} is not a directory ${describe(scopes)} creates`;
}

/** A symlink device setup may make: /etc/localtime to a zone (the OOBE), or inside a package's own /opt tree. */
export function symlinkRefusal(scopes: readonly Scope[], path: string, linkTarget: string): string | null {
  const basic = basicRefusal(path);
  if (basic) return basic;
  if (path === '/etc/localtime' && scopes.some((scope) => isSymlinkPlace(scope, path))) {
    const zone = linkTarget.replace(/^\/usr\/share\/zoneinfo\//, '');
    return zone !== linkTarget && isTimeZone(zone) && lexicallyClean(linkTarget) ? null : `/etc/localtime may only point to a time zone in /usr/share/zoneinfo`;
  }
  const tree = /^\/opt\/([^/]+)\//.exec(path)?.[1];
  if (!tree || !scopes.some((scope) => treeRule(scope, path))) return `${path} is not a place ${describe(scopes)} makes symlinks`;
  const base = path.slice(0, path.lastIndexOf('/'));
  const resolved = new URL(linkTarget, `file://${base}/`).pathname;
  return resolved.startsWith(`/opt/${tree}/`) || resolved === `/opt/${tree}` ? null : `the symlink ${path} → ${linkTarget} leaves the package's tree /opt/${tree}`;
}

function describe(scopes: readonly Scope[]): string {
  return scopes.length === 1 ? scopes[0]!.label : 'device setup';
}


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

/** Each command device setup runs: its argv, what its value may be, and its inverse. */
export const COMMANDS: Readonly<Record<CommandName, CommandRule>> = {
  'update-ca-certificates': exact(['update-ca-certificates'], ['update-ca-certificates', '--fresh']),
  'nmcli-reload': exact(['nmcli', 'connection', 'reload'], ['nmcli', 'connection', 'reload']),
  'dconf-update': exact(['dconf', 'update'], ['dconf', 'update']),
  'locale-gen': exact(['locale-gen'], ['locale-gen']),
  'set-locale': withValue(['localectl', 'set-locale'], (v) => /^LANG=[a-z]{2,3}_[A-Z]{2}\.UTF-8$/.test(v)),
  'set-keymap': withValue(['localectl', 'set-x11-keymap'], (v) => /^[a-z]{2,5}(,[a-z]{2,5})?$/.test(v)),
  'set-timezone': withValue(['timedatectl', 'set-timezone'], (v) => isTimeZone(v) && !v.includes('..')),
  'set-hostname': withValue(['hostnamectl', 'set-hostname'], (v) => HOST_NAME.test(v)),
  // The kiosk account: a new, unprivileged user; removed again by Reset.
  'add-kiosk-account': withValue(['useradd', '--create-home', '--user-group', '--shell', '/bin/sh', '--comment', 'selfdeploy kiosk'], (v) => ACCOUNT.test(v) && v !== 'root', (v) => ['userdel', '--remove', v]),
  // Directory sign-in: selfdeploy's pam_mkhomedir profile into PAM's stacks, and SSSD reading its configuration.
  'enable-mkhomedir': exact(['pam-auth-update', '--package', '--enable', 'selfdeploy-mkhomedir'], ['pam-auth-update', '--package', '--remove', 'selfdeploy-mkhomedir']),
  // A shared device: the sweep of members' homes at each session's start and end.
  'enable-shared-accounts': exact(['pam-auth-update', '--package', '--enable', 'selfdeploy-shared-accounts'], ['pam-auth-update', '--package', '--remove', 'selfdeploy-shared-accounts']),
  // SSSD's caches go before it starts on the new configuration, and again once reset has stopped it.
  'clear-sssd-cache': exact(['rm', '-f', '--', ...SSSD_CACHES], ['rm', '-f', '--', ...SSSD_CACHES]),
  // systemd reads SSSD's drop-in (OpenSSL's tpm2 provider) before SSSD restarts.
  'reload-systemd': exact(['systemctl', 'daemon-reload'], ['systemctl', 'daemon-reload']),
  'restart-sssd': exact(['systemctl', 'restart', 'sssd'], ['systemctl', 'stop', 'sssd']),
  // A directory bind's new password reaches a running SSSD; an SSSD not running (yet) is left so.
  'try-restart-sssd': exact(['systemctl', 'try-restart', 'sssd'], ['systemctl', 'try-restart', 'sssd']),
  // GDM's database compiled again (as dconf update just did); undone by removing it, before reset's
  // dconf update compiles it from what gdm.d still holds — so no banner outlives reset.
  'compile-gdm-database': exact(['dconf', 'compile', GDM_DATABASE, `${GDM_DATABASE}.d`], ['rm', '-f', '--', GDM_DATABASE]),
};

/** The inverse to record for a command of `scopes`; refuses a command (or a claimed inverse) outside them. */
export function commandRefusal(scopes: readonly Scope[], argv: readonly string[], claimedInverse: readonly string[] | null): { refused: string } | { refused: null; inverse: string[] | null } {
  const rule = scopes.flatMap((scope) => scope.commands.map((name) => COMMANDS[name])).find((r) => r.matches(argv));
  if (!rule) return { refused: `the command ${argv.join(' ')} is not one ${describe(scopes)} runs` };
  const inverse = rule.inverse(argv);
  if (JSON.stringify(inverse) !== JSON.stringify(claimedInverse ?? null)) return { refused: `${argv.join(' ')} is undone by ${inverse ? inverse.join(' ') : 'nothing'}, not by ${claimedInverse ? claimedInverse.join(' ') : 'nothing'}` };
  return { refused: null, inverse };
}

/** Where an installer of `scopes` may put a package: a .deb system-wide (through apt), a tar archive in its own /opt tree. */
export function installRefusal(scopes: readonly Scope[], format: 'deb' | 'tar', destination: string): string | null {
  if (format === 'tar' && (ownInstallation(`${destination}/`) || !/^\/opt\/[a-z0-9][a-z0-9+.-]{0,127}$/.test(destination))) return `a tar archive goes into its own /opt/NAME, not ${destination}`;
  if (format === 'deb' && destination !== '/') return 'a .deb is installed system-wide (destination /)';
  const fits = scopes.some((scope) => scope.installs.some((install) => install.format === format && (install.destination === null || install.destination === destination)));
  return fits ? null : `${describe(scopes)} installs no ${format} package${format === 'tar' ? ` into ${destination}` : ''}`;
}

/**
 * Why `scopes` may not join the device to a domain as `join` says, or null: only a directory-join
 * policy joins, and only as that policy says (its domain, controller, OU, account and password),
 * under a computer name and host name that are the device's name in that domain.
 */
export function joinRefusal(scopes: readonly Scope[], join: DomainJoin): string | null {
  const joining = scopes.filter((scope) => scope.domainJoin);
  if (joining.length === 0) return `${describe(scopes)} joins no domain`;
  const policy = DirectoryJoinPolicySchema.safeParse({ kind: 'directory-join', domain: join.domain, domainController: join.domainController, organizationalUnit: join.organizationalUnit, joinUser: join.user, joinPassword: join.password });
  if (!policy.success || policy.data.domain !== join.domain || policy.data.domainController !== join.domainController) return `the join to ${join.domain.slice(0, 253)} is not one a directory-join policy can say`;
  const host = join.hostFqdn.endsWith(`.${join.domain}`) ? join.hostFqdn.slice(0, -join.domain.length - 1) : '';
  if (!HOST_NAME.test(host) || host !== host.toLowerCase()) return `${join.hostFqdn.slice(0, 253)} is not a host name in ${join.domain}`;
  if (join.computerName !== computerName(host)) return `the computer account of ${join.hostFqdn} is ${computerName(host)}, not ${join.computerName}`;
  const fits = joining.some((scope) => {
    const payload = scope.item?.kind === 'policy' && scope.item.payload.kind === 'directory-join' ? scope.item.payload : null;
    if (!scope.item) return true; // a lab helper with no service to ask
    return payload !== null && payload.domain === join.domain && payload.domainController === join.domainController && payload.organizationalUnit === join.organizationalUnit && payload.joinUser === join.user && payload.joinPassword === join.password;
  });
  return fits ? null : `${describe(scopes)} does not join ${join.domain} as ${join.user} (through ${join.domainController ?? 'DNS'}, into ${join.organizationalUnit ?? 'Computers'}) with that password`;
}

/** Why `scopes` run no script, or null. */
export function scriptRefusal(scopes: readonly Scope[]): string | null {
  return scopes.some((scope) => scope.scripts) ? null : `${describe(scopes)} runs no script`;
}

/** Where scripts and installers of `scopes` keep their output. */
export function logRefusal(scopes: readonly Scope[], path: string): string | null {
  return lexicallyClean(path) && scopes.some((scope) => isLogPlace(scope, path)) ? null : `${path} is not where ${describe(scopes)} keeps its log (under /var/log/selfdeploy)`;
}
