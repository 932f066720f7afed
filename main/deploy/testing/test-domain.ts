// An Active Directory domain for the sign-in system tests: Samba as the domain controller of
// selfdeploy.test, in a Debian root, on loopback (its fixed ports: Kerberos 88, LDAP 389, SMB 445 …);
// users alice (an engineer) and bob (a visitor), and svc-join, the account computers join as: a
// member of Account Operators (who create and manage computer accounts), not a domain admin. No DNS server: the
// root's /etc/hosts names the controller, as the site's DNS would.
import { writeFileSync } from 'node:fs';

import { killNamespace, type DebianRoot, type RunResult } from '../../../lab/debian-root.js';

export const DOMAIN = 'selfdeploy.test';
export const CONTROLLER = `dc.${DOMAIN}`;
export const DOMAIN_PASSWORDS = { Administrator: 'Admin-Pass-1x', alice: 'Alice-Pass-1x', bob: 'Bob-Pass-2x', 'svc-join': 'Join pass #3; = x' } as const;

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
  }

  /** Samba in one process, then the domain's users and groups once it answers. */
  async start(): Promise<void> {
    this.server = this.root.start(['samba', '-i', '-M', 'single', '--debug-stdout']);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const probe = await this.tool(['user', 'list']);
      if (probe.status === 0 && probe.stdout.includes('Administrator')) break;
      if (this.server.exitCode !== null || Date.now() > deadline) throw new Error(`samba did not answer: ${this.server.output().slice(-3000)}${probe.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    for (const user of ['alice', 'bob', 'svc-join'] as const) await this.ok(['user', 'create', user, DOMAIN_PASSWORDS[user]]);
    await this.ok(['group', 'addmembers', 'Account Operators', 'svc-join']);
    await this.ok(['group', 'add', 'engineers']);
    await this.ok(['group', 'addmembers', 'engineers', 'alice']);
    await this.ok(['group', 'add', 'visitors']);
    await this.ok(['group', 'addmembers', 'visitors', 'bob']);
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
