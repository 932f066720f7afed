// Joining an Active Directory domain on the live system: adcli join, the join account's password
// on its standard input (never its arguments, environment, a file or a log), and adcli's own
// words when it fails. Target.joinDomain records the join and undoes it (the keytab).
import { TargetError } from './errors.js';
import type { DomainJoin } from './port.js';
import { runInGroup } from './processes.js';

const TIMEOUT_MS = 120_000;

/** Runs adcli join as `join` says; DIRECTORY_JOIN_FAILED with adcli's last lines (the password masked) when it does not join. */
export async function adcliJoin(join: DomainJoin): Promise<void> {
  const args = [
    'join',
    `--domain=${join.domain}`,
    ...(join.domainController ? [`--domain-controller=${join.domainController}`] : []),
    ...(join.organizationalUnit ? [`--domain-ou=${join.organizationalUnit}`] : []),
    `--computer-name=${join.computerName}`,
    `--host-fqdn=${join.hostFqdn}`,
    `--login-user=${join.user}`,
    '--stdin-password',
    '--verbose',
  ];
  const result = await runInGroup('adcli', args, { cwd: '/', timeoutMs: TIMEOUT_MS, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' }, input: `${join.password}\n` }).catch((error: Error) => {
    throw new TargetError('DIRECTORY_JOIN_FAILED', `adcli could not run (${error.message}): install adcli on the device`);
  });
  if (result.status === 0 && !result.timedOut) return;
  // adcli's own words (its verbose lines start with " * "), never the password.
  const said = result.stderr
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith(' * '))
    .slice(-3)
    .map((line) => line.trim())
    .join(' / ')
    .split(join.password)
    .join('[secret]');
  const why = result.timedOut ? `did not finish within ${TIMEOUT_MS / 1000} s` : `failed (exit status ${result.status})`;
  throw new TargetError('DIRECTORY_JOIN_FAILED', `joining ${join.domain} as ${join.computerName} (${join.user}) ${why}${said ? `: ${said}` : ''}`);
}
