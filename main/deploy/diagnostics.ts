// The ESP's "Collect logs": a gzip'd tar of what explains a failed setup — the journal, the ESP
// snapshot and the agent's log — written to the state directory and uploaded to the service when
// the device can sign in. Item payloads (Wi-Fi keys) and key blobs are never in it: the journal
// and the log hold neither, and enrollment.json is left out.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import type { EspSnapshot } from '../../protocol/esp.js';
import { JOURNAL_FILE } from './journal.js';

const run = promisify(execFile);

export const AGENT_LOG = 'agent.log';

/** Writes state/diagnostics-<time>.tar.gz and returns its path and bytes. */
export async function writeLogBundle(stateDir: string, snapshot: EspSnapshot, at = new Date()): Promise<{ path: string; bytes: Buffer }> {
  const scratch = mkdtempSync(join(tmpdir(), 'selfdeploy-logs-'));
  try {
    const files: string[] = [];
    const put = (name: string, content: string) => {
      writeFileSync(join(scratch, name), content, { mode: 0o600 });
      files.push(name);
    };
    // The branding (a logo) explains nothing.
    put('esp-snapshot.json', JSON.stringify({ ...snapshot, branding: snapshot.branding ? { organizationName: snapshot.branding.organizationName } : null }, null, 2) + '\n');
    for (const name of [JOURNAL_FILE, AGENT_LOG]) {
      if (existsSync(join(stateDir, name))) {
        copyFileSync(join(stateDir, name), join(scratch, name));
        files.push(name);
      }
    }
    const path = join(stateDir, `diagnostics-${at.toISOString().replace(/[:.]/g, '-')}.tar.gz`);
    await run('tar', ['-czf', path, '-C', scratch, ...files]);
    return { path, bytes: readFileSync(path) };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
