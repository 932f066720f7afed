// What every selfdeploy-admin command works with: the connection (flags, then environment, then the
// config file), the service's typed client, output as a table or --json, files and standard input,
// and errors that name what the person typed — a flag, or a field of their file — not an API field.
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';

import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

import type { AnswerOf, Endpoint, InputArgs } from '../../../protocol/api/endpoint.js';
import { admin } from '../../../protocol/api/endpoints.js';
import type { Device } from '../../../protocol/api/admin.js';
import { UsageError, type CliIo, type CodedError } from '../../../protocol/errors/report.js';
import { act, checkFlags, commandPath, progressBar, synopsis, type ActionResult } from '../../../protocol/node/command-line.js';
import { ServiceClient, ServiceProblem, type RequestOptions } from '../../../protocol/node/https-client.js';
import { jsonSafe, terminalSafe } from '../../../protocol/terminal-text.js';
import { InputFileError, readCaCertificate, readInputFile, readInputOrStdin } from '../../../protocol/node/input-file.js';
import type { FieldError } from '../../../protocol/problem.js';
import { ADMIN_RETRY } from '../../../protocol/retry.js';

const ConfigFileSchema = z.object({ server: z.string().optional(), ca: z.string().optional(), token: z.string().optional() });

export interface Connection {
  server: URL;
  ca: string;
  token: string;
}

export interface GlobalOptions {
  server?: string;
  ca?: string;
  token?: string;
  config?: string;
  json?: boolean;
}

/** Flags, then environment, then the config file. */
export function resolveConnection(values: GlobalOptions, env: NodeJS.ProcessEnv, io: CliIo): Connection {
  const configPath = values.config ?? env['SELFDEPLOY_ADMIN_CONFIG'] ?? join(env['XDG_CONFIG_HOME'] ?? join(homedir(), '.config'), 'selfdeploy', 'admin.json');
  let file: z.output<typeof ConfigFileSchema> = {};
  let exists = false;
  try {
    exists = statSync(configPath).isFile();
  } catch {
    if (values.config) throw new InputFileError('INPUT_FILE_UNREADABLE', `cannot read the config file (--config) ${configPath}: there is no such file`);
  }
  if (exists) {
    let document: unknown;
    try {
      document = JSON.parse(readInputFile(configPath, 'the config file').toString('utf8'));
    } catch (error) {
      if (error instanceof InputFileError) throw error;
      throw new InputFileError('INPUT_FILE_INVALID', `the config file ${configPath} is not JSON: ${(error as Error).message}`);
    }
    const parsed = ConfigFileSchema.safeParse(document);
    if (!parsed.success) throw new InputFileError('INPUT_FILE_INVALID', `the config file ${configPath} must hold {"server", "ca", "token"} strings`);
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
  return { server: url, ca: readCaCertificate(ca, '--ca'), token };
}

/** A document an administrator wrote: JSON when the name ends in .json, else YAML (aliases bounded); INPUT_FILE_INVALID when it is neither. */
export function parseDocument(text: string, path: string): unknown {
  const isJson = /\.json$/i.test(path);
  try {
    return isJson ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 100 });
  } catch (error) {
    throw new InputFileError('INPUT_FILE_INVALID', `${path} is not valid ${isJson ? 'JSON' : 'YAML'}: ${(error as Error).message.split('\n')[0]}`);
  }
}

export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ')).join('\n') + '\n';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** An argument the service would refuse, refused before anything is sent: the service's code, naming the argument. */
class ArgumentError extends Error implements CodedError {
  readonly code = 'VALIDATION_FAILED' as const;

  constructor(
    message: string,
    readonly errors: FieldError[],
  ) {
    super(message);
  }
}

/** Where a field of a request came from: a flag (`--group-tag`), or a place in a file. */
export type FieldSources = Readonly<Record<string, string>>;

/** One command's run: its options, the client (connected on first use), output and input. */
export class AdminSession {
  private connected: ServiceClient | undefined;

