#!/usr/bin/env node
// `selfdeploy-lab`: the lab from a shell. `up` (what `npm run lab` runs) is the whole product;
// `tpms` runs the swtpm TPMs alone.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { FLEET_HEADER, fleetRow, formatFleet, runFleet, type FleetDevice } from './fleet.js';
import { parseFaultSpec } from './fault-proxy.js';
import { startPostgres } from './postgres.js';
import { productLab } from './product.js';
import { SwtpmLab, type LabTpm } from './swtpm.js';

const USAGE = `Usage: selfdeploy-lab <command> [options]

Commands:
  up         the whole product: a lab TPM, the service (SQLite, HTTPS on loopback), a demo
             tenant, the lab device registered from its own hash, and \`selfdeploy deploy\` to
             the kiosk; then run until Ctrl-C (or --once). With --ui the agent shows the
             graphical ESP (\`selfdeploy ui\`): the URL is printed, and Chromium opens in an
             app window where a display exists
  bench      a staging bench: --devices N swtpm devices (own EK certificates), registered by
             one CSV import of their hashes, self-deploying at once (each \`selfdeploy deploy\`
             in its own process) against one service, optionally through the fault proxy;
             a live table, then a summary (succeeded, failed with codes, wall time, per-step
             p50/p99) and the service's records checked against the agents' reports.
             \`up --devices N\` does the same
  tpms       provision (first time) and start lab TPMs; print their TCTI strings and
             \`selfdeploy tpm info\` of the first; run until Ctrl-C (or --once)
  provision  provision TPMs without starting them
  info       list the lab's TPMs and its CA certificates

Options:
  --dir DIR    lab directory (default: .lab in the current directory)
  --tpms N     how many TPMs \`tpms\` runs, or \`provision\` adds (default 1, at most 64)
  --fresh      delete the lab directory first (new CA, TPMs, tenant and device)
  --once       \`up\`, \`tpms\`: stop everything and exit when done
  --ui         \`up\`: the graphical ESP in a browser instead of the terminal
  --devices N  \`bench\`: how many devices (1 to 64, default 8)
  --store S    \`bench\`: sqlite (default) or postgres (a private PostgreSQL server)
  --faults F   \`bench\`: faults between agents and service, KIND[=N][@request|@response][:CHANCE]
               comma-separated; KIND latency=MS, reset, drop, 500, 502, 503, 429[=S], stall[=BYTES]
               e.g. latency=200:0.3,503:0.05,reset@response:0.02
  --seed N     \`bench\`: the seed the faults are drawn with (default 1): the same seed, the same faults
  --esp-timeout MIN  \`bench\`: the profile's ESP timeout in minutes (default 30)
  --json       \`bench\`: the report as JSON on stdout (the table goes to stderr)
  --help       this text
`;

const print = (line = '') => process.stdout.write(`${line}\n`);

function selfdeployCli(): string {
  return join(fileURLToPath(new URL('.', import.meta.url)), '..', 'main', 'cli', 'selfdeploy.js');
}

