// "Preparing your device for mobile management": the first check-in — what the service assigned
// to the device's groups, shown under each Device setup category before anything is applied.
import { PHASES, SETUP_STEP_OF_KIND } from '../../../protocol/esp.js';
import type { AssignedItem } from '../../../protocol/items.js';
import type { Step, StepContext } from '../context.js';
import { espItem } from './item.js';

/** The items assigned to the device, fetched once per run and shown in their categories. */
export async function loadAssignments(context: StepContext): Promise<AssignedItem[]> {
  const { run, progress } = context;
  if (run.assigned) return run.assigned;
  const steps = PHASES['device-setup'].steps;
  for (const step of steps) if (!progress.stepDone(step)) progress.emit({ type: 'step', step, state: 'identifying' });
  const response = await context.session.managed('getting the assignments', (token) => context.options.api.assignments(token));
  run.assigned = response.items;
  run.primaryUser = response.primaryUser;
  for (const step of steps) {
    const items = response.items.filter((item) => SETUP_STEP_OF_KIND[item.kind] === step).map((item) => espItem(progress.journal, item));
    progress.emit({ type: 'items', step, items });
    if (!progress.stepDone(step)) progress.emit({ type: 'step', step, state: 'not-started' });
  }
  return response.items;
}

export const preparingStep: Step = {
  id: 'preparing-mdm',
  async run(context) {
    const assigned = await loadAssignments(context);
    return { state: 'succeeded', detail: `${assigned.length} item(s) to set up` };
  },
};