  constructor(
    readonly command: Command,
    readonly io: CliIo,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  get options(): GlobalOptions & Record<string, unknown> {
    return this.command.optsWithGlobals();
  }

  get json(): boolean {
    return this.options.json === true;
  }

  get client(): ServiceClient {
    if (!this.connected) {
      const connection = resolveConnection(this.options, this.env, this.io);
      this.connected = new ServiceClient({ server: connection.server, ca: connection.ca, headers: { authorization: `Bearer ${connection.token}` }, timeoutMs: 60_000, retry: ADMIN_RETRY });
    }
    return this.connected;
  }

  close(): void {
    this.connected?.close();
  }

  out(json: unknown, human: () => string): void {
    // What devices report (ESP texts, names) and the service answers is shown, never obeyed by the terminal.
    this.io.stdout(this.json ? jsonSafe(JSON.stringify(json, null, 2)) + '\n' : terminalSafe(human()));
  }

  /** A usage error of this command, with its usage line. */
  usage(message: string): UsageError {
    return new UsageError(message, { usage: synopsis(this.command), help: commandPath(this.command) });
  }

  /** A file the command names, or standard input for "-". */
  read(path: string, what: string): Promise<Buffer> {
    return readInputOrStdin(path, what, this.io.stdin);
  }

  /** A YAML or JSON document from a file (JSON by its .json name), or INPUT_FILE_INVALID with where it is wrong. */
  async document(path: string): Promise<unknown> {
    return parseDocument((await this.read(path, 'the file')).toString('utf8'), path);
  }

  /**
   * Checks a request built from flags before it is sent, with the service's own schema, so that a
   * refusal names the flag (`--accent-color`), not the API field (`body.accentColor`).
   */
  check<S extends z.ZodType>(schema: S, value: unknown, flags: FieldSources): z.output<S> {
    return checkFlags(this.command, schema, value, flags);
  }

  /**
   * Checks an argument the service would refuse before anything is sent (an upload that would be
   * left behind), and refuses it as the service would: VALIDATION_FAILED naming the argument.
   */
  checkArgument<S extends z.ZodType>(schema: S, value: unknown, name: string): z.output<S> {
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    const errors = parsed.error.issues.map((i) => ({ path: name, reason: i.message }));
    throw new ArgumentError(`${name} "${String(value)}" is not valid: ${errors.map((e) => e.reason).join('; ')}`, errors);
  }

  /**
   * Runs a call whose body came from flags or from a file: a VALIDATION_FAILED answer is told in
   * the words of the command line — the flags, or the file and the place in it.
   */
  async sent<T>(call: () => Promise<T>, sources: { flags?: FieldSources; file?: string }): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof ServiceProblem) || error.code !== 'VALIDATION_FAILED' || !error.errors?.length) throw error;
      const renamed: FieldError[] = error.errors.map((e) => {
        const field = (e.path ?? '').replace(/^body\.?/, '');
        const flag = sources.flags?.[field] ?? sources.flags?.[field.split('.')[0]!];
        if (flag) return { ...e, path: flag };
        return sources.file ? { ...e, path: field ? `${basename(sources.file)}: ${field}` : basename(sources.file) } : e;
      });
      const fromFlags = renamed.every((e) => e.path?.startsWith('--'));
      if (fromFlags) throw this.usage(renamed.map((e) => `${e.path}: ${e.reason}`).join('; '));
      throw new ServiceProblem('VALIDATION_FAILED', `${sources.file ?? 'the request'} is not valid: ${renamed.map((e) => `${e.path}: ${e.reason}`).join('; ')}`, error.status, renamed);
    }
  }

  /** A device by id, or by serial number when only one manufacturer has it. */
  async device(reference: string): Promise<Device> {
    if (UUID.test(reference)) return this.client.request(admin.devices.get, { params: { id: reference } });
    const page = await this.client.request(admin.devices.list, { query: { serialPrefix: reference, limit: 500 } });
    const matches = page.items.filter((d) => d.serial === reference);
    if (matches.length === 0) throw new ServiceProblem('NOT_FOUND', `no device with serial number ${reference}`);
    if (matches.length > 1) throw this.usage(`several devices have serial number ${reference} (${matches.map((d) => `${d.manufacturer}: ${d.id}`).join(', ')}); give the id`);
    return matches[0]!;
  }

  /** Draws a transfer's progress on a terminal (stderr), nothing elsewhere; returns what ends the line. */
  progress(label: string): { update: (done: number, total: number) => void; end: () => void } {
    return progressBar(this.io, label, this.json);
  }
}

/** An admin command's handler: its session, then the command's arguments and options. */
export type AdminHandler<A extends unknown[]> = (session: AdminSession, ...args: A) => Promise<ActionResult>;

/** Makes commander actions of admin handlers, each with its own session (closed when it ends). */
export function adminActions(io: CliIo, env: NodeJS.ProcessEnv) {
  return <A extends unknown[]>(handler: AdminHandler<A>) =>
    act(async (...args: [...A, Command]) => {
      const session = new AdminSession(args[args.length - 1] as Command, io, env);
      try {
        return await handler(session, ...(args.slice(0, -1) as A));
      } finally {
        session.close();
      }
    });
}

export type AdminActions = ReturnType<typeof adminActions>;

/** A command that asks one endpoint, which takes no input, and shows its answer (a table, a summary, or JSON). */
export function viewCommand<E extends Endpoint & { method: 'GET' }>(parent: Command, action: AdminActions, name: string, description: string, endpoint: E, render: (answer: AnswerOf<E>) => string): void {
  parent
    .command(name)
    .description(description)
    .action(
      action(async (session) => {
        // An endpoint with no path parameters, query or body: called with no input.
        const answer = await session.client.request(endpoint, ...([] as unknown as InputArgs<E, RequestOptions>));
        session.out(answer, () => render(answer));
      }),
    );
}
