#!/usr/bin/env node
// `selfdeploy-lab`: the lab from a shell. `up` (what `npm run lab` runs) is the whole product;
// `bench` a staging bench of many devices; `tpms` runs the swtpm TPMs alone.
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import type { Command } from 'commander';

import type { CliIo } from '../protocol/errors/report.js';
import { act, createProgram, optionError, runProgram, wholeNumber } from '../protocol/node/command-line.js';
import { InputFileError } from '../protocol/node/input-file.js';
import { agentCli } from '../main/installation/layout.js';
import { agentVersion } from '../main/installation/version.js';
import { FLEET_HEADER, fleetRow, formatFleet, runFleet, type FleetDevice } from './fleet.js';
import { parseFaultSpec, type FaultRule } from './fault-proxy.js';
import { startPostgres } from './postgres.js';
import { productLab } from './product.js';
import { SwtpmLab, type LabTpm } from './swtpm.js';

const SPEC = {
  name: 'selfdeploy-lab',
  description: 'The selfdeploy lab: software TPMs (swtpm) with EK certificates, the whole product on them, and staging benches of many devices.',
  internal: 'CLI_INTERNAL',
} as const;

function showTpmInfo(tpm: LabTpm): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [agentCli(), 'tpm', 'info', '--tcti', tpm.tcti], { stdio: 'inherit' });
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

