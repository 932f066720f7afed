// What every selfdeploy command line shares (selfdeploy, selfdeploy-server, selfdeploy-admin,
// selfdeploy-lab), on commander: `--help` for every command and subcommand with that command's own
// usage, `--version`, "did you mean" for a mistyped command or option, an option a command does not
// take refused, a usage error as one line and the command's usage, `--json` for errors too, the
// catalogue's exit statuses, and an unexpected error reported as a defect — never a stack trace
// unless SELFDEPLOY_DEBUG asks for it.
import type { CommanderError } from 'commander';
import { Command, type Help, type Option } from 'commander';
import type { z } from 'zod';

import { UsageError, exitStatus, isCoded, reportError, type CliIo } from '../errors/report.js';

export interface ProgramSpec {
  name: string;
  version: string;
  /** One line: what the program is for. */
  description: string;
  /** The code an unexpected error is reported with: the agent's own, or any other program's. */
  internal: 'AGENT_INTERNAL' | 'CLI_INTERNAL';
  /** Text after the command list of the top-level help (configuration, environment). */
  epilog?: string;
  /** Options every command takes (the admin CLI's connection), besides --json. */
  globalOptions?: (root: Command) => void;
}

/** What a command's action may return: its exit status (0 when nothing). */
export type ActionResult = number | void;

class Exit extends Error {
  constructor(readonly status: number) {
    super(`exit ${status}`);
  }
}

/** The program's name and every command above `command`, as a person types them. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** An option as the usage shows it: --tcti STR, --json; the placeholders are the flags' own. */
function optionTerm(option: Option): string {
  const flag = option.long ?? option.short ?? option.flags;
  const value = option.flags.match(/[<[]([^>\]]+)[>\]]/)?.[1];
  const term = value ? `${flag} ${value}` : flag;
  return option.mandatory ? term : `[${term}]`;
}

const OWN_OPTIONS = new Set(['--help', '--version']);

/** The usage line of a command: its path, arguments and options, as derived from its declaration. */
export function synopsis(command: Command, from: Command | null = null): string {
  const path = commandPath(command).split(' ');
  const skip = from ? commandPath(from).split(' ').length : 0;
  const args = command.registeredArguments.map((a) => {
    const name = `${a.name()}${a.variadic ? '…' : ''}`;
    return a.required ? name : `[${name}]`;
  });
  const options = command.options.filter((o) => !OWN_OPTIONS.has(o.long ?? '') && !o.hidden).map(optionTerm);
  const subcommands = command.commands.length ? ['COMMAND'] : [];
  // A command's own usage says --json too, which every command of a program with it takes.
  let root = command;
  while (root.parent) root = root.parent;
  const json = root !== command && !command.commands.length && root.options.some((o) => o.long === '--json') ? ['[--json]'] : [];
  return [...path.slice(skip), ...subcommands, ...args, ...options, ...json].join(' ');
}

function leaves(command: Command): Command[] {
  return command.commands.flatMap((c) => (c.commands.length ? leaves(c) : [c]));
}

function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l) => indent + l).join('\n');
}

/** The help of a command with subcommands: every command under it with its usage and what it does. */
function groupHelp(command: Command, helper: Help): string {
  const rows = leaves(command).map((leaf) => ({ term: synopsis(leaf, command), text: leaf.description() }));
  const options = helper.visibleOptions(command).map((o) => ({ term: optionTerm(o).replace(/^\[|\]$/g, ''), text: o.description }));
  const global = command.parent ? helper.visibleGlobalOptions(command).map((o) => ({ term: optionTerm(o).replace(/^\[|\]$/g, ''), text: o.description })) : [];
  const column = 34;
  const list = (items: { term: string; text: string }[]) =>
    items
      .map(({ term, text }) =>
        term.length < column - 2
          ? `  ${term.padEnd(column - 2)}${wrap(text, 96 - column, '').replace(/\n/g, `\n${' '.repeat(column)}`)}`
          : `${wrap(term, 94, '  ').replace(/\n {2}/g, '\n      ')}\n${wrap(text, 96 - column, ' '.repeat(column))}`,
      )
      .join('\n');
  const root = command.parent === null;
  return [
    `Usage: ${synopsis(command)}`,
    '',
    command.description(),
    '',
    'Commands:',
    list(rows),
    '',
    'Options:',
    list([...options, ...global]),
    '',
    `Run "${commandPath(command)} COMMAND --help" for a command's own usage.`,
    ...(root && (command as ProgramCommand).epilog ? ['', (command as ProgramCommand).epilog!] : []),
    '',
  ].join('\n');
}

type ProgramCommand = Command & { epilog?: string; status?: number };

/**
 * A command's action: its result is the program's exit status. commander passes the command last;
 * the status is kept on the program's root, where runProgram reads it.
 */
export function act<A extends unknown[]>(action: (...args: A) => Promise<ActionResult>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const result = await action(...args);
    let root = args[args.length - 1] as Command;
    while (root.parent) root = root.parent;
    (root as ProgramCommand).status = typeof result === 'number' ? result : 0;
  };
}

/** The root command of a program; its commands are added to it, then `runProgram` runs it. */
export function createProgram(spec: ProgramSpec): Command {
  const root: ProgramCommand = new Command(spec.name)
    .description(spec.description)
    .version(`${spec.name} ${spec.version}`, '--version', 'print the version and exit')
    .helpOption('--help', 'show the usage of this command')
    .helpCommand(false)
    .showSuggestionAfterError(true)
    .allowExcessArguments(false)
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false });
  root.epilog = spec.epilog;
  spec.globalOptions?.(root);
  root.option('--json', 'machine-readable output, and a failure as one JSON object on stdout');
  return root;
}

