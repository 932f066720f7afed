// selfdeploy-admin report and audit: the fleet picture — deployment runs filtered and exported
// as CSV, the summary of a time window — and the audit log with its verification.
import { writeFileSync } from 'node:fs';

import type { Command } from 'commander';

import { type DeviceFailure } from '../../../protocol/api/admin.js';
import { DeploymentOutcomeSchema, type DeploymentRun } from '../../../protocol/api/fleet.js';
import { admin } from '../../../protocol/api/endpoints.js';
import { oneOf, wholeNumber } from '../../../protocol/node/command-line.js';
import type { LintFinding } from '../../../protocol/profile.js';
import { terminalSafe } from '../../../protocol/terminal-text.js';
import { table, type AdminActions, type AdminSession } from './session.js';

export function describeFailure(failure: DeviceFailure): string {
  return `${failure.code}${failure.hresult ? ` (${failure.hresult})` : ''} at ${[failure.phase, failure.step, failure.item].filter(Boolean).join(' / ') || 'an unknown step'}, ${failure.at}${failure.detail ? `: ${failure.detail}` : ''}`;
}

/** Lint findings under a result: warnings (errors refuse the change before it is made). */
export function lintLines(findings: readonly LintFinding[]): string {
  return findings.map((f) => `${f.severity}: ${f.code}: ${f.message}\n`).join('');
}

const seconds = (ms: number | null) => (ms === null ? '-' : `${Math.round(ms / 1000)} s`);

export function runTable(runs: readonly DeploymentRun[]): string {
  return table([
    ['STARTED', 'SERIAL', 'OUTCOME', 'DURATION', 'PREPARATION', 'SETUP', 'FAILURE'],
    ...runs.map((r) => [
      r.startedAt,
      r.serial,
      r.outcome,
      seconds(r.durationMs),
      seconds(r.phases.find((p) => p.id === 'device-preparation')?.durationMs ?? null),
      seconds(r.phases.find((p) => p.id === 'device-setup')?.durationMs ?? null),
      r.failure ? `${r.failure.code}${r.failure.step ? ` at ${r.failure.step}` : ''}` : '',
    ]),
  ]);
}

interface ReportOptions {
  since?: string;
  until?: string;
  outcome?: 'running' | 'succeeded' | 'failed';
  code?: string;
  groupTag?: string;
  serialPrefix?: string;
  limit?: number;
  csv?: string;
  summary?: boolean;
}

/** `--since 7d` / `--since 24h` as well as dates and ISO times. */
export function relativeTime(value: string, flag: string, session: AdminSession, now = Date.now()): string {
  const match = /^(\d{1,4})([dh])$/.exec(value.trim());
  if (match) return new Date(now - Number(match[1]) * (match[2] === 'd' ? 86_400_000 : 3_600_000)).toISOString();
  if (Number.isNaN(Date.parse(value))) throw session.usage(`${flag} must be a date (2026-12-01), an ISO time, or a span back from now (7d, 24h), not "${value}"`);
  return new Date(value).toISOString();
}

