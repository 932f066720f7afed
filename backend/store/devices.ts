// Device registrations: what the CSV import and the admin API write, what the device API looks
// up, and the deployment state each device reports (registered → deploying → deployed).
import { X509Certificate, createHash, randomUUID } from 'node:crypto';

import { sql, type Expression, type ExpressionBuilder, type SqlBool, type Transaction } from 'kysely';

import type { Device, DeviceFailure, DeviceState } from '../../protocol/api/admin.js';
import type { HardwareIdentity } from '../../protocol/hardware-hash.js';
import { ServiceError } from '../errors.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { bytewise, now, prepared, type Database, type Prepared, type Db, type DeviceTable, type StoreKind, transact } from './database.js';
import { distinguishedName } from '../../protocol/node/certificate-names.js';

export interface NewRegistration {
  identity: HardwareIdentity;
  hardwareHash: string;
  groupTag: string | null;
  assignedUser: string | null;
  unverifiedHardware: boolean;
}

export interface DeviceQuery {
  state?: DeviceState | undefined;
  groupTag?: string | undefined;
  serialPrefix?: string | undefined;
  manufacturer?: string | undefined;
  model?: string | undefined;
  /** Only these devices (a group's members, a token's scope), as a condition on devices.id. */
  among?: DeviceSet | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** A registration that collides with an earlier one in the same list, or with a stored device. */
export interface Duplicate {
  index: number;
  /** What is the same: serial number and manufacturer, or the TPM endorsement key. */
  same: 'serial' | 'ek';
  /** The earlier registration in the list, when the collision is within the list. */
  earlierIndex?: number;
}

/** Says what a duplicate collides with; `entry` names a list position ("row 7", "device 3"). */
export function describeDuplicate(duplicate: Duplicate, entry: (index: number) => string): string {
  const what = duplicate.same === 'serial' ? 'serial number and manufacturer' : 'TPM endorsement key';
  return duplicate.earlierIndex === undefined
    ? `a device with the same ${what} is already registered`
    : `same ${what} as ${entry(duplicate.earlierIndex)}`;
}

const INSERT_BATCH = 500;

// The statements every enrollment runs, built once (database.ts, prepared).
const deviceById = prepared((db, $: { id: string }) => db.selectFrom('devices').selectAll().where('id', '=', $.id));
const deviceBySerial = prepared((db, $: { serial: string; manufacturer: string }) =>
  db.selectFrom('devices').selectAll().where('serial', '=', $.serial).where('manufacturer', '=', $.manufacturer),
);
/** A device's move to `state` (setState): from where it may come — along registered → deploying → deployed, never backwards; failed moves on. */
function moveTo(state: Exclude<DeviceState, 'failed'>, from: DeviceState[]): Prepared<{ id: string; at: string }, unknown> {
  return prepared((db, $: { id: string; at: string }) =>
    db
      .updateTable('devices')
      .set({ state, failure: null, updated_at: $.at, ...(state === 'deployed' ? { deployed_at: $.at } : {}) })
      .where('id', '=', $.id)
      .where('state', 'in', from),
  );
}
const MOVES = { registered: moveTo('registered', []), deploying: moveTo('deploying', ['registered', 'failed']), deployed: moveTo('deployed', ['registered', 'deploying', 'failed']) };
const recordJoin = prepared((db, $: { id: string; deviceName: string | null; at: string }) =>
  db.updateTable('devices').set({ device_name: $.deviceName, joined_at: $.at, updated_at: $.at }).where('id', '=', $.id),
);

function toDevice(row: DeviceTable): Device {
  return {
    id: row.id,
    serial: row.serial,
    manufacturer: row.manufacturer,
    model: row.model,
    smbiosUuid: row.smbios_uuid,
    macs: JSON.parse(row.macs) as string[],
    diskSerials: JSON.parse(row.disk_serials) as string[],
    tpmManufacturer: row.tpm_manufacturer,
    ekDigest: row.ek_digest,
    hardwareHash: row.hardware_hash,
    groupTag: row.group_tag,
    assignedUser: row.assigned_user,
    state: row.state as DeviceState,
    unverifiedHardware: row.unverified_hardware === 1,
    espProgress: row.esp_progress ? (JSON.parse(row.esp_progress) as Device['espProgress']) : null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    deployedAt: row.deployed_at,
    deviceName: row.device_name,
    joinedAt: row.joined_at,
    ekCertificate: row.ek_certificate ? certificateSummary(row.ek_certificate) : null,
    failure: row.failure ? (JSON.parse(row.failure) as DeviceFailure) : null,
    lastContactAt: row.last_contact_at,
    logsRequestedAt: row.logs_requested_at,
  };
}

/** A set of devices as a SQL condition (GroupRepository builds them from groups and rules). */
export type DeviceSet = (eb: ExpressionBuilder<Database, 'devices'>) => Expression<SqlBool>;

function certificateSummary(pem: string): NonNullable<Device['ekCertificate']> {
  const certificate = new X509Certificate(pem);
  return { subject: distinguishedName(certificate.subject), issuer: distinguishedName(certificate.issuer), notAfter: new Date(certificate.validTo).toISOString(), sha256: createHash('sha256').update(certificate.raw).digest('hex') };
}

/** The row of a new registration (also the plain-insert baseline of bench:import). */
export function toRow(registration: NewRegistration, at: string): DeviceTable {
  const { identity } = registration;
  return {
    id: randomUUID(),
    serial: identity.serial,
    manufacturer: identity.manufacturer,
    model: identity.model,
    smbios_uuid: identity.smbiosUuid,
    macs: JSON.stringify(identity.macs),
    disk_serials: JSON.stringify(identity.diskSerials),
    tpm_manufacturer: identity.tpmManufacturer,
    ek_digest: identity.ekDigest,
    hardware_hash: registration.hardwareHash,
    group_tag: registration.groupTag,
    assigned_user: registration.assignedUser,
    state: 'registered',
    unverified_hardware: registration.unverifiedHardware ? 1 : 0,
    esp_progress: null,
    created_at: at,
    updated_at: at,
    deployed_at: null,
    device_name: null,
    joined_at: null,
    mdm_enrolled_at: null,
    mdm_agent: null,
    esp_snapshot: null,
    ek_certificate: null,
    failure: null,
    last_contact_at: null,
    logs_requested_at: null,
  };
}

export class DeviceRepository {
  constructor(
    private readonly db: Db,
    private readonly kind: StoreKind,
  ) {}