function showTpmInfo(tpm: LabTpm): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [selfdeployCli(), 'tpm', 'info', '--tcti', tpm.tcti], { stdio: 'inherit' });
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        dir: { type: 'string', default: '.lab' },
        tpms: { type: 'string', default: '1' },
        fresh: { type: 'boolean', default: false },
        once: { type: 'boolean', default: false },
        ui: { type: 'boolean', default: false },
        devices: { type: 'string' },
        store: { type: 'string', default: 'sqlite' },
        faults: { type: 'string' },
        seed: { type: 'string', default: '1' },
        'esp-timeout': { type: 'string', default: '30' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    process.stderr.write(`selfdeploy-lab: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    print(USAGE);
    return 0;
  }
  const count = Number(values.tpms);
  if (!Number.isInteger(count) || count < 1 || count > 64) {
    process.stderr.write('selfdeploy-lab: --tpms must be a whole number from 1 to 64\n');
    return 2;
  }
  const command = positionals[0] ?? '';
  if (!['up', 'bench', 'tpms', 'provision', 'info'].includes(command) || positionals.length > 1) {
    process.stderr.write(`selfdeploy-lab: ${command ? `unknown command "${positionals.join(' ')}"` : 'no command given'}\n${USAGE}`);
    return 2;
  }
  if (values.fresh) {
    const { rmSync } = await import('node:fs');
    rmSync(values.dir, { recursive: true, force: true });
  }

  if (command === 'bench' || (command === 'up' && values.devices !== undefined)) {
    const devices = Number(values.devices ?? 8);
    const seed = Number(values.seed);
    const espTimeout = Number(values['esp-timeout']);
    const problems = [
      ...(Number.isInteger(devices) && devices >= 1 && devices <= 64 ? [] : ['--devices must be a whole number from 1 to 64']),
      ...(values.store === 'sqlite' || values.store === 'postgres' ? [] : ['--store is sqlite or postgres']),
      ...(Number.isInteger(seed) && seed >= 0 ? [] : ['--seed is a whole number']),
      ...(Number.isInteger(espTimeout) && espTimeout >= 1 && espTimeout <= 1440 ? [] : ['--esp-timeout is 1 to 1440 minutes']),
    ];
    let rules;
    try {
      rules = values.faults === undefined ? undefined : parseFaultSpec(values.faults);
    } catch (error) {
      problems.push(`--faults: ${(error as Error).message}`);
    }
    if (problems.length) {
      process.stderr.write(`selfdeploy-lab: ${problems.join('; ')}\n`);
      return 2;
    }
    return bench({ devices, postgres: values.store === 'postgres', rules, seed, espTimeout, json: values.json });
  }
  if (command === 'up') return productLab({ dir: values.dir, once: values.once, ui: values.ui, print });

  const lab = await SwtpmLab.create({ dir: values.dir, keep: true, log: (line) => print(`lab: ${line}`) });
  try {
    if (command === 'info') {
      print(`Lab        ${lab.dir}`);
      print(`CA root    ${lab.caRootCertPath}`);
      print(`CA issuer  ${lab.caIntermediateCertPath}`);
      for (const tpm of lab.tpms) print(`TPM        ${tpm.name}  ${tpm.stateDir}`);
      return 0;
    }
    if (command === 'provision') {
      await lab.provisionMany(count);
      print(`lab: ${lab.tpms.length} TPM(s) in ${lab.dir}`);
      return 0;
    }

    // tpms
    if (lab.tpms.length < count) await lab.provisionMany(count - lab.tpms.length);
    const tpms = lab.tpms.slice(0, count);
    for (const tpm of tpms) await tpm.start();
    print();
    print(`Lab ${lab.dir}: ${tpms.length} swtpm TPM(s) running on loopback`);
    print(`  EK certificates chain to ${lab.caIntermediateCertPath}`);
    print(`  and its root ${lab.caRootCertPath}`);
    for (const tpm of tpms) print(`  ${tpm.name}: --tcti ${tpm.tcti}   (tpm2-tools: TPM2TOOLS_TCTI=${tpm.tcti})`);
    print();
    print(`$ selfdeploy tpm info --tcti ${tpms[0]!.tcti}`);
    const status = await showTpmInfo(tpms[0]!);
    if (status !== 0) return status;
    if (values.once) return 0;
    print();
    print('The lab runs until you press Ctrl-C.');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    print('\nlab: stopping');
    return 0;
  } finally {
    await lab.close();
  }
}

/** `bench`: the fleet with a live table (redrawn on a terminal, a line per step change otherwise) and its report. */
async function bench(options: { devices: number; postgres: boolean; rules: ReturnType<typeof parseFaultSpec> | undefined; seed: number; espTimeout: number; json: boolean }): Promise<number> {
  const out = (text: string) => (options.json ? process.stderr : process.stdout).write(text);
  const tty = !options.json && process.stdout.isTTY;
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
  const postgres = options.postgres ? await startPostgres() : undefined;
  try {
    const db = postgres ? await postgres.createDatabase(`bench_fleet_${Date.now()}`) : undefined;
    out(`Staging bench: ${options.devices} devices on ${postgres ? 'PostgreSQL' : 'SQLite'}${options.rules ? `, faults ${JSON.stringify(options.rules.map((r) => r.fault))} (seed ${options.seed})` : ''}\n`);
    if (!tty) out(`${FLEET_HEADER}\n`);
    const report = await runFleet({
      devices: options.devices,
      ...(db ? { db } : {}),
      ...(options.rules ? { faults: { rules: options.rules, seed: options.seed } } : {}),
      espTimeoutMinutes: options.espTimeout,
      onUpdate: update,
      log: (line) => out(`bench: ${line}\n`),
    });
    if (options.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else out(`\n${formatFleet(report)}\n`);
    return report.consistency.mismatches.length === 0 && report.failed.length === 0 ? 0 : 1;
  } finally {
    await postgres?.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  // Output piped into `head` and closed early is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  process.exitCode = await main(process.argv.slice(2));
}
