// A device many people share (the sign-in end state's sharedDevice): LightDM's guest session off,
// idle sessions signed out by systemd-logind. What SSSD keeps of its members (cached sign-ins,
// cached accounts) is in sssd.conf (directory.ts). Both files are read when their service starts:
// at the next boot.
import type { SharedDevice } from '../../protocol/sign-in.js';
import type { Plan } from './placed.js';
import { PLACES } from '../target/places.js';

export function sharedDevicePlan(shared: SharedDevice): Plan {
  const files: Plan['files'] = [];
  if (!shared.allowGuest) files.push({ path: PLACES.lightdmSharedDevice, content: '[Seat:*]\nallow-guest=false\n', mode: 0o644 });
  if (shared.idleSignOutMinutes !== null) {
    files.push({ path: PLACES.logindSharedDevice, content: `[Login]\nStopIdleSessionSec=${shared.idleSignOutMinutes * 60}\n`, mode: 0o644 });
  }
  return { files, commands: [] };
}
