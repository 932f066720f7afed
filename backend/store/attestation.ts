// Attestation state: challenges (single-use, five minutes, only a digest of their secret) and
// the attestations that answered them, with the short-lived token a device presents at join.
import { now, type AttestationTable, type ChallengeTable, type Db } from './database.js';

export type ClaimedChallenge = { status: 'ok'; challenge: ChallengeTable } | { status: 'unknown' } | { status: 'used' };

export class AttestationRepository {
  constructor(private readonly db: Db) {}

  async createChallenge(row: ChallengeTable): Promise<void> {
    await this.db.insertInto('attestation_challenges').values(row).execute();
  }

  /**
   * Marks the challenge used before anything is checked, in one statement, so that a challenge
   * is answered at most once even when two answers race (and a wrong secret cannot be retried).
   */
  async claimChallenge(id: string): Promise<ClaimedChallenge> {
    const claimed = await this.db
      .updateTable('attestation_challenges')
      .set({ used_at: now() })
      .where('id', '=', id)
      .where('used_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (claimed) return { status: 'ok', challenge: claimed };
    // Not claimed: answered before, or never made (or purged).
    const row = await this.db.selectFrom('attestation_challenges').select('id').where('id', '=', id).executeTakeFirst();
    return row ? { status: 'used' } : { status: 'unknown' };
  }

  async recordAttestation(row: AttestationTable): Promise<void> {
    await this.db.insertInto('attestations').values(row).execute();
  }

  /** The live attestation this token belongs to, marked used; undefined when unknown, used or expired. */
  async claimToken(tokenHash: string): Promise<AttestationTable | undefined> {
    const at = now();
    return this.db
      .updateTable('attestations')
      .set({ token_used_at: at })
      .where('token_hash', '=', tokenHash)
      .where('token_used_at', 'is', null)
      .where('token_expires_at', '>', at)
      .returningAll()
      .executeTakeFirst();
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
