// The device itself as the directory's client, on a live Debian 13 system: no password on the
// device. The profile's directory names a device-client certificate item; after a self-deploy,
// SSSD presents that certificate in the TLS handshake — its key held by the TPM, used through
// OpenSSL's tpm2 provider as SSSD's unit gets it — and binds with SASL EXTERNAL; slapd, trusting
// the tenant's device CA for clients, maps the device to its service account, the only identity
// that may search. Members then resolve and sign in with their own passwords.
import { writeFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { killNamespace, type DebianRoot, type RunResult } from '../../lab/debian-root.js';
import { DEMO_GROUP } from '../../lab/demo-tenant.js';
import { freePort } from '../../lab/net.js';
import { documents } from '../../protocol/api/endpoints.js';
import { SSSD_CACHES } from '../target/places.js';
import { LiveRoot } from './testing/live-root.js';
import { BASE, PASSWORDS, READER, TestDirectory, startSssd } from './testing/test-directory.js';

const PAM_SERVICE = 'selfdeploy-sign-in';
const CERTIFICATES = '/etc/selfdeploy/certificates';
const DROP_IN = '/etc/systemd/system/sssd.service.d/50-selfdeploy-tpm2.conf';

let live: LiveRoot;
let root: DebianRoot;
let directory: TestDirectory;
let sssd: ReturnType<DebianRoot['start']> | undefined;
let deployed: RunResult;

/** What SSSD's unit gets from the drop-in (OPENSSL_CONF), and the lab's TPM in place of /dev/tpmrm0. */
function unitEnvironment(tcti: string): Record<string, string> {
  const conf = /^Environment=OPENSSL_CONF=(\S+)$/m.exec(root.read(DROP_IN))?.[1];
  expect(conf).toBe('/usr/share/selfdeploy/openssl-tpm2.cnf');
  return { OPENSSL_CONF: conf!, TPM2OPENSSL_TCTI: tcti };
}

beforeAll(async () => {
  directory = new TestDirectory(await freePort());
  live = await LiveRoot.create({
    base: inject('debianRoot'),
    deb: inject('selfdeployDeb'),
    name: 'directory-certificate-test',
    serial: 'LAB-DIR-0002',
    profile: {
      endState: { type: 'sign-in', directory: { uri: directory.uri, searchBase: BASE, schema: 'rfc2307', ca: directory.ca, clientCertificate: 'device-directory' } },
    },
    prepare: (prepared) => {
      root = prepared;
      return Promise.resolve();
    },
  });
  // The certificate the device presents: a device-client certificate item of the device's group.
  const { certificate } = documents.items;
  await live.device.service.call(certificate.put, { params: { name: 'device-directory' }, body: { type: 'device-client', purpose: 'directory' } });
  await live.device.service.call(certificate.assign, { params: { name: 'device-directory' }, body: { group: DEMO_GROUP } });
  writeFileSync(root.path(`/etc/pam.d/${PAM_SERVICE}`), '@include common-auth\n@include common-account\n@include common-session\n');
  await live.startHelper();
  deployed = await live.deploy();
  // The directory trusts the tenant's device CA for clients: the chain the device got with its certificate.
  await directory.prepare(root, root.read(`${CERTIFICATES}/device-directory.chain.pem`));
  await directory.start();
}, 900_000);

afterAll(async () => {
  if (sssd) killNamespace(sssd);
  directory?.stop();
  await live?.close();
});

describe('the device as the directory’s client (its TPM-held certificate, SASL EXTERNAL)', () => {
  it('self-deploys, SSSD configured for the certificate item and its TPM key file, with no password anywhere', () => {
    expect(deployed.status, `${deployed.stdout}\n${deployed.stderr}`).toBe(0);
    const conf = root.read('/etc/sssd/sssd.conf');
    expect(conf).toContain(`ldap_sasl_mech = EXTERNAL\nldap_tls_cert = ${CERTIFICATES}/device-directory.crt\nldap_tls_key = ${CERTIFICATES}/device-directory.tss2.pem\n`);
    expect(conf).not.toMatch(/ldap_default_(bind_dn|authtok)/);
    expect(root.read(`${CERTIFICATES}/device-directory.tss2.pem`)).toMatch(/^-----BEGIN TSS2 PRIVATE KEY-----/);
    expect(root.read(DROP_IN)).toContain('SupplementaryGroups=tss\n');
  });

  it('is searched by nobody anonymously', async () => {
    expect((await directory.search()).stdout).not.toContain('uid: alice');
  });

  it('resolves members through SSSD, which bound as the device: an EXTERNAL bind slapd mapped to the service account', async () => {
    sssd = await startSssd(root, unitEnvironment(live.device.tpm.tcti));
    expect((await root.ok(['getent', 'passwd', 'alice'])).trim()).toMatch(/^alice:\*:10001:10001:[^:]*:\/home\/alice:\/bin\/sh$/);
    const log = directory.log();
    expect(log).toMatch(/BIND dn="" method=163/);
    expect(log).toMatch(/BIND authcid="cn=[0-9a-f-]{36}" authzid="cn=[0-9a-f-]{36}"/);
    expect(log).toContain(`BIND dn="${READER.dn}" mech=EXTERNAL`);
  });

  it('signs a member in with their own password', async () => {
    const right = await root.run(['pamtester', '-v', PAM_SERVICE, 'alice', 'authenticate', 'acct_mgmt'], { input: `${PASSWORDS.alice}\n` });
    expect(right.status, right.stdout + right.stderr).toBe(0);
    const wrong = await root.run(['pamtester', '-v', PAM_SERVICE, 'alice', 'authenticate'], { input: 'not-her-password\n' });
    expect(wrong.status).not.toBe(0);
  });

  it('cannot search without this TPM: the same key file with no TPM to answer finds no member', async () => {
    if (sssd) killNamespace(sssd);
    sssd = undefined;
    await root.ok(['rm', '-f', '--', ...SSSD_CACHES]);
    const binds = directory.log().split('mech=EXTERNAL').length;
    const noTpm = root.start(['sssd', '-i', '--logger=stderr'], { env: unitEnvironment('swtpm:host=127.0.0.1,port=9') });
    try {
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      expect((await root.run(['getent', 'passwd', 'alice'])).status).toBe(2);
      expect(directory.log().split('mech=EXTERNAL').length).toBe(binds);
    } finally {
      killNamespace(noTpm);
    }
  });
});
