// How every command line reports a failure: catalogue code, title, what happened (with the rows
// or fields at fault), what to do, where to read more — never a stack trace. Human text on
// stderr, or one JSON object on stdout with --json. A usage error is shorter: one line of what
// was wrong, and the command's usage with where to read more.
import type { FieldError } from '../problem.js';
import { jsonSafe, terminalSafe } from '../terminal-text.js';
import { catalogueEntry, docsAnchor, isErrorCode, type ErrorCode } from './catalogue.js';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** stdout is a terminal (the deploy ESP redraws in place; uploads draw a progress bar). */
  isTTY?: boolean;
  /** The standard input, for commands that read a file named "-". */
  stdin?: () => AsyncIterable<Uint8Array | string>;
}

export class UsageError extends Error {
  readonly code = 'USAGE' as const;
  /** The usage line of the command the person was typing, when it is known. */
  usage: string | undefined;
  /** The command whose --help to point at ("selfdeploy-admin tokens list"). */
  help: string | undefined;

  constructor(message: string, where?: { usage?: string; help?: string }) {
    super(message);
    this.usage = where?.usage;
    this.help = where?.help;
  }
}

export interface CodedError {
  code: ErrorCode;
  message: string;
  errors?: FieldError[] | undefined;
}

export function isCoded(error: unknown): error is CodedError {
  return error instanceof Error && isErrorCode((error as Error & { code?: unknown }).code);
}

/** The exit status of a command line that fails with `code`, as the catalogue gives it. */
export function exitStatus(code: ErrorCode): number {
  return catalogueEntry(code).exit;
}

function where(error: FieldError): string {
  if (error.row !== undefined) return `row ${error.row}${error.column ? `, ${error.column}` : ''}: `;
  return error.path ? `${error.path}: ` : '';
}

export function reportError(program: string, error: CodedError, io: CliIo, json: boolean): void {
  const entry = catalogueEntry(error.code);
  const docs = `docs/${docsAnchor(entry.code)}`;
  const usage = error instanceof UsageError ? error : undefined;
  const help = usage ? `${usage.help ?? program} --help` : undefined;
  if (json) {
    const body = {
      code: entry.code,
      ...(entry.hresult ? { hresult: entry.hresult } : {}),
      title: entry.title,
      message: error.message,
      ...(error.errors?.length ? { errors: error.errors } : {}),
      remedy: entry.remedy,
      ...(usage?.usage ? { usage: usage.usage } : {}),
      ...(help ? { help } : {}),
      docs,
    };
    io.stdout(jsonSafe(JSON.stringify({ error: body }, null, 2)) + '\n');
    return;
  }
  if (usage) {
    // One line of what was wrong, and one of how the command goes (its usage when it is short).
    const hint = usage.usage && usage.usage.length <= 100 ? `Usage: ${usage.usage}  (more: ${help})` : `Usage: see ${help}`;
    io.stderr(`${program}: USAGE: ${terminalSafe(error.message, { oneLine: true })}\n  ${hint}\n`);
    return;
  }
  const code = entry.hresult ? `${entry.code} (${entry.hresult})` : entry.code;
  // A message or field error may quote what a service or a device said: shown, never obeyed by the terminal.
  const details = (error.errors ?? []).slice(0, 50).map((e) => `    ${terminalSafe(`${where(e)}${e.reason}`, { oneLine: true })}`);
  if ((error.errors?.length ?? 0) > 50) details.push(`    … and ${error.errors!.length - 50} more (--json lists them all)`);
  io.stderr([`${program}: ${code}: ${entry.title}`, `  ${terminalSafe(error.message)}`, ...details, `  What to do: ${entry.remedy}`, `  More: ${docs}`, ''].join('\n'));
}