export function reportCommands(program: Command, action: AdminActions): void {
  program
    .command('report')
    .description('deployment runs of the fleet, newest first, filtered; --csv FILE exports every match, --summary shows outcomes, top failures and time per phase')
    .option('--since <TIME>', 'runs started at or after this (a date, an ISO time, or 7d / 24h back from now)')
    .option('--until <TIME>', 'runs started before this')
    .option('--outcome <OUTCOME>', `only runs that ended so (${DeploymentOutcomeSchema.options.join(', ')})`, oneOf('--outcome', DeploymentOutcomeSchema.options))
    .option('--code <CODE>', 'only runs that failed with this error code')
    .option('--group-tag <TAG>', "only devices with this group tag")
    .option('--serial-prefix <PREFIX>', 'only serial numbers that start with this')
    .option('--limit <N>', 'runs to show, 1 to 1000 (default 100)', wholeNumber('--limit', 1, 1000))
    .option('--csv <FILE>', "write every matching run as CSV ('-': standard output)")
    .option('--summary', 'outcomes per day, top failure codes with their remedies, median and p90 time per phase')
    .action(
      action(async (session, options: ReportOptions) => {
        if (options.csv !== undefined && options.summary) throw session.usage('--csv and --summary go separately');
        const query = {
          ...(options.since !== undefined ? { since: relativeTime(options.since, '--since', session) } : {}),
          ...(options.until !== undefined ? { until: relativeTime(options.until, '--until', session) } : {}),
          ...(options.outcome ? { outcome: options.outcome } : {}),
          ...(options.code ? { code: options.code } : {}),
          ...(options.groupTag !== undefined ? { groupTag: options.groupTag } : {}),
          ...(options.serialPrefix ? { serialPrefix: options.serialPrefix } : {}),
        };
        if (options.csv !== undefined) {
          const bytes = await session.client.fetchBytes(admin.reports.deploymentsCsv, { query });
          if (options.csv === '-') {
            // Shown, never obeyed: each line made safe for a terminal, the CSV's line ends kept.
            session.io.stdout(Buffer.from(bytes).toString('utf8').split('\r\n').map((line) => terminalSafe(line)).join('\r\n'));
          } else {
            writeFileSync(options.csv, bytes, { mode: 0o644 });
            session.io.stderr(`Wrote ${bytes.length} bytes to ${options.csv}\n`);
          }
          return 0;
        }
        if (options.summary) {
          const s = await session.client.request(admin.reports.summary, { query: { since: query.since, until: query.until, groupTag: query.groupTag } });
          session.out(s, () =>
            [
              `Runs ${s.total}: ${s.outcomes.succeeded} succeeded, ${s.outcomes.failed} failed, ${s.outcomes.running} in progress${s.since ? ` since ${s.since}` : ''}${s.until ? ` until ${s.until}` : ''}`,
              `Devices: ${Object.entries(s.devicesByState).map(([state, n]) => `${n} ${state}`).join(', ') || 'none'}`,
              '',
              s.topFailures.length ? table([['CODE', 'RUNS', 'REMEDY'], ...s.topFailures.map((f) => [f.code, String(f.count), f.remedy])]) : 'No failures.\n',
              table([['PHASE', 'RUNS', 'MEDIAN', 'P90'], ...s.phases.map((p) => [p.id, String(p.runs), seconds(p.medianMs), seconds(p.p90Ms)])]),
            ].join('\n'),
          );
          return 0;
        }
        const runs = await session.client.request(admin.reports.deployments, { query: { ...query, limit: options.limit ?? 100 } });
        session.out(runs, () => (runs.items.length ? runTable(runs.items) + (runs.nextCursor ? '(more: narrow the filters, or --csv FILE for every run)\n' : '') : 'No deployment runs match.\n'));
        return 0;
      }),
    );

  const audit = program.command('audit').description('the audit log: who changed what, when and from where');
  audit
    .command('list')
    .description('entries newest first, filtered')
    .option('--since <TIME>', 'entries at or after this (a date, an ISO time, or 7d / 24h back from now)')
    .option('--until <TIME>', 'entries before this')
    .option('--actor <TOKEN>', 'only changes made with this token (name or id)')
    .option('--action <OPERATION>', 'only this operation (updateDevice, assignProfile, …)')
    .option('--resource <PATH>', "only resources under this path (an entry's RESOURCE, or the start of one)")
    .option('--limit <N>', 'entries, 1 to 1000 (default 50)', wholeNumber('--limit', 1, 1000))
    .option('--before <SEQ>', 'entries older than this one (paging)', wholeNumber('--before', 1, Number.MAX_SAFE_INTEGER))
    .action(
      action(async (session, options: { since?: string; until?: string; actor?: string; action?: string; resource?: string; limit?: number; before?: number }) => {
        const list = await session.client.request(admin.audit.list, {
          query: {
            ...(options.since !== undefined ? { since: relativeTime(options.since, '--since', session) } : {}),
            ...(options.until !== undefined ? { until: relativeTime(options.until, '--until', session) } : {}),
            actor: options.actor,
            action: options.action,
            resource: options.resource,
            limit: options.limit ?? 50,
            before: options.before,
          },
        });
        session.out(list, () =>
          list.items.length
            ? table([['SEQ', 'AT', 'ACTOR', 'FROM', 'ACTION', 'RESOURCE'], ...list.items.map((e) => [String(e.seq), e.at, `${e.actor.name} (${e.actor.kind})`, e.source, e.action, e.resource])]) +
              (list.nextBefore ? `(more: --before ${list.nextBefore})\n` : '')
            : 'No audit entries match.\n',
        );
      }),
    );
  audit
    .command('verify')
    .description('walk the hash chain of the whole log: exits 1 and names the entry when one was changed, removed or cut off')
    .action(
      action(async (session) => {
        const verdict = await session.client.request(admin.audit.verify);
        session.out(verdict, () => (verdict.ok ? `The audit log is intact: ${verdict.entries} entries chain to its head.\n` : `The audit log is broken at entry ${verdict.broken!.seq}: ${verdict.broken!.reason}\n`));
        return verdict.ok ? 0 : 1;
      }),
    );
}
