// The store: one database, migrated, with one repository per resource.
import { sql } from 'kysely';

import { ItemBodySchemas, type ItemKind } from '../../protocol/items.js';
import { PolicySettingsSchema, DeploymentProfileSchema } from '../../protocol/profile.js';
import { AttestationRepository } from './attestation.js';
import { AuditRepository } from './audit.js';
import { CertificateRepository } from './certificates.js';
import { ReleaseRepository } from './releases.js';
import { SessionRepository } from './sessions.js';
import { ContentRepository } from './contents.js';
import { openDatabase, parseStoreUrl, transact, type ConnectionUse, type Db, type OpenedDatabase, type StoreKind } from './database.js';
import { DeploymentRepository } from './deployments.js';
import { DeviceRepository } from './devices.js';
import { DocumentRepository } from './documents.js';
import { GroupRepository } from './groups.js';
import { ManagementRepository } from './management.js';
import { migrateToLatest } from './migrations.js';
import { RateWindowRepository } from './rate-windows.js';
import { TenantRepository } from './tenant.js';
import { TokenRepository } from './tokens.js';
import { TrustAnchorRepository } from './trust-anchors.js';

export class Store {
  readonly devices: DeviceRepository;
  readonly groups: GroupRepository;
  readonly profiles: DocumentRepository<typeof DeploymentProfileSchema>;
  readonly policies: DocumentRepository<typeof PolicySettingsSchema>;
  readonly tenant: TenantRepository;
  readonly trustAnchors: TrustAnchorRepository;
  readonly tokens: TokenRepository;
  readonly attestations: AttestationRepository;
  readonly certificates: CertificateRepository;
  /** Device-setup items by kind; policies are the same repository as `policies`. */
  readonly items: { [K in ItemKind]: DocumentRepository<(typeof ItemBodySchemas)[K]> };
  readonly contents: ContentRepository;
  readonly releases: ReleaseRepository;
  readonly management: ManagementRepository;
  readonly deployments: DeploymentRepository;
  readonly audit: AuditRepository;
  readonly sessions: SessionRepository;
  readonly rateWindows: RateWindowRepository;

  private constructor(
    private readonly opened: OpenedDatabase,
    /** The migrations this open applied (none when the database was up to date). */
    readonly migrated: readonly string[] = [],
  ) {
    const db = opened.db;
    this.devices = new DeviceRepository(db, opened.kind);
    this.groups = new GroupRepository(db);
    this.profiles = new DocumentRepository(db, { table: 'profiles', assignments: 'profile_assignments' }, DeploymentProfileSchema, 'profile');
    this.policies = new DocumentRepository(db, { table: 'policies', assignments: 'policy_assignments' }, PolicySettingsSchema, 'policy');
    this.tenant = new TenantRepository(db);
    this.trustAnchors = new TrustAnchorRepository(db);
    this.tokens = new TokenRepository(db);
    this.attestations = new AttestationRepository(db);
    this.certificates = new CertificateRepository(db, opened.kind);
    this.items = {
      policy: this.policies,
      certificate: new DocumentRepository(db, { table: 'certificate_items', assignments: 'certificate_item_assignments' }, ItemBodySchemas.certificate, 'certificate'),
      network: new DocumentRepository(db, { table: 'network_items', assignments: 'network_item_assignments' }, ItemBodySchemas.network, 'network connection'),
      app: new DocumentRepository(db, { table: 'app_items', assignments: 'app_item_assignments' }, ItemBodySchemas.app, 'app'),
      script: new DocumentRepository(db, { table: 'script_items', assignments: 'script_item_assignments' }, ItemBodySchemas.script, 'script'),
    };
    this.contents = new ContentRepository(db);
    this.releases = new ReleaseRepository(db);
    this.management = new ManagementRepository(db);
    this.deployments = new DeploymentRepository(db);
    this.audit = new AuditRepository(db, opened.kind);
    this.sessions = new SessionRepository(db, this.tokens);
    this.rateWindows = new RateWindowRepository(db);
  }

  get kind(): StoreKind {
    return this.opened.kind;
  }

  /**
   * `work` with the store's repositories in one transaction: its writes are committed together or
   * not at all — and committed once (one fsync on SQLite, one WAL flush on PostgreSQL), not once per
   * statement.
   */
  transaction<T>(work: (store: Store) => Promise<T>): Promise<T> {
    return transact(this.opened.db, (trx) => work(new Store({ ...this.opened, db: trx }, this.migrated)));
  }

  get db(): Db {
    return this.opened.db;
  }

  /** The connections in use (for the service's metrics). */
  connections(): ConnectionUse {
    return this.opened.connections();
  }

  /** The newest migration the database has (its schema version), null before the first. */
  async schema(): Promise<string | null> {
    const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name desc limit 1`.execute(this.db);
    return rows[0]?.name ?? null;
  }

  /**
   * Opens `sqlite:PATH` or `postgres://…` and applies pending migrations. Replicas that open the
   * same database together migrate it once: Kysely's migrator holds a lock while it migrates (on
   * PostgreSQL an advisory lock), and the others then find nothing left to do.
   */
  static async open(url: string, base?: string): Promise<Store> {
    const opened = openDatabase(parseStoreUrl(url, base));
    let migrated: string[];
    try {
      migrated = await migrateToLatest(opened.db, opened.kind);
    } catch (error) {
      await opened.close();
      throw error;
    }
    return new Store(opened, migrated);
  }

  close(): Promise<void> {
    return this.opened.close();
  }
}
