// The sign-in end state with the organisation's directory, on a live Debian 13 system: OpenLDAP
// (slapd) on loopback with TLS from a test CA, holding a few users and groups, searchable only by
// a service account; a self-deploy whose profile names it and whose directory-bind policy gives
// SSSD that account, carried out by selfdeploy-helper; then SSSD as its unit would start it, and
// members of the directory signing in through the system's own PAM stacks (pamtester): the right
// password passes, a wrong one fails, a member outside the allowed group is refused, the home
// directory appears at the first sign-in and goes at sign-out (a shared device); GDM's login screen shows the organisation. `selfdeploy
// reset` takes it all away again.
import { readFileSync, statSync, writeFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { bootSupport, killNamespace, type DebianRoot, type RunResult } from '../../lab/debian-root.js';
import { freePort } from '../../lab/net.js';
import { admin, documents } from '../../protocol/api/endpoints.js';
import { DEMO_GROUP } from '../../lab/demo-tenant.js';
import { LiveRoot } from './testing/live-root.js';
import { BASE, PASSWORDS, READER, TestDirectory, startSssd } from './testing/test-directory.js';

const boot = bootSupport();
/** The PAM service pamtester signs in with: the system's common stacks, which device setup changed. */
const PAM_SERVICE = 'selfdeploy-sign-in';
/** A dconf profile of GDM's system database alone, to read what the login screen would show. */
const GDM_PROFILE = '/tmp/gdm-dconf-profile';
/** A 1×1 PNG: the organisation's logo. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
/** What GDM's login screen shows, as dconf reads it from the compiled database. */
const loginScreen = (key: string) => root.ok(['dconf', 'read', `/org/gnome/login-screen/${key}`], { env: { DCONF_PROFILE: GDM_PROFILE } });

let live: LiveRoot;
let root: DebianRoot;
let directory: TestDirectory;
let sssd: ReturnType<DebianRoot['start']> | undefined;
let deployed: RunResult;
let before: Record<string, string>;

/** The files directory sign-in changes, as they were. */
const WATCHED = ['/etc/nsswitch.conf', '/etc/pam.d/common-session', '/etc/pam.d/common-auth', '/etc/pam.d/common-account'];

/** pamtester through the common stacks: `operations` for `user`, the password on stdin. */
function signIn(user: string, password: string, operations: string[] = ['authenticate', 'acct_mgmt']): Promise<RunResult> {
  return root.run(['pamtester', '-v', PAM_SERVICE, user, ...operations], { input: `${password}\n` });
}

beforeAll(async () => {
  directory = new TestDirectory(await freePort());
  live = await LiveRoot.create({
    base: inject('debianRoot'),
    deb: inject('selfdeployDeb'),
    name: 'directory-test',
    serial: 'LAB-DIR-0001',
    // The demo tenant's profile with the sign-in end state: engineers of the test directory sign in.
    profile: {
      endState: {
        type: 'sign-in',
        message: 'Authorised use only.',
        sharedDevice: { idleSignOutMinutes: 30, cachedSignInDays: 3, removeCachedAccountsAfterDays: 30, deleteHomeAtSignOut: true },
        directory: { uri: directory.uri, searchBase: BASE, schema: 'rfc2307', ca: directory.ca, allow: { groups: ['engineers'] }, homeDirectory: { create: true, umask: '0077' } },
      },
    },
    prepare: async (prepared) => {
      root = prepared;
      await directory.prepare(root);
      await directory.start();
    },
  });
  // The organisation's logo, for the login screen.
  await live.device.service.call(admin.tenant.putBranding, { body: { organizationName: 'Fabrikam Lobby', support: { email: 'help@fabrikam.example' }, logo: PNG.toString('base64') } });
  // The account SSSD searches as, in a policy of the device's group.
  await live.device.service.call(documents.policies.put, { params: { name: 'directory-reader' }, body: { kind: 'directory-bind', bindDn: READER.dn, bindPassword: READER.password } });
  await live.device.service.call(documents.policies.assign, { params: { name: 'directory-reader' }, body: { group: DEMO_GROUP } });
  writeFileSync(root.path(`/etc/pam.d/${PAM_SERVICE}`), '@include common-auth\n@include common-account\n@include common-session\n');
  writeFileSync(root.path(GDM_PROFILE), 'system-db:gdm\n');
  before = Object.fromEntries(WATCHED.map((path) => [path, root.read(path)]));
  await live.startHelper();
  deployed = await live.deploy();
}, 900_000);

afterAll(async () => {
  if (sssd) killNamespace(sssd);
  directory?.stop();
  await live?.close();
});

describe('directory sign-in on a live Debian 13 system', () => {
  it('self-deploys with the sign-in end state, its step naming the directory', () => {
    expect(deployed.status, `${deployed.stdout}\n${deployed.stderr}`).toBe(0);
    expect(deployed.stdout).toMatch(/Preparing the device for use: done — Sign-in screen for members of ldaps:\/\/127\.0\.0\.1:\d+\n/);
  });

  it("binds as the directory-bind policy's account — the directory refuses anonymous search — its password only in SSSD's 0600 snippet", async () => {
    expect((await directory.search()).stdout).not.toContain('uid: alice');
    const snippet = '/etc/sssd/conf.d/50-selfdeploy-bind.conf';
    expect(root.read(snippet)).toContain(`ldap_default_bind_dn = ${READER.dn}\nldap_default_authtok_type = password\nldap_default_authtok = ${READER.password}\n`);
    const stat = statSync(root.path(snippet));
    expect([stat.mode & 0o777, stat.uid, stat.gid]).toEqual([0o600, 0, 0]);
    // Nowhere else: not in the agent's state, journal or logs, not in the system's logs or other configuration.
    const found = await root.run(['grep', '-rlF', '--', READER.password, '/etc', '/var/lib/selfdeploy', '/var/log', '/run/selfdeploy', '/home']);
    expect(found.stdout.trim().split('\n').filter(Boolean)).toEqual([snippet]);
  });

  it('placed sssd.conf for the directory, 0600 root, and a configuration SSSD itself accepts', async () => {
    const conf = root.read('/etc/sssd/sssd.conf');
    expect(conf).toContain(`ldap_uri = ldaps://127.0.0.1:`);
    expect(conf).toContain('access_provider = simple\nsimple_allow_groups = engineers\n');
    const stat = statSync(root.path('/etc/sssd/sssd.conf'));
    expect([stat.mode & 0o777, stat.uid, stat.gid]).toEqual([0o600, 0, 0]);
    const check = await root.run(['sssctl', 'config-check']);
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(root.read('/etc/nsswitch.conf')).toMatch(/^passwd:.*\bsss\b/m);
    expect(root.read('/etc/pam.d/common-session')).toMatch(/pam_mkhomedir\.so umask=0077/);
    // The shared device's settings: SSSD keeps cached sign-ins 3 days and unused accounts 30 (accepted
    // by sssctl above), LightDM offers no guest session, logind ends idle sessions after 30 minutes.
    expect(conf).toContain('[pam]\noffline_credentials_expiration = 3\n');
    expect(conf).toContain('account_cache_expiration = 30\n');
    expect(root.read('/etc/lightdm/lightdm.conf.d/50-selfdeploy-shared-device.conf')).toBe('[Seat:*]\nallow-guest=false\n');
    expect(root.read('/etc/systemd/logind.conf.d/50-selfdeploy-shared-device.conf')).toBe('[Login]\nStopIdleSessionSec=1800\n');
    expect(await root.ok(['systemd-analyze', 'cat-config', 'systemd/logind.conf'])).toContain('StopIdleSessionSec=1800');
  });

  it(`ran no systemctl here, where no systemd runs — ${boot.boot ? 'this machine could boot one' : boot.reason}; SSSD starts as its unit would`, async () => {
    sssd = await startSssd(root);
  });

  it('resolves directory users and groups through SSSD (getent)', async () => {
    expect((await root.ok(['getent', 'passwd', 'alice'])).trim()).toMatch(/^alice:\*:10001:10001:[^:]*:\/home\/alice:\/bin\/sh$/);
    expect((await root.ok(['getent', 'group', 'engineers'])).trim()).toMatch(/^engineers:\*:20001:(alice,carol|carol,alice)$/);
    expect((await root.run(['getent', 'passwd', 'nobody-in-the-directory'])).status).toBe(2);
  });

  it('signs an engineer in with the right password, and not with a wrong one', async () => {
    const right = await signIn('alice', PASSWORDS.alice);
    expect(right.status, right.stdout + right.stderr).toBe(0);
    const wrong = await signIn('alice', 'not-her-password');
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toMatch(/Authentication failure/i);
  });

  it('refuses a directory member outside the allowed groups, even with the right password', async () => {
    const bob = await signIn('bob', PASSWORDS.bob);
    expect(bob.status).not.toBe(0);
    expect(bob.stderr).toMatch(/acct_mgmt|Permission denied|denied/i);
  });

  it('makes the home directory at the first sign-in, private to its owner', async () => {
    expect(() => statSync(root.path('/home/carol'))).toThrow();
    const session = await signIn('carol', PASSWORDS.carol, ['authenticate', 'acct_mgmt', 'open_session']);
    expect(session.status, session.stdout + session.stderr).toBe(0);
    const home = statSync(root.path('/home/carol'));
    expect([home.isDirectory(), home.mode & 0o777, home.uid, home.gid]).toEqual([true, 0o700, 10003, 10003]);
  });

  it("deletes a member's home when they sign out (the shared device's deleteHomeAtSignOut), through PAM's session stack", async () => {
    expect(root.read('/etc/pam.d/common-session')).toMatch(/optional\s+pam_exec\.so quiet \/usr\/sbin\/selfdeploy-shared-accounts/);
    expect(JSON.parse(root.read('/etc/selfdeploy/shared-accounts.json'))).toEqual({ deleteHomeAtSignOut: true, deleteHomeAfterDays: null, maxCachedAccounts: null });
    writeFileSync(root.path('/home/carol/work.txt'), 'unsaved work\n');
    const signOut = await root.run(['pamtester', '-v', PAM_SERVICE, 'carol', 'close_session']);
    expect(signOut.status, signOut.stdout + signOut.stderr).toBe(0);
    expect(() => statSync(root.path('/home/carol'))).toThrow();
    expect(readFileSync(root.path('/var/log/selfdeploy-shared-accounts.log'), 'utf8')).toMatch(/ carol: deleted \/home\/carol \(signed out\)\n$/);
    // Nothing left aside; the records are root's alone.
    expect((await root.ok(['ls', '-A', '/home'])).split('\n').filter((name) => name.startsWith('.selfdeploy'))).toEqual([]);
    expect(statSync(root.path('/var/lib/selfdeploy-shared-accounts')).mode & 0o777).toBe(0o700);
    // A local account's home is never the sweep's: root signs in and out, /root stays.
    await root.run(['pamtester', PAM_SERVICE, 'root', 'open_session', 'close_session']);
    expect(statSync(root.path('/root')).isDirectory()).toBe(true);
  });

  it("shows the organisation on GDM's login screen: its logo, name, support contact and the profile's message, compiled by dconf", async () => {
    expect((await loginScreen('banner-message-enable')).trim()).toBe('true');
    expect((await loginScreen('banner-message-text')).trim()).toBe("'Fabrikam Lobby\\nSupport: help@fabrikam.example\\nAuthorised use only.'");
    expect((await loginScreen('logo')).trim()).toBe("'/usr/share/selfdeploy/login-screen/logo'");
    expect(readFileSync(root.path('/usr/share/selfdeploy/login-screen/logo')).equals(PNG)).toBe(true);
  });

  it('is taken away by selfdeploy reset: no SSSD configuration, NSS and PAM as they were', async () => {
    if (sssd) killNamespace(sssd); // systemctl stop sssd, which reset runs where systemd does
    sssd = undefined;
    const reset = await root.run(['selfdeploy', 'reset', '--json'], { user: 'selfdeploy' });
    expect(reset.status, reset.stdout + reset.stderr).toBe(0);
    expect(() => statSync(root.path('/etc/sssd/sssd.conf'))).toThrow();
    expect(() => statSync(root.path('/etc/sssd/selfdeploy-directory-ca.pem'))).toThrow();
    expect(() => statSync(root.path('/etc/sssd/conf.d/50-selfdeploy-bind.conf'))).toThrow();
    expect(() => statSync(root.path('/usr/share/pam-configs/selfdeploy-mkhomedir'))).toThrow();
    expect(Object.fromEntries(WATCHED.map((path) => [path, root.read(path)]))).toEqual(before);
    expect((await root.run(['getent', 'passwd', 'alice'])).status).toBe(2);
    // Nor the login screen: its file, its logo and GDM's compiled database are gone.
    for (const path of ['/etc/selfdeploy/shared-accounts.json', '/usr/share/pam-configs/selfdeploy-shared-accounts', '/etc/dconf/db/gdm.d/50-selfdeploy-login-screen', '/usr/share/selfdeploy/login-screen/logo', '/etc/dconf/db/gdm', '/etc/lightdm', '/etc/systemd/logind.conf.d/50-selfdeploy-shared-device.conf']) {
      expect(() => statSync(root.path(path)), path).toThrow();
    }
    expect((await loginScreen('banner-message-text')).trim()).toBe('');
  });
});
