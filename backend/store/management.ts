// What the service records of a managed device: its MDM enrollment, the ESP it reports (the
// last snapshot and each Device setup item's state) and the log bundles it uploads.
import { createHash, randomUUID } from 'node:crypto';

import { now, type Db, type DeviceItemStatusTable, transact } from './database.js';

export const DIAGNOSTICS_KEPT_PER_DEVICE = 10;

export interface MdmEnrollment {
  enrolledAt: string;
  agent: unknown;
}

export interface ItemStatus {
  itemId: string;
  kind: string;
  name: string;
  version: number;
  state: string;
  detail: string | null;
  errorCode: string | null;
  updatedAt: string;
}

export interface DiagnosticsInfo {
  id: string;
  size: number;
  sha256: string;
  mediaType: string;
  createdAt: string;
}

export class ManagementRepository {
  constructor(private readonly db: Db) {}

  /** Enrolls once: a second call keeps the first enrollment's time. */
  async enroll(deviceId: string, agent: unknown): Promise<MdmEnrollment> {
    const at = now();
    await this.db
      .updateTable('devices')
      .set({ mdm_enrolled_at: at, mdm_agent: JSON.stringify(agent), updated_at: at })
      .where('id', '=', deviceId)
      .where('mdm_enrolled_at', 'is', null)
      .execute();
    const row = await this.db.selectFrom('devices').select(['mdm_enrolled_at', 'mdm_agent']).where('id', '=', deviceId).executeTakeFirstOrThrow();
    return { enrolledAt: row.mdm_enrolled_at!, agent: JSON.parse(row.mdm_agent ?? 'null') };
  }

  async enrollment(deviceId: string): Promise<MdmEnrollment | undefined> {
    const row = await this.db.selectFrom('devices').select(['mdm_enrolled_at', 'mdm_agent']).where('id', '=', deviceId).executeTakeFirst();
    return row?.mdm_enrolled_at ? { enrolledAt: row.mdm_enrolled_at, agent: JSON.parse(row.mdm_agent ?? 'null') } : undefined;
  }

  /**
   * Keeps a reported snapshot unless a later one is already stored — later by the agent run's
   * start, then by seq — so reports that arrive out of order never move progress backwards, and a
   * restarted agent (a new run) is heard from its first report. Returns whether it was kept.
   */
  async report(
    deviceId: string,
    order: { startedAt: string; seq: number },
    snapshot: string,
    progress: string,
    items: readonly Omit<ItemStatus, 'updatedAt'>[],
  ): Promise<boolean> {
    return transact(this.db, async (trx) => {
      const row = await trx.selectFrom('devices').select('esp_snapshot').where('id', '=', deviceId).executeTakeFirst();
      if (!row) return false;
      if (row.esp_snapshot) {
        const stored = JSON.parse(row.esp_snapshot) as { startedAt: string; seq: number };
        const older = Date.parse(order.startedAt) < Date.parse(stored.startedAt) || (order.startedAt === stored.startedAt && order.seq < stored.seq);
        if (older) return false;
      }
      const at = now();
      await trx.updateTable('devices').set({ esp_snapshot: snapshot, esp_progress: progress, updated_at: at }).where('id', '=', deviceId).execute();
      for (const item of items) {
        const values: DeviceItemStatusTable = {
          device_id: deviceId,
          item_id: item.itemId,
          kind: item.kind,
          name: item.name,
          version: item.version,
          state: item.state,
          detail: item.detail,
          error_code: item.errorCode,
          updated_at: at,
        };
        await trx
          .insertInto('device_item_status')
          .values(values)
          .onConflict((oc) =>
            oc.columns(['device_id', 'item_id']).doUpdateSet({ kind: item.kind, name: item.name, version: item.version, state: item.state, detail: item.detail, error_code: item.errorCode, updated_at: at }),
          )
          .execute();
      }
      return true;
    });
  }

  async snapshot(deviceId: string): Promise<unknown> {
    const row = await this.db.selectFrom('devices').select('esp_snapshot').where('id', '=', deviceId).executeTakeFirst();
    return row?.esp_snapshot ? (JSON.parse(row.esp_snapshot) as unknown) : null;
  }

  async itemStatus(deviceId: string): Promise<ItemStatus[]> {
    const rows = await this.db.selectFrom('device_item_status').selectAll().where('device_id', '=', deviceId).orderBy('kind').orderBy('name').execute();
    return rows.map((r) => ({ itemId: r.item_id, kind: r.kind, name: r.name, version: r.version, state: r.state, detail: r.detail, errorCode: r.error_code, updatedAt: r.updated_at }));
  }

  /** Stores a log bundle; keeps the device's newest few. */
  async addDiagnostics(deviceId: string, data: Buffer, mediaType: string): Promise<DiagnosticsInfo> {
    const info = { id: randomUUID(), size: data.length, sha256: createHash('sha256').update(data).digest('hex'), mediaType, createdAt: now() };
    await transact(this.db, async (trx) => {
      await trx
        .insertInto('diagnostics')
        .values({ id: info.id, device_id: deviceId, size: info.size, sha256: info.sha256, media_type: mediaType, data, created_at: info.createdAt })
        .execute();
      const old = await trx
        .selectFrom('diagnostics')
        .select('id')
        .where('device_id', '=', deviceId)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .offset(DIAGNOSTICS_KEPT_PER_DEVICE)
        .limit(1000)
        .execute();
      if (old.length) await trx.deleteFrom('diagnostics').where('id', 'in', old.map((o) => o.id)).execute();
    });
    return info;
  }

  async listDiagnostics(deviceId: string): Promise<DiagnosticsInfo[]> {
    const rows = await this.db
      .selectFrom('diagnostics')
      .select(['id', 'size', 'sha256', 'media_type', 'created_at'])
      .where('device_id', '=', deviceId)
      .orderBy('created_at', 'desc')
      .execute();
    return rows.map((r) => ({ id: r.id, size: Number(r.size), sha256: r.sha256, mediaType: r.media_type, createdAt: r.created_at }));
  }

  async diagnostics(deviceId: string, id: string): Promise<{ info: DiagnosticsInfo; data: Buffer } | undefined> {
    if (!/^[0-9a-f-]{36}$/.test(id)) return undefined;
    const row = await this.db.selectFrom('diagnostics').selectAll().where('device_id', '=', deviceId).where('id', '=', id).executeTakeFirst();
    return row && { info: { id: row.id, size: Number(row.size), sha256: row.sha256, mediaType: row.media_type, createdAt: row.created_at }, data: Buffer.from(row.data) };
  }
}
