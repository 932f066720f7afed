// The sign-in end state with Active Directory, on a live Debian 13 system: Samba as the domain
// controller of selfdeploy.test on loopback; a self-deploy whose directory-join policy joins the
// device to the domain (adcli, run by selfdeploy-helper, the join account's password on its
// standard input) — first with a wrong password, which fails with its own code, then, once the
// admin fixed the policy, again — and whose profile signs the domain's engineers in through SSSD's
// AD provider, Kerberos with the computer account's keytab. Then `selfdeploy reset` takes the
// device out again.
import { existsSync, statSync, writeFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { killNamespace, type DebianRoot, type RunResult } from '../../lab/debian-root.js';
import { DEMO_GROUP } from '../../lab/demo-tenant.js';
import { documents } from '../../protocol/api/endpoints.js';
import { LiveRoot } from './testing/live-root.js';
import { startSssd } from './testing/test-directory.js';
import { CONTROLLER, DOMAIN, DOMAIN_PASSWORDS, TestDomain } from './testing/test-domain.js';

const PAM_SERVICE = 'selfdeploy-sign-in';
const JOIN_POLICY = 'join-selfdeploy';
const KEYTAB = '/etc/krb5.keytab';

let live: LiveRoot;
let root: DebianRoot;
let domain: TestDomain;
let sssd: ReturnType<DebianRoot['start']> | undefined;
let refused: RunResult;
/** Whether the failed join left a keytab, or a computer account in the directory. */
let leftByRefusal: { keytab: boolean; account: boolean };
let deployed: RunResult;
/** The device's name (the profile's template), and its computer account's. */
let host: string;

const joinPolicy = (joinPassword: string) => ({ kind: 'directory-join' as const, domain: DOMAIN, domainController: CONTROLLER, joinUser: 'svc-join', joinPassword });

function signIn(user: string, password: string, operations: string[] = ['authenticate', 'acct_mgmt']): Promise<RunResult> {
  return root.run(['pamtester', '-v', PAM_SERVICE, user, ...operations], { input: `${password}\n` });
}

beforeAll(async () => {
  live = await LiveRoot.create({
    base: inject('debianRoot'),
    deb: inject('selfdeployDeb'),
    name: 'active-directory-test',
    serial: 'LAB-AD-0001',
    profile: { endState: { type: 'sign-in', directory: { provider: 'ad', domain: DOMAIN, servers: [CONTROLLER], allow: { groups: ['engineers'] } } } },
    prepare: async (prepared) => {
      root = prepared;
      domain = new TestDomain(root);
      await domain.prepare();
      await domain.start();
    },
  });
  const { policies } = documents;
  await live.device.service.call(policies.put, { params: { name: JOIN_POLICY }, body: joinPolicy('not-the-password') });
  await live.device.service.call(policies.assign, { params: { name: JOIN_POLICY }, body: { group: DEMO_GROUP } });
  writeFileSync(root.path(`/etc/pam.d/${PAM_SERVICE}`), '@include common-auth\n@include common-account\n@include common-session\n');
  await live.startHelper();
  refused = await live.deploy();
  leftByRefusal = { keytab: existsSync(root.path(KEYTAB)), account: (await domain.tool(['computer', 'list'])).stdout.includes('LOBBY-') };
  // The admin fixes the password; the technician runs setup again.
  await live.device.service.call(policies.put, { params: { name: JOIN_POLICY }, body: joinPolicy(DOMAIN_PASSWORDS['svc-join']) });
  deployed = await live.deploy();
  if (deployed.status !== 0) {
    // Everything after depends on this join: say once why it failed, with what the controller said.
    throw new Error(`the self-deploy with the right join password failed (exit ${deployed.status}; samba ${domain.state()}):\n${(deployed.stdout + deployed.stderr).slice(-3000)}\nsamba's log:\n${domain.log().slice(-3000)}`);
  }
  host = root.read('/etc/hostname').trim();
}, 900_000);

afterAll(async () => {
  if (sssd) killNamespace(sssd);
  domain?.stop();
  await live?.close();
});

describe('Active Directory sign-in on a live Debian 13 system (Samba as the domain controller)', () => {
  it('fails with DIRECTORY_JOIN_FAILED and adcli’s answer when the join account’s password is wrong, joining nothing', () => {
    expect(refused.status).not.toBe(0);
    expect(refused.stdout + refused.stderr).toContain('DIRECTORY_JOIN_FAILED');
    expect(refused.stdout + refused.stderr).toMatch(/joining selfdeploy\.test as LOBBY-[0-9A-Z]{4} \(svc-join\) failed/);
    expect(refused.stdout + refused.stderr).not.toContain('not-the-password');
    expect(leftByRefusal).toEqual({ keytab: false, account: false });
  });

  it('self-deploys once the policy holds the right password, its step naming the domain', () => {
    expect(deployed.status, `${deployed.stdout}\n${deployed.stderr}`).toBe(0);
    expect(deployed.stdout).toContain(`Preparing the device for use: done — Sign-in screen for members of ${DOMAIN}\n`);
  });

  it('joined the domain as the device’s name: a computer account in the directory, its keys in a keytab only root reads', async () => {
    expect(host).toMatch(/^LOBBY-[0-9A-Z]{4}$/);
    expect((await domain.tool(['computer', 'list'])).stdout).toContain(`${host.toUpperCase()}$`);
    const stat = statSync(root.path(KEYTAB));
    expect([stat.mode & 0o777, stat.uid, stat.gid]).toEqual([0o600, 0, 0]);
    const keys = await root.ok(['klist', '-k', KEYTAB]);
    expect(keys).toContain(`host/${host.toLowerCase()}.${DOMAIN}@${DOMAIN.toUpperCase()}`);
    expect(keys).toContain(`${host.toUpperCase()}$@${DOMAIN.toUpperCase()}`);
  });

  it('kept the join password out of every file and log: the policy’s record says only that one is set', async () => {
    const found = await root.run(['grep', '-rlF', '--', DOMAIN_PASSWORDS['svc-join'], '/etc', '/var/lib/selfdeploy', '/var/log', '/run/selfdeploy', '/home']);
    expect(found.stdout.trim()).toBe('');
    expect(JSON.parse(root.read(`/etc/selfdeploy/policies/${JOIN_POLICY}.json`))).toMatchObject({ domain: DOMAIN, joinUser: 'svc-join', joinPassword: '[secret]' });
  });

  it('configured SSSD’s AD provider for the domain, in a configuration SSSD itself accepts', async () => {
    const conf = root.read('/etc/sssd/sssd.conf');
    expect(conf).toContain(`id_provider = ad\nauth_provider = ad\nchpass_provider = ad\naccess_provider = simple\nsimple_allow_groups = engineers\nad_domain = ${DOMAIN}\nkrb5_realm = ${DOMAIN.toUpperCase()}\nad_server = ${CONTROLLER}\nad_hostname = ${host.toLowerCase()}.${DOMAIN}\n`);
    const check = await root.run(['sssctl', 'config-check']);
    expect(check.status, check.stdout + check.stderr).toBe(0);
  });

  it('resolves the domain’s members through SSSD, their IDs mapped from their SIDs', async () => {
    sssd = await startSssd(root);
    const [, uid] = /^alice:\*:(\d+):(\d+):[^:]*:\/home\/alice:/.exec(await root.ok(['getent', 'passwd', 'alice'])) ?? [];
    expect(Number(uid)).toBeGreaterThanOrEqual(200_000);
    expect(await root.ok(['id', '-nG', 'alice'])).toMatch(/\bengineers\b/);
    expect((await root.run(['getent', 'passwd', 'nobody-in-the-domain'])).status).toBe(2);
  });

  it('signs an engineer in with their domain password (Kerberos), and not with a wrong one', async () => {
    const right = await signIn('alice', DOMAIN_PASSWORDS.alice, ['authenticate', 'acct_mgmt', 'open_session']);
    expect(right.status, right.stdout + right.stderr).toBe(0);
    expect(statSync(root.path('/home/alice')).isDirectory()).toBe(true);
    const wrong = await signIn('alice', 'not-her-password');
    expect(wrong.status).not.toBe(0);
  });

  it('refuses a member outside the allowed groups, even with the right password', async () => {
    const bob = await signIn('bob', DOMAIN_PASSWORDS.bob);
    expect(bob.status).not.toBe(0);
    expect(bob.stderr).toMatch(/acct_mgmt|Permission denied|denied/i);
  });

  it('is taken away by selfdeploy reset: the keytab and SSSD’s configuration gone, members unknown', async () => {
    if (sssd) killNamespace(sssd); // systemctl stop sssd, which reset runs where systemd does
    sssd = undefined;
    const reset = await root.run(['selfdeploy', 'reset', '--json'], { user: 'selfdeploy' });
    expect(reset.status, reset.stdout + reset.stderr).toBe(0);
    for (const path of [KEYTAB, '/etc/sssd/sssd.conf', `/etc/selfdeploy/policies/${JOIN_POLICY}.json`]) expect(() => statSync(root.path(path)), path).toThrow();
    expect((await root.run(['getent', 'passwd', 'alice'])).status).toBe(2);
    // The computer account stays in the directory: removing it takes the directory's credentials.
    expect((await domain.tool(['computer', 'list'])).stdout).toContain(`${host.toUpperCase()}$`);
  });
});
