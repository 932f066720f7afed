// `selfdeploy deploy`: the whole self-deploy sequence headless — for technicians at a bench,
// staging racks and CI. Draws the ESP in the terminal, exits 0 when the device is provisioned,
// and on failure prints the code, what happened and what to do (and the hardware hash, when the
// device is not registered).
import { exitStatus, type CliIo } from '../../protocol/errors/report.js';
import { DeployError } from '../deploy/errors.js';
import type { ErrorCode } from '../../protocol/errors/catalogue.js';
import type { CheckInOutcome, DeployEngine, DeployOutcome } from '../deploy/engine.js';
import { FileJournal } from '../deploy/journal.js';
import type { Executor } from '../agent/executor.js';
import { resetDevice } from '../agent/reset.js';
import type { UndoReport } from '../target/port.js';
import { restartFrom } from '../updates/bundle.js';
import { openAgent, serviceOf, type AgentOptions } from '../agent/agent.js';
import { testHook } from '../installation/layout.js';
import { terminalSafe } from '../../protocol/terminal-text.js';
import { terminalRenderer, type TerminalOutput } from './esp-terminal.js';

export interface DeployCommandOptions extends AgentOptions {
  json: boolean;
  /** Pass over a failed blocking item when the profile allows continuing. */
  continueOnError: boolean;
  /** Start over: forget the journal, keys and downloads (when the profile allows a reset). */
  reset: boolean;
}

/** Test hook (a source tree only): SIGKILL this process right after its Nth journal checkpoint (SELFDEPLOY_TEST_KILL_AT_CHECKPOINT=N). */
function faultInjection(journal: FileJournal): void {
  const at = Number(testHook('SELFDEPLOY_TEST_KILL_AT_CHECKPOINT') ?? 0);
  if (at > 0) {
    journal.onCheckpoint = (count) => {
      if (count === at) process.kill(process.pid, 'SIGKILL');
    };
  }
}

/** EX_TEMPFAIL: setup is not done, and resumes after the restart (the first-boot unit starts again). */
export const RESTART_EXIT = 75;

/** What a host says when OS updates need the device restarted. */
export function describeReboot(outcome: { reason: string; restarting: boolean }): string {
  return outcome.restarting ? `The device restarts: ${outcome.reason}. Setup resumes after it.\n` : `Restart the device now: ${outcome.reason}. Setup resumes after it.\n`;
}

export function describeUndo(report: UndoReport): string {
  const parts = [`${report.restored} file(s) restored`, `${report.removed} removed`];
  if (report.commands) parts.push(`${report.commands} command(s) reversed`);
  return parts.join(', ') + (report.left.length ? `; left as they are: ${report.left.join('; ')}` : '') + (report.notUndone.length ? `; not undone (no inverse): ${report.notUndone.join('; ')}` : '');
}

/** `selfdeploy reset`: undo what setup changed, clear the agent's state. */
export async function resetCommand(options: { state: string; executor: Executor; json: boolean }, io: CliIo): Promise<number> {
  const report = await resetDevice(options);
  if (options.json) io.stdout(JSON.stringify(report, null, 2) + '\n');
  else io.stdout(`Reset: ${describeUndo(report)}; the agent's state in ${options.state} is cleared. The next setup starts at the first page.\n`);
  return report.left.length ? 1 : 0;
}

