#!/usr/bin/env node
// `selfdeploy-admin`: the admin HTTP API from a shell — devices, groups, profiles, policies,
// branding, trust anchors and tokens. Human tables by default, --json for scripts.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

import {
  AssignedSchema,
  BrandingViewSchema,
  ContentListSchema,
  ContentSchema,
  DeviceEspSchema,
  DiagnosticsListSchema,
  ITEM_COLLECTIONS,
  ItemListSchema,
  ItemResourceSchema,
  CreatedTokenSchema,
  DeviceListSchema,
  DeviceSchema,
  DeviceViewSchema,
  GroupListSchema,
  GroupSchema,
  GroupViewSchema,
  ImportResultSchema,
  LintResultSchema,
  PolicyListSchema,
  PolicyResourceSchema,
  ProfileListSchema,
  ProfileResourceSchema,
  ProfileSavedSchema,
  TokenListSchema,
  TenantSettingsSchema,
  TrustAnchorListSchema,
  type Device,
} from '../../protocol/api/admin.js';
import { ReleaseListSchema, ReleaseSchema } from '../../protocol/api/updates.js';
import { UsageError, exitStatus, isCoded, reportError, type CliIo } from '../../protocol/errors/report.js';
import { ServiceClient, ServiceProblem } from '../../protocol/node/https-client.js';

const USAGE = `Usage: selfdeploy-admin [--server URL] [--ca FILE] [--token TOKEN] [--config FILE] [--json] COMMAND

Connection (flags, else SELFDEPLOY_SERVER / SELFDEPLOY_CA / SELFDEPLOY_TOKEN, else the config file
--config FILE or ~/.config/selfdeploy/admin.json: {"server": URL, "ca": FILE, "token": TOKEN}).

Commands:
  devices import FILE.csv                 register every device of a hardware-hash CSV (all or nothing)
  devices add --hash HASH [--group-tag TAG] [--assigned-user UPN]
  devices list [--state S] [--group-tag TAG] [--serial-prefix P] [--limit N] [--cursor C] [--all]
  devices show DEVICE                     DEVICE is an id or a serial number
  devices delete-record DEVICE            delete its device record (deployment): it may self-deploy again
  devices delete DEVICE                   delete the registration too: the device is no longer known
  devices esp DEVICE                      its live setup progress: phases, steps and items
  devices diagnostics DEVICE [--download ID --out FILE]
                                          the log bundles it uploaded; download one
  groups list | show NAME | delete NAME
  groups create NAME (--static | --dynamic --group-tag TAG) [--description TEXT]
  groups add-member NAME DEVICE | remove-member NAME DEVICE
  profiles list | show NAME | delete NAME
  profiles apply NAME FILE                create or update from YAML or JSON
  profiles lint FILE [--group NAME]       validate and lint without saving
  profiles assign NAME --group G | unassign NAME --group G
  policies list | show NAME | delete NAME | apply NAME FILE
  policies assign NAME --group G | unassign NAME --group G
  certificates|networks|apps|scripts list | show NAME | delete NAME | apply NAME FILE
  certificates|networks|apps|scripts assign NAME --group G | unassign NAME --group G
  content upload FILE [--label L]         upload an app package or script; prints its SHA-256 and size
  content list | delete SHA256
  updates publish VERSION FILE [--critical] [--notes TEXT]
                                          upload an agent release (a bundle or package) to the update
                                          feed; --critical: devices apply it during setup
  updates list | withdraw VERSION
  branding show
  branding set [--org NAME] [--accent-color #RRGGBB] [--logo FILE | --no-logo]
               [--support-phone P] [--support-email E] [--support-url URL]
  settings show | set --bind-ek-on-first-use on|off
  trust-anchors list | add FILE.pem [--label L] | add-ek-digest HEX --label L | remove ID
  tokens list | create NAME --scope admin|technician | revoke ID
`;

