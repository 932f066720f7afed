// selfdeploy-helper's server: the privileged half of device setup. It listens on a UNIX socket
// that only root and the "selfdeploy" group may open (0660 in a root-owned directory), parses each
// request strictly, checks it against the allow-list — paths as given and as resolved, every
// directory on the way owned by root, commands with the inverse it computes itself, content it
// copies and hashes itself and, when a service is configured, only content the service assigned
// to this device — and only then carries it out through its own Target and change log.
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname, join, relative, sep } from 'node:path';

import type { CodedError } from '../../protocol/errors/report.js';
import { describeIssues } from '../../protocol/validation.js';
import { statePath } from '../storage/state-dir.js';
import { ChangeLog } from '../target/changes.js';
import { Target } from '../target/target.js';
import { ANY_ITEM_SCOPES, END_STATE_SCOPE, OOBE_SCOPE, PLACES, itemScope, type Scope } from '../target/places.js';
import type { Owner } from '../target/port.js';
import { commandRefusal, dirRefusal, installRefusal, joinRefusal, logRefusal, readRefusal, scriptRefusal, symlinkRefusal, writeRefusal } from './allow-list.js';
import type { ItemAuthority } from './assignments.js';
import { installRelease, type ReleaseAuthority } from './releases.js';
import { HelperError } from './errors.js';
import { HelperRequestSchema, MAX_REQUEST_BYTES, type HelperRequest, type HelperResponse } from './protocol.js';

export interface HelperOptions {
  socket: string;
  /** "/" on a device; a scratch directory in tests. */
  root: string;
  /** The helper's own state (its change log): root's, never the agent's. */
  state: string;
  /** The group whose members may connect (the agent's), or null for root only. */
  group: number | null;
  /** Where the agent downloads content; scripts and packages are taken from there only. */
  contentDir: string;
  /**
   * The items assigned to this device (the service, asked with the agent's token): a change is
   * accepted only for one of them, where its kind puts things. null only when the configuration
   * says so explicitly (a lab): then any item's places, and any content.
   */
  authority: ItemAuthority | null;
  /** Checks an agent release against the service's update feed; null: the helper installs no updates. */
  releases?: ReleaseAuthority | null;
  version: string;
  /** Who detection commands run as: nobody. */
  probeAs?: { uid: number; gid: number };
  log?: (event: string, detail: Record<string, unknown>) => void;
}

export const NOBODY = { uid: 65534, gid: 65534 };

/** An item's key as the agent names it in requests: ID@VERSION. */
const ITEM_KEY = /^[A-Za-z0-9-]{1,64}@[0-9]{1,9}$/;

