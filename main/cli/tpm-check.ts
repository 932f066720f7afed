// `selfdeploy tpm check`: the TPM check (main/agent/tpm-check.ts) for people — one line per check,
// its code and remedy when it fails — or as JSON; the exit status is 0 only when every check passes.
import type { CliIo } from '../../protocol/errors/report.js';
import { runTpmCheck, type CheckLine, type CheckName, type TpmCheckOptions } from '../agent/tpm-check.js';

const TITLES: Record<CheckName, string> = {
  tpm: 'TPM 2.0 present and answering',
  usable: 'No passwords set, not locked out',
  'ek-certificate': 'EK certificate',
  trusted: 'Trusted by the service',
  clock: 'Clock within 5 minutes of the service',
};

export function formatTpmCheck(lines: readonly CheckLine[]): string {
  const mark = { pass: 'ok  ', fail: 'FAIL', skipped: '--  ' } as const;
  const out = lines.map((line) => {
    const head = `${mark[line.status]}  ${TITLES[line.check].padEnd(38)} ${line.message}`;
    return line.status === 'fail' ? `${head}\n      ${line.code}: ${line.remedy}` : head;
  });
  const failed = lines.filter((l) => l.status === 'fail').length;
  const skipped = lines.filter((l) => l.status === 'skipped').length;
  out.push('', failed ? `This device would not pass "Securing your hardware": ${failed} check(s) failed.` : skipped ? `Nothing failed; ${skipped} check(s) were skipped.` : 'This device would pass "Securing your hardware".');
  return out.join('\n') + '\n';
}

/** Runs the check and prints it; the exit status is 0 only when every line passes. */
export async function tpmCheck(options: TpmCheckOptions & { json: boolean }, io: CliIo): Promise<number> {
  const lines = await runTpmCheck(options);
  const ok = lines.every((line) => line.status === 'pass');
  io.stdout(options.json ? JSON.stringify({ pass: ok, checks: lines }, null, 2) + '\n' : formatTpmCheck(lines));
  return ok ? 0 : 1;
}
