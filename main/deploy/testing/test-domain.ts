// An Active Directory domain for the sign-in system tests: Samba as the domain controller of
// selfdeploy.test, in a Debian root, on loopback (its fixed ports: Kerberos 88, LDAP 389, SMB 445 …);
// users alice (an engineer) and bob (a visitor), and svc-join, the account computers join as: a
// member of Account Operators (who create and manage computer accounts), not a domain admin. No DNS server: the
// root's /etc/hosts names the controller, as the site's DNS would.
import { mkdirSync, writeFileSync } from 'node:fs';

import { killNamespace, type DebianRoot, type RunResult } from '../../../lab/debian-root.js';
import { testCertificates } from './test-directory.js';

export const DOMAIN = 'selfdeploy.test';
export const CONTROLLER = `dc.${DOMAIN}`;
export const DOMAIN_PASSWORDS = { Administrator: 'Admin-Pass-1x', alice: 'Alice-Pass-1x', bob: 'Bob-Pass-2x', 'svc-join': 'Join pass #3; = x' } as const;

/** Where Samba looks for its TLS key and certificates (its private directory's tls/). */
const TLS = '/var/lib/samba/private/tls';
/** A Kerberos configuration for the readiness probe alone: the realm's KDC on loopback, no DNS. */
const PROBE_KRB5_CONF = '/tmp/krb5-probe.conf';

export class TestDomain {
  private server: ReturnType<DebianRoot['start']> | undefined;

  constructor(private readonly root: DebianRoot) {}

  /** Provisions the domain in the root (about 20 s): the controller's name first for 127.0.0.1, so Kerberos finds it by its address. */
  async prepare(): Promise<void> {
    writeFileSync(this.root.path('/etc/hosts'), `127.0.0.1\t${CONTROLLER} dc localhost\n::1\tlocalhost ip6-localhost ip6-loopback\n`);
    await this.root.ok(['rm', '-f', '/etc/samba/smb.conf']);
    await this.root.ok(
      [
        'samba-tool', 'domain', 'provision', `--realm=${DOMAIN.toUpperCase()}`, '--domain=SELFDEPLOY', '--server-role=dc', '--dns-backend=NONE',
        `--adminpass=${DOMAIN_PASSWORDS.Administrator}`, '--use-rfc2307', '--host-name=dc', '--option=interfaces=lo', '--option=bind interfaces only=yes',
      ],
      { timeoutMs: 300_000 },
    );
    // The controller's TLS key and certificate, made here: without them Samba makes a 4096-bit RSA
    // key as it starts, which takes from one second to far longer, LDAP unanswered meanwhile.
    const tls = testCertificates(CONTROLLER, `DNS:${CONTROLLER},IP:127.0.0.1`);
    mkdirSync(this.root.path(TLS), { recursive: true, mode: 0o700 });
    writeFileSync(this.root.path(`${TLS}/key.pem`), tls.key, { mode: 0o600 });
    writeFileSync(this.root.path(`${TLS}/cert.pem`), tls.cert);
    writeFileSync(this.root.path(`${TLS}/ca.pem`), tls.ca);
    const realm = DOMAIN.toUpperCase();
    writeFileSync(this.root.path(PROBE_KRB5_CONF), `[libdefaults]\n  default_realm = ${realm}\n  dns_lookup_kdc = false\n  dns_lookup_realm = false\n[realms]\n  ${realm} = {\n    kdc = 127.0.0.1\n  }\n`);
  }

  /**
   * Samba in one process and the domain's users and groups; returns once the controller answers
   * on the network as a join needs it: its KDC signs svc-join in, its LDAP server answers.
   * (samba-tool works on the local database, so its answering proves no server is listening.)
   */
  async start(): Promise<void> {
    this.server = this.root.start(['samba', '-i', '-M', 'single', '--debug-stdout']);
    await this.until('samba-tool', () => this.tool(['user', 'list']), (probe) => probe.stdout.includes('Administrator'));
    for (const user of ['alice', 'bob', 'svc-join'] as const) await this.ok(['user', 'create', user, DOMAIN_PASSWORDS[user]]);
    await this.ok(['group', 'addmembers', 'Account Operators', 'svc-join']);
    await this.ok(['group', 'add', 'engineers']);
    await this.ok(['group', 'addmembers', 'engineers', 'alice']);
    await this.ok(['group', 'add', 'visitors']);
    await this.ok(['group', 'addmembers', 'visitors', 'bob']);
    const env = { KRB5_CONFIG: PROBE_KRB5_CONF, KRB5CCNAME: 'MEMORY:probe' };
    await this.until('its KDC', () => this.root.run(['kinit', `svc-join@${DOMAIN.toUpperCase()}`], { env, input: `${DOMAIN_PASSWORDS['svc-join']}\n`, timeoutMs: 30_000 }));
    await this.until('its LDAP server', () => this.root.run(['ldapsearch', '-x', '-LLL', '-H', 'ldap://127.0.0.1', '-s', 'base', '-b', '', 'defaultNamingContext'], { timeoutMs: 30_000 }), (probe) => probe.stdout.includes('DC=selfdeploy,DC=test'));
  }

  /** Repeats `probe` until it succeeds (and `answered` holds) while Samba runs, for at most 120 s. */
  private async until(what: string, probe: () => Promise<RunResult>, answered: (result: RunResult) => boolean = () => true): Promise<void> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const result = await probe();
      if (result.status === 0 && answered(result)) return;
      if (this.server?.exitCode !== null || Date.now() > deadline) {
        throw new Error(`samba did not answer through ${what} (${this.state()}): ${result.stdout}${result.stderr}\n${this.log().slice(-3000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  /** Whether Samba runs, or how it ended. */
  state(): string {
    if (!this.server) return 'not started';
    return this.server.exitCode === null && this.server.signalCode === null ? 'running' : `ended (exit ${this.server.exitCode}, signal ${this.server.signalCode})`;
  }

  /** samba-tool against the running controller (its local database, as an administrator). */
  tool(args: string[]): Promise<RunResult> {
    return this.root.run(['samba-tool', ...args], { timeoutMs: 60_000 });
  }

  private async ok(args: string[]): Promise<void> {
    const result = await this.tool(args);
    if (result.status !== 0) throw new Error(`samba-tool ${args.join(' ')}: ${result.stdout}${result.stderr}`);
  }

  log(): string {
    return this.server?.output() ?? '';
  }

  stop(): void {
    if (this.server) killNamespace(this.server);
    this.server = undefined;
  }
}