/** Settings each command needs (commander copies only some to the commands added later). */
function prepare(command: Command, io: CliIo): void {
  command
    .exitOverride((error: CommanderError) => {
      throw fromCommander(error, command);
    })
    .configureOutput({ writeOut: (text) => io.stdout(text), writeErr: () => undefined, outputError: () => undefined })
    .configureHelp({
      showGlobalOptions: true,
      commandUsage: (c) => synopsis(c),
      ...(command.commands.length ? { formatHelp: (c: Command, helper: Help) => groupHelp(c, helper) } : {}),
    })
    .helpCommand(false)
    .showSuggestionAfterError(true)
    .allowExcessArguments(false);
  for (const sub of command.commands) prepare(sub, io);
}

function fromCommander(error: CommanderError, command: Command): Error {
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return new Exit(0);
  const where = { usage: synopsis(command), help: commandPath(command) };
  if (error.code === 'commander.help') {
    const names = command.commands.map((c) => c.name());
    return new UsageError(`"${commandPath(command)}" needs a command: ${names.join(', ')}`, where);
  }
  if (error.code === 'commander.missingMandatoryOptionValue') {
    const flag = /option '([^']+)'/.exec(error.message)?.[1]?.replace(/<([^>]+)>/g, '$1');
    if (flag) return new UsageError(`${commandPath(command).split(' ').slice(1).join(' ') || commandPath(command)} needs ${flag}`, where);
  }
  // commander's text, on one line: "unknown command 'lsit' (did you mean list?)".
  const message = error.message
    .replace(/^error: /, '')
    .replace(/\n\(Did you mean (.*)\?\)/, ' (did you mean $1?)')
    .replace(/<([^>]+)>/g, '$1')
    .replace(/\s*\n\s*/g, ' ');
  return new UsageError(message, where);
}

/**
 * Runs `root` on `argv` (without node and the script): the action's exit status, or the failure
 * reported as the catalogue says (human on stderr, or JSON on stdout with --json) and its exit status.
 */
export async function runProgram(root: Command, argv: readonly string[], io: CliIo, spec: Pick<ProgramSpec, 'internal'>, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  prepare(root, io);
  const json = argv.includes('--json');
  try {
    await root.parseAsync([...argv], { from: 'user' });
    return (root as ProgramCommand).status ?? 0;
  } catch (error) {
    if (error instanceof Exit) return error.status;
    if (isCoded(error)) {
      reportError(root.name(), error, io, json);
      return exitStatus(error.code);
    }
    // Not a catalogued failure: a defect. Said plainly, the stack only when asked for.
    const message = error instanceof Error ? error.message : String(error);
    reportError(root.name(), { code: spec.internal, message }, io, json);
    if (env['SELFDEPLOY_DEBUG']) io.stderr(`${error instanceof Error ? (error.stack ?? '') : ''}\n`);
    return exitStatus(spec.internal);
  }
}

/**
 * Checks what a command built from its flags against the schema the receiver applies, before
 * anything is done: a refusal names the flags the person typed (`--accent-color`), never the
 * fields they became (`accentColor`). `flags` maps a field path (or its first segment) to its flag.
 */
export function checkFlags<S extends z.ZodType>(command: Command, schema: S, value: unknown, flags: Readonly<Record<string, string>>): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${flags[i.path.join('.')] ?? flags[String(i.path[0])] ?? i.path.join('.')}: ${i.message}`);
  throw optionError(command, issues.join('; '));
}

/** A usage error about one option, with that command's usage. */
export function optionError(command: Command, message: string): UsageError {
  return new UsageError(message, { usage: synopsis(command), help: commandPath(command) });
}

/** Reads a whole number option within bounds, naming the flag when it is not one. */
export function wholeNumber(flag: string, min: number, max: number, what = 'a whole number'): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag} takes ${what} from ${min} to ${max}, not "${value}"`);
    return n;
  };
}

/** Reads one of a closed set of words. */
export function oneOf<const T extends string>(flag: string, values: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(values as readonly string[]).includes(value)) throw new UsageError(`${flag} takes ${values.join(' or ')}, not "${value}"`);
    return value as T;
  };
}

/** Collects a repeatable option's values. */
export function repeated(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * A long job's progress on a terminal (stderr): a bar, the percentage, and `done` of `total` in
 * the given unit (MiB by default); nothing when stderr is not a terminal or the output is JSON.
 * `end` finishes the line.
 */
export function progressBar(io: CliIo, label: string, json = false, unit: (n: number) => string = (n) => `${(n / 1024 / 1024).toFixed(1)} MiB`): { update: (done: number, total: number) => void; end: () => void } {
  if (!io.isTTY || json) return { update: () => undefined, end: () => undefined };
  let last = -1;
  return {
    update: (done, total) => {
      const percent = total ? Math.floor((done / total) * 100) : 100;
      if (percent === last) return;
      last = percent;
      const width = 30;
      const filled = Math.round((percent / 100) * width);
      io.stderr(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(percent).padStart(3)}%  ${unit(done)} of ${unit(total)}`);
    },
    end: () => {
      if (last >= 0) io.stderr('\n');
    },
  };
}
