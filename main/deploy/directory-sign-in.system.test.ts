// The sign-in end state with the organisation's directory, on a live Debian 13 system: OpenLDAP
// (slapd) on loopback with TLS from a test CA, holding a few users and groups; a self-deploy whose
// profile names it, carried out by selfdeploy-helper; then SSSD as its unit would start it, and
// members of the directory signing in through the system's own PAM stacks (pamtester): the right
// password passes, a wrong one fails, a member outside the allowed group is refused, the home
// directory appears at the first sign-in; GDM's login screen shows the organisation. `selfdeploy
// reset` takes it all away again.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { bootSupport, killNamespace, type DebianRoot, type RunResult } from '../../lab/debian-root.js';
import { freePort } from '../../lab/net.js';
import { admin } from '../../protocol/api/endpoints.js';
import { LiveRoot } from './testing/live-root.js';

const boot = bootSupport();
const BASE = 'dc=selfdeploy,dc=test';
const LDAP = '/tmp/ldap';
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
let slapd: ReturnType<DebianRoot['start']>;
let sssd: ReturnType<DebianRoot['start']> | undefined;
let deployed: RunResult;
let before: Record<string, string>;

/** The files directory sign-in changes, as they were. */
const WATCHED = ['/etc/nsswitch.conf', '/etc/pam.d/common-session', '/etc/pam.d/common-auth', '/etc/pam.d/common-account'];

/** A test CA and slapd's certificate for 127.0.0.1, made with OpenSSL on the host. */
function certificates(dir: string): { ca: string; cert: string; key: string } {
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Directory test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf']);
  const read = (name: string) => readFileSync(join(dir, name), 'utf8');
  return { ca: read('ca.pem'), cert: read('server.pem'), key: read('server.key') };
}

/** alice and carol are engineers (allowed to sign in), bob is not; passwords as given. */
function directoryLdif(): string {
  const user = (uid: string, number: number, password: string) =>
    `dn: uid=${uid},ou=people,${BASE}\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\nuidNumber: ${number}\ngidNumber: ${number}\nhomeDirectory: /home/${uid}\nloginShell: /bin/sh\nuserPassword: ${password}\n`;
  const group = (cn: string, number: number, members: string[]) => `dn: cn=${cn},ou=groups,${BASE}\nobjectClass: posixGroup\ncn: ${cn}\ngidNumber: ${number}\n${members.map((m) => `memberUid: ${m}\n`).join('')}`;
  return [
    `dn: ${BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: selfdeploy\no: selfdeploy test\n`,
    `dn: ou=people,${BASE}\nobjectClass: organizationalUnit\nou: people\n`,
    `dn: ou=groups,${BASE}\nobjectClass: organizationalUnit\nou: groups\n`,
    user('alice', 10001, 'alice-secret-1'),
    user('bob', 10002, 'bob-secret-2'),
    user('carol', 10003, 'carol-secret-3'),
    group('engineers', 20001, ['alice', 'carol']),
    group('visitors', 20002, ['bob']),
  ].join('\n');
}

/** slapd's configuration and data in the root, with `tls` made on the host. */
async function prepareSlapd(tls: { ca: string; cert: string; key: string }): Promise<void> {
  mkdirSync(root.path(`${LDAP}/db`), { recursive: true });
  writeFileSync(root.path(`${LDAP}/ca.pem`), tls.ca);
  writeFileSync(root.path(`${LDAP}/server.pem`), tls.cert);
  writeFileSync(root.path(`${LDAP}/server.key`), tls.key);
  writeFileSync(
    root.path(`${LDAP}/slapd.conf`),
    [
      'include /etc/ldap/schema/core.schema',
      'include /etc/ldap/schema/cosine.schema',
      'include /etc/ldap/schema/nis.schema',
      'include /etc/ldap/schema/inetorgperson.schema',
      'modulepath /usr/lib/ldap',
      'moduleload back_mdb',
      `pidfile ${LDAP}/slapd.pid`,
      `TLSCACertificateFile ${LDAP}/ca.pem`,
      `TLSCertificateFile ${LDAP}/server.pem`,
      `TLSCertificateKeyFile ${LDAP}/server.key`,
      'database mdb',
      `suffix "${BASE}"`,
      `rootdn "cn=admin,${BASE}"`,
      'rootpw not-used-by-the-test',
      `directory ${LDAP}/db`,
      'access to attrs=userPassword by anonymous auth by self read by * none',
      'access to * by * read',
      '',
    ].join('\n'),
  );
  writeFileSync(root.path(`${LDAP}/directory.ldif`), directoryLdif());
  await root.ok(['slapadd', '-f', `${LDAP}/slapd.conf`, '-l', `${LDAP}/directory.ldif`]);
}

