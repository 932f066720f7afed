// Running what device setup runs — scripts, installers, detection commands — as the leader of a
// process group of its own, its output kept (size-capped), and the whole group killed at its
// timeout; an exit status read through the item's exit codes.
import { spawn } from 'node:child_process';

import { TargetError } from './errors.js';
import type { ExitCodes, Owner, RunOutcome } from './port.js';

const OUTPUT_CAP = 256 * 1024;

export interface GroupResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  output: string;
  stderr: string;
}

/** Reads an exit status: success, success that needs a reboot, or a failure with the last lines of stderr. */
export function outcomeOf(what: string, result: GroupResult, timeoutSeconds: number, codes: ExitCodes, logPath: string): RunOutcome {
  if (!result.timedOut && result.status !== null) {
    if (codes.success.includes(result.status)) return { rebootRequired: false };
    if (codes.rebootRequired.includes(result.status)) return { rebootRequired: true };
  }
  const why = result.timedOut ? `did not finish within ${timeoutSeconds} s` : result.signal ? `was killed by ${result.signal}` : `exited with status ${result.status}`;
  const tail = result.stderr.trim().split('\n').slice(-2).join(' / ');
  throw new TargetError('ITEM_FAILED', `${what} ${why}${tail ? `: ${tail}` : ''} (log: ${logPath})`);
}

/** Runs a command as the leader of a new process group (`input` on its stdin); at the timeout the group is SIGKILLed. */
export function runInGroup(command: string, args: string[], options: { cwd: string; timeoutMs: number; env: NodeJS.ProcessEnv; user?: Owner; input?: string }): Promise<GroupResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(options.user ? { uid: options.user.uid, gid: options.user.gid } : {}),
    });
    // What the command reads (a password): through a pipe, never its arguments or environment.
    if (options.input !== undefined) {
      child.stdin!.on('error', () => undefined); // a command that exits without reading it
      child.stdin!.end(options.input);
    }
    let output = '';
    let stderr = '';
    const keep = (chunk: Buffer, errorStream: boolean) => {
      const text = chunk.toString('utf8');
      if (output.length < OUTPUT_CAP) output += text.slice(0, OUTPUT_CAP - output.length);
      if (errorStream && stderr.length < OUTPUT_CAP) stderr += text.slice(0, OUTPUT_CAP - stderr.length);
    };
    child.stdout!.on('data', (chunk: Buffer) => keep(chunk, false));
    child.stderr!.on('data', (chunk: Buffer) => keep(chunk, true));
    let timedOut = false;
    const killGroup = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      killGroup(); // what the script left running in its group does not outlive it
      if (output.length >= OUTPUT_CAP) output += '\n[output cut at 256 KiB]\n';
      resolve({ status, signal, timedOut, output, stderr });
    });
  });
}
