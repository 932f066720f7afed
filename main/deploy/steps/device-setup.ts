// "Device setup": one step per category — security policies, certificates, network connections,
// apps (scripts with apps) — each applying the items of its kinds in the order the service gave.
// The ESP's blocking rules and timeout hold per item (item.ts); a category with only optional
// failures succeeds and says so.
import { SETUP_STEP_OF_KIND } from '../../../protocol/esp.js';
import { itemKey } from '../../../protocol/items.js';
import type { Step } from '../context.js';
import { applyItem } from './item.js';
import { loadAssignments } from './preparing.js';

type Category = 'policies' | 'certificates' | 'networks' | 'apps';

function deviceSetupStep(id: Category): Step {
  return {
    id,
    // Loaded before the step shows as started, so its items are there when it does.
    prepare: async (context) => {
      await loadAssignments(context);
    },
    async run(context) {
      const items = (await loadAssignments(context)).filter((item) => SETUP_STEP_OF_KIND[item.kind] === id);
      context.status.report();
      for (const item of items) await applyItem(context, id, item);
      const failed = items.filter((item) => context.progress.journal.items[itemKey(item)]?.state === 'failed').length;
      return { state: 'succeeded', detail: items.length === 0 ? 'Nothing to set up' : failed ? `${failed} optional item(s) failed` : null };
    },
  };
}

export const policiesStep = deviceSetupStep('policies');
export const certificatesStep = deviceSetupStep('certificates');
export const networksStep = deviceSetupStep('networks');
export const appsStep = deviceSetupStep('apps');
