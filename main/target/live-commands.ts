// The commands device setup runs on the live system (never in a scratch target), and when they have
// nothing to do: a setting for systemd where no systemd runs, NetworkManager that is not running.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Whether the running system was booted with systemd (sd_booted(3)'s test). */
export const systemdRuns = () => existsSync('/run/systemd/system');

/** Commands that tell systemd (its hostnamed, timedated or localed, or a unit) about a setting. */
const SYSTEMD_SERVICE_COMMANDS = new Set(['hostnamectl', 'timedatectl', 'localectl', 'systemctl']);
/** nmcli's exit status for "NetworkManager is not running" (with a system bus to ask). */
const NM_NOT_RUNNING = 8;
/** NetworkManager lives on the system bus: without it, it is not running. */
const SYSTEM_BUS = '/run/dbus/system_bus_socket';

/**
 * Runs a live command; false when it had nothing to do. hostnamectl, timedatectl and localectl
 * hand a setting device setup has already written to its file (/etc/hostname, /etc/timezone and
 * /etc/localtime, /etc/default/locale and keyboard) to the running system, and systemctl restarts
 * a service on its new configuration (sssd); on a system that was not booted with systemd (an
 * image built in a chroot) there is no one to tell, and the file is read at the next boot, so
 * they are not run. Likewise `nmcli connection reload` when
 * NetworkManager is not running: it reads its keyfiles when it starts.
 */
export async function runLive(argv: [string, ...string[]]): Promise<boolean> {
  if (SYSTEMD_SERVICE_COMMANDS.has(argv[0]) && !systemdRuns()) return false;
  if (argv[0] === 'nmcli' && !existsSync(SYSTEM_BUS)) return false;
  try {
    await run(argv[0], argv.slice(1), { timeout: 120_000 });
    return true;
  } catch (error) {
    if (argv[0] === 'nmcli' && (error as { code?: unknown }).code === NM_NOT_RUNNING) return false;
    throw error;
  }
}
