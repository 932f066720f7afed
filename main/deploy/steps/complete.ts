// "Reporting completion": the service records the device as deployed (after which a second
// self-deployment is blocked until an admin deletes the record), with whether a failed item was
// passed over. Idempotent on the service.
import { profileOf, type Step } from '../context.js';

export const completeStep: Step = {
  id: 'complete',
  async run(context) {
    const endState = profileOf(context).profile.endState.type;
    const done = await context.session.managed('reporting completion', (token) => context.options.api.complete(token, endState, context.progress.journal.continuedPastFailure));
    return { state: 'succeeded', detail: `Deployed ${done.deployedAt}` };
  },
};