  /**
   * Which of `registrations` collide with each other or with stored devices: the same serial and
   * manufacturer, or the same EK. Reported per registration, never merged.
   */
  async findDuplicates(registrations: readonly NewRegistration[], db: Db | Transaction<Database> = this.db): Promise<Duplicate[]> {
    const duplicates: Duplicate[] = [];
    const bySerial = new Map<string, number>();
    const byEk = new Map<string, number>();
    registrations.forEach(({ identity }, index) => {
      const key = JSON.stringify([identity.serial, identity.manufacturer]);
      const earlier = bySerial.get(key);
      if (earlier !== undefined) duplicates.push({ index, same: 'serial', earlierIndex: earlier });
      else bySerial.set(key, index);
      if (identity.ekDigest) {
        const earlierEk = byEk.get(identity.ekDigest);
        // One report per pair: the same device listed twice shares both serial and EK.
        if (earlierEk !== undefined && earlierEk !== earlier) duplicates.push({ index, same: 'ek', earlierIndex: earlierEk });
        else if (earlierEk === undefined) byEk.set(identity.ekDigest, index);
      }
    });
    const serials = [...new Set(registrations.map((r) => r.identity.serial))];
    const eks = [...byEk.keys()];
    for (let i = 0; i < Math.max(serials.length, eks.length); i += INSERT_BATCH) {
      const serialChunk = serials.slice(i, i + INSERT_BATCH);
      const ekChunk = eks.slice(i, i + INSERT_BATCH);
      const rows = await db
        .selectFrom('devices')
        .select(['serial', 'manufacturer', 'ek_digest'])
        .where((eb) =>
          eb.or([
            ...(serialChunk.length ? [eb('serial', 'in', serialChunk)] : []),
            ...(ekChunk.length ? [eb('ek_digest', 'in', ekChunk)] : []),
          ]),
        )
        .execute();
      for (const row of rows) {
        const key = JSON.stringify([row.serial, row.manufacturer]);
        const index = bySerial.get(key);
        if (index !== undefined) duplicates.push({ index, same: 'serial' });
        const ekIndex = row.ek_digest ? byEk.get(row.ek_digest) : undefined;
        if (ekIndex !== undefined && ekIndex !== index) duplicates.push({ index: ekIndex, same: 'ek' });
      }
    }
    return duplicates.sort((a, b) => a.index - b.index);
  }

