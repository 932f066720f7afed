// On the live system the providers change the system through selfdeploy-helper, and also run
// commands (useradd, localectl, update-ca-certificates …). Each change and command any provider
// plans must be one the helper accepts for the scope it is made in — the OOBE, the end state, the
// item itself — with the mode and inverse the helper allows, or a device would fail only in the field.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { itemKey, type AssignedItem } from '../../protocol/items.js';
import { DeploymentProfileSchema } from '../../protocol/profile.js';
import { commandRefusal, joinRefusal, symlinkRefusal, writeRefusal, type WrittenContent } from '../helper/allow-list.js';
import { END_STATE_SCOPE, OOBE_SCOPE, itemScope, type Scope } from '../target/places.js';
import type { DomainJoin, Owner, TargetPort } from '../target/port.js';
import { sssdConf } from './directory.js';
import { FileProviders } from './files.js';
import { assigned, scratchTarget } from './testing/scratch.js';

const ROOT_CA = execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=Root', '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });

/** A scratch target that says it is the live system, records each change, and records the commands instead of running them. */
function liveLike(scratch: ReturnType<typeof scratchTarget>, installed: { dconf?: boolean } = {}) {
  const commands: { item: string; argv: string[]; inverse: string[] | null }[] = [];
  const joins: { item: string; join: DomainJoin }[] = [];
  const writes: { item: string; path: string; mode: number; owner: Owner | undefined; content: WrittenContent }[] = [];
  const symlinks: { item: string; path: string; linkTarget: string }[] = [];
  const t = scratch.target;
  const target: TargetPort = {
    live: true,
    writeFile: async (item, path, content, mode = 0o644, owner) => {
      // What the helper sees: the content, the file as it was, the device's accounts as they are.
      const read = (p: string) => (existsSync(join(scratch.root, p)) ? scratch.read(p.slice(1)) : null);
      writes.push({ item, path, mode, owner, content: { next: Buffer.from(content), current: read(path), read } });
      return t.writeFile(item, path, content, mode, owner);
    },
    writeSymlink: (item, path, linkTarget) => {
      symlinks.push({ item, path, linkTarget });
      return t.writeSymlink(item, path, linkTarget);
    },
    ensureDir: (...args) => t.ensureDir(...args),
    check: (...args) => t.check(...args),
    readFile: (...args) => t.readFile(...args),
    stat: (...args) => t.stat(...args),
    runScript: (...args) => t.runScript(...args),
    installPackage: (...args) => t.installPackage(...args),
    // What is installed, as the agent asks it: dconf (GDM's databases) only where the test says.
    probe: (argv, timeout) => (argv[0] === 'dconf' ? Promise.resolve(installed.dconf === true) : t.probe(argv, timeout)),
    upgradePackages: (...args) => t.upgradePackages(...args),
    reboot: () => t.reboot(),
    undoAll: () => t.undoAll(),
    command: (item, argv, inverse) => {
      commands.push({ item, argv, inverse });
      return Promise.resolve(true);
    },
    joinDomain: (item, join) => {
      joins.push({ item, join });
      return Promise.resolve(true);
    },
  };
  return { target, commands, writes, symlinks, joins };
}

