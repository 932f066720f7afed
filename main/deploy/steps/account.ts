// "Account setup": self-deploying mode signs in no user, so the step is shown, skipped.
import type { Step } from '../context.js';

export const accountStep: Step = {
  id: 'account',
  run: () => Promise.resolve({ state: 'skipped', detail: 'Self-deploying mode signs in no user' }),
};