const OPTIONS = {
  server: { type: 'string' },
  ca: { type: 'string' },
  token: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
  hash: { type: 'string' },
  'group-tag': { type: 'string' },
  'assigned-user': { type: 'string' },
  state: { type: 'string' },
  'serial-prefix': { type: 'string' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
  all: { type: 'boolean', default: false },
  static: { type: 'boolean', default: false },
  dynamic: { type: 'boolean', default: false },
  description: { type: 'string' },
  group: { type: 'string' },
  org: { type: 'string' },
  'accent-color': { type: 'string' },
  logo: { type: 'string' },
  'no-logo': { type: 'boolean', default: false },
  'support-phone': { type: 'string' },
  'support-email': { type: 'string' },
  'support-url': { type: 'string' },
  label: { type: 'string' },
  critical: { type: 'boolean', default: false },
  notes: { type: 'string' },
  scope: { type: 'string' },
  'bind-ek-on-first-use': { type: 'string' },
  download: { type: 'string' },
  out: { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

const ConfigFileSchema = z.object({ server: z.string().optional(), ca: z.string().optional(), token: z.string().optional() });

function readFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

/** Flags, then environment, then the config file. */
export function resolveConnection(values: Values, env: NodeJS.ProcessEnv, io: CliIo): { server: URL; ca: string; token: string } {
  const configPath = values.config ?? env['SELFDEPLOY_ADMIN_CONFIG'] ?? join(env['XDG_CONFIG_HOME'] ?? join(homedir(), '.config'), 'selfdeploy', 'admin.json');
  let file: z.output<typeof ConfigFileSchema> = {};
  let exists = false;
  try {
    exists = statSync(configPath).isFile();
  } catch {
    if (values.config) throw new UsageError(`the config file ${configPath} does not exist`);
  }
  if (exists) {
    const parsed = ConfigFileSchema.safeParse((() => {
      try {
        return JSON.parse(readFile(configPath, 'config file')) as unknown;
      } catch (error) {
        if (error instanceof UsageError) throw error;
        throw new UsageError(`the config file ${configPath} is not JSON`);
      }
    })());
    if (!parsed.success) throw new UsageError(`the config file ${configPath} must hold {"server", "ca", "token"} strings`);
    file = parsed.data;
    if (file.token && (statSync(configPath).mode & 0o077) !== 0) io.stderr(`selfdeploy-admin: warning: ${configPath} holds a token and others can read it (chmod 600 it)\n`);
  }
  const server = values.server ?? env['SELFDEPLOY_SERVER'] ?? file.server;
  const ca = values.ca ?? env['SELFDEPLOY_CA'] ?? file.ca;
  const token = values.token ?? env['SELFDEPLOY_TOKEN'] ?? file.token;
  if (!server || !ca || !token) {
    const missing = [!server && 'server (--server)', !ca && 'service CA (--ca)', !token && 'token (--token)'].filter(Boolean).join(', ');
    throw new UsageError(`no ${missing}: pass flags, set SELFDEPLOY_SERVER/SELFDEPLOY_CA/SELFDEPLOY_TOKEN, or write ${configPath}`);
  }
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new UsageError(`--server must be a URL, e.g. https://127.0.0.1:8443, not "${server}"`);
  }
  if (url.protocol !== 'https:') throw new UsageError('--server must be an https:// URL: the admin API carries tokens');
  return { server: url, ca: readFile(ca, 'service CA'), token };
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ')).join('\n') + '\n';
}

function loadDocument(path: string): unknown {
  const text = readFile(path, 'file');
  try {
    return /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 100 });
  } catch (error) {
    throw new UsageError(`${path} is not valid ${/\.json$/i.test(path) ? 'JSON' : 'YAML'}: ${(error as Error).message}`);
  }
}

