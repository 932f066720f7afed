// Deployment history: one row per agent run of a device (keyed by the run's start), kept from the
// ESP status the agent reports — outcome, each phase's start, end and duration, and the failure —
// and the fleet reports built from it (list with filters, CSV, the summary the console's overview
// shows). A deleted device record keeps its history; a deleted registration takes it along.
import { randomUUID } from 'node:crypto';

import { sql } from 'kysely';

import type { DeviceFailure } from '../../protocol/api/admin.js';
import type { DeploymentRun } from '../../protocol/api/fleet.js';
import { FINISHED_STATES, PHASE_IDS, phaseOf, type EspSnapshot } from '../../protocol/esp.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { now, type Db, type DeploymentTable } from './database.js';
import type { DeviceSet } from './devices.js';

export type Outcome = DeploymentRun['outcome'];

export interface PhaseTiming {
  id: string;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
}

export interface RunQuery {
  since?: string | undefined;
  until?: string | undefined;
  outcome?: Outcome | undefined;
  code?: string | undefined;
  groupTag?: string | undefined;
  serialPrefix?: string | undefined;
  deviceId?: string | undefined;
  among?: DeviceSet | undefined;
}

/** A failure as the device record and the history keep it, from what the ESP reported. */
export function failureOf(snapshot: EspSnapshot): DeviceFailure | null {
  const failure = snapshot.failure;
  if (!failure) return null;
  return {
    code: failure.code,
    hresult: failure.hresult,
    title: failure.title,
    detail: failure.detail,
    phase: failure.step ? phaseOf(failure.step) : null,
    step: failure.step,
    // The item by its name, as an administrator knows it (the snapshot's failure names its id).
    item: failure.item ? (snapshot.phases.flatMap((p) => p.steps).flatMap((s) => s.items).find((i) => i.id === failure.item)?.name ?? failure.item) : null,
    at: snapshot.updatedAt,
  };
}

/** Each phase's start (its first step's), end (its last step's, once all are finished) and duration. */
export function phaseTimings(snapshot: EspSnapshot): PhaseTiming[] {
  return PHASE_IDS.map((id) => {
    const steps = snapshot.phases.find((p) => p.id === id)?.steps ?? [];
    const started = steps.map((s) => s.startedAt).filter((t): t is string => t !== null).sort();
    const done = steps.length > 0 && steps.every((s) => FINISHED_STATES.includes(s.state));
    const ended = done ? steps.map((s) => s.finishedAt).filter((t): t is string => t !== null).sort().at(-1) ?? null : null;
    const startedAt = started[0] ?? null;
    const durationMs = startedAt && ended ? Math.max(0, Date.parse(ended) - Date.parse(startedAt)) : null;
    return { id, startedAt, endedAt: ended, durationMs };
  });
}

interface RunRow extends DeploymentTable {
  serial: string;
  manufacturer: string;
  model: string;
  group_tag: string | null;
}

function toRun(row: RunRow): DeploymentRun {
  return {
    id: row.id,
    deviceId: row.device_id,
    serial: row.serial,
    manufacturer: row.manufacturer,
    model: row.model,
    groupTag: row.group_tag,
    profileName: row.profile_name,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    outcome: row.outcome as Outcome,
    durationMs: row.ended_at ? Math.max(0, Date.parse(row.ended_at) - Date.parse(row.started_at)) : null,
    phases: JSON.parse(row.phases) as PhaseTiming[],
    failure: row.failure ? (JSON.parse(row.failure) as DeviceFailure) : null,
  };
}