  /** Inserts all or nothing; duplicates (in the list or with stored devices) fail the whole call. */
  async insertAll(registrations: readonly NewRegistration[]): Promise<Device[]> {
    return transact(this.db, async (trx) => {
      const duplicates = await this.findDuplicates(registrations, trx);
      if (duplicates.length > 0) {
        throw new ServiceError(
          'DEVICE_DUPLICATE',
          `${duplicates.length} device(s) are already registered`,
          duplicates.map((d) => ({ path: `devices.${d.index}`, reason: describeDuplicate(d, (i) => `device ${i + 1} of this request`) })),
        );
      }
      const at = now();
      const rows = registrations.map((r) => toRow(r, at));
      for (let i = 0; i < rows.length; i += INSERT_BATCH) {
        await trx.insertInto('devices').values(rows.slice(i, i + INSERT_BATCH)).execute();
      }
      return rows.map(toDevice);
    });
  }

  async list(query: DeviceQuery): Promise<{ items: Device[]; nextCursor: string | null }> {
    const serialOrder = bytewise(this.kind, 'serial');
    let select = this.db.selectFrom('devices').selectAll();
    if (query.state) select = select.where('state', '=', query.state);
    if (query.groupTag !== undefined) select = select.where('group_tag', '=', query.groupTag);
    if (query.manufacturer !== undefined) select = select.where('manufacturer', '=', query.manufacturer);
    if (query.model !== undefined) select = select.where('model', '=', query.model);
    if (query.among) select = select.where(query.among);
    if (query.serialPrefix) {
      // A plain prefix comparison: LIKE would give % and _ a meaning, and case rules differ by store.
      const prefix = query.serialPrefix;
      select = select.where(sql<string>`substr(serial, 1, ${prefix.length})`, '=', prefix);
    }
    if (query.cursor) {
      const [serial, id] = decodeCursor(query.cursor);
      select = select.where((eb) =>
        eb.or([eb(serialOrder, '>', serial), eb.and([eb(serialOrder, '=', serial), eb('id', '>', id)])]),
      );
    }
    const rows = await select
      .orderBy(serialOrder)
      .orderBy('id')
      .limit(query.limit + 1)
      .execute();
    const items = rows.slice(0, query.limit).map(toDevice);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > query.limit && last ? encodeCursor(last.serial, last.id) : null };
  }

  async get(id: string): Promise<Device | undefined> {
    if (!/^[0-9a-f-]{36}$/.test(id)) return undefined;
    const [row] = (await deviceById.run(this.db, { id })).rows;
    return row && toDevice(row);
  }

  async findByEkDigest(ekDigest: string): Promise<Device | undefined> {
    const row = await this.db.selectFrom('devices').selectAll().where('ek_digest', '=', ekDigest).executeTakeFirst();
    return row && toDevice(row);
  }

  async findAllBySerial(serial: string): Promise<Device[]> {
    const rows = await this.db.selectFrom('devices').selectAll().where('serial', '=', serial).limit(10).execute();
    return rows.map(toDevice);
  }

  async findBySerial(serial: string, manufacturer: string): Promise<Device | undefined> {
    const [row] = (await deviceBySerial.run(this.db, { serial, manufacturer })).rows;
    return row && toDevice(row);
  }

  /** Deletes the registration and its record; its certificates stay, revoked. */
  async delete(id: string): Promise<boolean> {
    return transact(this.db, async (trx) => {
      await trx.updateTable('device_certificates').set({ revoked_at: now() }).where('device_id', '=', id).where('revoked_at', 'is', null).execute();
      const result = await trx.deleteFrom('devices').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    });
  }

  /**
   * Moves a device along registered → deploying → deployed, never backwards; "failed" is beside
   * them: a device that is not yet deployed fails (with why), and a new run or a completion moves
   * it on. Returns whether the state changed.
   */
  async setState(id: string, state: Exclude<DeviceState, 'failed'>): Promise<boolean> {
    const result = await MOVES[state].run(this.db, { id, at: now() });
    return Number(result.numAffectedRows) > 0;
  }