type DocumentCollection = 'profiles' | 'policies' | (typeof ITEM_COLLECTIONS)[keyof typeof ITEM_COLLECTIONS];
const DOCUMENT_COLLECTIONS: readonly string[] = ['profiles', 'policies', ...Object.values(ITEM_COLLECTIONS)];
const SINGULAR: Record<DocumentCollection, string> = {
  profiles: 'profile',
  policies: 'policy',
  certificates: 'certificate',
  networks: 'network connection',
  apps: 'app',
  scripts: 'script',
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

class Commands {
  constructor(
    private readonly client: ServiceClient,
    private readonly values: Values,
    private readonly io: CliIo,
  ) {}

  private out(json: unknown, human: () => string): void {
    this.io.stdout(this.values.json ? JSON.stringify(json, null, 2) + '\n' : human());
  }

  private need(value: string | undefined, what: string): string {
    if (!value) throw new UsageError(`missing ${what}`);
    return value;
  }

  /** A device by id, or by serial number when only one manufacturer has it. */
  private async device(reference: string | undefined): Promise<Device> {
    const ref = this.need(reference, 'DEVICE (an id or a serial number)');
    if (UUID.test(ref)) return this.client.call('GET', `/v1/admin/devices/${ref}`, { schema: DeviceSchema });
    const page = await this.client.call('GET', '/v1/admin/devices', { schema: DeviceListSchema, query: { serialPrefix: ref, limit: 500 } });
    const matches = page.items.filter((d) => d.serial === ref);
    if (matches.length === 0) throw new ServiceProblem('NOT_FOUND', `no device with serial number ${ref}`);
    if (matches.length > 1) throw new UsageError(`several devices have serial number ${ref} (${matches.map((d) => `${d.manufacturer}: ${d.id}`).join(', ')}); give the id`);
    return matches[0]!;
  }

  private deviceTable(devices: readonly Device[]): string {
    return table([['SERIAL', 'MANUFACTURER', 'MODEL', 'STATE', 'GROUP TAG', 'ID'], ...devices.map((d) => [d.serial, d.manufacturer, d.model, d.state, d.groupTag ?? '', d.id])]);
  }

  async devices(action: string | undefined, args: string[]): Promise<void> {
    const v = this.values;
    switch (action) {
      case 'import': {
        const path = this.need(args[0], 'FILE.csv');
        const result = await this.client.call('POST', '/v1/admin/devices/import', { schema: ImportResultSchema, text: readFile(path, 'CSV file'), contentType: 'text/csv' });
        return this.out(result, () => `Imported ${result.imported} device(s) from ${path}\n`);
      }
      case 'add': {
        const device = await this.client.call('POST', '/v1/admin/devices', {
          schema: DeviceSchema,
          json: { hardwareHash: this.need(v.hash, '--hash HASH'), ...(v['group-tag'] ? { groupTag: v['group-tag'] } : {}), ...(v['assigned-user'] ? { assignedUser: v['assigned-user'] } : {}) },
        });
        return this.out(device, () => `Registered ${device.serial} (${device.manufacturer}) as ${device.id}\n`);
      }
      case 'list': {
        const limit = v.limit === undefined ? (v.all ? 500 : 50) : Number(v.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new UsageError('--limit must be 1 to 500');
        const items: Device[] = [];
        let cursor = v.cursor;
        let next: string | null = null;
        do {
          const page = await this.client.call('GET', '/v1/admin/devices', {
            schema: DeviceListSchema,
            query: { state: v.state, groupTag: v['group-tag'], serialPrefix: v['serial-prefix'], limit, cursor },
          });
          items.push(...page.items);
          next = page.nextCursor;
          cursor = next ?? undefined;
        } while (v.all && next);
        return this.out({ items, nextCursor: next }, () =>
          items.length === 0 ? 'No devices.\n' : this.deviceTable(items) + (next ? `(more: --cursor ${next}, or --all)\n` : ''),
        );
      }
      case 'show': {
        const device = await this.device(args[0]);
        const view = await this.client.call('GET', `/v1/admin/devices/${device.id}`, { schema: DeviceViewSchema });
        return this.out(view, () =>
          [
            `Device        ${view.serial} (${view.manufacturer} ${view.model})`,
            `Id            ${view.id}`,
            `State         ${view.state}${view.deployedAt ? ` since ${view.deployedAt}` : ''}${view.unverifiedHardware ? ' — unverified hardware (EK allow-list)' : ''}`,
            `Group tag     ${view.groupTag ?? '-'}`,
            `Groups        ${view.groups.map((g) => `${g.name} (${g.kind})`).join(', ') || '-'}`,
            `Profile       ${view.profile ? `${view.profile.profile} via ${view.profile.group} (assigned ${view.profile.assignedAt})` : 'none assigned'}`,
            ...view.profileConflicts.map((c) => `  not applied ${c.profile} via ${c.group} (assigned later, ${c.assignedAt})`),
            `Joined        ${view.joinedAt ? `${view.joinedAt}${view.deviceName ? ` as ${view.deviceName}` : ''}` : '-'} (certificates issued: ${view.certificatesIssued})`,
            `ESP progress  ${view.espProgress ? `${view.espProgress.phase}${view.espProgress.step ? ` / ${view.espProgress.step}` : ''} ${view.espProgress.completed} of ${view.espProgress.total} (${view.espProgress.reportedAt})` : '-'}`,
            `EK digest     ${view.ekDigest ?? '-'}`,
            `Hardware hash ${view.hardwareHash}`,
            '',
          ].join('\n'),
        );
      }
      case 'delete-record': {
        const device = await this.device(args[0]);
        const registered = await this.client.call('DELETE', `/v1/admin/devices/${device.id}/record`, { schema: DeviceSchema });
        return this.out(registered, () => `Deleted the device record of ${registered.serial}: it may self-deploy again\n`);
      }
      case 'delete': {
        const device = await this.device(args[0]);
        await this.client.call('DELETE', `/v1/admin/devices/${device.id}`);
        return this.out({ deleted: device.id }, () => `Deleted ${device.serial} (${device.id}) and its registration\n`);
      }
      case 'esp': {
        const device = await this.device(args[0]);
        const esp = await this.client.call('GET', `/v1/admin/devices/${device.id}/esp`, { schema: DeviceEspSchema });
        return this.out(esp, () => {
          if (!esp.snapshot) return `${device.serial} has not reported any setup progress${esp.mdmEnrolledAt ? '' : ' (not enrolled in management)'}.\n`;
          const s = esp.snapshot;
          const lines = [`${device.serial}: ${s.status}, last report ${s.updatedAt}${s.failure ? ` — ${s.failure.code}: ${s.failure.message}` : ''}`];
          for (const phase of s.phases) {
            lines.push(`${phase.title}: ${phase.state}`);
            for (const step of phase.steps) {
              lines.push(`  ${step.title}: ${step.state}${step.total ? ` (${step.completed} of ${step.total})` : ''}`);
              for (const item of step.items) lines.push(`    ${item.name} v${item.version}: ${item.state}${item.error ? ` — ${item.error.code}` : ''}`);
            }
          }
          return lines.join('\n') + '\n';
        });
      }
      case 'diagnostics': {
        const device = await this.device(args[0]);
        if (v.download) {
          const out = this.need(v.out, '--out FILE');
          const bytes = await this.client.fetchBytes(`/v1/admin/devices/${device.id}/diagnostics/${encodeURIComponent(v.download)}`);
          writeFileSync(out, bytes, { mode: 0o600 });
          return this.out({ file: out, size: bytes.length }, () => `Wrote ${bytes.length} bytes to ${out}\n`);
        }
        const list = await this.client.call('GET', `/v1/admin/devices/${device.id}/diagnostics`, { schema: DiagnosticsListSchema });
        return this.out(list, () =>
          list.items.length ? table([['ID', 'SIZE', 'UPLOADED'], ...list.items.map((d) => [d.id, String(d.size), d.createdAt])]) : `${device.serial} uploaded no log bundles.\n`,
        );
      }
      default:
        throw new UsageError(`unknown devices command "${action ?? ''}"`);
    }
  }

  async groups(action: string | undefined, args: string[]): Promise<void> {
    const v = this.values;
    const name = () => this.need(args[0], 'NAME');
    switch (action) {
      case 'list': {
        const { items } = await this.client.call('GET', '/v1/admin/groups', { schema: GroupListSchema });
        return this.out({ items }, () => (items.length ? table([['NAME', 'KIND', 'GROUP TAG', 'MEMBERS'], ...items.map((g) => [g.name, g.kind, g.groupTag ?? '', String(g.memberCount)])]) : 'No groups.\n'));
      }
      case 'show': {
        const g = await this.client.call('GET', `/v1/admin/groups/${encodeURIComponent(name())}`, { schema: GroupViewSchema });
        return this.out(g, () =>
          [
            `Group     ${g.name} (${g.kind}${g.groupTag ? `, every device tagged "${g.groupTag}"` : ''})`,
            `Profiles  ${g.profiles.map((p) => p.name).join(', ') || '-'}`,
            `Policies  ${g.policies.map((p) => p.name).join(', ') || '-'}`,
            `Members   ${g.memberCount}`,
            ...g.members.map((m) => `  ${m.serial}  ${m.manufacturer}  ${m.id}`),
            '',
          ].join('\n'),
        );
      }
      case 'create': {
        if (v.static === v.dynamic) throw new UsageError('give exactly one of --static or --dynamic');
        const group = await this.client.call('POST', '/v1/admin/groups', {
          schema: GroupSchema,
          json: { name: name(), kind: v.static ? 'static' : 'dynamic', ...(v['group-tag'] ? { groupTag: v['group-tag'] } : {}), ...(v.description ? { description: v.description } : {}) },
        });
        return this.out(group, () => `Created ${group.kind} group ${group.name} (${group.memberCount} members)\n`);
      }
      case 'delete':
        await this.client.call('DELETE', `/v1/admin/groups/${encodeURIComponent(name())}`);
        return this.out({ deleted: name() }, () => `Deleted group ${name()}\n`);
      case 'add-member':
      case 'remove-member': {
        const device = await this.device(args[1]);
        await this.client.call(action === 'add-member' ? 'PUT' : 'DELETE', `/v1/admin/groups/${encodeURIComponent(name())}/members/${device.id}`);
        return this.out({ group: name(), device: device.id }, () => `${action === 'add-member' ? 'Added' : 'Removed'} ${device.serial} ${action === 'add-member' ? 'to' : 'from'} ${name()}\n`);
      }
      default:
        throw new UsageError(`unknown groups command "${action ?? ''}"`);
    }
  }

  private lintLines(lint: readonly { severity: string; code: string; path: string; message: string }[]): string {
    return lint.map((f) => `  ${f.severity}: ${f.code} (${f.path}): ${f.message}\n`).join('');
  }

  /** Returns the exit status when it is not 0 (lint with errors). */
  async documents(kind: DocumentCollection, action: string | undefined, args: string[]): Promise<number | void> {
    const base = `/v1/admin/${kind}`;
    const name = () => this.need(args[0], 'NAME');
    const group = () => this.need(this.values.group, '--group NAME');
    const isItem = kind !== 'profiles' && kind !== 'policies';
    switch (action) {
      case 'list': {
        const list =
          kind === 'profiles'
            ? await this.client.call('GET', base, { schema: ProfileListSchema })
            : kind === 'policies'
              ? await this.client.call('GET', base, { schema: PolicyListSchema })
              : await this.client.call('GET', base, { schema: ItemListSchema });
        return this.out(list, () =>
          list.items.length
            ? table([['NAME', 'VERSION', 'ASSIGNED TO', 'UPDATED'], ...list.items.map((d) => [d.name, String(d.version), d.assignments.map((a) => a.group).join(', ') || '-', d.updatedAt])])
            : `No ${kind}.\n`,
        );
      }
      case 'show': {
        const url = `${base}/${encodeURIComponent(name())}`;
        const doc =
          kind === 'profiles'
            ? await this.client.call('GET', url, { schema: ProfileResourceSchema })
            : kind === 'policies'
              ? await this.client.call('GET', url, { schema: PolicyResourceSchema })
              : await this.client.call('GET', url, { schema: ItemResourceSchema });
        return this.out(doc, () => JSON.stringify(doc, null, 2) + '\n');
      }
      case 'apply': {
        const body = loadDocument(this.need(args[1], 'FILE'));
        if (kind === 'profiles') {
          const saved = await this.client.call('PUT', `${base}/${encodeURIComponent(name())}`, { schema: ProfileSavedSchema, json: body });
          return this.out(saved, () => `Saved profile ${saved.name}\n${this.lintLines(saved.lint)}`);
        }
        if (isItem) {
          const saved = await this.client.call('PUT', `${base}/${encodeURIComponent(name())}`, { schema: ItemResourceSchema, json: body });
          return this.out(saved, () => `Saved ${saved.kind} ${saved.name}, version ${saved.version}\n`);
        }
        const saved = await this.client.call('PUT', `${base}/${encodeURIComponent(name())}`, { schema: PolicyResourceSchema, json: body });
        return this.out(saved, () => `Saved policy ${saved.name}, version ${saved.version}\n`);
      }
      case 'lint': {
        if (kind !== 'profiles') break;
        const path = this.need(args[0], 'FILE');
        const result = await this.client.call('POST', `${base}/lint`, { schema: LintResultSchema, json: loadDocument(path), query: { group: this.values.group } });
        const errors = result.findings.filter((f) => f.severity === 'error').length;
        this.out(result, () => `${path}: ${errors} error(s), ${result.findings.length - errors} warning(s)\n${this.lintLines(result.findings)}`);
        return errors > 0 ? 1 : 0;
      }
      case 'assign': {
        const assigned = await this.client.call('POST', `${base}/${encodeURIComponent(name())}/assignments`, { schema: AssignedSchema, json: { group: group() } });
        return this.out(assigned, () => `Assigned ${assigned.name} to ${assigned.group} (${assigned.assignedAt})\n${this.lintLines(assigned.lint)}`);
      }
      case 'unassign':
        await this.client.call('DELETE', `${base}/${encodeURIComponent(name())}/assignments/${encodeURIComponent(group())}`);
        return this.out({ name: name(), group: group() }, () => `Unassigned ${name()} from ${group()}\n`);
      case 'delete':
        await this.client.call('DELETE', `${base}/${encodeURIComponent(name())}`);
        return this.out({ deleted: name() }, () => `Deleted ${SINGULAR[kind]} ${name()}\n`);
      default:
        break;
    }
    throw new UsageError(`unknown ${kind} command "${action ?? ''}"`);
  }

  /** Uploads a file as content (the service names it by its SHA-256). */
  private async upload(path: string, label: string) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (error) {
      throw new UsageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    return this.client.call('POST', '/v1/admin/content', { schema: ContentSchema, bytes, query: { label } });
  }

  async content(action: string | undefined, args: string[]): Promise<void> {
    switch (action) {
      case 'upload': {
        const path = this.need(args[0], 'FILE');
        const content = await this.upload(path, this.values.label ?? basename(path));
        return this.out(content, () => `Uploaded ${content.label}: ${content.size} bytes\n  content: { sha256: ${content.sha256}, size: ${content.size} }\n`);
      }
      case 'list': {
        const list = await this.client.call('GET', '/v1/admin/content', { schema: ContentListSchema });
        return this.out(list, () =>
          list.items.length ? table([['SHA256', 'SIZE', 'LABEL', 'UPLOADED'], ...list.items.map((c) => [c.sha256, String(c.size), c.label, c.createdAt])]) : 'No content.\n',
        );
      }
      case 'delete': {
        const sha = this.need(args[0], 'SHA256');
        await this.client.call('DELETE', `/v1/admin/content/${encodeURIComponent(sha)}`);
        return this.out({ deleted: sha }, () => `Deleted content ${sha}\n`);
      }
      default:
        throw new UsageError(`unknown content command "${action ?? ''}"`);
    }
  }

  async updates(action: string | undefined, args: string[]): Promise<void> {
    switch (action) {
      case 'publish': {
        const version = this.need(args[0], 'VERSION');
        const path = this.need(args[1], 'FILE');
        const content = await this.upload(path, `agent release ${version}`);
        const release = await this.client.call('PUT', `/v1/admin/updates/${encodeURIComponent(version)}`, {
          schema: ReleaseSchema,
          json: { critical: this.values.critical, notes: this.values.notes ?? '', file: { name: basename(path), sha256: content.sha256, size: content.size } },
        });
        return this.out(release, () => `Published ${release.version}${release.critical ? ' (critical: applied during setup)' : ''}: ${release.file.name}, ${release.file.size} bytes, sha512 ${release.file.sha512}\n`);
      }
      case 'list': {
        const list = await this.client.call('GET', '/v1/admin/updates', { schema: ReleaseListSchema });
        return this.out(list, () =>
          list.items.length ? table([['VERSION', 'CRITICAL', 'FILE', 'SIZE', 'PUBLISHED'], ...list.items.map((r) => [r.version, r.critical ? 'yes' : 'no', r.file.name, String(r.file.size), r.publishedAt])]) : 'No releases.\n',
        );
      }
      case 'withdraw': {
        const version = this.need(args[0], 'VERSION');
        await this.client.call('DELETE', `/v1/admin/updates/${encodeURIComponent(version)}`);
        return this.out({ withdrawn: version }, () => `Withdrew ${version} from the update feed\n`);
      }
      default:
        throw new UsageError(`unknown updates command "${action ?? ''}"`);
    }
  }

  async branding(action: string | undefined): Promise<void> {
    const v = this.values;
    const current = await this.client.call('GET', '/v1/admin/branding', { schema: BrandingViewSchema });
    const show = (b: typeof current) =>
      [
        `Organization  ${b.organizationName}`,
        `Accent colour ${b.accentColor}`,
        `Logo          ${b.logo ? `${b.logo.mediaType}, ${b.logo.bytes} bytes, sha256 ${b.logo.sha256}` : '-'}`,
        `Support       ${[b.support.phone, b.support.email, b.support.url].filter(Boolean).join(', ') || '-'}`,
        '',
      ].join('\n');
    if (action === 'show') return this.out(current, () => show(current));
    if (action !== 'set') throw new UsageError(`unknown branding command "${action ?? ''}"`);
    if (v.logo && v['no-logo']) throw new UsageError('give --logo FILE or --no-logo, not both');
    let logo: string | null | undefined;
    if (v.logo) {
      try {
        logo = readFileSync(v.logo).toString('base64');
      } catch (error) {
        throw new UsageError(`cannot read the logo ${v.logo}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      }
    } else if (v['no-logo']) {
      logo = null;
    }
    const updated = await this.client.call('PUT', '/v1/admin/branding', {
      schema: BrandingViewSchema,
      json: {
        organizationName: v.org ?? current.organizationName,
        accentColor: v['accent-color'] ?? current.accentColor,
        support: {
          ...current.support,
          ...(v['support-phone'] ? { phone: v['support-phone'] } : {}),
          ...(v['support-email'] ? { email: v['support-email'] } : {}),
          ...(v['support-url'] ? { url: v['support-url'] } : {}),
        },
        ...(logo === undefined ? {} : { logo }),
      },
    });
    return this.out(updated, () => show(updated));
  }

  async settings(action: string | undefined): Promise<void> {
    const show = (s: z.output<typeof TenantSettingsSchema>) => `Bind EK on first use  ${s.bindEkOnFirstUse ? 'on' : 'off'}\n`;
    if (action === 'show') {
      const current = await this.client.call('GET', '/v1/admin/settings', { schema: TenantSettingsSchema });
      return this.out(current, () => show(current));
    }
    if (action !== 'set') throw new UsageError(`unknown settings command "${action ?? ''}"`);
    const value = this.need(this.values['bind-ek-on-first-use'], '--bind-ek-on-first-use on|off');
    if (value !== 'on' && value !== 'off') throw new UsageError('--bind-ek-on-first-use takes on or off');
    const updated = await this.client.call('PUT', '/v1/admin/settings', { schema: TenantSettingsSchema, json: { bindEkOnFirstUse: value === 'on' } });
    return this.out(updated, () => show(updated));
  }

  async trustAnchors(action: string | undefined, args: string[]): Promise<void> {
    const show = (items: z.output<typeof TrustAnchorListSchema>['items']) =>
      items.length ? table([['ID', 'KIND', 'LABEL', 'EXPIRES / DIGEST'], ...items.map((a) => [a.id, a.kind, a.label, a.notAfter ?? a.ekDigest ?? ''])]) : 'No trust anchors.\n';
    switch (action) {
      case 'list': {
        const list = await this.client.call('GET', '/v1/admin/trust-anchors', { schema: TrustAnchorListSchema });
        return this.out(list, () => show(list.items));
      }
      case 'add': {
        const path = this.need(args[0], 'FILE.pem');
        const added = await this.client.call('POST', '/v1/admin/trust-anchors', { schema: TrustAnchorListSchema, json: { pem: readFile(path, 'PEM file'), ...(this.values.label ? { label: this.values.label } : {}) } });
        return this.out(added, () => show(added.items));
      }
      case 'add-ek-digest': {
        const added = await this.client.call('POST', '/v1/admin/trust-anchors', {
          schema: TrustAnchorListSchema,
          json: { ekDigest: this.need(args[0], 'HEX digest'), label: this.need(this.values.label, '--label TEXT') },
        });
        return this.out(added, () => show(added.items));
      }
      case 'remove':
        await this.client.call('DELETE', `/v1/admin/trust-anchors/${encodeURIComponent(this.need(args[0], 'ID'))}`);
        return this.out({ removed: args[0] }, () => `Removed trust anchor ${args[0]}\n`);
      default:
        throw new UsageError(`unknown trust-anchors command "${action ?? ''}"`);
    }
  }

  async tokens(action: string | undefined, args: string[]): Promise<void> {
    switch (action) {
      case 'list': {
        const list = await this.client.call('GET', '/v1/admin/tokens', { schema: TokenListSchema });
        return this.out(list, () =>
          table([['ID', 'NAME', 'SCOPE', 'LAST USED', 'REVOKED'], ...list.items.map((t) => [t.id, t.name, t.scope, t.lastUsedAt ?? '-', t.revokedAt ?? '-'])]),
        );
      }
      case 'create': {
        const scope = this.need(this.values.scope, '--scope admin|technician');
        const created = await this.client.call('POST', '/v1/admin/tokens', { schema: CreatedTokenSchema, json: { name: this.need(args[0], 'NAME'), scope } });
        return this.out(created, () => `Token ${created.name} (${created.scope}), shown only now:\n  ${created.token}\n`);
      }
      case 'revoke':
        await this.client.call('DELETE', `/v1/admin/tokens/${encodeURIComponent(this.need(args[0], 'ID'))}`);
        return this.out({ revoked: args[0] }, () => `Revoked token ${args[0]}\n`);
      default:
        throw new UsageError(`unknown tokens command "${action ?? ''}"`);
    }
  }
}

export async function main(argv: string[], io: CliIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const json = argv.includes('--json');
  let client: ServiceClient | undefined;
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const { values, positionals } = parsed;
    if (values.help || positionals.length === 0) {
      io.stdout(USAGE);
      return values.help ? 0 : 2;
    }
    const [resource, action, ...args] = positionals;
    const known = ['devices', 'groups', ...DOCUMENT_COLLECTIONS, 'content', 'updates', 'branding', 'settings', 'trust-anchors', 'tokens'];
    if (!known.includes(resource!)) throw new UsageError(`unknown command "${resource}"`);
    const connection = resolveConnection(values, env, io);
    client = new ServiceClient({ server: connection.server, ca: connection.ca, headers: { authorization: `Bearer ${connection.token}` }, timeoutMs: 60_000 });
    const commands = new Commands(client, values, io);
    let status: number | void = 0;
    if (resource === 'devices') await commands.devices(action, args);
    else if (resource === 'groups') await commands.groups(action, args);
    else if (DOCUMENT_COLLECTIONS.includes(resource!)) status = await commands.documents(resource as DocumentCollection, action, args);
    else if (resource === 'content') await commands.content(action, args);
    else if (resource === 'updates') await commands.updates(action, args);
    else if (resource === 'branding') await commands.branding(action);
    else if (resource === 'settings') await commands.settings(action);
    else if (resource === 'trust-anchors') await commands.trustAnchors(action, args);
    else await commands.tokens(action, args);
    return status ?? 0;
  } catch (error) {
    if (isCoded(error)) {
      reportError('selfdeploy-admin', error, io, json);
      if (error.code === 'USAGE' && !json) io.stderr('Run selfdeploy-admin --help for the commands.\n');
      return exitStatus(error.code);
    }
    io.stderr(`selfdeploy-admin: internal error: ${(error as Error).message}\n`);
    if (env['SELFDEPLOY_DEBUG']) io.stderr(`${(error as Error).stack ?? ''}\n`);
    return 70;
  } finally {
    client?.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  process.exitCode = await main(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
}