function untilInterrupted(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

interface BenchFlags {
  devices?: number;
  store: 'sqlite' | 'postgres';
  faults?: FaultRule[];
  seed: number;
  espTimeout: number;
  replicas?: number;
  killReplica?: boolean;
  json?: boolean;
}

/** The staging bench's options, on `bench` and on `up` (where --devices makes it one). */
function benchOptions(command: Command, defaultDevices: number | undefined): Command {
  return command
    .option('--devices <N>', `how many devices, 1 to 64${defaultDevices ? ` (default ${defaultDevices})` : ''}`, (value) => {
      const n = Number(value);
      if (!/^\d+$/.test(value) || n < 1 || n > 64) throw optionError(command, '--devices must be a whole number from 1 to 64');
      return n;
    })
    .option(
      '--store <sqlite|postgres>',
      'the service database: SQLite, or a private PostgreSQL server',
      (value) => {
        if (value !== 'sqlite' && value !== 'postgres') throw optionError(command, `--store is sqlite or postgres, not "${value}"`);
        return value;
      },
      'sqlite',
    )
    .option('--faults <SPEC>', 'faults between agents and service: KIND[=N][@request|@response][:CHANCE], comma-separated; KIND latency=MS, reset, drop, 500, 502, 503, 429[=S], stall[=BYTES]', (value) => {
      try {
        return parseFaultSpec(value);
      } catch (error) {
        throw optionError(command, `--faults: ${(error as Error).message}`);
      }
    })
    .option('--seed <N>', 'the seed the faults are drawn with: the same seed, the same faults', wholeNumber('--seed', 0, Number.MAX_SAFE_INTEGER), 1)
    .option('--esp-timeout <MINUTES>', "the profile's ESP timeout, 1 to 1440 minutes", wholeNumber('--esp-timeout', 1, 1440, 'minutes'), 30)
    .option('--replicas <N>', 'N service processes (2 to 8) on one PostgreSQL behind HAProxy (needs --store postgres)', wholeNumber('--replicas', 2, 8))
    .option('--kill-replica', 'with --replicas: SIGKILL the last replica once it has served 10 requests, and start it again a second later');
}

/** `bench`: the fleet with a live table (redrawn on a terminal, a line per step change otherwise) and its report. */
async function bench(options: BenchFlags & { devices: number }, command: Command, io: CliIo): Promise<number> {
  // The bench's devices live in a temporary directory of their own, never in a lab directory.
  if (command.parent?.getOptionValueSource('dir') === 'cli') throw optionError(command, '--dir is for up, tpms, provision and info: a staging bench keeps its devices in a temporary directory');
  const out = (text: string) => (options.json ? io.stderr(text) : io.stdout(text));
  const tty = !options.json && (io.isTTY ?? false);
  const seen = new Map<string, string>();
  let last = 0;
  const update = (devices: readonly FleetDevice[]) => {
    if (tty) {
      if (Date.now() - last < 200) return;
      last = Date.now();
      out(`\x1b[H\x1b[2J${FLEET_HEADER}\n${devices.map((device) => fleetRow(device)).join('\n')}\n`);
      return;
    }
    for (const device of devices) {
      const row = fleetRow(device);
      const key = row.slice(0, 88); // device, phase, step, item, state — not the clock
      if (seen.get(device.serial) !== key) {
        seen.set(device.serial, key);
        out(`${row}\n`);
      }
    }
  };
  if (options.replicas !== undefined && options.store !== 'postgres') throw optionError(command, '--replicas share one PostgreSQL database: add --store postgres');
  if (options.killReplica && options.replicas === undefined) throw optionError(command, '--kill-replica needs --replicas N');
  if (options.replicas !== undefined && options.faults) throw optionError(command, '--replicas and --faults do not go together: the fault proxy stands where the load balancer does');
  const postgres = options.store === 'postgres' ? await startPostgres() : undefined;
  try {
    const db = postgres ? await postgres.createDatabase(`bench_fleet_${Date.now()}`) : undefined;
    out(`Staging bench: ${options.devices} devices on ${postgres ? 'PostgreSQL' : 'SQLite'}${options.replicas ? `, ${options.replicas} replicas behind HAProxy${options.killReplica ? ' (one killed mid-run)' : ''}` : ''}${options.faults ? `, faults ${JSON.stringify(options.faults.map((r) => r.fault))} (seed ${options.seed})` : ''}\n`);
    if (!tty) out(`${FLEET_HEADER}\n`);
    const report = await runFleet({
      devices: options.devices,
      ...(db ? { db } : {}),
      ...(options.faults ? { faults: { rules: options.faults, seed: options.seed } } : {}),
      ...(options.replicas ? { replicas: { count: options.replicas, ...(options.killReplica ? { kill: { afterAnswered: 10, downMs: 1000 } } : {}) } } : {}),
      espTimeoutMinutes: options.espTimeout,
      onUpdate: update,
      log: (line) => out(`bench: ${line}\n`),
    });
    if (options.json) io.stdout(JSON.stringify(report, null, 2) + '\n');
    else out(`\n${formatFleet(report)}\n`);
    return report.consistency.mismatches.length === 0 && report.failed.length === 0 ? 0 : 1;
  } finally {
    await postgres?.stop();
  }
}

const json = (command: Command) => command.optsWithGlobals<{ json?: boolean }>().json ?? false;

export function labProgram(io: CliIo): Command {
  const print = (line = '') => io.stdout(`${line}\n`);
  const program = createProgram({
    ...SPEC,
    version: agentVersion(),
    globalOptions: (root) => root.option('--dir <DIR>', 'the lab directory of up, tpms, provision and info', '.lab'),
  });
  const dirOf = (command: Command) => command.optsWithGlobals<{ dir: string }>().dir;
  const freshOption = (command: Command) => command.option('--fresh', 'delete the lab directory first (new CA, TPMs, tenant and device)');

  const up = program
    .command('up')
    .description('the whole product: a lab TPM, the service (SQLite, HTTPS on loopback), a demo tenant, the lab device registered from its own hash, and `selfdeploy deploy` to the kiosk; then run until Ctrl-C. With --devices N, a staging bench instead (as `bench`)');
  freshOption(up);
  up.option('--once', 'stop everything and exit when done').option('--ui', 'the graphical ESP in a browser (`selfdeploy ui`) instead of the terminal');
  benchOptions(up, undefined).action(
    act(async (options: BenchFlags & { fresh?: boolean; once?: boolean; ui?: boolean }, command: Command) => {
      if (options.devices !== undefined) return bench({ ...options, devices: options.devices, json: json(command) }, command, io);
      const given = (['faults', 'store', 'seed', 'espTimeout'] as const).filter((key) => command.getOptionValueSource(key) === 'cli');
      if (given.length) throw optionError(command, `${given.map((key) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} belong to a staging bench: add --devices N, or use bench`);
      if (options.fresh) rmSync(dirOf(command), { recursive: true, force: true });
      return productLab({ dir: dirOf(command), once: options.once ?? false, ui: options.ui ?? false, print });
    }),
  );

  benchOptions(
    program
      .command('bench')
      .description("a staging bench: N swtpm devices (own EK certificates) registered by one CSV import, self-deploying at once against one service, optionally through the fault proxy; a live table, then the outcomes, per-step p50/p99 and the service's records checked against the agents"),
    8,
  ).action(act((options: BenchFlags, command: Command) => bench({ ...options, devices: options.devices ?? 8, json: json(command) }, command, io)));

  const tpms = program.command('tpms').description('provision (the first time) and start lab TPMs; print their TCTI strings and `selfdeploy tpm info` of the first; run until Ctrl-C');
  freshOption(tpms);
  tpms
    .option('--tpms <N>', 'how many TPMs, 1 to 64', wholeNumber('--tpms', 1, 64), 1)
    .option('--once', 'stop them and exit when done')
    .action(
      act(async (options: { fresh?: boolean; tpms: number; once?: boolean }, command: Command) => {
        if (options.fresh) rmSync(dirOf(command), { recursive: true, force: true });
        const lab = await SwtpmLab.create({ dir: dirOf(command), keep: true, log: (line) => print(`lab: ${line}`) });
        try {
          if (lab.tpms.length < options.tpms) await lab.provisionMany(options.tpms - lab.tpms.length);
          const running = lab.tpms.slice(0, options.tpms);
          for (const tpm of running) await tpm.start();
          print();
          print(`Lab ${lab.dir}: ${running.length} swtpm TPM(s) running on loopback`);
          print(`  EK certificates chain to ${lab.caIntermediateCertPath}`);
          print(`  and its root ${lab.caRootCertPath}`);
          for (const tpm of running) print(`  ${tpm.name}: --tcti ${tpm.tcti}   (tpm2-tools: TPM2TOOLS_TCTI=${tpm.tcti})`);
          print();
          print(`$ selfdeploy tpm info --tcti ${running[0]!.tcti}`);
          const status = await showTpmInfo(running[0]!);
          if (status !== 0 || options.once) return status;
          print();
          print('The lab runs until you press Ctrl-C.');
          await untilInterrupted();
          print('\nlab: stopping');
          return 0;
        } finally {
          await lab.close();
        }
      }),
    );

  const provision = program.command('provision').description('provision TPMs without starting them');
  freshOption(provision);
  provision.option('--tpms <N>', 'how many TPMs to add, 1 to 64', wholeNumber('--tpms', 1, 64), 1).action(
    act(async (options: { fresh?: boolean; tpms: number }, command: Command) => {
      if (options.fresh) rmSync(dirOf(command), { recursive: true, force: true });
      const lab = await SwtpmLab.create({ dir: dirOf(command), keep: true, log: (line) => print(`lab: ${line}`) });
      try {
        await lab.provisionMany(options.tpms);
        print(`lab: ${lab.tpms.length} TPM(s) in ${lab.dir}`);
      } finally {
        await lab.close();
      }
    }),
  );

  const info = program.command('info').description("list the lab's TPMs and its CA certificates");
  info.action(
    act(async (_options: object, command: Command) => {
      // Looking changes nothing: a lab that is not there is said, not made.
      const dir = dirOf(command);
      if (!existsSync(join(dir, 'lab.json'))) {
        const why = existsSync(dir) ? 'it holds no lab.json' : 'the directory does not exist';
        throw new InputFileError('INPUT_FILE_UNREADABLE', `there is no lab in ${dir}: ${why} (selfdeploy-lab provision --dir ${dir} makes one)`);
      }
      const lab = await SwtpmLab.create({ dir, keep: true, log: () => undefined });
      try {
        const facts = { dir: lab.dir, caRoot: lab.caRootCertPath, caIssuer: lab.caIntermediateCertPath, tpms: lab.tpms.map((tpm) => ({ name: tpm.name, stateDir: tpm.stateDir })) };
        if (json(program)) return io.stdout(JSON.stringify(facts, null, 2) + '\n');
        print(`Lab        ${facts.dir}`);
        print(`CA root    ${facts.caRoot}`);
        print(`CA issuer  ${facts.caIssuer}`);
        for (const tpm of facts.tpms) print(`TPM        ${tpm.name}  ${tpm.stateDir}`);
      } finally {
        await lab.close();
      }
    }),
  );
  return program;
}

export function main(argv: string[], io: CliIo): Promise<number> {
  return runProgram(labProgram(io), argv, io, SPEC);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  // Output piped into `head` and closed early is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  process.exitCode = await main(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    isTTY: process.stdout.isTTY,
  });
}
