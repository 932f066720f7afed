// The agent's state directory (default /var/lib/selfdeploy, 0700) and what lives in it, each name
// written once: the journal and the profile it resumes from, the enrollment (key blobs and the
// device certificate), downloads, update bundles, the change log of an in-process target, the
// mark the first-boot unit checks, and the agent's log.
import { join } from 'node:path';

export const STATE_FILES = {
  /** Every step and item of the self-deploy, written before each takes effect. */
  journal: 'deploy-journal.json',
  /** The deployment profile the service gave, kept beside the journal. */
  profile: 'deploy-profile.json',
  /** The AK and device key blobs and the device certificate. */
  enrollment: 'enrollment.json',
  /** Content downloaded for device setup (and the packaged app's update debs), named by SHA-256. */
  content: 'content',
  /** Update bundles downloaded by the headless agent. */
  updates: 'updates',
  /** Update bundles unpacked, one directory per version. */
  versions: 'versions',
  /** The change log and previous bytes of an in-process target (--root). */
  changes: 'changes',
  /** Written once the device is provisioned: the first-boot unit does not start while it exists. */
  provisioned: 'provisioned',
  /** The agent's log: JSON lines, no payloads, no keys. */
  agentLog: 'agent.log',
  /** The EK certificate the TPM vendor's service gave (a TPM without one in NV): kept across Reset, it is the hardware's. */
  ekCertificate: 'ek-certificate.json',
} as const;

export type StateFile = keyof typeof STATE_FILES;

/** What Reset clears, besides undoing the change log: everything a new setup must not find. */
export const CLEARED_ON_RESET: readonly StateFile[] = ['journal', 'profile', 'enrollment', 'content', 'provisioned'];

/** The path of `file` in the state directory `dir`. */
export function statePath(dir: string, file: StateFile): string {
  return join(dir, STATE_FILES[file]);
}