export async function deployCommand(options: DeployCommandOptions, io: CliIo, out: TerminalOutput): Promise<number> {
  const service = serviceOf(options);

  const mode = options.json ? 'json' : out.isTTY ? 'tty' : 'plain';
  const renderer = terminalRenderer(out, mode);
  const journal = new FileJournal(options.state);
  if (options.reset) {
    const saved = journal.loadProfile();
    if (saved && !saved.profile.esp.allowReset) throw new DeployError('ESP_ACTION_NOT_ALLOWED', `the deployment profile "${saved.profileName}" does not allow a reset (esp.allowReset)`);
    const undone = await resetDevice({ state: options.state, executor: options.executor });
    if (!options.json) io.stdout(`Reset: ${describeUndo(undone)}; the agent's state in ${options.state} is cleared; setup starts over.\n`);
  }
  faultInjection(journal);
  const agent = await openAgent(options, service, journal);
  let outcome: DeployOutcome;
  let engine: DeployEngine | undefined;
  try {
    engine = await agent.engine(() => Promise.resolve(options.continueOnError));
    engine.subscribe((event, snapshot) => renderer.onEvent(event, snapshot));
    outcome = await engine.run();
    renderer.finish(engine.current());
    const rules = engine.current().rules;
    if (outcome.status === 'failed' && rules?.allowLogCollection) {
      const logs = await engine.collectLogs(options.state);
      if (!options.json) io.stderr(`Logs: ${logs.path}${logs.uploaded ? ` (uploaded to the service as ${logs.uploaded})` : ` (not uploaded: ${logs.reason ?? 'unknown'})`}\n`);
    }
  } finally {
    await agent.close();
  }

  if (outcome.status === 'restart') {
    // A critical update is installed and the TPM released: the new version carries on from the journal.
    if (!options.json) io.stdout(`Critical update ${outcome.version} installed; the agent restarts on it and resumes.\n`);
    return restartFrom(outcome.entry);
  }
  if (outcome.status === 'reboot') {
    // The journal holds where setup is: after the restart, the same command resumes from there.
    if (!options.json) io.stdout(describeReboot(outcome));
    return RESTART_EXIT;
  }
  if (outcome.status === 'provisioned') {
    if (!options.json) {
      io.stdout(
        outcome.alreadyProvisioned
          ? `This device was already provisioned (device ${outcome.deviceId}); nothing to do.\n`
          : `Provisioned: device ${outcome.deviceId}${outcome.deviceName ? ` (${outcome.deviceName})` : ''}, ${outcome.endState === 'kiosk' ? 'kiosk' : 'sign-in screen'} ready.\n`,
      );
      if (outcome.rebootRequired.length) io.stdout(`Restart the device before use: ${outcome.rebootRequired.join(', ')} asked for a restart.\n`);
    }
    return 0;
  }
  const { failure } = outcome;
  if (!options.json) {
    const lines = [
      `selfdeploy: ${failure.code}${failure.hresult ? ` (${failure.hresult})` : ''}: ${failure.title}`,
      `  ${failure.detail ?? failure.message}`,
      `  What to do: ${failure.remedy}`,
      `  More: ${failure.docs}`,
    ];
    const hash = engine?.current().device.hardwareHash;
    if (failure.code === 'DEVICE_NOT_REGISTERED' && hash) {
      lines.push('', '  Hardware hash to register (selfdeploy-admin devices add --hash …):', `  ${hash}`);
    }
    const rules = engine?.current().rules;
    if (rules) lines.push('', `  ${rules.customErrorMessage}`);
    if (rules?.allowReset) lines.push(`  To start over: the same command with --reset.`);
    if (rules?.allowContinue && failure.item) lines.push(`  To continue past a failed item: the same command with --continue-on-error.`);
    // The detail, the hash and the custom message come from the service and the device: shown, never obeyed.
    io.stderr(terminalSafe(lines.join('\n')) + '\n');
  }
  return exitStatus(failure.code as ErrorCode);
}

/**
 * `selfdeploy checkin`: one check-in of a joined device (the selfdeploy-checkin timer runs it):
 * the service records the contact and the device does what it asks — uploads the log bundle an
 * administrator or technician asked for. Exit 0 when done, 1 when logs were asked for and could
 * not be uploaded (they stay in the state directory).
 */
export async function checkInCommand(options: AgentOptions & { json: boolean }, io: CliIo): Promise<number> {
  const service = serviceOf(options);
  const agent = await openAgent(options, service);
  let outcome: CheckInOutcome;
  try {
    const engine = await agent.engine(() => Promise.resolve(false));
    outcome = await engine.checkIn(options.state);
  } finally {
    await agent.close();
  }
  if (options.json) io.stdout(JSON.stringify(outcome, null, 2) + '\n');
  else {
    const hours = outcome.nextInSeconds / 3600;
    io.stdout(`Checked in with ${service.server.origin} as device ${outcome.deviceId}; next check-in in ${hours >= 1 ? `${Math.round(hours * 10) / 10} h` : `${Math.round(outcome.nextInSeconds / 60)} min`}.\n`);
    const { logs, signIn } = outcome;
    if (signIn?.updated) {
      io.stdout(terminalSafe(`Sign-in now allows ${signIn.primaryUser ? `the primary user ${signIn.primaryUser}` : 'no primary user (none is set)'} and the profile's groups.`) + '\n');
    }
    if (logs) {
      io.stdout(
        terminalSafe(`Logs were asked for (${logs.requestedAt}): ${logs.uploaded ? `uploaded as ${logs.uploaded}` : `written to ${logs.path}, not uploaded: ${logs.reason ?? 'unknown'}`}.`) + '\n',
      );
    }
  }
  return outcome.logs && !outcome.logs.uploaded ? 1 : 0;
}
