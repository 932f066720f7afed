// "Preparing the device for use": the sign-in screen (the organisation's login screen; with a
// directory, its members signing in, the primary user among them where the profile says), or the
// kiosk account with auto-logon and its session (browser, signage or app); the device name the
// join gave; and a note when an installer asked for a restart.
import { profileOf, type Step } from '../context.js';
import { loadAssignments } from './preparing.js';

export const endStateStep: Step = {
  id: 'end-state',
  async run(context) {
    const profile = profileOf(context);
    const { endState } = profile.profile;
    const { journal } = context.progress;
    // A sign-in rule that names the primary user needs it: it comes with the assignments.
    const byPrimaryUser = endState.type === 'sign-in' && endState.directory?.allow !== 'all' && endState.directory?.allow.primaryUser === true;
    if (byPrimaryUser && context.run.primaryUser === undefined) await loadAssignments(context);
    await context.options.providers.configureEndState(endState, { deviceName: journal.device.deviceName, branding: profile.branding, primaryUser: context.run.primaryUser ?? null });
    const restart = journal.rebootRequired.length ? `; restart required by ${journal.rebootRequired.join(', ')}` : '';
    return { state: 'succeeded', detail: `${endState.type === 'kiosk' ? `Kiosk (${endState.mode}) for ${endState.localAccount.name}` : endState.directory ? `Sign-in screen for members of ${endState.directory.provider === 'ad' ? endState.directory.domain : endState.directory.uri}` : 'Sign-in screen'}${restart}` };
  },
};
