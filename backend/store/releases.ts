// Agent releases for the update feed: a version, whether it is critical (applied during the OOBE),
// and the uploaded content it ships, with the SHA-512 electron-updater checks.
import { compareVersions } from '../../protocol/api/updates.js';
import { type Db, type ReleaseTable, transact } from './database.js';

export class ReleaseRepository {
  constructor(private readonly db: Db) {}

  /** Adds a release, or replaces the one of that version. */
  async publish(row: ReleaseTable): Promise<void> {
    await transact(this.db, async (trx) => {
      await trx.deleteFrom('releases').where('version', '=', row.version).execute();
      await trx.insertInto('releases').values(row).execute();
    });
  }

  async list(): Promise<ReleaseTable[]> {
    const rows = await this.db.selectFrom('releases').selectAll().execute();
    return rows.map((row) => ({ ...row, size: Number(row.size), critical: Number(row.critical) })).sort((a, b) => compareVersions(b.version, a.version));
  }

  /** The newest release by semantic version, or undefined. */
  async latest(): Promise<ReleaseTable | undefined> {
    return (await this.list())[0];
  }

  async byFileName(name: string): Promise<ReleaseTable | undefined> {
    const row = await this.db.selectFrom('releases').selectAll().where('file_name', '=', name).executeTakeFirst();
    return row && { ...row, size: Number(row.size), critical: Number(row.critical) };
  }

  async usesContent(sha256: string): Promise<boolean> {
    return (await this.db.selectFrom('releases').select('version').where('content_sha256', '=', sha256).executeTakeFirst()) !== undefined;
  }

  async delete(version: string): Promise<boolean> {
    const result = await this.db.deleteFrom('releases').where('version', '=', version).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }
}
