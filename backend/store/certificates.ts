// Device certificates (issued at join, revoked when the device record goes), the jti of every
// client assertion until it expires (replay protection), and device access tokens.
import { createHash, randomBytes, randomUUID } from 'node:crypto';

import { now, prepared, type Db, type DeviceCertificateTable, transact } from './database.js';

export const ACCESS_TOKEN_PREFIX = 'sdd_';

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

// The statements every enrollment runs, built once (database.ts, prepared).
const revokeLive = prepared((db, $: { deviceId: string; at: string }) =>
  db.updateTable('device_certificates').set({ revoked_at: $.at }).where('device_id', '=', $.deviceId).where('revoked_at', 'is', null),
);
const insertCertificate = prepared((db, $: DeviceCertificateTable) =>
  db.insertInto('device_certificates').values({
    id: $.id,
    device_id: $.device_id,
    serial_number: $.serial_number,
    pem: $.pem,
    device_key_public: $.device_key_public,
    not_before: $.not_before,
    not_after: $.not_after,
    revoked_at: $.revoked_at,
    created_at: $.created_at,
  } satisfies Record<keyof DeviceCertificateTable, unknown>),
);
const liveCertificate = prepared((db, $: { deviceId: string; at: string }) =>
  db
    .selectFrom('device_certificates')
    .selectAll()
    .where('device_id', '=', $.deviceId)
    .where('revoked_at', 'is', null)
    .where('not_after', '>', $.at)
    .where('not_before', '<=', $.at)
    .orderBy('created_at', 'desc')
    .limit(1),
);
const insertJti = prepared((db, $: { deviceId: string; jti: string; expiresAt: string }) =>
  db
    .insertInto('assertion_jtis')
    .values({ device_id: $.deviceId, jti: $.jti, expires_at: $.expiresAt })
    .onConflict((oc) => oc.columns(['device_id', 'jti']).doNothing()),
);
const insertAccessToken = prepared((db, $: { tokenHash: string; deviceId: string; expiresAt: string; at: string }) =>
  db.insertInto('device_access_tokens').values({ token_hash: $.tokenHash, device_id: $.deviceId, expires_at: $.expiresAt, created_at: $.at }),
);

export class CertificateRepository {
  constructor(private readonly db: Db) {}

  /** Stores a new certificate and revokes the device's earlier ones, in one transaction. */
  async issue(row: Omit<DeviceCertificateTable, 'id' | 'revoked_at' | 'created_at'> & { device_id: string }): Promise<void> {
    const at = now();
    await transact(this.db, async (trx) => {
      await revokeLive.run(trx, { deviceId: row.device_id, at });
      await insertCertificate.run(trx, { ...row, id: randomUUID(), revoked_at: null, created_at: at });
    });
  }

  /** The device's certificate that is neither revoked nor expired. */
  async live(deviceId: string): Promise<DeviceCertificateTable | undefined> {
    return (await liveCertificate.run(this.db, { deviceId, at: now() })).rows[0];
  }

  /** How many certificates the device was issued: one per join, revoked ones included. */
  async countIssued(deviceId: string): Promise<number> {
    const row = await this.db
      .selectFrom('device_certificates')
      .select((eb) => eb.fn.countAll().as('issued'))
      .where('device_id', '=', deviceId)
      .executeTakeFirstOrThrow();
    return Number(row.issued);
  }

  /** Every certificate issued to the device, newest first (revoked ones included). */
  async listFor(deviceId: string): Promise<{ serialNumber: string; notBefore: string; notAfter: string; revokedAt: string | null; createdAt: string }[]> {
    const rows = await this.db.selectFrom('device_certificates').selectAll().where('device_id', '=', deviceId).orderBy('created_at', 'desc').limit(100).execute();
    return rows.map((r) => ({ serialNumber: r.serial_number, notBefore: r.not_before, notAfter: r.not_after, revokedAt: r.revoked_at, createdAt: r.created_at }));
  }

  async revokeFor(deviceId: string): Promise<void> {
    await this.db.updateTable('device_certificates').set({ revoked_at: now() }).where('device_id', '=', deviceId).where('revoked_at', 'is', null).execute();
  }

  async bySerial(serialNumber: string): Promise<DeviceCertificateTable | undefined> {
    return this.db.selectFrom('device_certificates').selectAll().where('serial_number', '=', serialNumber).executeTakeFirst();
  }

  /** Records a client assertion's jti; false when it was seen before (a replay). */
  async useJti(deviceId: string, jti: string, expiresAt: string): Promise<boolean> {
    const result = await insertJti.run(this.db, { deviceId, jti, expiresAt });
    return Number(result.numAffectedRows ?? 0n) === 1;
  }

  async purgeExpiredJtis(): Promise<void> {
    // Kept a minute past expiry: the verifier accepts that much clock skew.
    await this.db.deleteFrom('assertion_jtis').where('expires_at', '<', new Date(Date.now() - 120_000).toISOString()).execute();
  }

  async createAccessToken(deviceId: string, lifetimeSeconds: number): Promise<string> {
    const token = ACCESS_TOKEN_PREFIX + randomBytes(32).toString('base64url');
    await insertAccessToken.run(this.db, { tokenHash: digest(token), deviceId, expiresAt: new Date(Date.now() + lifetimeSeconds * 1000).toISOString(), at: now() });
    return token;
  }

  /** The device a live access token belongs to. */
  async verifyAccessToken(token: string): Promise<string | undefined> {
    if (!token.startsWith(ACCESS_TOKEN_PREFIX)) return undefined;
    const row = await this.db.selectFrom('device_access_tokens').select('device_id').where('token_hash', '=', digest(token)).where('expires_at', '>', now()).executeTakeFirst();
    return row?.device_id;
  }
}
