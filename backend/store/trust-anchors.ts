// TPM trust anchors: CA certificates that EK certificate chains must reach, and EK public digests
// allowed without a certificate (their devices are marked unverified hardware).
import { randomUUID } from 'node:crypto';

import { ServiceError } from '../errors.js';
import { now, prepared, type Db, type TrustAnchorTable } from './database.js';

export interface TrustAnchor {
  id: string;
  kind: 'certificate' | 'ek-digest';
  label: string;
  pem: string | null;
  subject: string | null;
  fingerprint: string | null;
  notAfter: string | null;
  ekDigest: string | null;
  createdAt: string;
}

const toAnchor = (row: TrustAnchorTable): TrustAnchor => ({
  id: row.id,
  kind: row.kind as TrustAnchor['kind'],
  label: row.label,
  pem: row.pem,
  subject: row.subject,
  fingerprint: row.fingerprint,
  notAfter: row.not_after,
  ekDigest: row.ek_digest,
  createdAt: row.created_at,
});

// Read on every challenge: built once (database.ts, prepared).
const allAnchors = prepared((db) => db.selectFrom('trust_anchors').selectAll().orderBy('created_at').orderBy('id'));

export class TrustAnchorRepository {
  constructor(private readonly db: Db) {}

  async addCertificate(input: { label: string; pem: string; subject: string; fingerprint: string; notAfter: string }): Promise<TrustAnchor> {
    const existing = await this.db.selectFrom('trust_anchors').select('label').where('fingerprint', '=', input.fingerprint).executeTakeFirst();
    if (existing) throw new ServiceError('NAME_TAKEN', `this certificate is already a trust anchor ("${existing.label}")`);
    const row: TrustAnchorTable = {
      id: randomUUID(),
      kind: 'certificate',
      label: input.label,
      pem: input.pem,
      subject: input.subject,
      fingerprint: input.fingerprint,
      not_after: input.notAfter,
      ek_digest: null,
      created_at: now(),
    };
    await this.db.insertInto('trust_anchors').values(row).execute();
    return toAnchor(row);
  }

  async addEkDigest(input: { label: string; ekDigest: string }): Promise<TrustAnchor> {
    const existing = await this.db.selectFrom('trust_anchors').select('label').where('ek_digest', '=', input.ekDigest).executeTakeFirst();
    if (existing) throw new ServiceError('NAME_TAKEN', `this EK digest is already allowed ("${existing.label}")`);
    const row: TrustAnchorTable = {
      id: randomUUID(),
      kind: 'ek-digest',
      label: input.label,
      pem: null,
      subject: null,
      fingerprint: null,
      not_after: null,
      ek_digest: input.ekDigest,
      created_at: now(),
    };
    await this.db.insertInto('trust_anchors').values(row).execute();
    return toAnchor(row);
  }

  async list(): Promise<TrustAnchor[]> {
    return (await allAnchors.run(this.db, {})).rows.map(toAnchor);
  }

  async remove(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('trust_anchors').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Records that a device's EK chain went through these anchors (by fingerprint). */
  async recordDevice(deviceId: string, fingerprints: readonly string[]): Promise<void> {
    if (fingerprints.length === 0) return;
    const at = now();
    await this.db
      .insertInto('trust_anchor_devices')
      .values(fingerprints.map((fingerprint) => ({ fingerprint, device_id: deviceId, created_at: at })))
      .onConflict((oc) => oc.columns(['fingerprint', 'device_id']).doNothing())
      .execute();
  }

  /** An issuer certificate fetched from a caIssuers URL before (DER), or null. */
  async fetchedIssuer(url: string): Promise<Uint8Array | null> {
    const row = await this.db.selectFrom('fetched_issuers').select('der').where('url', '=', url).executeTakeFirst();
    return row ? new Uint8Array(row.der) : null;
  }

  async keepFetchedIssuer(url: string, der: Uint8Array): Promise<void> {
    await this.db.insertInto('fetched_issuers').values({ url, der: Buffer.from(der), fetched_at: now() }).onConflict((oc) => oc.column('url').doNothing()).execute();
  }

  /** How many devices chained through each anchor, by fingerprint. */
  async deviceCounts(): Promise<Map<string, number>> {
    const rows = await this.db.selectFrom('trust_anchor_devices').select(['fingerprint', (eb) => eb.fn.countAll<string>().as('n')]).groupBy('fingerprint').execute();
    return new Map(rows.map((row) => [row.fingerprint, Number(row.n)]));
  }

  /** The allow-listed EK digests among `digests`. */
  async allowedEkDigests(digests: readonly string[]): Promise<Set<string>> {
    if (digests.length === 0) return new Set();
    const found = new Set<string>();
    for (let i = 0; i < digests.length; i += 500) {
      const rows = await this.db.selectFrom('trust_anchors').select('ek_digest').where('ek_digest', 'in', digests.slice(i, i + 500)).execute();
      for (const row of rows) if (row.ek_digest) found.add(row.ek_digest);
    }
    return found;
  }
}