/** slapd on loopback, LDAPS only; returns once it answers a search. */
async function startSlapd(port: number): Promise<ReturnType<DebianRoot['start']>> {
  const server = root.start(['slapd', '-d', '0', '-h', `ldaps://127.0.0.1:${port}/`, '-f', `${LDAP}/slapd.conf`]);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const probe = await root.run(['ldapsearch', '-x', '-LLL', '-H', `ldaps://127.0.0.1:${port}`, '-b', BASE, 'uid=alice', 'uid'], { env: { LDAPTLS_CACERT: `${LDAP}/ca.pem` } });
    if (probe.status === 0 && probe.stdout.includes('uid: alice')) return server;
    if (server.exitCode !== null || Date.now() > deadline) throw new Error(`slapd did not answer: ${server.output()}${probe.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** pamtester through the common stacks: `operations` for `user`, the password on stdin. */
function signIn(user: string, password: string, operations: string[] = ['authenticate', 'acct_mgmt']): Promise<RunResult> {
  return root.run(['pamtester', '-v', PAM_SERVICE, user, ...operations], { input: `${password}\n` });
}

beforeAll(async () => {
  const port = await freePort();
  const host = mkdtempSync(join(tmpdir(), 'selfdeploy-ldap-'));
  try {
    const tls = certificates(host);
    live = await LiveRoot.create({
      base: inject('debianRoot'),
      deb: inject('selfdeployDeb'),
      name: 'directory-test',
      serial: 'LAB-DIR-0001',
      // The demo tenant's profile with the sign-in end state: engineers of the test directory sign in.
      profile: {
        endState: { type: 'sign-in', message: 'Authorised use only.', sharedDevice: { idleSignOutMinutes: 30, cachedSignInDays: 3, removeCachedAccountsAfterDays: 30 }, directory: { uri: `ldaps://127.0.0.1:${port}`, searchBase: BASE, schema: 'rfc2307', ca: tls.ca, allow: { groups: ['engineers'] }, homeDirectory: { create: true, umask: '0077' } } },
      },
      prepare: async (prepared) => {
        root = prepared;
        await prepareSlapd(tls);
        slapd = await startSlapd(port);
      },
    });
  } finally {
    rmSync(host, { recursive: true, force: true });
  }
  // The organisation's logo, for the login screen.
  await live.device.service.call(admin.tenant.putBranding, { body: { organizationName: 'Fabrikam Lobby', support: { email: 'help@fabrikam.example' }, logo: PNG.toString('base64') } });
  writeFileSync(root.path(`/etc/pam.d/${PAM_SERVICE}`), '@include common-auth\n@include common-account\n@include common-session\n');
  writeFileSync(root.path(GDM_PROFILE), 'system-db:gdm\n');
  before = Object.fromEntries(WATCHED.map((path) => [path, root.read(path)]));
  await live.startHelper();
  deployed = await live.deploy();
}, 900_000);

afterAll(async () => {
  if (sssd) killNamespace(sssd);
  if (slapd) killNamespace(slapd);
  await live?.close();
});

describe('directory sign-in on a live Debian 13 system', () => {
  it('self-deploys with the sign-in end state, its step naming the directory', () => {
    expect(deployed.status, `${deployed.stdout}\n${deployed.stderr}`).toBe(0);
    expect(deployed.stdout).toMatch(/Preparing the device for use: done — Sign-in screen for members of ldaps:\/\/127\.0\.0\.1:\d+\n/);
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
    sssd = root.start(['sssd', '-i', '--logger=stderr']);
    const deadline = Date.now() + 30_000;
    while (!(await root.run(['getent', 'passwd', 'alice'])).stdout.startsWith('alice:')) {
      if (sssd.exitCode !== null || Date.now() > deadline) throw new Error(`SSSD did not answer for alice: ${sssd.output().slice(-3000)}`);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  });

  it('resolves directory users and groups through SSSD (getent)', async () => {
    expect((await root.ok(['getent', 'passwd', 'alice'])).trim()).toMatch(/^alice:\*:10001:10001:[^:]*:\/home\/alice:\/bin\/sh$/);
    expect((await root.ok(['getent', 'group', 'engineers'])).trim()).toMatch(/^engineers:\*:20001:(alice,carol|carol,alice)$/);
    expect((await root.run(['getent', 'passwd', 'nobody-in-the-directory'])).status).toBe(2);
  });

  it('signs an engineer in with the right password, and not with a wrong one', async () => {
    const right = await signIn('alice', 'alice-secret-1');
    expect(right.status, right.stdout + right.stderr).toBe(0);
    const wrong = await signIn('alice', 'not-her-password');
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toMatch(/Authentication failure/i);
  });

  it('refuses a directory member outside the allowed groups, even with the right password', async () => {
    const bob = await signIn('bob', 'bob-secret-2');
    expect(bob.status).not.toBe(0);
    expect(bob.stderr).toMatch(/acct_mgmt|Permission denied|denied/i);
  });

  it('makes the home directory at the first sign-in, private to its owner', async () => {
    expect(() => statSync(root.path('/home/carol'))).toThrow();
    const session = await signIn('carol', 'carol-secret-3', ['authenticate', 'acct_mgmt', 'open_session', 'close_session']);
    expect(session.status, session.stdout + session.stderr).toBe(0);
    const home = statSync(root.path('/home/carol'));
    expect([home.isDirectory(), home.mode & 0o777, home.uid, home.gid]).toEqual([true, 0o700, 10003, 10003]);
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
    expect(() => statSync(root.path('/usr/share/pam-configs/selfdeploy-mkhomedir'))).toThrow();
    expect(Object.fromEntries(WATCHED.map((path) => [path, root.read(path)]))).toEqual(before);
    expect((await root.run(['getent', 'passwd', 'alice'])).status).toBe(2);
    // Nor the login screen: its file, its logo and GDM's compiled database are gone.
    for (const path of ['/etc/dconf/db/gdm.d/50-selfdeploy-login-screen', '/usr/share/selfdeploy/login-screen/logo', '/etc/dconf/db/gdm', '/etc/lightdm', '/etc/systemd/logind.conf.d/50-selfdeploy-shared-device.conf']) {
      expect(() => statSync(root.path(path)), path).toThrow();
    }
    expect((await loginScreen('banner-message-text')).trim()).toBe('');
  });
});
