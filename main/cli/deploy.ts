// `selfdeploy deploy`: the whole self-deploy sequence headless — for technicians at a bench,
// staging racks and CI. Draws the ESP in the terminal, exits 0 when the device is provisioned,
// and on failure prints the code, what happened and what to do (and the hardware hash, when the
// device is not registered).
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

import si from 'systeminformation';

import { UsageError, exitStatus, type CliIo } from '../../protocol/errors/report.js';
import type { ErrorCode } from '../../protocol/errors/catalogue.js';
import { DeviceApi } from '../backend-client/device-api.js';
import { DeployEngine, type DeployOutcome } from '../deploy/engine.js';
import { AGENT_LOG } from '../deploy/diagnostics.js';
import { FileJournal, StateDirError } from '../deploy/journal.js';
import { openTarget, resetDevice, type Executor } from '../deploy/reset.js';
import { SystemNetwork } from '../deploy/network.js';
import { EnrollmentStore } from '../enrollment/state.js';
import { FileIdentitySource, SystemIdentitySource } from '../identity/identity.js';
import { FileProviders } from '../providers/files.js';
import type { UndoReport } from '../providers/target.js';
import { packageRoot } from '../tpm/native.js';
import { Tpm } from '../tpm/tpm.js';
import { terminalRenderer, type TerminalOutput } from './esp-terminal.js';

export interface DeployCommandOptions {
  server: string;
  ca: string;
  tcti?: string | undefined;
  executor: Executor;
  state: string;
  identity?: string | undefined;
  json: boolean;
  /** Pass over a failed blocking item when the profile allows continuing. */
  continueOnError: boolean;
  /** Start over: forget the journal, keys and downloads (when the profile allows a reset). */
  reset: boolean;
  preflightWaitSeconds?: number | undefined;
}

/** Test hook: SIGKILL this process right after its Nth journal checkpoint (SELFDEPLOY_TEST_KILL_AT_CHECKPOINT=N). */
function faultInjection(journal: FileJournal): void {
  const at = Number(process.env['SELFDEPLOY_TEST_KILL_AT_CHECKPOINT'] ?? 0);
  if (at > 0) {
    journal.onCheckpoint = (count) => {
      if (count === at) process.kill(process.pid, 'SIGKILL');
    };
  }
}

export function describeUndo(report: UndoReport): string {
  const parts = [`${report.restored} file(s) restored`, `${report.removed} removed`];
  if (report.commands) parts.push(`${report.commands} command(s) reversed`);
  return parts.join(', ') + (report.left.length ? `; left as they are: ${report.left.join('; ')}` : '');
}

/** `selfdeploy reset`: undo what setup changed, clear the agent's state. */
export async function resetCommand(options: { state: string; executor: Executor; json: boolean }, io: CliIo): Promise<number> {
  const report = await resetDevice(options);
  if (options.json) io.stdout(JSON.stringify(report, null, 2) + '\n');
  else io.stdout(`Reset: ${describeUndo(report)}; the agent's state in ${options.state} is cleared. The next setup starts at the first page.\n`);
  return report.left.length ? 1 : 0;
}

export function agentVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

export async function deployCommand(options: DeployCommandOptions, io: CliIo, out: TerminalOutput): Promise<number> {
  let server: URL;
  try {
    server = new URL(options.server);
  } catch {
    throw new UsageError(`--server must be a URL such as https://deploy.example:8443, not "${options.server}"`);
  }
  if (server.protocol !== 'https:') throw new UsageError('--server must be an https:// URL');
  let ca: string;
  try {
    ca = readFileSync(options.ca, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the service CA ${options.ca}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`${options.ca} is not a PEM certificate`);

  const mode = options.json ? 'json' : out.isTTY ? 'tty' : 'plain';
  const renderer = terminalRenderer(out, mode);
  const journal = new FileJournal(options.state);
  if (options.reset) {
    const saved = journal.loadProfile();
    if (saved && !saved.profile.esp.allowReset) throw new UsageError(`the deployment profile "${saved.profileName}" does not allow a reset (esp.allowReset)`);
    const undone = await resetDevice({ state: options.state, executor: options.executor });
    if (!options.json) io.stdout(`Reset: ${describeUndo(undone)}; the agent's state in ${options.state} is cleared; setup starts over.\n`);
  }
  try {
    mkdirSync(options.state, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new StateDirError(`cannot create the state directory ${options.state}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const logFile = join(options.state, AGENT_LOG);
  const log = (event: string, detail: Record<string, unknown> = {}) => {
    try {
      appendFileSync(logFile, JSON.stringify({ at: new Date().toISOString(), event, ...detail }) + '\n', { mode: 0o600 });
    } catch {
      // The log is a help, not a condition: the journal is what must be written.
    }
  };
  faultInjection(journal);
  const tpm = await Tpm.open(options.tcti === undefined ? {} : { tcti: options.tcti });
  const setup = await openTarget(options.state, options.executor).catch(async (error: unknown) => {
    await tpm.close();
    throw error;
  });
  const api = new DeviceApi({ server, ca, timeoutMs: 30_000 });
  let outcome: DeployOutcome;
  let engine: DeployEngine | undefined;
  try {
    const os = await si.osInfo();
    engine = new DeployEngine({
      tpm,
      identity: options.identity ? new FileIdentitySource(options.identity) : new SystemIdentitySource(),
      api,
      providers: new FileProviders(setup.target),
      journal,
      enrollment: new EnrollmentStore(options.state),
      network: new SystemNetwork(),
      contentDir: join(options.state, 'content'),
      agent: { version: agentVersion(), os: { name: os.distro, version: os.release, kernel: os.kernel }, hostname: hostname() },
      ...(options.preflightWaitSeconds !== undefined ? { preflightWaitMs: options.preflightWaitSeconds * 1000 } : {}),
      decideContinue: () => Promise.resolve(options.continueOnError),
      log,
    });
    engine.subscribe((event, snapshot) => renderer.onEvent(event, snapshot));
    outcome = await engine.run();
    renderer.finish(engine.current());
    const rules = engine.current().rules;
    if (outcome.status === 'failed' && rules?.allowLogCollection) {
      const logs = await engine.collectLogs(options.state);
      if (!options.json) io.stderr(`Logs: ${logs.path}${logs.uploaded ? ` (uploaded to the service as ${logs.uploaded})` : ` (not uploaded: ${logs.reason ?? 'unknown'})`}\n`);
    }
  } finally {
    api.close();
    setup.close();
    await tpm.close();
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
    io.stderr(lines.join('\n') + '\n');
  }
  return exitStatus(failure.code as ErrorCode);
}