  /** A device that is not deployed fails, and says why (a later failure replaces an earlier one). */
  async setFailed(id: string, failure: DeviceFailure): Promise<boolean> {
    const result = await this.db
      .updateTable('devices')
      .set({ state: 'failed', failure: JSON.stringify(failure), updated_at: now() })
      .where('id', '=', id)
      .where('state', 'in', ['registered', 'deploying', 'failed'])
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Asks for the device's logs at its next check-in (a new request replaces a pending one); false when there is no such device. */
  async requestLogs(id: string, at = now()): Promise<boolean> {
    const result = await this.db.updateTable('devices').set({ logs_requested_at: at }).where('id', '=', id).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Records a check-in; returns when logs were asked for, if they still are. */
  async checkIn(id: string, at = now()): Promise<{ logsRequestedAt: string | null; assignedUser: string | null }> {
    const row = await this.db.updateTable('devices').set({ last_contact_at: at }).where('id', '=', id).returning(['logs_requested_at', 'assigned_user']).executeTakeFirst();
    return { logsRequestedAt: row?.logs_requested_at ?? null, assignedUser: row?.assigned_user ?? null };
  }

  /** A log bundle arrived: a request made before it is answered (one made since stays). */
  async logsDelivered(id: string, at = now()): Promise<void> {
    await this.db.updateTable('devices').set({ logs_requested_at: null }).where('id', '=', id).where('logs_requested_at', '<=', at).execute();
  }

  /** Changes what an administrator may change of a registration (undefined: leave as it is). */
  async update(id: string, change: { groupTag?: string | null | undefined; assignedUser?: string | null | undefined }): Promise<void> {
    await this.db
      .updateTable('devices')
      .set({
        ...(change.groupTag !== undefined ? { group_tag: change.groupTag } : {}),
        ...(change.assignedUser !== undefined ? { assigned_user: change.assignedUser } : {}),
        updated_at: now(),
      })
      .where('id', '=', id)
      .execute();
  }

  /** How many devices are in each state. */
  async countByState(among?: DeviceSet): Promise<Record<string, number>> {
    let select = this.db.selectFrom('devices').select(['state', (eb) => eb.fn.countAll<string>().as('n')]);
    if (among) select = select.where(among);
    const rows = await select.groupBy('state').execute();
    return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  }

  /**
   * Deletes the device record (its deployment) and keeps the registration: its certificate is
   * revoked, so it can no longer sign in, and it may self-deploy again.
   */
  async deleteRecord(id: string): Promise<void> {
    await transact(this.db, async (trx) => {
      await trx.updateTable('device_certificates').set({ revoked_at: now() }).where('device_id', '=', id).where('revoked_at', 'is', null).execute();
      await trx.deleteFrom('device_item_status').where('device_id', '=', id).execute();
      await trx.deleteFrom('device_access_tokens').where('device_id', '=', id).execute();
      await trx
        .updateTable('devices')
        .set({
          state: 'registered',
          failure: null,
          esp_progress: null,
          esp_snapshot: null,
          deployed_at: null,
          device_name: null,
          joined_at: null,
          mdm_enrolled_at: null,
          mdm_agent: null,
          updated_at: now(),
        })
        .where('id', '=', id)
        .execute();
    });
  }

  /** Records the join: the name given, and when. */
  async setJoined(id: string, deviceName: string | null): Promise<void> {
    await recordJoin.run(this.db, { id, deviceName, at: now() });
  }

  /** The EK certificate registered with the device (PEM), or null. */
  async ekCertificatePem(id: string): Promise<string | null> {
    const row = await this.db.selectFrom('devices').select('ek_certificate').where('id', '=', id).executeTakeFirst();
    return row?.ek_certificate ?? null;
  }

  /** The EK certificate registered with the device (PEM), or null to forget it. */
  async setEkCertificate(id: string, pem: string | null): Promise<void> {
    await this.db.updateTable('devices').set({ ek_certificate: pem, updated_at: now() }).where('id', '=', id).execute();
  }

  /** Binds a registration without an EK digest to the EK that attested for it. */
  async bindEk(id: string, ekDigest: string, unverifiedHardware: boolean): Promise<void> {
    await this.db
      .updateTable('devices')
      .set({ ek_digest: ekDigest, unverified_hardware: unverifiedHardware ? 1 : 0, updated_at: now() })
      .where('id', '=', id)
      .where('ek_digest', 'is', null)
      .execute();
  }

  async setUnverifiedHardware(id: string, unverified: boolean): Promise<void> {
    await this.db.updateTable('devices').set({ unverified_hardware: unverified ? 1 : 0, updated_at: now() }).where('id', '=', id).execute();
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('devices').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
