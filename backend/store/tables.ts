// The service's tables as Kysely sees them, one row type each (database.ts re-exports them):
// timestamps are ISO-8601 UTC text, booleans 0/1 integers, JSON documents text; the migrations
// (migrations.ts) create them alike on SQLite and PostgreSQL.
export interface TenantTable {
  id: number;
  organization_name: string;
  /** BrandingSchema JSON without the logo. */
  branding: string;
  logo: string | null; // base64
  logo_media_type: string | null;
  /** TenantSettings JSON. */
  settings: string;
  created_at: string;
  updated_at: string;
}

export interface DeviceTable {
  id: string;
  serial: string;
  manufacturer: string;
  model: string;
  smbios_uuid: string | null;
  macs: string; // JSON array
  disk_serials: string; // JSON array
  tpm_manufacturer: string | null;
  ek_digest: string | null;
  hardware_hash: string;
  group_tag: string | null;
  assigned_user: string | null;
  state: string;
  unverified_hardware: number;
  esp_progress: string | null; // JSON
  created_at: string;
  updated_at: string;
  deployed_at: string | null;
  /** From the profile's name template at join. */
  device_name: string | null;
  joined_at: string | null;
  mdm_enrolled_at: string | null;
  /** JSON: the agent version, OS and host name it enrolled with. */
  mdm_agent: string | null;
  /** JSON: the last ESP snapshot the device reported. */
  esp_snapshot: string | null;
  /** PEM: the EK certificate an administrator registered for a TPM that keeps none. */
  ek_certificate: string | null;
  /** JSON DeviceFailure: why the device is in state "failed". */
  failure: string | null;
  /** The device's last check-in. */
  last_contact_at: string | null;
  /** Logs asked for at the next check-in, until a bundle is uploaded. */
  logs_requested_at: string | null;
}

export interface DeploymentTable {
  id: string;
  device_id: string;
  /** The agent run's start (its ESP snapshot's startedAt). */
  started_at: string;
  ended_at: string | null;
  outcome: string;
  /** JSON: per phase, its start, end and duration. */
  phases: string;
  failure: string | null;
  failure_code: string | null;
  profile_name: string | null;
  updated_at: string;
}

export interface AuditLogTable {
  seq: number;
  at: string;
  actor_id: string | null;
  actor_name: string;
  actor_kind: string;
  source: string;
  action: string;
  resource: string;
  before: string | null;
  after: string | null;
  /** JSON: the request's body, secrets redacted (null: none). */
  request: string | null;
  prev_hash: string;
  hash: string;
}

export interface AdminSessionTable {
  /** SHA-256 of the session id (the cookie's value). */
  id_hash: string;
  token_id: string;
  csrf: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
}

export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
}

export interface GroupTable {
  id: string;
  name: string;
  kind: string;
  group_tag: string | null;
  description: string;
  created_at: string;
  /** JSON GroupRule of a dynamic group. */
  rule: string | null;
}

export interface GroupMemberTable {
  group_id: string;
  device_id: string;
  created_at: string;
}

export interface DocumentTable {
  id: string;
  name: string;
  body: string; // JSON
  /** Bumped whenever the body changes. */
  version: number;
  created_at: string;
  updated_at: string;
}

export interface AssignmentTable {
  id: string;
  /** The profile or policy. */
  subject_id: string;
  group_id: string;
  created_at: string;
}

export interface TrustAnchorTable {
  id: string;
  kind: string;
  label: string;
  pem: string | null;
  subject: string | null;
  fingerprint: string | null;
  not_after: string | null;
  ek_digest: string | null;
  created_at: string;
}

export interface AdminTokenTable {
  id: string;
  name: string;
  scope: string;
  token_hash: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  expires_at: string | null;
  /** JSON arrays: a technician or read-only token sees only devices in these groups / with these tags. */
  scope_groups: string | null;
  scope_group_tags: string | null;
}

