// "Reset device": every change device setup recorded is undone, newest first, and the agent's
// state (journal, profile, downloads, keys and certificate) is cleared, so that the next start
// begins again at the first page. `selfdeploy reset` and the ESP's Reset use it.
import { rmSync } from 'node:fs';
import { join } from 'node:path';

import { ChangeLog } from '../providers/changes.js';
import { Target, type UndoReport } from '../providers/target.js';
import { JOURNAL_FILE, PROFILE_FILE } from './journal.js';

export const STATE_FILES = [JOURNAL_FILE, PROFILE_FILE, 'enrollment.json', 'content'];

export function changeLogOf(stateDir: string): ChangeLog {
  return new ChangeLog(join(stateDir, 'changes'));
}

/** The device under `root`, changed in this process, recording into the state directory. */
export function localTarget(stateDir: string, root: string): Target {
  return new Target(root, changeLogOf(stateDir));
}

export async function resetDevice(options: { state: string; root: string }): Promise<UndoReport> {
  const report = await localTarget(options.state, options.root).undoAll();
  for (const name of STATE_FILES) rmSync(join(options.state, name), { recursive: true, force: true });
  return report;
}