/** The value below which `q` of the sorted values lie (nearest rank). */
export function percentile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export class DeploymentRepository {
  constructor(private readonly db: Db) {}

  /** Records what a run's latest snapshot says (the caller keeps only newer snapshots). */
  async record(deviceId: string, snapshot: EspSnapshot): Promise<void> {
    const at = now();
    const failure = failureOf(snapshot);
    const outcome: Outcome = snapshot.status;
    const values = {
      ended_at: outcome === 'running' ? null : snapshot.updatedAt,
      outcome,
      phases: JSON.stringify(phaseTimings(snapshot)),
      failure: failure && JSON.stringify(failure),
      failure_code: failure?.code ?? null,
      profile_name: snapshot.profileName,
      updated_at: at,
    };
    await this.db
      .insertInto('deployments')
      .values({ id: randomUUID(), device_id: deviceId, started_at: snapshot.startedAt, ...values })
      .onConflict((oc) => oc.columns(['device_id', 'started_at']).doUpdateSet(values))
      .execute();
  }

  /** The device finished deploying: its latest run, if still running, succeeded now. */
  async complete(deviceId: string): Promise<void> {
    const latest = await this.db.selectFrom('deployments').select(['id', 'outcome']).where('device_id', '=', deviceId).orderBy('started_at', 'desc').limit(1).executeTakeFirst();
    if (!latest || latest.outcome !== 'running') return;
    const at = now();
    await this.db.updateTable('deployments').set({ outcome: 'succeeded', ended_at: at, updated_at: at }).where('id', '=', latest.id).execute();
  }

  /** A failure the service saw (after the device proved its TPM) that the device could not report: a run of its own. */
  async recordServiceFailure(deviceId: string, startedAt: string, failure: DeviceFailure): Promise<void> {
    await this.db
      .insertInto('deployments')
      .values({
        id: randomUUID(),
        device_id: deviceId,
        started_at: startedAt,
        ended_at: failure.at,
        outcome: 'failed',
        phases: JSON.stringify(PHASE_IDS.map((id) => ({ id, startedAt: null, endedAt: null, durationMs: null }))),
        failure: JSON.stringify(failure),
        failure_code: failure.code,
        profile_name: null,
        updated_at: now(),
      })
      .onConflict((oc) => oc.columns(['device_id', 'started_at']).doNothing())
      .execute();
  }

  private select(query: RunQuery) {
    let select = this.db
      .selectFrom('deployments')
      .innerJoin('devices', 'devices.id', 'deployments.device_id')
      .selectAll('deployments')
      .select(['devices.serial', 'devices.manufacturer', 'devices.model', 'devices.group_tag']);
    if (query.since) select = select.where('deployments.started_at', '>=', new Date(query.since).toISOString());
    if (query.until) select = select.where('deployments.started_at', '<', new Date(query.until).toISOString());
    if (query.outcome) select = select.where('deployments.outcome', '=', query.outcome);
    if (query.code) select = select.where('deployments.failure_code', '=', query.code);
    if (query.groupTag !== undefined) select = select.where('devices.group_tag', '=', query.groupTag);
    if (query.deviceId) select = select.where('deployments.device_id', '=', query.deviceId);
    if (query.serialPrefix) {
      const prefix = query.serialPrefix;
      select = select.where(sql<string>`substr(devices.serial, 1, ${prefix.length})`, '=', prefix);
    }
    if (query.among) select = select.where(query.among as never);
    return select;
  }

  /** Runs, newest first, a page at a time. */
  async list(query: RunQuery & { limit: number; cursor?: string | undefined }): Promise<{ items: DeploymentRun[]; nextCursor: string | null }> {
    let select = this.select(query);
    if (query.cursor) {
      const [startedAt, id] = decodeCursor(query.cursor);
      select = select.where((eb) => eb.or([eb('deployments.started_at', '<', startedAt), eb.and([eb('deployments.started_at', '=', startedAt), eb('deployments.id', '<', id)])]));
    }
    const rows = (await select.orderBy('deployments.started_at', 'desc').orderBy('deployments.id', 'desc').limit(query.limit + 1).execute()) as RunRow[];
    const items = rows.slice(0, query.limit).map(toRun);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > query.limit && last ? encodeCursor(last.startedAt, last.id) : null };
  }

  /** Every run the query matches, oldest first, in pages (the CSV export streams these). */
  async *each(query: RunQuery, pageSize = 500): AsyncGenerator<DeploymentRun> {
    let after: [string, string] | undefined;
    for (;;) {
      let select = this.select(query);
      if (after) {
        const [startedAt, id] = after;
        select = select.where((eb) => eb.or([eb('deployments.started_at', '>', startedAt), eb.and([eb('deployments.started_at', '=', startedAt), eb('deployments.id', '>', id)])]));
      }
      const rows = (await select.orderBy('deployments.started_at').orderBy('deployments.id').limit(pageSize).execute()) as RunRow[];
      for (const row of rows) yield toRun(row);
      if (rows.length < pageSize) return;
      const last = rows.at(-1)!;
      after = [last.started_at, last.id];
    }
  }
}
