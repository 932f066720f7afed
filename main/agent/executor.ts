// Where device setup changes the system: through selfdeploy-helper (root, over its socket) on a
// device, or in this process under a root directory (tests, the lab, an image with --root).
import type { TargetPort } from '../target/port.js';
import { HelperTarget } from '../helper/client.js';
import { statePath } from '../storage/state-dir.js';
import { ChangeLog } from '../target/changes.js';
import { Target } from '../target/target.js';

export type Executor = { helper: string } | { root: string };

/** The device under `root`, changed in this process, recording into the state directory. */
export function localTarget(stateDir: string, root: string): Target {
  return new Target(root, new ChangeLog(statePath(stateDir, 'changes')));
}

/** Opens the executor's target; `close` ends a helper connection. */
export async function openTarget(state: string, executor: Executor): Promise<{ target: TargetPort; close: () => void }> {
  if ('helper' in executor) {
    const target = await HelperTarget.connect(executor.helper);
    return { target, close: () => target.close() };
  }
  return { target: localTarget(state, executor.root), close: () => undefined };
}