export class HelperServer {
  private readonly target: Target;
  private server: Server | undefined;
  /** One operation at a time, whoever asks: the target's read-modify-write steps are not concurrent. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly sockets = new Set<Socket>();

  constructor(private readonly options: HelperOptions) {
    this.target = new Target(options.root, new ChangeLog(statePath(options.state, 'changes')), options.probeAs ?? (process.getuid?.() === 0 ? NOBODY : undefined));
  }

  async start(): Promise<void> {
    const { socket, group } = this.options;
    mkdirSync(dirname(socket), { recursive: true, mode: 0o750 });
    rmSync(socket, { force: true });
    const server = createServer((connection) => this.serve(connection));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socket, () => resolve());
    });
    chmodSync(socket, 0o660);
    if (group !== null && process.getuid?.() === 0) {
      chownSync(socket, 0, group);
      chownSync(dirname(socket), 0, group);
      chmodSync(dirname(socket), 0o750);
    }
    this.server = server;
    this.log('listening', { socket, root: this.target.root, group, assignmentsChecked: this.options.authority !== null });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    rmSync(this.options.socket, { force: true });
  }

  private log(event: string, detail: Record<string, unknown>): void {
    this.options.log?.(event, detail);
  }

  private serve(connection: Socket): void {
    this.sockets.add(connection);
    connection.once('close', () => this.sockets.delete(connection));
    connection.on('error', () => connection.destroy());
    let buffered: Buffer[] = [];
    let size = 0;
    let chain = Promise.resolve();
    const answer = (response: HelperResponse) => {
      if (!connection.destroyed) connection.write(JSON.stringify(response) + '\n');
    };
    connection.on('data', (chunk: Buffer) => {
      let start = 0;
      for (let newline = chunk.indexOf(10); newline >= 0; newline = chunk.indexOf(10, start)) {
        const line = Buffer.concat([...buffered, chunk.subarray(start, newline)]).toString('utf8');
        buffered = [];
        size = 0;
        start = newline + 1;
        chain = chain.then(async () => answer(await this.handle(line)));
      }
      buffered.push(chunk.subarray(start));
      size += chunk.length - start;
      if (size > MAX_REQUEST_BYTES) {
        answer({ id: null, ok: false, error: { code: 'HELPER_REQUEST_INVALID', message: `a request longer than ${MAX_REQUEST_BYTES} bytes` } });
        this.log('refused', { reason: 'request too large' });
        connection.end();
        connection.destroy();
      }
    });
  }

  private async handle(line: string): Promise<HelperResponse> {
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      return { id: null, ok: false, error: { code: 'HELPER_REQUEST_INVALID', message: 'a request that is not JSON' } };
    }
    const parsed = HelperRequestSchema.safeParse(json);
    if (!parsed.success) {
      const id = typeof (json as { id?: unknown })?.id === 'number' ? (json as { id: number }).id : null;
      const why = describeIssues(parsed.error, '(request)');
      this.log('refused', { reason: 'malformed', issue: why });
      return { id: Number.isSafeInteger(id) && id! >= 0 ? id : null, ok: false, error: { code: 'HELPER_REQUEST_INVALID', message: `malformed request: ${why}` } };
    }
    const request = parsed.data;
    const run = this.queue.then(() => this.perform(request));
    this.queue = run.catch(() => undefined);
    try {
      const result = await run;
      // A command says whether it ran (hostnamectl on a system not booted with systemd does not).
      this.log('done', { ...describe(request), ...(request.op === 'command' ? { ran: result } : {}) });
      return { id: request.id, ok: true, result };
    } catch (error) {
      const code = typeof (error as CodedError).code === 'string' ? (error as CodedError).code : 'ITEM_FAILED';
      this.log(code === 'HELPER_REFUSED' ? 'refused' : 'failed', { ...describe(request), code, reason: (error as Error).message });
      return { id: request.id, ok: false, error: { code, message: (error as Error).message } };
    }
  }

  /** The scopes a request may act in: the OOBE, the end state, or the assigned item it names. */
  private async scopes(item: string, token: string | undefined): Promise<readonly Scope[]> {
    if (item === 'oobe') return [OOBE_SCOPE];
    if (item === 'end-state') return [END_STATE_SCOPE];
    if (!ITEM_KEY.test(item)) throw new HelperError('HELPER_REFUSED', `"${item}" is neither the OOBE, the end state nor an item (ID@VERSION), so nothing is changed for it`);
    if (!this.options.authority) return ANY_ITEM_SCOPES;
    return [itemScope(await this.options.authority.item(item, token))];
  }

  /** Refuses unless `check` accepts the path as given and as it resolves on disk. */
  private allow(path: string, check: (path: string) => string | null): void {
    const given = check(path);
    if (given !== null) throw new HelperError('HELPER_REFUSED', given);
    const place = this.target.place(path);
    const resolved = this.target.devicePath(place);
    const real = resolved === path ? null : check(resolved);
    if (real !== null) throw new HelperError('HELPER_REFUSED', `${path} resolves to ${resolved}: ${real}`);
    this.trustedWay(place);
  }

  /** A path the agent may read; `configFile` when it is readable only as a config-file policy's target. */
  private readable(path: string): { configFile: boolean } {
    let configFile = false;
    this.allow(path, (p) => {
      const verdict = readRefusal(p);
      if (verdict.refused !== null) return verdict.refused;
      configFile ||= verdict.configFile;
      return null;
    });
    return { configFile };
  }

