// "Critical updates": a newer critical release in the service's feed is downloaded, verified and
// installed, and the run ends with a restart (the new version resumes from the journal and
// finishes this step). A feed that does not answer within the check time, a release that is not
// newer or not critical, and a failed or tampered download leave the running version in place —
// said in the step, never a failure. Then, when the profile asks (osUpdates), the distribution's
// own updates through selfdeploy-helper: its pending security updates or the named packages; one
// that needs a restart restarts the device, and the step finishes after it, from the journal.
import { compareVersions, versionField } from '../../../protocol/api/updates.js';
import { DeployError } from '../errors.js';
import { profileOf, type Step, type StepContext, type StepResult } from '../context.js';

export const DEFAULT_UPDATE_CHECK_MS = 60_000;

async function checkForUpdate(context: StepContext, running: string): Promise<StepResult> {
  const { updates, clock, log } = context.options;
  if (!updates) return { state: 'skipped', detail: 'This agent has no update source' };
  const checkUntil = clock.now() + (context.options.updateCheckMs ?? DEFAULT_UPDATE_CHECK_MS);
  let feed;
  try {
    feed = await context.session.patiently('checking for critical updates', () => updates.feed(), checkUntil);
  } catch (error) {
    log('update.feed-unreachable', { reason: (error as Error).message });
    return { state: 'skipped', detail: `The update feed did not answer (${(error as Error).message}); carrying on with ${running}` };
  }
  if (!feed) return { state: 'skipped', detail: `No release is published; ${running} is current` };
  if (!versionField.safeParse(running).success) return { state: 'skipped', detail: `This agent (${running}) is not a release build; ${feed.version} is not applied` };
  if (compareVersions(feed.version, running) <= 0) return { state: 'skipped', detail: `Up to date (${running})` };
  if (!feed.critical) return { state: 'skipped', detail: `${feed.version} is available but not critical: it is not applied during setup` };
  let entry: string;
  try {
    const file = await context.session.patiently(`downloading update ${feed.version}`, () => updates.download(feed), checkUntil + 30 * 60_000);
    entry = await updates.install(file, feed.version);
  } catch (error) {
    log('update.refused', { version: feed.version, reason: (error as Error).message });
    return { state: 'skipped', detail: `Update ${feed.version} not applied: ${(error as Error).message}; staying on ${running}` };
  }
  // Recorded before the restart: the new version finishes this step, then goes on.
  const { progress } = context;
  progress.journal.update = { from: running, to: feed.version, at: progress.iso() };
  progress.emit({ type: 'step', step: 'updates', state: 'in-progress', detail: `Installed ${feed.version}; restarting` });
  progress.checkpoint();
  log('update.installed', { from: running, to: feed.version });
  return { restart: { version: feed.version, entry } };
}

/** The distribution's updates the profile asks for, after the agent's own. */
async function osUpdates(context: StepContext, agent: Extract<StepResult, { state: string }>): Promise<StepResult> {
  const wanted = profileOf(context).profile.osUpdates;
  if (wanted.apply === 'none') return agent;
  const { progress } = context;
  const { providers, log } = context.options;
  const before = agent.detail ? `${agent.detail}; ` : '';
  const restarted = progress.journal.osUpdates;
  if (restarted) {
    // The device restarted for them: they are in place.
    progress.journal.osUpdates = null;
    progress.checkpoint();
    log('os-updates.restarted', { upgraded: restarted.upgraded });
    return { state: 'succeeded', detail: `${before}OS updates applied (${restarted.upgraded.join(', ')}); the device restarted for them` };
  }
  const what = wanted.apply === 'security' ? 'the pending security updates' : `updates of ${wanted.packages.join(', ')}`;
  progress.emit({ type: 'step', step: 'updates', state: 'in-progress', detail: `${before}Applying ${what}` });
  let result;
  try {
    result = await providers.applyOsUpdates({ mode: wanted.apply, packages: wanted.packages, timeoutSeconds: wanted.timeoutMinutes * 60 });
  } catch (error) {
    log('os-updates.failed', { reason: (error as Error).message });
    throw new DeployError('OS_UPDATES_FAILED', `${what} could not be applied: ${(error as Error).message}`, 'updates', null, { cause: error });
  }
  const upgraded = result.upgraded.map((u) => `${u.name} ${u.from} → ${u.to}`);
  log('os-updates.applied', { upgraded, rebootRequired: result.rebootRequired });
  if (!upgraded.length) return { state: agent.state, detail: `${before}No ${wanted.apply === 'security' ? 'security updates are' : 'updates of those packages are'} pending` };
  if (result.rebootRequired) {
    // Recorded before the restart: after it, this step finishes from here.
    progress.journal.osUpdates = { upgraded, at: progress.iso() };
    progress.emit({ type: 'step', step: 'updates', state: 'in-progress', detail: `${before}OS updates applied (${upgraded.join(', ')}); restarting the device` });
    progress.checkpoint();
    const restarting = await providers.restartForUpdates();
    log('os-updates.restart', { restarting });
    return { reboot: { reason: `the OS updates (${upgraded.join(', ')}) need a restart`, restarting } };
  }
  return { state: 'succeeded', detail: `${before}OS updates applied (${upgraded.join(', ')})` };
}

export const updatesStep: Step = {
  id: 'updates',
  async run(context) {
    const agent = await agentUpdate(context);
    return 'state' in agent ? osUpdates(context, agent) : agent;
  },
};

/** The agent's own critical release: checked, installed and restarted for, or the outcome of that restart. */
async function agentUpdate(context: StepContext): Promise<StepResult> {
  const running = context.options.agent.version;
  const { progress } = context;
  const pending = progress.journal.update;
  if (pending) {
    // The agent restarted for an update: it took when the version running is the one installed.
    progress.journal.update = null;
    if (pending.to === running) {
      context.options.log('update.applied', { from: pending.from, to: running });
      return { state: 'succeeded', detail: `Updated from ${pending.from} to ${running}` };
    }
    context.options.log('update.not-applied', { wanted: pending.to, running });
    return { state: 'skipped', detail: `The update to ${pending.to} did not take; staying on ${running}` };
  }
  return checkForUpdate(context, running);
}
