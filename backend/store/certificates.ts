// Device certificates (issued at join, revoked when the device record goes), the jti of every
// client assertion until it expires (replay protection), and device access tokens.
import { createHash, randomBytes, randomUUID } from 'node:crypto';

import { sql } from 'kysely';

import { now, prepared, type Db, type DeviceCertificateTable, type StoreKind, transact } from './database.js';

export const ACCESS_TOKEN_PREFIX = 'sdd_';

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

/** A new access token, and the row that stores it (its digest, never the token). */
function newAccessToken(deviceId: string, lifetimeSeconds: number) {
  const token = ACCESS_TOKEN_PREFIX + randomBytes(32).toString('base64url');
  return { token, row: { deviceId, tokenHash: digest(token), expiresAt: new Date(Date.now() + lifetimeSeconds * 1000).toISOString(), at: now() } };
}

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

/**
 * PostgreSQL: the assertion's jti recorded and the access token made in one statement (one round
 * trip, atomic by itself): the token row is inserted only when the jti row was.
 */
const exchangeOnce = prepared((db, $: { deviceId: string; jti: string; jtiExpiresAt: string; tokenHash: string; expiresAt: string; at: string }) =>
  db
    .with('used', (w) =>
      w
        .insertInto('assertion_jtis')
        .values({ device_id: $.deviceId, jti: $.jti, expires_at: $.jtiExpiresAt })
        .onConflict((oc) => oc.columns(['device_id', 'jti']).doNothing())
        .returning('device_id'),
    )
    .insertInto('device_access_tokens')
    .columns(['token_hash', 'device_id', 'expires_at', 'created_at'])
    .expression((eb) =>
      eb.selectFrom('used').select([sql<string>`${$.tokenHash}::text`.as('token_hash'), 'used.device_id', sql<string>`${$.expiresAt}::text`.as('expires_at'), sql<string>`${$.at}::text`.as('created_at')]),
    ),
);

export class CertificateRepository {
  constructor(
    private readonly db: Db,
    private readonly kind: StoreKind,
  ) {}

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

  async purgeExpiredJtis(): Promise<void> {
    // Kept a minute past expiry: the verifier accepts that much clock skew.
    await this.db.deleteFrom('assertion_jtis').where('expires_at', '<', new Date(Date.now() - 120_000).toISOString()).execute();
  }

  /**
   * A client assertion exchanged for an access token: its jti recorded (until `jtiExpiresAt`) and
   * the token made, together — or undefined, and nothing made, when the jti was used before (a
   * replay).
   */
  async exchangeAssertion(deviceId: string, jti: string, jtiExpiresAt: string, lifetimeSeconds: number): Promise<string | undefined> {
    const { token, row } = newAccessToken(deviceId, lifetimeSeconds);
    if (this.kind === 'postgres') {
      const result = await exchangeOnce.run(this.db, { ...row, jti, jtiExpiresAt });
      return Number(result.numAffectedRows ?? 0n) === 1 ? token : undefined;
    }
    return transact(this.db, async (trx) => {
      if (Number((await insertJti.run(trx, { deviceId, jti, expiresAt: jtiExpiresAt })).numAffectedRows ?? 0n) !== 1) return undefined;
      await insertAccessToken.run(trx, row);
      return token;
    });
  }

  async createAccessToken(deviceId: string, lifetimeSeconds: number): Promise<string> {
    const { token, row } = newAccessToken(deviceId, lifetimeSeconds);
    await insertAccessToken.run(this.db, row);
    return token;
  }

  /** The device a live access token belongs to. */
  async verifyAccessToken(token: string): Promise<string | undefined> {
    if (!token.startsWith(ACCESS_TOKEN_PREFIX)) return undefined;
    const row = await this.db.selectFrom('device_access_tokens').select('device_id').where('token_hash', '=', digest(token)).where('expires_at', '>', now()).executeTakeFirst();
    return row?.device_id;
  }
}