  /** A write of `scopes`: its place and mode, as given and as resolved, and what it puts there. */
  private writable(scopes: readonly Scope[], path: string, mode: number, owner: Owner | undefined, next: Buffer): void {
    this.allow(path, (p) => writeRefusal(scopes, p, mode, owner));
    const why = writeRefusal(scopes, path, mode, owner, { next, current: this.text(path), read: (p) => this.text(p) });
    if (why !== null) throw new HelperError('HELPER_REFUSED', why);
  }

  /** A file of the device as text (what is there now, the accounts a rule looks up), or null; never through a symlink. */
  private text(path: string): string | null {
    try {
      const place = this.target.place(path);
      if (!lstatSync(place).isFile()) return null;
      return readFileSync(place, 'utf8');
    } catch {
      return null;
    }
  }

  /** Content a script or package runs: from the download directory, and the item's own when bound to one. */
  private ownContent(scopes: readonly Scope[], sha256: string): void {
    const bound = scopes.map((scope) => scope.sha256).filter((digest): digest is string => digest !== null);
    if (bound.length && !bound.includes(sha256)) throw new HelperError('CONTENT_NOT_ASSIGNED', `content ${sha256} is not the content of ${scopes[0]!.label}`);
  }

  /**
   * Every directory from the root down to `place` that exists must belong to root and be writable
   * by no one else: otherwise someone could swap a directory for a symlink between check and write.
   */
  private trustedWay(place: string): void {
    if (process.getuid?.() !== 0) return; // an unprivileged helper (tests) can only write what its user may anyway
    const parts = relative(this.target.root, dirname(place)).split(sep).filter(Boolean);
    let dir = this.target.root;
    for (const part of [null, ...parts]) {
      if (part !== null) dir = join(dir, part);
      let stat;
      try {
        stat = lstatSync(dir);
      } catch {
        return; // what does not exist yet the target creates, as root
      }
      if (stat.uid !== 0 || (stat.mode & 0o022) !== 0) {
        throw new HelperError('HELPER_REFUSED', `${this.target.devicePath(dir)} can be changed by another user than root, so nothing is written under it`);
      }
    }
  }

  private content(content: { file: string; sha256: string }): void {
    const dir = this.options.contentDir.replace(/\/$/, '');
    if (content.file !== `${dir}/${content.sha256}`) throw new HelperError('HELPER_REFUSED', `content is taken from ${dir}/<sha256> only, not ${content.file}`);
  }

