// Attestation state: challenges (single-use, five minutes, only a digest of their secret) and
// the attestations that answered them, with the short-lived token a device presents at join.
import { now, prepared, type AttestationTable, type ChallengeTable, type Db } from './database.js';

// The statements every enrollment runs, built once (database.ts, prepared).
const insertChallenge = prepared((db, $: ChallengeTable) =>
  db.insertInto('attestation_challenges').values({
    id: $.id,
    device_id: $.device_id,
    secret_hash: $.secret_hash,
    nonce: $.nonce,
    ek_digest: $.ek_digest,
    ak_public: $.ak_public,
    unverified_hardware: $.unverified_hardware,
    pcr_selection: $.pcr_selection,
    created_at: $.created_at,
    expires_at: $.expires_at,
    used_at: $.used_at,
    ek_chain: $.ek_chain,
  } satisfies Record<keyof ChallengeTable, unknown>),
);
const claimChallenge = prepared((db, $: { id: string; at: string }) =>
  db.updateTable('attestation_challenges').set({ used_at: $.at }).where('id', '=', $.id).where('used_at', 'is', null).returningAll(),
);
const insertAttestation = prepared((db, $: AttestationTable) =>
  db.insertInto('attestations').values({
    id: $.id,
    device_id: $.device_id,
    challenge_id: $.challenge_id,
    ek_digest: $.ek_digest,
    ak_public: $.ak_public,
    ak_name: $.ak_name,
    nonce: $.nonce,
    unverified_hardware: $.unverified_hardware,
    firmware_version: $.firmware_version,
    clock: $.clock,
    pcrs: $.pcrs,
    token_hash: $.token_hash,
    token_expires_at: $.token_expires_at,
    token_used_at: $.token_used_at,
    created_at: $.created_at,
  } satisfies Record<keyof AttestationTable, unknown>),
);
const claimToken = prepared((db, $: { tokenHash: string; at: string }) =>
  db.updateTable('attestations').set({ token_used_at: $.at }).where('token_hash', '=', $.tokenHash).where('token_used_at', 'is', null).where('token_expires_at', '>', $.at).returningAll(),
);

export type ClaimedChallenge = { status: 'ok'; challenge: ChallengeTable } | { status: 'unknown' } | { status: 'used' };

export class AttestationRepository {
  constructor(private readonly db: Db) {}

  async createChallenge(row: ChallengeTable): Promise<void> {
    await insertChallenge.run(this.db, row);
  }

  /**
   * Marks the challenge used before anything is checked, in one statement, so that a challenge
   * is answered at most once even when two answers race (and a wrong secret cannot be retried).
   */
  async claimChallenge(id: string): Promise<ClaimedChallenge> {
    const [claimed] = (await claimChallenge.run(this.db, { id, at: now() })).rows;
    if (claimed) return { status: 'ok', challenge: claimed };
    // Not claimed: answered before, or never made (or purged).
    const row = await this.db.selectFrom('attestation_challenges').select('id').where('id', '=', id).executeTakeFirst();
    return row ? { status: 'used' } : { status: 'unknown' };
  }

  async recordAttestation(row: AttestationTable): Promise<void> {
    await insertAttestation.run(this.db, row);
  }

  /** The live attestation this token belongs to, marked used; undefined when unknown, used or expired. */
  async claimToken(tokenHash: string): Promise<AttestationTable | undefined> {
    return (await claimToken.run(this.db, { tokenHash, at: now() })).rows[0];
  }

  /** The attestation of a token that a join already used and that has not expired (a join asked again). */
  async usedToken(tokenHash: string): Promise<AttestationTable | undefined> {
    return this.db
      .selectFrom('attestations')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .where('token_used_at', 'is not', null)
      .where('token_expires_at', '>', now())
      .executeTakeFirst();
  }

  /** The trust anchors (fingerprints) the EK chain of this challenge went through; [] when allow-listed. */
  async chainOf(challengeId: string): Promise<string[]> {
    const row = await this.db.selectFrom('attestation_challenges').select('ek_chain').where('id', '=', challengeId).executeTakeFirst();
    return row?.ek_chain ? (JSON.parse(row.ek_chain) as string[]) : [];
  }

  async latestFor(deviceId: string): Promise<AttestationTable | undefined> {
    return this.db.selectFrom('attestations').selectAll().where('device_id', '=', deviceId).orderBy('created_at', 'desc').limit(1).executeTakeFirst();
  }

  /** Drops challenges that expired more than an hour ago (answered or not); attestations stay as history. */
  async purgeExpiredChallenges(): Promise<void> {
    const cutoff = new Date(Date.now() - 3_600_000).toISOString();
    await this.db.deleteFrom('attestation_challenges').where('expires_at', '<', cutoff).execute();
  }
}
