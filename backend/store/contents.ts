// Content by SHA-256 digest (app packages, scripts), stored in the database in chunks so that
// uploads and range reads stay bounded in memory on both stores, and replicas share it.
import { createHash, randomUUID } from 'node:crypto';

import { ServiceError, notFound } from '../errors.js';
import { now, type Db, transact } from './database.js';

export const CONTENT_CHUNK_BYTES = 1024 * 1024;
const PENDING = 'pending-';

export interface Content {
  sha256: string;
  size: number;
  mediaType: string;
  label: string;
  createdAt: string;
}

export class ContentRepository {
  constructor(private readonly db: Db) {}

  private static view(row: { sha256: string; size: number | string; media_type: string; label: string; created_at: string }): Content {
    return { sha256: row.sha256, size: Number(row.size), mediaType: row.media_type, label: row.label, createdAt: row.created_at };
  }

  /**
   * Stores a stream, hashing as it goes; refuses more than `maxBytes` and a digest other than
   * `expectedSha256`. Uploading content that exists returns the stored one. A failed upload
   * leaves nothing behind.
   */
  async put(source: AsyncIterable<Uint8Array>, options: { mediaType: string; label: string; maxBytes: number; expectedSha256?: string }): Promise<{ content: Content; created: boolean }> {
    const pendingKey = PENDING + randomUUID();
    const hash = createHash('sha256');
    let size = 0;
    let index = 0;
    let buffered: Buffer[] = [];
    let bufferedBytes = 0;
    await this.db
      .insertInto('contents')
      .values({ sha256: pendingKey, size: 0, media_type: options.mediaType, chunk_size: CONTENT_CHUNK_BYTES, label: options.label, created_at: now() })
      .execute();
    const flush = async (all: boolean) => {
      let joined = Buffer.concat(buffered);
      while (joined.length >= CONTENT_CHUNK_BYTES || (all && joined.length > 0)) {
        const chunk = joined.subarray(0, CONTENT_CHUNK_BYTES);
        await this.db.insertInto('content_chunks').values({ sha256: pendingKey, idx: index++, data: Buffer.from(chunk) }).execute();
        joined = joined.subarray(chunk.length);
      }
      buffered = joined.length ? [joined] : [];
      bufferedBytes = joined.length;
    };
    try {
      for await (const piece of source) {
        size += piece.length;
        if (size > options.maxBytes) throw new ServiceError('PAYLOAD_TOO_LARGE', `content larger than ${options.maxBytes} bytes is not accepted`);
        hash.update(piece);
        buffered.push(Buffer.from(piece));
        bufferedBytes += piece.length;
        if (bufferedBytes >= CONTENT_CHUNK_BYTES) await flush(false);
      }
      await flush(true);
      const sha256 = hash.digest('hex');
      if (options.expectedSha256 && options.expectedSha256 !== sha256) {
        throw new ServiceError('CONTENT_DIGEST_MISMATCH', `the upload's SHA-256 is ${sha256}, not the ${options.expectedSha256} announced`);
      }
      const existing = await this.find(sha256);
      if (existing) return { content: existing, created: false };
      const at = now();
      try {
        await transact(this.db, async (trx) => {
          await trx
            .insertInto('contents')
            .values({ sha256, size, media_type: options.mediaType, chunk_size: CONTENT_CHUNK_BYTES, label: options.label, created_at: at })
            .execute();
          await trx.updateTable('content_chunks').set({ sha256 }).where('sha256', '=', pendingKey).execute();
        });
      } catch (error) {
        // The same content uploaded concurrently: the other upload stored it.
        const stored = await this.find(sha256);
        if (stored) return { content: stored, created: false };
        throw error;
      }
      return { content: { sha256, size, mediaType: options.mediaType, label: options.label, createdAt: at }, created: true };
    } finally {
      await this.db.deleteFrom('content_chunks').where('sha256', '=', pendingKey).execute();
      await this.db.deleteFrom('contents').where('sha256', '=', pendingKey).execute();
    }
  }

  async find(sha256: string): Promise<Content | undefined> {
    if (!/^[0-9a-f]{64}$/.test(sha256)) return undefined;
    const row = await this.db.selectFrom('contents').selectAll().where('sha256', '=', sha256).executeTakeFirst();
    return row && ContentRepository.view(row);
  }

  async require(sha256: string): Promise<Content> {
    const found = await this.find(sha256);
    if (!found) throw notFound(`content ${sha256}`);
    return found;
  }

  async list(): Promise<Content[]> {
    const rows = await this.db.selectFrom('contents').selectAll().where('sha256', 'not like', `${PENDING}%`).orderBy('created_at').execute();
    return rows.map((row) => ContentRepository.view(row));
  }

  /** Bytes `start`..`end` (inclusive) of stored content, a chunk at a time. */
  async *read(sha256: string, start: number, end: number): AsyncGenerator<Buffer> {
    const first = Math.floor(start / CONTENT_CHUNK_BYTES);
    const last = Math.floor(end / CONTENT_CHUNK_BYTES);
    for (let idx = first; idx <= last; idx++) {
      const row = await this.db.selectFrom('content_chunks').select('data').where('sha256', '=', sha256).where('idx', '=', idx).executeTakeFirst();
      if (!row) throw new Error(`content ${sha256} is missing chunk ${idx}`);
      const offset = idx * CONTENT_CHUNK_BYTES;
      yield Buffer.from(row.data).subarray(Math.max(0, start - offset), Math.min(row.data.length, end - offset + 1));
    }
  }

  async delete(sha256: string): Promise<void> {
    await this.require(sha256);
    await transact(this.db, async (trx) => {
      await trx.deleteFrom('content_chunks').where('sha256', '=', sha256).execute();
      await trx.deleteFrom('contents').where('sha256', '=', sha256).execute();
    });
  }

  /** Uploads a crash left half-done (older than an hour). */
  async purgeAbandoned(): Promise<void> {
    const before = new Date(Date.now() - 3_600_000).toISOString();
    const stale = await this.db.selectFrom('contents').select('sha256').where('sha256', 'like', `${PENDING}%`).where('created_at', '<', before).execute();
    for (const { sha256 } of stale) {
      await this.db.deleteFrom('content_chunks').where('sha256', '=', sha256).execute();
      await this.db.deleteFrom('contents').where('sha256', '=', sha256).execute();
    }
  }
}
