// The ESP's "Collect logs": a gzip'd tar of what explains a failed setup — the journal, the ESP
// snapshot, the agent's log and what device setup logged on the device (script and installer
// output, size-capped when captured; the apply log) — written to the state directory and uploaded
// to the service when the device can sign in. Item payloads (Wi-Fi keys) and key blobs are never
// in it: the journal and the logs hold neither, and enrollment.json is left out.
import { execFile } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

import type { EspSnapshot } from '../../protocol/esp.js';
import { STATE_FILES, statePath } from '../storage/state-dir.js';

const run = promisify(execFile);

/** The agent's log: JSON lines in STATE/agent.log (no payloads, no keys); a help, never a condition. */
export function agentLog(stateDir: string): (event: string, detail?: Record<string, unknown>) => void {
  const file = statePath(stateDir, 'agentLog');
  return (event, detail = {}) => {
    try {
      appendFileSync(file, JSON.stringify({ at: new Date().toISOString(), event, ...detail }) + '\n', { mode: 0o600 });
    } catch {
      // The journal is what must be written; the log only explains.
    }
  };
}

/** The last `lines` lines of the agent's log, for the diagnostics panel. */
export function agentLogTail(stateDir: string, lines = 50): string[] {
  try {
    const text = readFileSync(statePath(stateDir, 'agentLog'), 'utf8');
    return text.split('\n').filter(Boolean).slice(-lines);
  } catch {
    return [];
  }
}

/** Writes state/diagnostics-<time>.tar.gz and returns its path and bytes. */
export async function writeLogBundle(stateDir: string, snapshot: EspSnapshot, at = new Date(), deviceLogs: readonly { path: string; content: Buffer }[] = []): Promise<{ path: string; bytes: Buffer }> {
  const scratch = mkdtempSync(join(tmpdir(), 'selfdeploy-logs-'));
  try {
    const files: string[] = [];
    const put = (name: string, content: string) => {
      writeFileSync(join(scratch, name), content, { mode: 0o600 });
      files.push(name);
    };
    // The branding (a logo) explains nothing.
    put('esp-snapshot.json', JSON.stringify({ ...snapshot, branding: snapshot.branding ? { organizationName: snapshot.branding.organizationName } : null }, null, 2) + '\n');
    for (const name of [STATE_FILES.journal, STATE_FILES.agentLog]) {
      if (existsSync(join(stateDir, name))) {
        copyFileSync(join(stateDir, name), join(scratch, name));
        files.push(name);
      }
    }
    // What device setup logged on the device (script and installer output), under device/<its path>.
    for (const log of deviceLogs) {
      const name = `device${log.path}`;
      if (!/^device\/var\/log\/selfdeploy\/[A-Za-z0-9._+/-]+$/.test(name) || name.includes('..')) continue;
      mkdirSync(dirname(join(scratch, name)), { recursive: true, mode: 0o700 });
      writeFileSync(join(scratch, name), log.content, { mode: 0o600 });
      files.push(name);
    }
    const path = join(stateDir, `diagnostics-${at.toISOString().replace(/[:.]/g, '-')}.tar.gz`);
    await run('tar', ['-czf', path, '-C', scratch, ...files]);
    return { path, bytes: readFileSync(path) };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
