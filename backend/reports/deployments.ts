// Reports over the deployment history: the CSV export (one row per run, one duration column per
// phase) and the summary of a time window — outcomes per day, the most frequent failure codes,
// and the median and 90th percentile of each phase's duration. Both walk the runs as a stream,
// so a year of a large fleet is never held in memory as rows.
import { Readable } from 'node:stream';

import type { DeploymentRun } from '../../protocol/api/fleet.js';
import { csvLine } from '../../protocol/csv.js';
import { PHASE_IDS } from '../../protocol/esp.js';
import { percentile } from '../store/deployments.js';

/** A spreadsheet must not take a field for a formula (CSV injection): such a field gets a leading apostrophe. */
function cell(value: string | number | null): string {
  if (value === null) return '';
  // Control characters (what a device reported may hold them) become spaces: one line per run.
  // eslint-disable-next-line no-control-regex
  const text = String(value).replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

export const CSV_COLUMNS = [
  'Run',
  'Device',
  'Serial Number',
  'Manufacturer',
  'Model',
  'Group Tag',
  'Profile',
  'Started',
  'Ended',
  'Outcome',
  'Duration (s)',
  ...PHASE_IDS.map((id) => `${id} (s)`),
  'Failure Code',
  'HRESULT',
  'Failed Step',
  'Failed Item',
  'Failure Detail',
] as const;

const seconds = (ms: number | null) => (ms === null ? null : (ms / 1000).toFixed(1));

export function csvRow(run: DeploymentRun): string {
  return csvLine(
    [
      run.id,
      run.deviceId,
      run.serial,
      run.manufacturer,
      run.model,
      run.groupTag,
      run.profileName,
      run.startedAt,
      run.endedAt,
      run.outcome,
      seconds(run.durationMs),
      ...PHASE_IDS.map((id) => seconds(run.phases.find((p) => p.id === id)?.durationMs ?? null)),
      run.failure?.code ?? null,
      run.failure?.hresult ?? null,
      run.failure?.step ?? null,
      run.failure?.item ?? null,
      run.failure?.detail ?? null,
    ].map(cell),
  );
}

/** The runs as CSV text (header first), streamed. */
export function deploymentsCsv(runs: AsyncIterable<DeploymentRun>): Readable {
  return Readable.from(
    (async function* () {
      yield csvLine([...CSV_COLUMNS]) + '\r\n';
      for await (const run of runs) yield csvRow(run) + '\r\n';
    })(),
  );
}

export interface Summary {
  since: string | null;
  until: string | null;
  total: number;
  outcomes: { succeeded: number; failed: number; running: number };
  topFailures: { code: string; count: number; title: string }[];
  phases: { id: string; runs: number; medianMs: number | null; p90Ms: number | null }[];
  days: { date: string; succeeded: number; failed: number; running: number }[];
}

/** How many failure codes the summary lists. */
export const TOP_FAILURES = 5;

export async function summarize(runs: AsyncIterable<DeploymentRun>, window: { since?: string | undefined; until?: string | undefined }): Promise<Summary> {
  const outcomes = { succeeded: 0, failed: 0, running: 0 };
  const failures = new Map<string, { count: number; title: string }>();
  const durations = new Map<string, number[]>(PHASE_IDS.map((id) => [id, []]));
  const days = new Map<string, { succeeded: number; failed: number; running: number }>();
  let total = 0;
  for await (const run of runs) {
    total++;
    outcomes[run.outcome]++;
    const day = run.startedAt.slice(0, 10);
    const perDay = days.get(day) ?? days.set(day, { succeeded: 0, failed: 0, running: 0 }).get(day)!;
    perDay[run.outcome]++;
    if (run.failure) {
      const entry = failures.get(run.failure.code) ?? failures.set(run.failure.code, { count: 0, title: run.failure.title }).get(run.failure.code)!;
      entry.count++;
    }
    for (const phase of run.phases) if (phase.durationMs !== null) durations.get(phase.id)?.push(phase.durationMs);
  }
  return {
    since: window.since ? new Date(window.since).toISOString() : null,
    until: window.until ? new Date(window.until).toISOString() : null,
    total,
    outcomes,
    topFailures: [...failures.entries()]
      .sort((a, b) => b[1].count - a[1].count || (a[0] < b[0] ? -1 : 1))
      .slice(0, TOP_FAILURES)
      .map(([code, { count, title }]) => ({ code, count, title })),
    phases: PHASE_IDS.map((id) => {
      const sorted = durations.get(id)!.sort((a, b) => a - b);
      return { id, runs: sorted.length, medianMs: percentile(sorted, 0.5), p90Ms: percentile(sorted, 0.9) };
    }),
    days: [...days.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([date, counts]) => ({ date, ...counts })),
  };
}
