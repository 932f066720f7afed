// "Reset device": every change device setup recorded is undone, newest first, and the agent's
// state (journal, profile, downloads, keys and certificate) is cleared, so that the next start
// begins again at the first page. `selfdeploy reset` and the ESP's Reset use it.
import { rmSync } from 'node:fs';
import { join } from 'node:path';

import { HelperTarget } from '../helper/client.js';
import { ChangeLog } from '../providers/changes.js';
import { Target, type TargetPort, type UndoReport } from '../providers/target.js';
import { JOURNAL_FILE, PROFILE_FILE } from './journal.js';

/** Written once the device is provisioned: the first-boot unit does not start while it exists. */
export const PROVISIONED_FILE = 'provisioned';

export const STATE_FILES = [JOURNAL_FILE, PROFILE_FILE, 'enrollment.json', 'content', PROVISIONED_FILE];

export function changeLogOf(stateDir: string): ChangeLog {
  return new ChangeLog(join(stateDir, 'changes'));
}

/** The device under `root`, changed in this process, recording into the state directory. */
export function localTarget(stateDir: string, root: string): Target {
  return new Target(root, changeLogOf(stateDir));
}

/** Where device setup changes the system: through the privileged helper, or in this process under `root`. */
export type Executor = { helper: string } | { root: string };

/** Opens the executor's target; `close` ends a helper connection. */
export async function openTarget(state: string, executor: Executor): Promise<{ target: TargetPort; close: () => void }> {
  if ('helper' in executor) {
    const target = await HelperTarget.connect(executor.helper);
    return { target, close: () => target.close() };
  }
  return { target: localTarget(state, executor.root), close: () => undefined };
}

export async function resetDevice(options: { state: string; executor: Executor }): Promise<UndoReport> {
  const setup = await openTarget(options.state, options.executor);
  let report: UndoReport;
  try {
    report = await setup.target.undoAll();
  } finally {
    setup.close();
  }
  for (const name of STATE_FILES) rmSync(join(options.state, name), { recursive: true, force: true });
  return report;
}