  private async perform(request: HelperRequest): Promise<unknown> {
    const t = this.target;
    switch (request.op) {
      case 'hello':
        return { helper: 'selfdeploy-helper', version: this.options.version, live: t.live };
      case 'writeFile': {
        const content = Buffer.from(request.content, 'base64');
        this.writable(await this.scopes(request.item, request.token), request.path, request.mode, request.owner, content);
        return t.writeFile(request.item, request.path, content, request.mode, request.owner);
      }
      case 'writeSymlink': {
        const scopes = await this.scopes(request.item, request.token);
        this.allow(request.path, (p) => symlinkRefusal(scopes, p, request.linkTarget));
        return t.writeSymlink(request.item, request.path, request.linkTarget);
      }
      case 'ensureDir': {
        const scopes = await this.scopes(request.item, request.token);
        this.allow(request.path, (p) => dirRefusal(scopes, p, request.mode, request.owner));
        return t.ensureDir(request.item, request.path, request.mode, request.owner);
      }
      case 'check':
        this.readable(request.path);
        return t.check(request.path, request.linkTarget);
      case 'readFile': {
        const { configFile } = this.readable(request.path);
        const place = t.place(request.path);
        let stat;
        try {
          stat = lstatSync(place);
        } catch {
          return null;
        }
        if (stat.isSymbolicLink()) throw new HelperError('HELPER_REFUSED', `${request.path} is a symlink; the helper does not read through symlinks`);
        // A config file outside the managed places is read only if anyone may read it anyway.
        if (configFile && (statSync(place).mode & 0o004) === 0) throw new HelperError('HELPER_REFUSED', `${request.path} is not world-readable, so the helper does not read it for the agent`);
        if (stat.size > 16 * 1024 * 1024) throw new HelperError('HELPER_REFUSED', `${request.path} is larger than 16 MiB`);
        const bytes = await t.readFile(request.path);
        return bytes === null ? null : bytes.toString('base64');
      }
      case 'stat':
        this.readable(request.path);
        return t.stat(request.path);
      case 'command': {
        const verdict = commandRefusal(await this.scopes(request.item, request.token), request.argv, request.inverse);
        if (verdict.refused !== null) throw new HelperError('HELPER_REFUSED', verdict.refused);
        return t.command(request.item, request.argv as [string, ...string[]], verdict.inverse as [string, ...string[]] | null);
      }
      case 'joinDomain': {
        const why = joinRefusal(await this.scopes(request.item, request.token), request.join);
        if (why) throw new HelperError('HELPER_REFUSED', why);
        return t.joinDomain(request.item, request.join);
      }
      case 'runScript': {
        const { script } = request;
        const scopes = await this.scopes(request.item, script.token);
        const why = scriptRefusal(scopes) ?? logRefusal(scopes, script.logPath);
        if (why) throw new HelperError('HELPER_REFUSED', why);
        this.content(script);
        this.ownContent(scopes, script.sha256);
        return t.runScript(request.item, script);
      }
      case 'installPackage': {
        const { install } = request;
        const scopes = await this.scopes(request.item, install.token);
        const why = installRefusal(scopes, install.format, install.destination) ?? logRefusal(scopes, install.logPath);
        if (why) throw new HelperError('HELPER_REFUSED', why);
        this.content(install);
        this.ownContent(scopes, install.sha256);
        return t.installPackage(request.item, install);
      }
      case 'probe':
        return t.probe(request.argv as [string, ...string[]], request.timeoutSeconds);
      case 'installUpdate': {
        const { update } = request;
        this.content(update);
        if (!this.options.releases) throw new HelperError('HELPER_REFUSED', 'this helper has no service to check agent releases against, so it installs none');
        return installRelease(t, update, this.options.version, this.options.releases);
      }
      case 'upgradePackages':
        // Only installed packages are upgraded (apt-get install --only-upgrade), from the repositories the system has; apt's log in its one place.
        if (request.request.logPath !== PLACES.osUpdatesLog) throw new HelperError('HELPER_REFUSED', `the OS updates' log is ${PLACES.osUpdatesLog}, not ${request.request.logPath}`);
        if ((request.request.mode === 'packages') !== (request.request.packages.length > 0)) throw new HelperError('HELPER_REFUSED', 'packages are named exactly when the mode is "packages"');
        return t.upgradePackages(request.request);
      case 'reboot':
        return t.reboot();
      case 'undoAll':
        return t.undoAll();
    }
  }
}

/** What the helper's log says about a request: never file contents or tokens. */
function describe(request: HelperRequest): Record<string, unknown> {
  const detail: Record<string, unknown> = { op: request.op };
  if ('item' in request) detail['item'] = request.item;
  if ('path' in request) detail['path'] = request.path;
  if (request.op === 'command' || request.op === 'probe') detail['argv'] = request.argv;
  if (request.op === 'runScript') detail['sha256'] = request.script.sha256;
  // Never the password.
  if (request.op === 'joinDomain') Object.assign(detail, { domain: request.join.domain, computerName: request.join.computerName, user: request.join.user });
  if (request.op === 'installPackage') detail['sha256'] = request.install.sha256;
  if (request.op === 'installUpdate') Object.assign(detail, { sha256: request.update.sha256, version: request.update.version });
  if (request.op === 'upgradePackages') Object.assign(detail, { mode: request.request.mode, packages: request.request.packages });
  return detail;
}