describe('commands on the live system', () => {
  it('are each one the privileged helper accepts in its scope, with the mode and inverse it allows', async () => {
    const scratch = scratchTarget({ 'etc/passwd': 'root:x:0:0:root:/root:/bin/bash\nsignage:x:1234:1234::/home/signage:/bin/sh\n', 'etc/group': 'root:x:0:\nsignage:x:1234:\n' });
    const { target, commands, writes, symlinks } = liveLike(scratch);
    const providers = new FileProviders(target);
    await providers.applyOobe({ language: 'fr-CA', keyboard: 'fr-CA', timeZone: 'America/Toronto' });
    const items: AssignedItem[] = [
      assigned({ kind: 'certificate', name: 'root', payload: { type: 'trusted-root', pem: ROOT_CA } }),
      assigned({ kind: 'network', name: 'lobby', payload: { type: 'wifi', ssid: 'Lobby', security: 'open' } }),
      assigned({ kind: 'policy', name: 'lock', payload: { kind: 'screen-lock', idleLockMinutes: 5 } }),
      assigned({ kind: 'policy', name: 'passwords', payload: { kind: 'password', minLength: 12, maxAgeDays: 90 } }),
      assigned({ kind: 'policy', name: 'browser', payload: { kind: 'chromium', policies: { HomepageLocation: 'https://example.invalid/' }, browsers: ['chromium', 'chrome'] } }),
      assigned({ kind: 'policy', name: 'player', payload: { kind: 'config-file', path: '/etc/opt/signage/player.json', format: 'json', settings: { volume: 3 }, owner: 'signage', group: 'signage', mode: '0640' } }),
    ].map((item, index) => ({ ...item, id: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}` }));
    for (const item of items) await providers.apply(item, scratch.context);
    const kiosk = { type: 'kiosk' as const, localAccount: { name: 'lobby' }, autoLogon: true, mode: 'browser' as const, homeUrl: 'https://example.invalid/', allowedUrls: [], blockedUrls: [], showNavigationButtons: true, showHomeButton: true, showEndSessionButton: false, idleRestartMinutes: null };
    await providers.configureEndState(kiosk, { deviceName: 'LOBBY-7', branding: { organizationName: 'Fabrikam', accentColor: '#0B5CAD', support: {}, logo: null } });

    const scopes = new Map<string, Scope>([['oobe', OOBE_SCOPE], ['end-state', END_STATE_SCOPE], ...items.map((item): [string, Scope] => [itemKey(item), itemScope(item)])]);
    const scopeOf = (item: string) => [scopes.get(item)!];
    expect(commands.map((c) => c.argv[0])).toEqual(['locale-gen', 'localectl', 'localectl', 'timedatectl', 'update-ca-certificates', 'nmcli', 'dconf', 'hostnamectl', 'useradd']);
    for (const { item, argv, inverse } of commands) expect(commandRefusal(scopeOf(item), argv, inverse), argv.join(' ')).toMatchObject({ refused: null });
    expect(writes.length).toBeGreaterThan(20);
    for (const { item, path, mode, owner, content } of writes) expect(writeRefusal(scopeOf(item), path, mode, owner, content), `${item} ${path}`).toBeNull();
    for (const { item, path, linkTarget } of symlinks) expect(symlinkRefusal(scopeOf(item), path, linkTarget), path).toBeNull();
    // And no item could have made another item's changes.
    const network = items[1]!;
    const others = writes.filter((w) => w.item !== itemKey(network) && w.path !== '/var/log/selfdeploy/applied.log');
    for (const { path, mode, owner } of others) expect(writeRefusal([itemScope(network)], path, mode, owner), path).not.toBeNull();
    // On the live system the account is useradd's to make: no passwd/shadow edits of our own.
    expect(scratch.read('etc/passwd')).toBe('root:x:0:0:root:/root:/bin/bash\nsignage:x:1234:1234::/home/signage:/bin/sh\n');
  });

  it('are refused by the helper when they differ from what providers plan', () => {
    expect(commandRefusal([OOBE_SCOPE], ['localectl', 'set-locale', 'LANG=fr_CA.UTF-8; rm -rf /'], null)).toMatchObject({ refused: expect.stringContaining('not one the OOBE settings runs') });
    expect(commandRefusal([END_STATE_SCOPE], ['hostnamectl', 'set-hostname', '-bad'], null).refused).not.toBeNull();
    expect(commandRefusal([OOBE_SCOPE], ['timedatectl', 'set-timezone', '../../etc/shadow'], null).refused).not.toBeNull();
    // A command of another scope: the end state names the device, the OOBE does not.
    expect(commandRefusal([OOBE_SCOPE], ['hostnamectl', 'set-hostname', 'LOBBY-7'], null).refused).not.toBeNull();
  });
});

describe('directory sign-in on the live system', () => {
  const DPKG = ['sssd-ldap', 'libnss-sss', 'libpam-sss'].map((name) => `Package: ${name}\nStatus: install ok installed\nVersion: 2.10\n`).join('\n');
  const NSSWITCH = '# /etc/nsswitch.conf\npasswd:         files systemd\ngroup:          files systemd\nshadow:         files\nhosts:          files dns\n';
  const signIn = (directory: Record<string, unknown>) => DeploymentProfileSchema.parse({ endState: { type: 'sign-in', directory } }).endState;
  const branding = { organizationName: 'Fabrikam', accentColor: '#0B5CAD', support: {}, logo: null };
  const scope = (item: string) => [item === 'end-state' ? END_STATE_SCOPE : OOBE_SCOPE];

  it('configures SSSD, NSS and PAM with files and commands the helper accepts for the end state', async () => {
    const scratch = scratchTarget({ 'var/lib/dpkg/status': DPKG, 'etc/nsswitch.conf': NSSWITCH });
    const { target, commands, writes } = liveLike(scratch);
    const endState = signIn({ uri: 'ldaps://ldap.fabrikam.example:636', searchBase: 'dc=fabrikam,dc=example', ca: `subject=/CN=Root\r\n${ROOT_CA.replace(/\n/g, '\r\n')}`, allow: { groups: ['staff', 'lab techs'] } });
    await new FileProviders(target).configureEndState(endState, { deviceName: null, branding });
    expect(commands.map((c) => c.argv.slice(0, 4).join(' '))).toEqual(['pam-auth-update --package --enable selfdeploy-mkhomedir', 'rm -f -- /var/lib/sss/db/cache_selfdeploy.ldb', 'systemctl restart sssd']);
    for (const { item, argv, inverse } of commands) expect(commandRefusal(scope(item), argv, inverse), argv.join(' ')).toMatchObject({ refused: null });
    for (const { item, path, mode, owner, content } of writes) expect(writeRefusal(scope(item), path, mode, owner, content), `${item} ${path}`).toBeNull();
    expect(writes.map((w) => [w.path, w.mode])).toEqual(expect.arrayContaining([['/etc/sssd/sssd.conf', 0o600], ['/etc/sssd/selfdeploy-directory-ca.pem', 0o644], ['/etc/nsswitch.conf', 0o644], ['/usr/share/pam-configs/selfdeploy-mkhomedir', 0o644]]));
    const conf = scratch.read('etc/sssd/sssd.conf');
    expect(conf).toContain('ldap_uri = ldaps://ldap.fabrikam.example:636\n');
    expect(conf).toContain('access_provider = simple\nsimple_allow_groups = staff, lab techs\n');
    expect(conf).toContain('ldap_tls_reqcert = demand\nldap_tls_cacert = /etc/sssd/selfdeploy-directory-ca.pem\n');
    expect(conf).not.toContain('never_use_in_production');
    // The CA alone, as PEM with \n line ends; sss at the end of passwd, group and shadow, nothing else changed.
    expect(scratch.read('etc/sssd/selfdeploy-directory-ca.pem')).toBe(ROOT_CA);
    expect(scratch.read('etc/nsswitch.conf')).toBe('# /etc/nsswitch.conf\npasswd:         files systemd sss\ngroup:          files systemd sss\nshadow:         files sss\nhosts:          files dns\n');
    expect(scratch.read('usr/share/pam-configs/selfdeploy-mkhomedir')).toContain('\toptional\tpam_mkhomedir.so umask=0077\n');
  });

  it('lets in the primary user (the name before a UPN’s @) and the groups; nobody while a rule of the primary user alone has none', () => {
    const directory = (allow: unknown) => {
      const endState = signIn({ uri: 'ldaps://ldap.fabrikam.example', searchBase: 'dc=fabrikam,dc=example', allow });
      return endState.type === 'sign-in' ? endState.directory! : expect.unreachable();
    };
    const access = (text: string) => text.split('\n').filter((line) => /^(access_provider|simple_allow_)/.test(line));
    expect(access(sssdConf(directory({ groups: ['engineers'], primaryUser: true }), 'dana@fabrikam.example'))).toEqual(['access_provider = simple', 'simple_allow_users = dana', 'simple_allow_groups = engineers']);
    expect(access(sssdConf(directory({ primaryUser: true }), 'dana'))).toEqual(['access_provider = simple', 'simple_allow_users = dana']);
    // SSSD's simple provider with no lists lets everyone in: with nobody to allow, access is denied.
    expect(access(sssdConf(directory({ primaryUser: true }), null))).toEqual(['access_provider = deny']);
    // A primary user when the rule does not name one changes nothing.
    expect(access(sssdConf(directory({ groups: ['engineers'] }), 'dana'))).toEqual(['access_provider = simple', 'simple_allow_groups = engineers']);
    expect(() => sssdConf(directory({ primaryUser: true }), 'Dana Smith')).toThrow(expect.objectContaining({ code: 'ITEM_FAILED' }));
    const read = () => null;
    for (const primaryUser of ['dana', null]) {
      const next = Buffer.from(sssdConf(directory({ primaryUser: true }), primaryUser));
      expect(writeRefusal([END_STATE_SCOPE], '/etc/sssd/sssd.conf', 0o600, undefined, { next, current: null, read })).toBeNull();
    }
    expect(DeploymentProfileSchema.safeParse({ endState: { type: 'sign-in', directory: { uri: 'ldaps://x', searchBase: 'dc=x', allow: { groups: [], primaryUser: false } } } }).success).toBe(false);
  });

  it("shows the organisation on GDM's login screen: logo, name, support contact and the profile's message, through the helper", async () => {
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
    const scratch = scratchTarget();
    const { target, commands, writes } = liveLike(scratch, { dconf: true });
    const endState = DeploymentProfileSchema.parse({ endState: { type: 'sign-in', message: "Authorised use only.\nIt's monitored \\ logged." } }).endState;
    const logoed = { ...branding, organizationName: "O'Neil & Co", support: { email: 'help@oneil.example', phone: '+1 555 0100' }, logo: { mediaType: 'image/png' as const, data: png.toString('base64') } };
    await new FileProviders(target).configureEndState(endState, { deviceName: null, branding: logoed });
    for (const { item, argv, inverse } of commands) expect(commandRefusal(scope(item), argv, inverse), argv.join(' ')).toMatchObject({ refused: null });
    for (const { item, path, mode, owner, content } of writes) expect(writeRefusal(scope(item), path, mode, owner, content), `${item} ${path}`).toBeNull();
    expect(commands.map((c) => c.argv.join(' '))).toEqual(['dconf update', 'dconf compile /etc/dconf/db/gdm /etc/dconf/db/gdm.d']);
    expect(readFileSync(join(scratch.root, 'usr/share/selfdeploy/login-screen/logo')).equals(png)).toBe(true);
    expect(scratch.read('etc/dconf/db/gdm.d/50-selfdeploy-login-screen').split('\n').slice(1)).toEqual([
      '[org/gnome/login-screen]',
      "logo='/usr/share/selfdeploy/login-screen/logo'",
      'banner-message-enable=true',
      "banner-message-text='O\\'Neil & Co\\nSupport: help@oneil.example · +1 555 0100\\nAuthorised use only.\\nIt\\'s monitored \\\\ logged.'",
      '',
    ]);
    // The helper takes that file only as device setup writes it, and the logo only as an image.
    const read = () => null;
    const write = (path: string, next: string | Buffer) => writeRefusal([END_STATE_SCOPE], path, 0o644, undefined, { next: Buffer.from(next), current: null, read });
    const keyfile = scratch.read('etc/dconf/db/gdm.d/50-selfdeploy-login-screen');
    expect(write('/etc/dconf/db/gdm.d/50-selfdeploy-login-screen', keyfile)).toBeNull();
    expect(write('/etc/dconf/db/gdm.d/50-selfdeploy-login-screen', `${keyfile}disable-user-list=false\n`)).toContain('nothing else');
    expect(write('/etc/dconf/db/gdm.d/50-selfdeploy-login-screen', keyfile.replace("O\\'Neil", "O'Neil"))).toContain('nothing else');
    expect(write('/etc/dconf/db/gdm.d/50-selfdeploy-login-screen', keyfile.replace("logo='/usr/share/selfdeploy/login-screen/logo'", "logo='/etc/shadow'"))).toContain('nothing else');
    expect(write('/usr/share/selfdeploy/login-screen/logo', png)).toBeNull();
    expect(write('/usr/share/selfdeploy/login-screen/logo', '#!/bin/sh\nrm -rf /\n')).toContain('PNG, JPEG or SVG');
    expect(commandRefusal([END_STATE_SCOPE], ['dconf', 'compile', '/etc/dconf/db/gdm', '/etc/dconf/db/gdm.d'], ['rm', '-f', '--', '/etc/dconf/db/gdm']).refused).toBeNull();
    expect(commandRefusal([END_STATE_SCOPE], ['dconf', 'compile', '/etc/dconf/db/local', '/tmp/evil.d'], ['rm', '-f', '--', '/etc/dconf/db/local']).refused).not.toBeNull();
  });

  it('sets up a shared device: no guest session, idle sessions signed out, cached sign-ins and accounts limited — all through the helper', async () => {
    const scratch = scratchTarget({ 'var/lib/dpkg/status': DPKG, 'etc/nsswitch.conf': NSSWITCH });
    const { target, writes } = liveLike(scratch);
    const { endState } = DeploymentProfileSchema.parse({
      endState: { type: 'sign-in', directory: { uri: 'ldaps://ldap.fabrikam.example', searchBase: 'dc=fabrikam,dc=example' }, sharedDevice: { idleSignOutMinutes: 20, cachedSignInDays: 3, removeCachedAccountsAfterDays: 30 } },
    });
    await new FileProviders(target).configureEndState(endState, { deviceName: null, branding });
    for (const { item, path, mode, owner, content } of writes) expect(writeRefusal(scope(item), path, mode, owner, content), `${item} ${path}`).toBeNull();
    expect(scratch.read('etc/lightdm/lightdm.conf.d/50-selfdeploy-shared-device.conf')).toBe('[Seat:*]\nallow-guest=false\n');
    expect(scratch.read('etc/systemd/logind.conf.d/50-selfdeploy-shared-device.conf')).toBe('[Login]\nStopIdleSessionSec=1200\n');
    const conf = scratch.read('etc/sssd/sssd.conf');
    expect(conf).toContain('[pam]\noffline_credentials_expiration = 3\n');
    expect(conf).toContain('cache_credentials = true\naccount_cache_expiration = 30\n');
    // No cached sign-in at all: no credentials cached.
    const none = DeploymentProfileSchema.parse({ endState: { type: 'sign-in', directory: { uri: 'ldaps://x', searchBase: 'dc=x' }, sharedDevice: { cachedSignInDays: 0, allowGuest: true } } }).endState;
    const bare = scratchTarget({ 'var/lib/dpkg/status': DPKG });
    await new FileProviders(liveLike(bare).target).configureEndState(none, { deviceName: null, branding });
    expect(bare.read('etc/sssd/sssd.conf')).toContain('cache_credentials = false\n');
    expect(bare.read('etc/sssd/sssd.conf')).not.toContain('[pam]');
    expect(existsSync(join(bare.root, 'etc/lightdm/lightdm.conf.d/50-selfdeploy-shared-device.conf'))).toBe(false);
    // The helper: those files as written, nothing else.
    const read = () => null;
    const write = (path: string, next: string) => writeRefusal([END_STATE_SCOPE], path, 0o644, undefined, { next: Buffer.from(next), current: null, read });
    expect(write('/etc/lightdm/lightdm.conf.d/50-selfdeploy-shared-device.conf', '[Seat:*]\nallow-guest=false\nautologin-user=root\n')).toContain('guest session switched off');
    expect(write('/etc/systemd/logind.conf.d/50-selfdeploy-shared-device.conf', '[Login]\nKillUserProcesses=no\n')).toContain('idle sessions stopped');
  });

  it("sweeps members' homes on a shared device with a directory: the settings and PAM's profile, through the helper", async () => {
    const scratch = scratchTarget({ 'var/lib/dpkg/status': DPKG, 'etc/nsswitch.conf': NSSWITCH });
    const { target, writes, commands } = liveLike(scratch);
    const parse = (sharedDevice: Record<string, unknown>, directory: Record<string, unknown> | null = { uri: 'ldaps://x', searchBase: 'dc=x' }) => DeploymentProfileSchema.parse({ endState: { type: 'sign-in', directory, sharedDevice } }).endState;
    await new FileProviders(target).configureEndState(parse({ deleteHomeAfterDays: 14, maxCachedAccounts: 20 }), { deviceName: null, branding });
    for (const { item, path, mode, owner, content } of writes) expect(writeRefusal(scope(item), path, mode, owner, content), `${item} ${path}`).toBeNull();
    for (const { item, argv, inverse } of commands) expect(commandRefusal(scope(item), argv, inverse), argv.join(' ')).toMatchObject({ refused: null });
    expect(JSON.parse(scratch.read('etc/selfdeploy/shared-accounts.json'))).toEqual({ deleteHomeAtSignOut: false, deleteHomeAfterDays: 14, maxCachedAccounts: 20 });
    expect(scratch.read('usr/share/pam-configs/selfdeploy-shared-accounts')).toContain('Session:\n\toptional\tpam_exec.so quiet /usr/sbin/selfdeploy-shared-accounts\n');
    expect(commands.map((c) => c.argv.join(' '))).toContain('pam-auth-update --package --enable selfdeploy-shared-accounts');
    // Without a directory there are no members, and with no deletion asked for, no sweep.
    for (const endState of [parse({ deleteHomeAtSignOut: true }, null), parse({ idleSignOutMinutes: 5 })]) {
      const bare = scratchTarget({ 'var/lib/dpkg/status': DPKG });
      await new FileProviders(liveLike(bare).target).configureEndState(endState, { deviceName: null, branding });
      expect(existsSync(join(bare.root, 'etc/selfdeploy/shared-accounts.json'))).toBe(false);
    }
    // The helper: the settings as the schema has them, PAM's profile exactly selfdeploy's.
    const write = (path: string, next: string) => writeRefusal([END_STATE_SCOPE], path, 0o644, undefined, { next: Buffer.from(next), current: null, read: () => null });
    expect(write('/etc/selfdeploy/shared-accounts.json', '{"deleteHomeAtSignOut": true, "deleteHomeAfterDays": null, "maxCachedAccounts": null, "home": "/"}')).toContain('nothing else');
    expect(write('/usr/share/pam-configs/selfdeploy-shared-accounts', scratch.read('usr/share/pam-configs/selfdeploy-shared-accounts').replace('/usr/sbin/selfdeploy-shared-accounts', '/tmp/evil'))).toContain('nothing else');
    expect(commandRefusal([OOBE_SCOPE], ['pam-auth-update', '--package', '--enable', 'selfdeploy-shared-accounts'], ['pam-auth-update', '--package', '--remove', 'selfdeploy-shared-accounts']).refused).not.toBeNull();
  });

  it('leaves the login screen alone on a device without dconf (no GDM to read it) or LightDM’s GTK greeter', async () => {
    const scratch = scratchTarget();
    const { target, writes } = liveLike(scratch, { dconf: false });
    await new FileProviders(target).configureEndState(DeploymentProfileSchema.parse({}).endState, { deviceName: null, branding });
    expect(writes.map((w) => w.path)).toEqual(['/etc/selfdeploy/end-state.json']);
  });

  it("brands LightDM's GTK greeter where it is installed: the organisation's colour and logo, through the helper (it has no banner)", async () => {
    const scratch = scratchTarget({ 'var/lib/dpkg/status': 'Package: lightdm-gtk-greeter\nStatus: install ok installed\nVersion: 2.0.9-1\n' });
    const { target, writes, commands } = liveLike(scratch, { dconf: false });
    const logo = { mediaType: 'image/png' as const, data: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]).toString('base64') };
    await new FileProviders(target).configureEndState(DeploymentProfileSchema.parse({}).endState, { deviceName: null, branding: { ...branding, accentColor: '#0b5cad', logo } });
    for (const { item, path, mode, owner, content } of writes) expect(writeRefusal(scope(item), path, mode, owner, content), `${item} ${path}`).toBeNull();
    expect(scratch.read('usr/share/lightdm/lightdm-gtk-greeter.conf.d/50-selfdeploy-login-screen.conf')).toBe(
      '# selfdeploy: the organisation’s login screen (the profile’s sign-in end state)\n[greeter]\nbackground = #0b5cad\ndefault-user-image = /usr/share/selfdeploy/login-screen/logo\n',
    );
    expect(readFileSync(join(scratch.root, 'usr/share/selfdeploy/login-screen/logo')).subarray(0, 4).toString('latin1')).toBe('\x89PNG');
    // No GDM here: nothing for dconf, no keyfile.
    expect(commands).toEqual([]);
    expect(existsSync(join(scratch.root, 'etc/dconf/db/gdm.d/50-selfdeploy-login-screen'))).toBe(false);
    // The helper: a colour and selfdeploy's logo, nothing else (a greeter setting could run a command).
    const write = (next: string) => writeRefusal([END_STATE_SCOPE], '/usr/share/lightdm/lightdm-gtk-greeter.conf.d/50-selfdeploy-login-screen.conf', 0o644, undefined, { next: Buffer.from(next), current: null, read: () => null });
    expect(write('# selfdeploy: the organisation’s login screen (the profile’s sign-in end state)\n[greeter]\nbackground = #0b5cad\n')).toBeNull();
    expect(write('# selfdeploy: the organisation’s login screen (the profile’s sign-in end state)\n[greeter]\nbackground = #0b5cad\nkeyboard = /tmp/evil\n')).toContain('nothing else');
    expect(write('# selfdeploy: the organisation’s login screen (the profile’s sign-in end state)\n[greeter]\nbackground = /etc/shadow\n')).toContain('nothing else');
  });

  it('is refused on a device without SSSD, NSS and PAM modules, naming what to install', async () => {
    const scratch = scratchTarget({ 'var/lib/dpkg/status': 'Package: libnss-sss\nStatus: install ok installed\n', 'etc/nsswitch.conf': NSSWITCH });
    const { target, writes } = liveLike(scratch);
    await expect(new FileProviders(target).configureEndState(signIn({ uri: 'ldaps://ldap.fabrikam.example', searchBase: 'dc=fabrikam,dc=example' }), { deviceName: null, branding })).rejects.toMatchObject({
      code: 'DIRECTORY_CLIENT_MISSING',
      message: expect.stringContaining('sssd-ldap, libpam-sss'),
    });
    expect(writes).toEqual([]);
  });

  it("binds as the directory-bind policy's account: a 0600 snippet for selfdeploy's domain, the password in no other file, SSSD restarted only if it runs", async () => {
    const scratch = scratchTarget({ 'var/lib/dpkg/status': DPKG, 'etc/nsswitch.conf': NSSWITCH });
    const { target, commands, writes } = liveLike(scratch);
    const password = 'reader pass #1; = x';
    const item = assigned({ kind: 'policy', name: 'directory-reader', payload: { kind: 'directory-bind', bindDn: 'cn=reader,ou=services,dc=fabrikam,dc=example', bindPassword: password } });
    await new FileProviders(target).apply(item, scratch.context);
    expect(scratch.read('etc/sssd/conf.d/50-selfdeploy-bind.conf')).toBe(
      '# selfdeploy policy "directory-reader": the account SSSD binds to the directory as. selfdeploy reset removes it.\n[domain/selfdeploy]\nldap_default_bind_dn = cn=reader,ou=services,dc=fabrikam,dc=example\nldap_default_authtok_type = password\nldap_default_authtok = reader pass #1; = x\n',
    );
    expect(commands.map((c) => [c.argv.join(' '), c.inverse?.join(' ')])).toEqual([['systemctl try-restart sssd', 'systemctl try-restart sssd']]);
    const bindWrite = writes.find((w) => w.path === '/etc/sssd/conf.d/50-selfdeploy-bind.conf')!;
    expect(bindWrite.mode).toBe(0o600);
    for (const { path, mode, owner, content } of writes) expect(writeRefusal([itemScope(item)], path, mode, owner, content), path).toBeNull();
    for (const { argv, inverse } of commands) expect(commandRefusal([itemScope(item)], argv, inverse)).toMatchObject({ refused: null });
    // The record of policies in force, readable by everyone, says a password is set, not which.
    const others = writes.filter((w) => w !== bindWrite);
    expect(others.length).toBeGreaterThan(0);
    for (const { content } of others) expect(content.next.toString()).not.toContain(password);
    // Neither the end state nor another policy may write the snippet; nor may it hold more than the bind.
    const other = assigned({ kind: 'policy', name: 'lock', payload: { kind: 'screen-lock', idleLockMinutes: 5 } });
    expect(writeRefusal([END_STATE_SCOPE, itemScope(other)], bindWrite.path, 0o600, undefined, bindWrite.content)).not.toBeNull();
    const bind = (text: string) => writeRefusal([itemScope(item)], bindWrite.path, 0o600, undefined, { next: Buffer.from(text), current: null, read: () => null });
    const snippet = bindWrite.content.next.toString();
    expect(bind(`${snippet}ldap_uri = ldap://evil.example\n`)).toContain('the bind DN and password of the selfdeploy domain, nothing else');
    expect(bind(snippet.replace('[domain/selfdeploy]', '[domain/other]'))).not.toBeNull();
    expect(bind(snippet.replace('= password\n', '= obfuscated_password\n'))).not.toBeNull();
    expect(writeRefusal([itemScope(item)], bindWrite.path, 0o644, undefined, bindWrite.content)).toContain('0600 at most');
  });

  it('lets SSSD search as the device: its TPM-held client certificate, SASL EXTERNAL, and OpenSSL’s tpm2 provider for SSSD’s unit', async () => {
    const crt = 'etc/selfdeploy/certificates/device-directory.crt';
    const scratch = scratchTarget({ 'var/lib/dpkg/status': DPKG, 'etc/nsswitch.conf': NSSWITCH, [crt]: ROOT_CA });
    const { target, commands, writes } = liveLike(scratch);
    await new FileProviders(target).configureEndState(signIn({ uri: 'ldaps://ldap.fabrikam.example', searchBase: 'dc=fabrikam,dc=example', clientCertificate: 'device-directory' }), { deviceName: null, branding });
    for (const { item, argv, inverse } of commands) expect(commandRefusal(scope(item), argv, inverse), argv.join(' ')).toMatchObject({ refused: null });
    for (const { item, path, mode, owner, content } of writes) expect(writeRefusal(scope(item), path, mode, owner, content), `${item} ${path}`).toBeNull();
    expect(scratch.read('etc/sssd/sssd.conf')).toContain(
      'ldap_sasl_mech = EXTERNAL\nldap_tls_cert = /etc/selfdeploy/certificates/device-directory.crt\nldap_tls_key = /etc/selfdeploy/certificates/device-directory.tss2.pem\n',
    );
    expect(scratch.read('etc/systemd/system/sssd.service.d/50-selfdeploy-tpm2.conf')).toContain('[Service]\nEnvironment=OPENSSL_CONF=/usr/share/selfdeploy/openssl-tpm2.cnf\nSupplementaryGroups=tss\n');
    const order = commands.map((c) => c.argv.join(' '));
    expect(order.indexOf('systemctl daemon-reload')).toBeLessThan(order.indexOf('systemctl restart sssd'));
    expect(order.indexOf('systemctl daemon-reload')).toBeGreaterThanOrEqual(0);
    // Without the certificate item on the device: refused before anything changes, naming the remedy.
    const bare = scratchTarget({ 'var/lib/dpkg/status': DPKG, 'etc/nsswitch.conf': NSSWITCH });
    const refused = liveLike(bare);
    await expect(new FileProviders(refused.target).configureEndState(signIn({ uri: 'ldaps://x', searchBase: 'dc=x', clientCertificate: 'missing' }), { deviceName: null, branding })).rejects.toMatchObject({
      code: 'ITEM_FAILED',
      message: expect.stringContaining('assign the device-client certificate item of that name'),
    });
    expect(refused.writes.filter((w) => w.path.startsWith('/etc/sssd'))).toEqual([]);
    // The helper: the three keys together, of one item, over TLS; the drop-in exactly selfdeploy's.
    const conf = scratch.read('etc/sssd/sssd.conf');
    const write = (path: string, next: string, mode = 0o600) => writeRefusal([END_STATE_SCOPE], path, mode, undefined, { next: Buffer.from(next), current: null, read: () => null });
    expect(write('/etc/sssd/sssd.conf', conf)).toBeNull();
    expect(write('/etc/sssd/sssd.conf', conf.replace('ldap_sasl_mech = EXTERNAL\n', ''))).toContain('go together');
    expect(write('/etc/sssd/sssd.conf', conf.replace('device-directory.tss2.pem', 'other.tss2.pem'))).toContain('name different certificates');
    expect(write('/etc/sssd/sssd.conf', conf.replace('certificates/device-directory.tss2.pem', '../../shadow.tss2.pem'))).toContain('ldap_tls_key may not be');
    expect(write('/etc/sssd/sssd.conf', conf.replace('ldaps://', 'ldap://'))).toContain('only over TLS');
    expect(write('/etc/systemd/system/sssd.service.d/50-selfdeploy-tpm2.conf', '[Service]\nExecStartPre=/tmp/evil\n', 0o644)).toContain('nothing else');
  });

  it("signs Active Directory's members in: SSSD's AD provider for the domain, the device known by its name there, through the helper", async () => {
    const AD_DPKG = ['sssd-ad', 'libnss-sss', 'libpam-sss'].map((name) => `Package: ${name}\nStatus: install ok installed\nVersion: 2.10\n`).join('\n');
    const scratch = scratchTarget({ 'var/lib/dpkg/status': AD_DPKG, 'etc/nsswitch.conf': NSSWITCH, 'etc/hostname': 'debian\n' });
    const { target, commands, writes } = liveLike(scratch);
    const ad = { provider: 'ad', domain: 'contoso.example', servers: ['dc1.contoso.example', 'dc2.contoso.example'], allow: { groups: ['Kiosk Staff'] } };
    await new FileProviders(target).configureEndState(signIn(ad), { deviceName: 'LOBBY-0042', branding });
    const conf = scratch.read('etc/sssd/sssd.conf');
    expect(conf).toContain(
      '[domain/selfdeploy]\nid_provider = ad\nauth_provider = ad\nchpass_provider = ad\naccess_provider = simple\nsimple_allow_groups = Kiosk Staff\n' +
        'ad_domain = contoso.example\nkrb5_realm = CONTOSO.EXAMPLE\nad_server = dc1.contoso.example, dc2.contoso.example\nad_hostname = lobby-0042.contoso.example\n' +
        'ldap_id_mapping = true\nuse_fully_qualified_names = false\nfallback_homedir = /home/%u\ndyndns_update = false\n',
    );
    expect(conf).not.toMatch(/ldap_uri|ldap_tls/);
    for (const { item, argv, inverse } of commands) expect(commandRefusal(scope(item), argv, inverse), argv.join(' ')).toMatchObject({ refused: null });
    for (const { item, path, mode, owner, content } of writes) expect(writeRefusal(scope(item), path, mode, owner, content), `${item} ${path}`).toBeNull();
    // Without a name from the profile: the name the device has; the directory's RFC 2307 IDs when asked.
    const named = liveLike(scratchTarget({ 'var/lib/dpkg/status': AD_DPKG, 'etc/nsswitch.conf': NSSWITCH, 'etc/hostname': 'Kiosk-7\n' }));
    await new FileProviders(named.target).configureEndState(signIn({ provider: 'ad', domain: 'contoso.example', unixAttributes: true }), { deviceName: null, branding });
    const own = named.writes.find((w) => w.path === '/etc/sssd/sssd.conf')!.content.next.toString();
    expect(own).toContain('ad_hostname = kiosk-7.contoso.example\nldap_id_mapping = false\n');
    expect(own).not.toContain('ad_server');
    // An LDAP device lacks the AD provider: refused, naming it.
    const ldapOnly = liveLike(scratchTarget({ 'var/lib/dpkg/status': DPKG, 'etc/nsswitch.conf': NSSWITCH, 'etc/hostname': 'x\n' }));
    await expect(new FileProviders(ldapOnly.target).configureEndState(signIn(ad), { deviceName: null, branding })).rejects.toMatchObject({ code: 'DIRECTORY_CLIENT_MISSING', message: expect.stringContaining('needs sssd-ad') });
    // The helper: one provider throughout, the realm and host name of the domain, no LDAP keys beside AD's.
    const write = (next: string) => writeRefusal([END_STATE_SCOPE], '/etc/sssd/sssd.conf', 0o600, undefined, { next: Buffer.from(next), current: null, read: () => null });
    expect(write(conf)).toBeNull();
    expect(write(conf.replace('auth_provider = ad', 'auth_provider = ldap'))).toContain('one provider');
    expect(write(conf.replace('krb5_realm = CONTOSO.EXAMPLE', 'krb5_realm = EVIL.EXAMPLE'))).toContain('krb5_realm is ad_domain in capitals');
    expect(write(conf.replace('ad_hostname = lobby-0042.contoso.example', 'ad_hostname = lobby.evil.example'))).toContain("ad_hostname is the device's name");
    expect(write(conf.replace('dyndns_update = false', 'ldap_uri = ldaps://evil.example'))).toContain('ldap_uri is not a key of the ad provider');
    expect(write(conf.replace('fallback_homedir = /home/%u', 'fallback_homedir = /etc/%u'))).toContain('fallback_homedir may not be');
    expect(write(conf.replace('ad_server = dc1.contoso.example, dc2.contoso.example', 'ad_server = dc1.contoso.example; evil'))).toContain('ad_server may not be');
    expect(write(conf.replace('ad_hostname = lobby-0042.contoso.example\n', ''))).toContain('lacks ad_hostname');
  });

  it('joins the domain through the directory-join policy: adcli as the device’s name, the password to the helper alone, the record without it', async () => {
    const scratch = scratchTarget({ 'var/lib/dpkg/status': 'Package: adcli\nStatus: install ok installed\nVersion: 0.9\n', 'etc/hostname': 'debian\n' });
    const { target, writes, joins } = liveLike(scratch);
    const password = ' join pass #1; = x ';
    const payload = { kind: 'directory-join' as const, domain: 'contoso.example', domainController: 'dc1.contoso.example', organizationalUnit: 'OU=Kiosks,DC=contoso,DC=example', joinUser: 'svc-join', joinPassword: password };
    const item = assigned({ kind: 'policy', name: 'join-contoso', payload });
    await new FileProviders(target).apply(item, { ...scratch.context, deviceName: 'LOBBY-RECEPTION-0042' });
    expect(joins).toEqual([
      {
        item: itemKey(item),
        join: { domain: 'contoso.example', domainController: 'dc1.contoso.example', organizationalUnit: 'OU=Kiosks,DC=contoso,DC=example', computerName: 'LOBBY-RECEPTION', hostFqdn: 'lobby-reception-0042.contoso.example', user: 'svc-join', password },
      },
    ]);
    expect(joinRefusal([itemScope(item)], joins[0]!.join)).toBeNull();
    for (const { path, mode, owner, content } of writes) {
      expect(writeRefusal([itemScope(item)], path, mode, owner, content), path).toBeNull();
      expect(content.next.toString()).not.toContain(password);
    }
    expect(JSON.parse(scratch.read('etc/selfdeploy/policies/join-contoso.json'))).toMatchObject({ joinUser: 'svc-join', joinPassword: '[secret]' });
    // The helper joins only as the assigned policy says, under the device's own name in that domain.
    const join = joins[0]!.join;
    expect(joinRefusal([itemScope(item)], { ...join, password: 'guessed' })).toContain('with that password');
    expect(joinRefusal([itemScope(item)], { ...join, organizationalUnit: 'OU=Domain Controllers,DC=contoso,DC=example' })).toContain('does not join');
    expect(joinRefusal([itemScope(item)], { ...join, computerName: 'DC1' })).toContain('is LOBBY-RECEPTION, not DC1');
    expect(joinRefusal([itemScope(item)], { ...join, hostFqdn: 'lobby.evil.example' })).toContain('not a host name in contoso.example');
    expect(joinRefusal([itemScope(item)], { ...join, user: '--verbose' })).toContain('not one a directory-join policy can say');
    expect(joinRefusal([END_STATE_SCOPE], join)).toContain('joins no domain');
    const bind = assigned({ kind: 'policy', name: 'reader', payload: { kind: 'directory-bind', bindDn: 'cn=reader,dc=x', bindPassword: 'x' } });
    expect(joinRefusal([itemScope(bind)], join)).toContain('joins no domain');
    // Without adcli: refused before anything is joined or written.
    const bare = liveLike(scratchTarget({ 'var/lib/dpkg/status': '', 'etc/hostname': 'debian\n' }));
    await expect(new FileProviders(bare.target).apply(item, scratch.context)).rejects.toMatchObject({ code: 'DIRECTORY_CLIENT_MISSING', message: expect.stringContaining('needs adcli') });
    expect(bare.joins).toEqual([]);
  });

  it('refuses a directory-bind policy on a device without SSSD, naming what to install', async () => {
    const scratch = scratchTarget({ 'var/lib/dpkg/status': 'Package: libnss-sss\nStatus: install ok installed\n' });
    const { target, writes } = liveLike(scratch);
    const item = assigned({ kind: 'policy', name: 'directory-reader', payload: { kind: 'directory-bind', bindDn: 'cn=reader,dc=fabrikam,dc=example', bindPassword: 'x' } });
    await expect(new FileProviders(target).apply(item, scratch.context)).rejects.toMatchObject({ code: 'DIRECTORY_CLIENT_MISSING', message: expect.stringContaining('policy "directory-reader" needs sssd-ldap') });
    expect(writes).toEqual([]);
  });

  it('lets through the helper only sssd.conf as device setup writes it, and nsswitch.conf only gaining sss', () => {
    const read = () => null;
    const write = (path: string, next: string, current: string | null = null, mode = 0o644) => writeRefusal([END_STATE_SCOPE], path, mode, undefined, { next: Buffer.from(next), current, read });
    const conf = [
      '[sssd]',
      'services = nss, pam',
      'domains = selfdeploy',
      '[domain/selfdeploy]',
      'id_provider = ldap',
      'auth_provider = ldap',
      'access_provider = permit',
      'ldap_uri = ldaps://ldap.fabrikam.example',
      'ldap_search_base = dc=fabrikam,dc=example',
      'ldap_tls_reqcert = demand',
      '',
    ].join('\n');
    expect(write('/etc/sssd/sssd.conf', conf, null, 0o600)).toBeNull();
    expect(write('/etc/sssd/sssd.conf', conf, null, 0o644)).toContain('0600 at most');
    // What would run code as root, turn certificate checks off, or widen who signs in: refused.
    expect(write('/etc/sssd/sssd.conf', conf.replace('id_provider = ldap', 'id_provider = proxy\nproxy_lib_name = evil'), null, 0o600)).toContain('id_provider may not be "proxy"');
    expect(write('/etc/sssd/sssd.conf', `${conf}proxy_lib_name = evil\n`, null, 0o600)).toContain('writes no "proxy_lib_name = evil"');
    expect(write('/etc/sssd/sssd.conf', conf.replace('reqcert = demand', 'reqcert = never'), null, 0o600)).toContain('ldap_tls_reqcert may not be "never"');
    expect(write('/etc/sssd/sssd.conf', `${conf}[domain/other]\nid_provider = ldap\n`, null, 0o600)).toContain('no section [domain/other]');
    expect(write('/etc/sssd/sssd.conf', conf.replace('access_provider = permit', 'access_provider = simple'), null, 0o600)).toContain('simple_allow_groups');
    expect(write('/etc/sssd/sssd.conf', conf.replace('ldap_tls_reqcert = demand\n', ''), null, 0o600)).toContain('lacks ldap_tls_reqcert');
    expect(write('/etc/sssd/sssd.conf', `${conf}ldap_uri = ldap://other\n`, null, 0o600)).toContain('writes no');
    // nsswitch: sss added, and nothing else.
    expect(write('/etc/nsswitch.conf', NSSWITCH.replace('files systemd\ngroup', 'files systemd sss\ngroup'), NSSWITCH)).toBeNull();
    expect(write('/etc/nsswitch.conf', NSSWITCH.replace('files systemd\ngroup', 'ldap files\ngroup'), NSSWITCH)).toContain('is not the passwd line with sss added');
    expect(write('/etc/nsswitch.conf', NSSWITCH.replace('files dns', 'evil'), NSSWITCH)).toContain('changes only the sss source');
    // The PAM profile: pam_mkhomedir with an umask, nothing else; the CA file: CA certificates only.
    expect(write('/usr/share/pam-configs/selfdeploy-mkhomedir', 'Name: x\nDefault: yes\nPriority: 0\nSession-Type: Additional\nSession:\n\trequired\tpam_exec.so /tmp/x\n')).toContain('pam_mkhomedir profile');
    expect(write('/etc/sssd/selfdeploy-directory-ca.pem', ROOT_CA)).toBeNull();
    expect(write('/etc/sssd/selfdeploy-directory-ca.pem', 'not a certificate\n')).toContain('PEM certificate');
    // And the commands are exactly those, undone as the helper says; rm only of SSSD's caches.
    expect(commandRefusal([END_STATE_SCOPE], ['pam-auth-update', '--package', '--enable', 'selfdeploy-mkhomedir'], ['pam-auth-update', '--package', '--remove', 'selfdeploy-mkhomedir']).refused).toBeNull();
    expect(commandRefusal([END_STATE_SCOPE], ['pam-auth-update', '--package', '--enable', 'unix'], null).refused).not.toBeNull();
    expect(commandRefusal([END_STATE_SCOPE], ['systemctl', 'restart', 'sssd'], null).refused).toContain('undone by systemctl stop sssd');
    expect(commandRefusal([OOBE_SCOPE], ['systemctl', 'restart', 'sssd'], ['systemctl', 'stop', 'sssd']).refused).not.toBeNull();
    expect(commandRefusal([END_STATE_SCOPE], ['rm', '-f', '--', '/etc/shadow'], ['rm', '-f', '--', '/etc/shadow']).refused).not.toBeNull();
  });
});
