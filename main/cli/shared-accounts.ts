#!/usr/bin/env node
// `selfdeploy-shared-accounts`: on a shared device, PAM runs this as root at the start and end of
// every interactive session (pam_exec, from selfdeploy's pam-configs profile, with PAM_TYPE and
// PAM_USER): it records the member's sign-in and deletes the members' home directories that are
// due, as the profile's sharedDevice says (main/shared-device/home-sweep.ts). It never fails a
// sign-in: what goes wrong is logged to /var/log/selfdeploy-shared-accounts.log.
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { HomeSweepSettingsSchema, type HomeSweepSettings } from '../../protocol/sign-in.js';
import { HomeSweep, SWEEP_LOG, deviceSystem, type SweepEvent } from '../shared-device/home-sweep.js';
import { PLACES } from '../target/places.js';

const USAGE = `Usage: selfdeploy-shared-accounts
Run by PAM (pam_exec) as root at each session's start and end, with PAM_TYPE and PAM_USER set: records
a member's sign-in and deletes the home directories of a shared device's members that are due, as
${PLACES.sharedAccounts} says (written by device setup). Logs to ${SWEEP_LOG}.
See docs/operations.md#shared-devices.
`;

/** How long a sign-out waits for the member's last processes before the home is left to the next sweep. */
const SIGN_OUT_WAIT_MS = 120_000;

function log(line: string): void {
  try {
    appendFileSync(SWEEP_LOG, `${new Date().toISOString()} ${line}\n`, { mode: 0o600 });
  } catch {
    // a read-only /var/log: nothing to tell
  }
}

function settings(): HomeSweepSettings | null {
  let text: string;
  try {
    text = readFileSync(PLACES.sharedAccounts, 'utf8');
  } catch {
    return null;
  }
  try {
    return HomeSweepSettingsSchema.parse(JSON.parse(text));
  } catch (error) {
    log(`${PLACES.sharedAccounts} is not valid, so no home is deleted: ${(error as Error).message.split('\n')[0]}`);
    return null;
  }
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (process.geteuid?.() !== 0) {
    process.stderr.write('selfdeploy-shared-accounts deletes members’ home directories and must run as root (PAM runs it)\n');
    return 1;
  }
  const configured = settings();
  if (!configured) return 0;
  const sweep = new HomeSweep(deviceSystem(log), configured);
  try {
    if (argv[0] === '--after-sign-out') {
      // Detached from PAM: waits for the member's last processes (the user's systemd, a desktop's helpers).
      for (const deadline = Date.now() + SIGN_OUT_WAIT_MS; Date.now() < deadline; ) {
        if (sweep.run(null).deferred.length === 0) return 0;
        await new Promise((resolve) => setTimeout(resolve, 2_000));
      }
      log('a signed-out member still runs processes: their home is deleted at a later sweep');
      return 0;
    }
    const type = env['PAM_TYPE'];
    const user = env['PAM_USER'] ?? '';
    const event: SweepEvent | null = type === 'open_session' || type === 'close_session' ? { type, user } : null;
    const result = sweep.run(event);
    if (event?.type === 'close_session' && result.deferred.length > 0) {
      spawn(process.execPath, [fileURLToPath(import.meta.url), '--after-sign-out'], { detached: true, stdio: 'ignore', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } }).unref();
    }
  } catch (error) {
    log(`the sweep failed: ${(error as Error).message}`);
  }
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  void main(process.argv.slice(2), process.env).then((code) => process.exit(code));
}
