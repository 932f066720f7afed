// The tenant: one organisation per service, with its branding and logo.
import { TenantSettingsSchema, type TenantSettings } from '../../protocol/api/admin.js';
import type { Branding, Logo } from '../../protocol/branding.js';
import { BrandingSchema } from '../../protocol/branding.js';
import { ServiceError } from '../errors.js';
import { now, prepared, type Db } from './database.js';

// Read on every enrollment (the settings alone, not the branding and its logo): built once (database.ts, prepared).
const settingsRow = prepared((db) => db.selectFrom('tenant').select('settings').where('id', '=', 1));

export interface Tenant {
  organizationName: string;
  branding: Branding;
  logo: Logo | null;
  settings: TenantSettings;
  createdAt: string;
}

const notInitialized = () => new ServiceError('TENANT_NOT_INITIALIZED', 'the service has no tenant: run selfdeploy-server init');

export class TenantRepository {
  constructor(private readonly db: Db) {}

  async find(): Promise<Tenant | undefined> {
    const row = await this.db.selectFrom('tenant').selectAll().where('id', '=', 1).executeTakeFirst();
    if (!row) return undefined;
    return {
      organizationName: row.organization_name,
      branding: BrandingSchema.parse(JSON.parse(row.branding)),
      logo: row.logo && row.logo_media_type ? ({ mediaType: row.logo_media_type, data: row.logo } as Logo) : null,
      settings: TenantSettingsSchema.parse(JSON.parse(row.settings)),
      createdAt: row.created_at,
    };
  }

  async require(): Promise<Tenant> {
    const tenant = await this.find();
    if (!tenant) throw notInitialized();
    return tenant;
  }

  /** The tenant's settings alone (what enrollment reads), without its branding and logo. */
  async settings(): Promise<TenantSettings> {
    const [row] = (await settingsRow.run(this.db, {})).rows;
    if (!row) throw notInitialized();
    return TenantSettingsSchema.parse(JSON.parse(row.settings));
  }

  async create(branding: Branding, settings: TenantSettings): Promise<void> {
    const at = now();
    await this.db
      .insertInto('tenant')
      .values({
        id: 1,
        organization_name: branding.organizationName,
        branding: JSON.stringify(branding),
        logo: null,
        logo_media_type: null,
        settings: JSON.stringify(settings),
        created_at: at,
        updated_at: at,
      })
      .execute();
  }

  async setSettings(settings: TenantSettings): Promise<void> {
    await this.db.updateTable('tenant').set({ settings: JSON.stringify(settings), updated_at: now() }).where('id', '=', 1).execute();
  }

  /** Replaces the branding; `logo` undefined keeps the current logo, null removes it. */
  async setBranding(branding: Branding, logo: Logo | null | undefined): Promise<void> {
    await this.db
      .updateTable('tenant')
      .set({
        organization_name: branding.organizationName,
        branding: JSON.stringify(branding),
        updated_at: now(),
        ...(logo === undefined ? {} : { logo: logo?.data ?? null, logo_media_type: logo?.mediaType ?? null }),
      })
      .where('id', '=', 1)
      .execute();
  }
}
