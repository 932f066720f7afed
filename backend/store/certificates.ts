// Device certificates (issued at join, revoked when the device record goes), the jti of every
// client assertion until it expires (replay protection), and device access tokens.
import { createHash, randomBytes, randomUUID } from 'node:crypto';

import { now, type Db, type DeviceCertificateTable, transact } from './database.js';

export const ACCESS_TOKEN_PREFIX = 'sdd_';

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

export class CertificateRepository {
  constructor(private readonly db: Db) {}

  /** Stores a new certificate and revokes the device's earlier ones, in one transaction. */
  async issue(row: Omit<DeviceCertificateTable, 'id' | 'revoked_at' | 'created_at'> & { device_id: string }): Promise<void> {
    const at = now();
    await transact(this.db, async (trx) => {
      await trx.updateTable('device_certificates').set({ revoked_at: at }).where('device_id', '=', row.device_id).where('revoked_at', 'is', null).execute();
      await trx.insertInto('device_certificates').values({ ...row, id: randomUUID(), revoked_at: null, created_at: at }).execute();
    });
  }

  /** The device's certificate that is neither revoked nor expired. */
  async live(deviceId: string): Promise<DeviceCertificateTable | undefined> {
    const at = now();
    return this.db
      .selectFrom('device_certificates')
      .selectAll()
      .where('device_id', '=', deviceId)
      .where('revoked_at', 'is', null)
      .where('not_after', '>', at)
      .where('not_before', '<=', at)
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
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
    const result = await this.db
      .insertInto('assertion_jtis')
      .values({ device_id: deviceId, jti, expires_at: expiresAt })
      .onConflict((oc) => oc.columns(['device_id', 'jti']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  async purgeExpiredJtis(): Promise<void> {
    // Kept a minute past expiry: the verifier accepts that much clock skew.
    await this.db.deleteFrom('assertion_jtis').where('expires_at', '<', new Date(Date.now() - 120_000).toISOString()).execute();
  }

  async createAccessToken(deviceId: string, lifetimeSeconds: number): Promise<string> {
    const token = ACCESS_TOKEN_PREFIX + randomBytes(32).toString('base64url');
    await this.db
      .insertInto('device_access_tokens')
      .values({ token_hash: digest(token), device_id: deviceId, expires_at: new Date(Date.now() + lifetimeSeconds * 1000).toISOString(), created_at: now() })
      .execute();
    return token;
  }

  /** The device a live access token belongs to. */
  async verifyAccessToken(token: string): Promise<string | undefined> {
    if (!token.startsWith(ACCESS_TOKEN_PREFIX)) return undefined;
    const row = await this.db.selectFrom('device_access_tokens').select('device_id').where('token_hash', '=', digest(token)).where('expires_at', '>', now()).executeTakeFirst();
    return row?.device_id;
  }
}