export interface ChallengeTable {
  id: string;
  device_id: string;
  secret_hash: string;
  nonce: string; // hex
  ek_digest: string;
  ak_public: string; // base64 TPM2B_PUBLIC
  unverified_hardware: number;
  pcr_selection: string; // JSON
  created_at: string;
  expires_at: string;
  used_at: string | null;
  /** JSON: the fingerprints of the trust anchors the EK chain went through (null: none, allow-listed). */
  ek_chain: string | null;
}

export interface FetchedIssuerTable {
  url: string;
  der: Uint8Array;
  fetched_at: string;
}

export interface TrustAnchorDeviceTable {
  fingerprint: string;
  device_id: string;
  created_at: string;
}

export interface AttestationTable {
  id: string;
  device_id: string;
  challenge_id: string;
  ek_digest: string;
  ak_public: string;
  ak_name: string; // hex
  nonce: string; // hex
  unverified_hardware: number;
  firmware_version: string;
  clock: string; // JSON
  pcrs: string; // JSON
  token_hash: string;
  token_expires_at: string;
  token_used_at: string | null;
  created_at: string;
}

export interface DeviceCertificateTable {
  id: string;
  device_id: string | null;
  serial_number: string;
  pem: string;
  device_key_public: string; // base64 TPM2B_PUBLIC
  not_before: string;
  not_after: string;
  revoked_at: string | null;
  created_at: string;
}

export interface RateWindowTable {
  scope: string;
  key: string;
  /** Milliseconds since the epoch (PostgreSQL bigint: read as a string). */
  window_start: number | string;
  count: number;
}

export interface AssertionJtiTable {
  device_id: string;
  jti: string;
  expires_at: string;
}

export interface DeviceAccessTokenTable {
  token_hash: string;
  device_id: string;
  expires_at: string;
  created_at: string;
}

export interface ContentTable {
  sha256: string;
  /** bigint: a string on PostgreSQL. */
  size: number | string;
  media_type: string;
  chunk_size: number;
  label: string;
  created_at: string;
}

export interface ContentChunkTable {
  sha256: string;
  idx: number;
  data: Buffer;
}

export interface DeviceItemStatusTable {
  device_id: string;
  item_id: string;
  kind: string;
  name: string;
  version: number;
  state: string;
  detail: string | null;
  error_code: string | null;
  updated_at: string;
}

export interface DiagnosticsTable {
  id: string;
  device_id: string;
  size: number;
  sha256: string;
  media_type: string;
  data: Buffer;
  created_at: string;
}

export interface Database {
  tenant: TenantTable;
  devices: DeviceTable;
  device_groups: GroupTable;
  group_members: GroupMemberTable;
  profiles: DocumentTable;
  profile_assignments: AssignmentTable;
  policies: DocumentTable;
  policy_assignments: AssignmentTable;
  trust_anchors: TrustAnchorTable;
  trust_anchor_devices: TrustAnchorDeviceTable;
  fetched_issuers: FetchedIssuerTable;
  admin_tokens: AdminTokenTable;
  attestation_challenges: ChallengeTable;
  attestations: AttestationTable;
  device_certificates: DeviceCertificateTable;
  assertion_jtis: AssertionJtiTable;
  device_access_tokens: DeviceAccessTokenTable;
  certificate_items: DocumentTable;
  certificate_item_assignments: AssignmentTable;
  network_items: DocumentTable;
  network_item_assignments: AssignmentTable;
  app_items: DocumentTable;
  app_item_assignments: AssignmentTable;
  script_items: DocumentTable;
  script_item_assignments: AssignmentTable;
  contents: ContentTable;
  content_chunks: ContentChunkTable;
  device_item_status: DeviceItemStatusTable;
  diagnostics: DiagnosticsTable;
  releases: ReleaseTable;
  deployments: DeploymentTable;
  audit_log: AuditLogTable;
  audit_head: AuditHeadTable;
  admin_sessions: AdminSessionTable;
  rate_windows: RateWindowTable;
}

export interface ReleaseTable {
  version: string;
  critical: number;
  notes: string;
  file_name: string;
  content_sha256: string;
  size: number;
  /** base64, as electron-updater's feeds carry it. */
  sha512: string;
  published_at: string;
}
