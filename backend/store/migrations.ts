// Versioned schema migrations, the same for SQLite and PostgreSQL. Never edit a released
// migration: add the next one. Kysely's migrator records what ran (kysely_migration) and
// takes a lock, so replicas starting together migrate once.
import { Migrator, sql, type Kysely, type Migration } from 'kysely';

import type { Db, StoreKind } from './database.js';

/** The hash the first audit entry chains to. */
export const AUDIT_GENESIS = '0'.repeat(64);

/**
 * A named JSON document table and its group-assignment table (profiles, policies, items). 0001's
 * tables got their version column in 0003; later ones are created with it.
 */
async function createDocumentTables(db: Kysely<unknown>, table: string, assignments: string, options: { version: boolean }): Promise<void> {
  let create = db.schema
    .createTable(table)
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('body', 'text', (c) => c.notNull());
  if (options.version) create = create.addColumn('version', 'integer', (c) => c.notNull().defaultTo(1));
  await create.addColumn('created_at', 'text', (c) => c.notNull()).addColumn('updated_at', 'text', (c) => c.notNull()).execute();
  await db.schema
    .createTable(assignments)
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('subject_id', 'text', (c) => c.notNull().references(`${table}.id`).onDelete('cascade'))
    .addColumn('group_id', 'text', (c) => c.notNull().references('device_groups.id'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint(`${assignments}_unique`, ['subject_id', 'group_id'])
    .execute();
  await db.schema.createIndex(`${assignments}_group`).on(assignments).column('group_id').execute();
}

/** The migrations for a store: the same tables on both, with each store's binary type. */
export function migrations(kind: StoreKind): Record<string, Migration> {
  const binary = kind === 'postgres' ? sql`bytea` : sql`blob`;
  return {
    '0001_initial': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('tenant')
          .addColumn('id', 'integer', (c) => c.primaryKey())
          .addColumn('organization_name', 'text', (c) => c.notNull())
          .addColumn('branding', 'text', (c) => c.notNull())
          .addColumn('logo', 'text')
          .addColumn('logo_media_type', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('devices')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('serial', 'text', (c) => c.notNull())
          .addColumn('manufacturer', 'text', (c) => c.notNull())
          .addColumn('model', 'text', (c) => c.notNull())
          .addColumn('smbios_uuid', 'text')
          .addColumn('macs', 'text', (c) => c.notNull())
          .addColumn('disk_serials', 'text', (c) => c.notNull())
          .addColumn('tpm_manufacturer', 'text')
          .addColumn('ek_digest', 'text')
          .addColumn('hardware_hash', 'text', (c) => c.notNull())
          .addColumn('group_tag', 'text')
          .addColumn('assigned_user', 'text')
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('unverified_hardware', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('esp_progress', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addColumn('deployed_at', 'text')
          .execute();
        await db.schema.createIndex('devices_serial_manufacturer').unique().on('devices').columns(['serial', 'manufacturer']).execute();
        await db.schema.createIndex('devices_ek_digest').unique().on('devices').column('ek_digest').execute();
        await db.schema.createIndex('devices_group_tag').on('devices').column('group_tag').execute();
        await db.schema.createIndex('devices_state').on('devices').column('state').execute();

        await db.schema
          .createTable('device_groups')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('group_tag', 'text')
          .addColumn('description', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('group_members')
          .addColumn('group_id', 'text', (c) => c.notNull().references('device_groups.id').onDelete('cascade'))
          .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id').onDelete('cascade'))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('group_members_pk', ['group_id', 'device_id'])
          .execute();
        await db.schema.createIndex('group_members_device').on('group_members').column('device_id').execute();

        for (const [table, assignments] of [
          ['profiles', 'profile_assignments'],
          ['policies', 'policy_assignments'],
        ] as const) {
          await createDocumentTables(db, table, assignments, { version: false });
        }

        await db.schema
          .createTable('trust_anchors')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('label', 'text', (c) => c.notNull())
          .addColumn('pem', 'text')
          .addColumn('subject', 'text')
          .addColumn('fingerprint', 'text', (c) => c.unique())
          .addColumn('not_after', 'text')
          .addColumn('ek_digest', 'text', (c) => c.unique())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('admin_tokens')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('scope', 'text', (c) => c.notNull())
          .addColumn('token_hash', 'text', (c) => c.notNull().unique())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('last_used_at', 'text')
          .addColumn('revoked_at', 'text')
          .execute();
      },
    },
    '0002_attestation': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('tenant').addColumn('settings', 'text', (c) => c.notNull().defaultTo('{}')).execute();
        await db.schema.alterTable('devices').addColumn('device_name', 'text').execute();
        await db.schema.alterTable('devices').addColumn('joined_at', 'text').execute();

        await db.schema
          .createTable('attestation_challenges')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id').onDelete('cascade'))
          // Only a digest of the secret: a leaked row cannot answer the challenge.
          .addColumn('secret_hash', 'text', (c) => c.notNull())
          .addColumn('nonce', 'text', (c) => c.notNull())
          .addColumn('ek_digest', 'text', (c) => c.notNull())
          .addColumn('ak_public', 'text', (c) => c.notNull())
          .addColumn('unverified_hardware', 'integer', (c) => c.notNull())
          .addColumn('pcr_selection', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .addColumn('used_at', 'text')
          .execute();
        await db.schema.createIndex('attestation_challenges_expiry').on('attestation_challenges').column('expires_at').execute();

        await db.schema
          .createTable('attestations')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id').onDelete('cascade'))
          .addColumn('challenge_id', 'text', (c) => c.notNull())
          .addColumn('ek_digest', 'text', (c) => c.notNull())
          .addColumn('ak_public', 'text', (c) => c.notNull())
          .addColumn('ak_name', 'text', (c) => c.notNull())
          .addColumn('nonce', 'text', (c) => c.notNull())
          .addColumn('unverified_hardware', 'integer', (c) => c.notNull())
          .addColumn('firmware_version', 'text', (c) => c.notNull())
          .addColumn('clock', 'text', (c) => c.notNull())
          .addColumn('pcrs', 'text', (c) => c.notNull())
          .addColumn('token_hash', 'text', (c) => c.notNull().unique())
          .addColumn('token_expires_at', 'text', (c) => c.notNull())
          .addColumn('token_used_at', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('attestations_device').on('attestations').column('device_id').execute();

        await db.schema
          .createTable('device_certificates')
          .addColumn('id', 'text', (c) => c.primaryKey())
          // Kept when the device goes: the serial stays known as revoked.
          .addColumn('device_id', 'text', (c) => c.references('devices.id').onDelete('set null'))
          .addColumn('serial_number', 'text', (c) => c.notNull().unique())
          .addColumn('pem', 'text', (c) => c.notNull())
          .addColumn('device_key_public', 'text', (c) => c.notNull())
          .addColumn('not_before', 'text', (c) => c.notNull())
          .addColumn('not_after', 'text', (c) => c.notNull())
          .addColumn('revoked_at', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('device_certificates_device').on('device_certificates').column('device_id').execute();

        await db.schema
          .createTable('assertion_jtis')
          .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id').onDelete('cascade'))
          .addColumn('jti', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('assertion_jtis_pk', ['device_id', 'jti'])
          .execute();
        await db.schema.createIndex('assertion_jtis_expiry').on('assertion_jtis').column('expires_at').execute();

        await db.schema
          .createTable('device_access_tokens')
          .addColumn('token_hash', 'text', (c) => c.primaryKey())
          .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id').onDelete('cascade'))
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0003_management': {
      async up(db: Kysely<unknown>) {
        // Every document gets a version, bumped when its body changes: devices apply each once.
        for (const table of ['profiles', 'policies']) {
          await db.schema.alterTable(table).addColumn('version', 'integer', (c) => c.notNull().defaultTo(1)).execute();
        }
        for (const [table, assignments] of ITEM_TABLES) await createDocumentTables(db, table, assignments, { version: true });

        // Content (app packages, scripts) by digest, in chunks: a range read touches only its chunks.
        await db.schema
          .createTable('contents')
          .addColumn('sha256', 'text', (c) => c.primaryKey())
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('media_type', 'text', (c) => c.notNull())
          .addColumn('chunk_size', 'integer', (c) => c.notNull())
          .addColumn('label', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('content_chunks')
          .addColumn('sha256', 'text', (c) => c.notNull().references('contents.sha256').onDelete('cascade'))
          .addColumn('idx', 'integer', (c) => c.notNull())
          .addColumn('data', binary, (c) => c.notNull())
          .addPrimaryKeyConstraint('content_chunks_pk', ['sha256', 'idx'])
          .execute();

        await db.schema.alterTable('devices').addColumn('mdm_enrolled_at', 'text').execute();
        await db.schema.alterTable('devices').addColumn('mdm_agent', 'text').execute();
        await db.schema.alterTable('devices').addColumn('esp_snapshot', 'text').execute();

        await db.schema
          .createTable('device_item_status')
          .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id').onDelete('cascade'))
          .addColumn('item_id', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('detail', 'text')
          .addColumn('error_code', 'text')
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('device_item_status_pk', ['device_id', 'item_id'])
          .execute();

        await db.schema
          .createTable('diagnostics')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id').onDelete('cascade'))
          .addColumn('size', 'integer', (c) => c.notNull())
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('media_type', 'text', (c) => c.notNull())
          .addColumn('data', binary, (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('diagnostics_device').on('diagnostics').column('device_id').execute();
      },
    },
    '0004_releases': {
      async up(db: Kysely<unknown>) {
        // Agent releases the update feed offers (GET /v1/updates/linux/latest-linux.yml).
        await db.schema
          .createTable('releases')
          .addColumn('version', 'text', (c) => c.primaryKey())
          .addColumn('critical', 'integer', (c) => c.notNull())
          .addColumn('notes', 'text', (c) => c.notNull())
          .addColumn('file_name', 'text', (c) => c.notNull().unique())
          .addColumn('content_sha256', 'text', (c) => c.notNull().references('contents.sha256'))
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('sha512', 'text', (c) => c.notNull())
          .addColumn('published_at', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0005_device_ek_certificate': {
      async up(db: Kysely<unknown>) {
        // The EK certificate an administrator registered with a device whose TPM keeps none (PEM).
        await db.schema.alterTable('devices').addColumn('ek_certificate', 'text').execute();
      },
    },
    '0006_trust_anchor_devices': {
      async up(db: Kysely<unknown>) {
        // Which trust anchors each device's EK chain went through (trust-anchors list: how many devices).
        await db.schema.alterTable('attestation_challenges').addColumn('ek_chain', 'text').execute();
        await db.schema
          .createTable('trust_anchor_devices')
          .addColumn('fingerprint', 'text', (c) => c.notNull())
          .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id').onDelete('cascade'))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('trust_anchor_devices_pk', ['fingerprint', 'device_id'])
          .execute();
        // Intermediates fetched from EK certificates' caIssuers URLs, shared by the replicas.
        await db.schema
          .createTable('fetched_issuers')
          .addColumn('url', 'text', (c) => c.primaryKey())
          .addColumn('der', binary, (c) => c.notNull())
          .addColumn('fetched_at', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0007_fleet': {
      async up(db: Kysely<unknown>) {
        // Why a device failed (code, HRESULT, phase, step, item, when): state "failed".
        await db.schema.alterTable('devices').addColumn('failure', 'text').execute();
        // Each deployment run of a device, from the ESP status it reports (the run's start is its key).
        await db.schema
          .createTable('deployments')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id').onDelete('cascade'))
          .addColumn('started_at', 'text', (c) => c.notNull())
          .addColumn('ended_at', 'text')
          .addColumn('outcome', 'text', (c) => c.notNull())
          .addColumn('phases', 'text', (c) => c.notNull())
          .addColumn('failure', 'text')
          .addColumn('failure_code', 'text')
          .addColumn('profile_name', 'text')
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('deployments_run', ['device_id', 'started_at'])
          .execute();
        await db.schema.createIndex('deployments_started').on('deployments').column('started_at').execute();
        // The audit log: every change through the admin API, each entry hashing the one before.
        await db.schema
          .createTable('audit_log')
          .addColumn('seq', 'integer', (c) => c.primaryKey())
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('actor_id', 'text')
          .addColumn('actor_name', 'text', (c) => c.notNull())
          .addColumn('actor_kind', 'text', (c) => c.notNull())
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('resource', 'text', (c) => c.notNull())
          .addColumn('before', 'text')
          .addColumn('after', 'text')
          .addColumn('prev_hash', 'text', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
        // The chain's head: appends lock this row, so entries from every replica form one chain.
        await db.schema
          .createTable('audit_head')
          .addColumn('id', 'integer', (c) => c.primaryKey())
          .addColumn('seq', 'integer', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .execute();
        await db.insertInto('audit_head' as never).values({ id: 1, seq: 0, hash: AUDIT_GENESIS }).execute();
        // Tokens expire, and technician/read-only tokens may be limited to groups or group tags.
        await db.schema.alterTable('admin_tokens').addColumn('expires_at', 'text').execute();
        await db.schema.alterTable('admin_tokens').addColumn('scope_groups', 'text').execute();
        await db.schema.alterTable('admin_tokens').addColumn('scope_group_tags', 'text').execute();
        // Dynamic groups match by a rule (group tag, manufacturer, model, serial prefix); old ones by their tag.
        await db.schema.alterTable('device_groups').addColumn('rule', 'text').execute();
        await db
          .updateTable('device_groups' as never)
          .set({ rule: sql`'{"groupTag":' || '"' || group_tag || '"}'` } as never)
          .where('kind' as never, '=', 'dynamic' as never)
          .execute();
      },
    },
    '0008_console_sessions': {
      async up(db: Kysely<unknown>) {
        // The web console's sign-in: a session per browser, bound to the API token it was opened with.
        await db.schema
          .createTable('admin_sessions')
          .addColumn('id_hash', 'text', (c) => c.primaryKey())
          .addColumn('token_id', 'text', (c) => c.notNull().references('admin_tokens.id').onDelete('cascade'))
          .addColumn('csrf', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('last_seen_at', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('admin_sessions_expiry').on('admin_sessions').column('expires_at').execute();
        // What an audited call asked for (its body, secrets redacted): a bulk action or an import says what it did.
        await db.schema.alterTable('audit_log').addColumn('request', 'text').execute();
      },
    },
    '0009_checkin': {
      async up(db: Kysely<unknown>) {
        // A joined device's check-ins, and logs asked of it at the next one.
        await db.schema.alterTable('devices').addColumn('last_contact_at', 'text').execute();
        await db.schema.alterTable('devices').addColumn('logs_requested_at', 'text').execute();
      },
    },
    '0010_rate_windows': {
      async up(db: Kysely<unknown>) {
        // Rate limits that hold across replicas: one counting window per limit and client address.
        await db.schema
          .createTable('rate_windows')
          .addColumn('scope', 'text', (c) => c.notNull())
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('window_start', 'bigint', (c) => c.notNull())
          .addColumn('count', 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint('rate_windows_pk', ['scope', 'key'])
          .execute();
        await db.schema.createIndex('rate_windows_start').on('rate_windows').column('window_start').execute();
      },
    },
    '0011_live_certificates': {
      async up(db: Kysely<unknown>) {
        // A device's live certificate (looked up by every token request, revoked by every join)
        // found without reading the revoked ones it gathered over re-enrollments and renewals:
        // the index by device also keys on revoked_at, and "is null" seeks only the live ones.
        await db.schema.dropIndex('device_certificates_device').execute();
        await db.schema.createIndex('device_certificates_device').on('device_certificates').columns(['device_id', 'revoked_at']).execute();
      },
    },
  };
}

/** Device-setup item kinds other than policies (which 0001 made): their tables and assignment tables. */
export const ITEM_TABLES = [
  ['certificate_items', 'certificate_item_assignments'],
  ['network_items', 'network_item_assignments'],
  ['app_items', 'app_item_assignments'],
  ['script_items', 'script_item_assignments'],
] as const;

export const LATEST_MIGRATION = Object.keys(migrations('sqlite')).sort().at(-1)!;

/** How often an SQLite migration that met another process's is tried again, and how long apart. */
const SQLITE_MIGRATION_ATTEMPTS = 8;
const SQLITE_MIGRATION_RETRY_MS = 150;

/**
 * Applies the pending migrations; returns their names. On PostgreSQL, Kysely's migrator takes an
 * advisory lock, so replicas starting together migrate once. SQLite has no lock across
 * connections (Kysely's is a no-op there): a process that migrates while another does fails in
 * its transaction — rolled back whole, nothing half-done — and tries again, finding less or nothing
 * left to do. A migration that is itself broken fails every time and is reported.
 */
export async function migrateToLatest(db: Db, kind: StoreKind): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: () => Promise.resolve(migrations(kind)) } });
  for (let attempt = 1; ; attempt++) {
    let outcome;
    try {
      outcome = await migrator.migrateToLatest();
    } catch (error) {
      outcome = { error, results: undefined };
    }
    const { error, results } = outcome;
    if (!error) return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    if (kind === 'sqlite' && attempt < SQLITE_MIGRATION_ATTEMPTS) {
      await new Promise((resolve) => setTimeout(resolve, SQLITE_MIGRATION_RETRY_MS * attempt));
      continue;
    }
    throw new Error(`database migration failed: ${error instanceof Error ? error.message : JSON.stringify(error)}`, { cause: error });
  }
}
