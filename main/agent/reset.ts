// "Reset device": every change device setup recorded is undone, newest first, and the agent's
// state (journal, profile, downloads, keys and certificate, the provisioned mark) is cleared, so
// that the next start begins again at the first page. `selfdeploy reset` and the ESP's Reset use it.
import { rmSync } from 'node:fs';

import { CLEARED_ON_RESET, statePath } from '../storage/state-dir.js';
import type { UndoReport } from '../target/port.js';
import { openTarget, type Executor } from './executor.js';

export async function resetDevice(options: { state: string; executor: Executor }): Promise<UndoReport> {
  const setup = await openTarget(options.state, options.executor);
  let report: UndoReport;
  try {
    report = await setup.target.undoAll();
  } finally {
    setup.close();
  }
  for (const file of CLEARED_ON_RESET) rmSync(statePath(options.state, file), { recursive: true, force: true });
  return report;
}
