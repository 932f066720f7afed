// A device many people share (the sign-in end state's sharedDevice): LightDM's guest session off,
// idle sessions signed out by systemd-logind — both files read when their service starts, at the
// next boot — and, with a directory, members' home directories deleted at sign-out, after days
// without a sign-in or beyond the most recent members: selfdeploy-shared-accounts, run by PAM at
// each session's start and end, reads its settings from a file written here. What SSSD keeps of
// members (cached sign-ins, cached accounts) is in sssd.conf (directory.ts).
import { homeSweepSettings, type SharedDevice } from '../../protocol/sign-in.js';
import type { Plan } from './placed.js';
import { PLACES } from '../target/places.js';

/** The pam-configs profile's name (pam-auth-update's). */
export const SHARED_ACCOUNTS_PROFILE = 'selfdeploy-shared-accounts';
/** Where the deb puts the sweep's command (resources/bin, linked by its postinst). */
export const SHARED_ACCOUNTS_COMMAND = '/usr/sbin/selfdeploy-shared-accounts';

/** pam-auth-update's profile: the sweep at each interactive session's start and end, never failing it. */
export function sharedAccountsProfile(): string {
  return [
    'Name: Delete the home directories of a shared device’s members (selfdeploy)',
    'Default: yes',
    'Priority: 0',
    'Session-Type: Additional',
    'Session-Interactive-Only: yes',
    'Session:',
    `\toptional\tpam_exec.so quiet ${SHARED_ACCOUNTS_COMMAND}`,
    '',
  ].join('\n');
}

export function sharedDevicePlan(shared: SharedDevice, withDirectory: boolean): Plan {
  const files: Plan['files'] = [];
  const commands: Plan['commands'] = [];
  if (!shared.allowGuest) files.push({ path: PLACES.lightdmSharedDevice, content: '[Seat:*]\nallow-guest=false\n', mode: 0o644 });
  if (shared.idleSignOutMinutes !== null) {
    files.push({ path: PLACES.logindSharedDevice, content: `[Login]\nStopIdleSessionSec=${shared.idleSignOutMinutes * 60}\n`, mode: 0o644 });
  }
  const sweep = homeSweepSettings(shared);
  if (sweep && withDirectory) {
    files.push({ path: PLACES.sharedAccounts, content: JSON.stringify(sweep, null, 2) + '\n', mode: 0o644 });
    files.push({ path: PLACES.sharedAccountsProfile, content: sharedAccountsProfile(), mode: 0o644 });
    commands.push({ argv: ['pam-auth-update', '--package', '--enable', SHARED_ACCOUNTS_PROFILE], inverse: ['pam-auth-update', '--package', '--remove', SHARED_ACCOUNTS_PROFILE] });
  }
  return { files, commands };
}
