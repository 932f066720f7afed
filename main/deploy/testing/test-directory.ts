// An organisation's directory for the sign-in system tests: OpenLDAP's slapd in a Debian root, on
// loopback, LDAPS only, with a test CA; users alice and carol (engineers) and bob (a visitor), and
// a service account. Anonymous search finds nothing: the directory is searched as the service
// account (a simple bind) or as a device its client certificate names (SASL EXTERNAL).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { killNamespace, type DebianRoot, type RunResult } from '../../../lab/debian-root.js';

export const BASE = 'dc=selfdeploy,dc=test';
/** The service account that may search the directory. */
export const READER = { dn: `cn=reader,ou=services,${BASE}`, password: 'reader-Pass #7;=x' };
export const PASSWORDS = { alice: 'alice-secret-1', bob: 'bob-secret-2', carol: 'carol-secret-3' } as const;

const LDAP = '/tmp/ldap';

/**
 * A test CA and a server certificate it issued, made with OpenSSL on the host (EC P-256, so making
 * them takes milliseconds): `name` is the certificate's subject CN, `san` its subjectAltName.
 */
export function testCertificates(name: string, san: string): { ca: string; cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'selfdeploy-test-ca-'));
  try {
    const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', `/CN=${name} test CA`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', `/CN=${name}`]);
    writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
    run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf']);
    const read = (file: string) => readFileSync(join(dir, file), 'utf8');
    return { ca: read('ca.pem'), cert: read('server.pem'), key: read('server.key') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** alice and carol are engineers, bob a visitor; the reader is a service account. */
function directoryLdif(): string {
  const user = (uid: string, number: number, password: string) =>
    `dn: uid=${uid},ou=people,${BASE}\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\nuidNumber: ${number}\ngidNumber: ${number}\nhomeDirectory: /home/${uid}\nloginShell: /bin/sh\nuserPassword: ${password}\n`;
  const group = (cn: string, number: number, members: string[]) => `dn: cn=${cn},ou=groups,${BASE}\nobjectClass: posixGroup\ncn: ${cn}\ngidNumber: ${number}\n${members.map((m) => `memberUid: ${m}\n`).join('')}`;
  return [
    `dn: ${BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: selfdeploy\no: selfdeploy test\n`,
    `dn: ou=people,${BASE}\nobjectClass: organizationalUnit\nou: people\n`,
    `dn: ou=groups,${BASE}\nobjectClass: organizationalUnit\nou: groups\n`,
    `dn: ou=services,${BASE}\nobjectClass: organizationalUnit\nou: services\n`,
    `dn: ${READER.dn}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: reader\nuserPassword: ${READER.password}\n`,
    user('alice', 10001, PASSWORDS.alice),
    user('bob', 10002, PASSWORDS.bob),
    user('carol', 10003, PASSWORDS.carol),
    group('engineers', 20001, ['alice', 'carol']),
    group('visitors', 20002, ['bob']),
  ].join('\n');
}

export class TestDirectory {
  /** The CA of slapd's certificate, for the profile. */
  readonly ca: string;
  private readonly tls: { cert: string; key: string };
  private server: ReturnType<DebianRoot['start']> | undefined;
  private root!: DebianRoot;

  constructor(readonly port: number) {
    const { ca, cert, key } = testCertificates('127.0.0.1', 'IP:127.0.0.1');
    this.ca = ca;
    this.tls = { cert, key };
  }

  get uri(): string {
    return `ldaps://127.0.0.1:${this.port}`;
  }

  /**
   * slapd's configuration and data in the root. `clientCa`: the CAs of client certificates slapd
   * accepts, each mapped (SASL EXTERNAL) to the service account when its subject is a device's (CN=UUID).
   */
  async prepare(root: DebianRoot, clientCa: string | null = null): Promise<void> {
    this.root = root;
    mkdirSync(root.path(`${LDAP}/db`), { recursive: true });
    writeFileSync(root.path(`${LDAP}/ca.pem`), this.ca + (clientCa ?? ''));
    writeFileSync(root.path(`${LDAP}/server.pem`), this.tls.cert);
    writeFileSync(root.path(`${LDAP}/server.key`), this.tls.key);
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
        ...(clientCa ? ['TLSVerifyClient allow', `authz-regexp "^cn=[0-9a-f-]{36}$" "${READER.dn}"`] : []),
        'database mdb',
        `suffix "${BASE}"`,
        `rootdn "cn=admin,${BASE}"`,
        'rootpw not-used-by-the-test',
        `directory ${LDAP}/db`,
        // Members sign in by binding as themselves; only the service account searches.
        'access to attrs=userPassword by anonymous auth by self read by * none',
        `access to * by dn.exact="${READER.dn}" read by self read by * none`,
        '',
      ].join('\n'),
    );
    writeFileSync(root.path(`${LDAP}/directory.ldif`), directoryLdif());
    await root.ok(['slapadd', '-f', `${LDAP}/slapd.conf`, '-l', `${LDAP}/directory.ldif`]);
  }

  /** slapd on loopback, LDAPS only, logging connections and binds; returns once the reader's search answers. */
  async start(): Promise<void> {
    this.server = this.root.start(['slapd', '-d', 'stats', '-h', `${this.uri}/`, '-f', `${LDAP}/slapd.conf`]);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const probe = await this.search(['-D', READER.dn, '-w', READER.password]);
      if (probe.status === 0 && probe.stdout.includes('uid: alice')) return;
      if (this.server.exitCode !== null || Date.now() > deadline) throw new Error(`slapd did not answer: ${this.server.output()}${probe.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** What slapd logged (-d stats): connections, binds and their mechanisms, searches. */
  log(): string {
    return this.server?.output() ?? '';
  }

  /** ldapsearch for alice's uid, as `bind` says (nothing: anonymously). */
  search(bind: string[] = []): Promise<RunResult> {
    return this.root.run(['ldapsearch', '-x', '-LLL', '-H', this.uri, ...bind, '-b', BASE, 'uid=alice', 'uid'], { env: { LDAPTLS_CACERT: `${LDAP}/ca.pem` } });
  }

  stop(): void {
    if (this.server) killNamespace(this.server);
    this.server = undefined;
  }
}

/** SSSD in the root as its unit would start it, with `env`; resolves once NSS answers for alice through it. */
export async function startSssd(root: DebianRoot, env: Record<string, string> = {}): Promise<ReturnType<DebianRoot['start']>> {
  const sssd = root.start(['sssd', '-i', '--logger=stderr'], { env });
  const deadline = Date.now() + 30_000;
  while (!(await root.run(['getent', 'passwd', 'alice'])).stdout.startsWith('alice:')) {
    if (sssd.exitCode !== null || Date.now() > deadline) throw new Error(`SSSD did not answer for alice: ${sssd.output().slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  return sssd;
}
