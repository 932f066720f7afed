// The wire between the unprivileged agent and selfdeploy-helper (root): one JSON object per line
// over a UNIX socket, each request answered in order. Every request is parsed here, strictly (no
// unknown keys, bounded sizes), before the helper looks at it; the types are inferred, not re-declared.
import { z } from 'zod';

import { versionField } from '../../protocol/api/updates.js';

/** Largest request line: a file of up to 16 MiB, base64-encoded, and its envelope. */
export const MAX_REQUEST_BYTES = 24 * 1024 * 1024;
export const DEFAULT_SOCKET = '/run/selfdeploy/helper.sock';

const devicePath = z
  .string()
  .min(2)
  .max(4096)
  .startsWith('/')
  .refine((p) => !p.includes('\0'), 'must not hold NUL');
const item = z.string().min(1).max(256);
const mode = z.number().int().min(0).max(0o777);
const owner = z.object({ uid: z.number().int().min(0).max(0x7fffffff), gid: z.number().int().min(0).max(0x7fffffff) }).strict();
const argv = z.array(z.string().min(1).max(4096)).min(1).max(64);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const base64 = z.string().max(MAX_REQUEST_BYTES).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');
const exitCodes = z.object({ success: z.array(z.number().int().min(0).max(255)).min(1).max(32), rebootRequired: z.array(z.number().int().min(0).max(255)).max(32) }).strict();
/** The agent's bearer token for the service, so that the helper can ask what is assigned to the device. */
const token = z.string().min(1).max(4096).optional();
const content = { file: devicePath, sha256, token };

const id = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** A domain join (TargetPort.joinDomain): the helper checks each value against the assigned directory-join policy. */
const domainJoin = z
  .object({
    domain: z.string().min(1).max(253),
    domainController: z.string().min(1).max(253).nullable(),
    organizationalUnit: z.string().min(1).max(1024).nullable(),
    computerName: z.string().min(1).max(15),
    hostFqdn: z.string().min(1).max(253),
    user: z.string().min(1).max(64),
    password: z.string().min(1).max(256),
  })
  .strict();

export const HelperRequestSchema = z.discriminatedUnion('op', [
  z.object({ id, op: z.literal('writeFile'), item, token, path: devicePath, content: base64, mode, owner: owner.optional() }).strict(),
  z.object({ id, op: z.literal('writeSymlink'), item, token, path: devicePath, linkTarget: z.string().min(1).max(4096) }).strict(),
  z.object({ id, op: z.literal('ensureDir'), item, token, path: devicePath, mode, owner: owner.optional() }).strict(),
  z.object({ id, op: z.literal('check'), path: devicePath, linkTarget: z.string().min(1).max(4096).optional() }).strict(),
  z.object({ id, op: z.literal('readFile'), path: devicePath }).strict(),
  z.object({ id, op: z.literal('stat'), path: devicePath }).strict(),
  z.object({ id, op: z.literal('command'), item, token, argv, inverse: argv.nullable() }).strict(),
  z.object({ id, op: z.literal('joinDomain'), item, token, join: domainJoin }).strict(),
  z
    .object({
      id,
      op: z.literal('runScript'),
      item,
      script: z
        .object({ ...content, interpreter: z.enum(['sh', 'bash']), timeoutSeconds: z.number().int().min(1).max(4 * 3600), logPath: devicePath, name: z.string().min(1).max(256), exitCodes: exitCodes.optional() })
        .strict(),
    })
    .strict(),
  z
    .object({
      id,
      op: z.literal('installPackage'),
      item,
      install: z
        .object({ ...content, format: z.enum(['deb', 'tar']), destination: devicePath.or(z.literal('/')), name: z.string().min(1).max(256), timeoutSeconds: z.number().int().min(1).max(4 * 3600), logPath: devicePath })
        .strict(),
    })
    .strict(),
  z.object({ id, op: z.literal('probe'), argv, timeoutSeconds: z.number().int().min(1).max(300) }).strict(),
  /** A critical agent release (a deb) the agent downloaded: the helper checks it against the service's feed itself, then installs it. */
  z.object({ id, op: z.literal('installUpdate'), update: z.object({ file: devicePath, sha256, version: versionField }).strict() }).strict(),
  /** The distribution's updates: upgrades of installed packages from the system's own repositories only. */
  z
    .object({
      id,
      op: z.literal('upgradePackages'),
      request: z
        .object({ mode: z.enum(['security', 'packages']), packages: z.array(z.string().regex(/^[a-z0-9][a-z0-9+.-]{1,127}$/)).max(100), timeoutSeconds: z.number().int().min(1).max(4 * 3600), logPath: devicePath })
        .strict(),
    })
    .strict(),
  /** A restart for updates that need one, while /run/reboot-required says so. */
  z.object({ id, op: z.literal('reboot') }).strict(),
  z.object({ id, op: z.literal('undoAll') }).strict(),
  /** Who is at the other end: the helper's version and target, for diagnostics and the agent's start-up check. */
  z.object({ id, op: z.literal('hello') }).strict(),
]);
export type HelperRequest = z.output<typeof HelperRequestSchema>;
export type HelperOp = HelperRequest['op'];

const error = z.object({ code: z.string().max(64), message: z.string().max(8192) });

export const HelperResponseSchema = z.union([
  z.object({ id, ok: z.literal(true), result: z.unknown() }),
  z.object({ id: id.nullable(), ok: z.literal(false), error }),
]);
export type HelperResponse = z.output<typeof HelperResponseSchema>;

// What each operation answers, checked by the client before it is used.
export const TargetStatSchema = z.object({
  type: z.enum(['file', 'dir', 'symlink', 'other']),
  mode: z.number().int(),
  uid: z.number().int(),
  gid: z.number().int(),
  link: z.string().optional(),
});
export const RunOutcomeSchema = z.object({ rebootRequired: z.boolean() });
export const UndoReportSchema = z.object({ restored: z.number().int(), removed: z.number().int(), commands: z.number().int(), left: z.array(z.string()), notUndone: z.array(z.string()).default([]) });
export const InstalledReleaseSchema = z.object({ installed: z.string() });
export const OsUpdateResultSchema = z.object({ upgraded: z.array(z.object({ name: z.string(), from: z.string(), to: z.string() })), rebootRequired: z.boolean() });
export const HelloSchema = z.object({ helper: z.literal('selfdeploy-helper'), version: z.string(), live: z.boolean() });
