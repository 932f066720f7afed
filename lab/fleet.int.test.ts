// The staging bench for real: swtpm devices, each with its own EK certificate, registered from
// their own hashes, self-deploying at once — each `selfdeploy deploy` in its own process —
// against one service process, with and without the fault proxy between them. Whatever the
// faults, every deployment completes (or fails with the right code once the ESP timeout passed),
// no device is enrolled twice, and the service's records say what the agents said.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { describe, expect, inject, it } from 'vitest';

import { STEP_IDS } from '../protocol/esp.js';
import { createDatabase } from './postgres.js';
import { parseFaultSpec } from './fault-proxy.js';
import { runFleet, type FleetDevice } from './fleet.js';
import { INSTALLED, packageRoot } from '../main/installation/layout.js';

const exec = promisify(execFile);

describe('the staging bench', () => {
  it('deploys four devices at once on SQLite: all succeed, one certificate each, the service agrees, and every step is timed', async () => {
    const updates: string[] = [];
    const report = await runFleet({ devices: 4, onUpdate: (devices: readonly FleetDevice[]) => updates.push(devices.map((d) => d.snapshot.status).join(',')) });
    expect(report.succeeded).toBe(4);
    expect(report.failed).toEqual([]);
    expect(report.consistency).toEqual({ checked: 4, mismatches: [], certificatesIssued: 4 });
    // Each device ran every step but the account and update ones that may be instant; all were timed.
    expect(report.steps.map((s) => s.step)).toEqual(STEP_IDS.filter((step) => report.steps.some((s) => s.step === step)));
    for (const step of ['network', 'securing-hardware', 'joining', 'apps', 'end-state'] as const) {
      const figures = report.steps.find((s) => s.step === step)!;
      expect(figures.runs, step).toBe(4);
      expect(figures.p99Ms).toBeGreaterThanOrEqual(figures.p50Ms);
    }
    // The live table saw the devices running before it saw them done.
    expect(updates[0]).toContain('running');
    expect(updates.at(-1)).toBe('succeeded,succeeded,succeeded,succeeded');
  }, 180_000);

  it('deploys through resets, dropped and lost answers, 5xx, 429 and latency drawn from a seed, on PostgreSQL: all complete, nothing enrolled twice', async () => {
    const db = await createDatabase(inject('postgresAdminUrl'), `fleet_${Date.now()}`);
    const rules = parseFaultSpec('latency=80:0.3,reset:0.06,drop@response:0.06,reset@response:0.04,503:0.08,429=1:0.05,502:0.05');
    const report = await runFleet({ devices: 4, db, faults: { rules, seed: 11 } });
    expect(report.store).toBe('postgres');
    expect(report.failed).toEqual([]);
    expect(report.succeeded).toBe(4);
    expect(report.consistency).toEqual({ checked: 4, mismatches: [], certificatesIssued: 4 });
    const faults = report.faults!.faults;
    for (const kind of ['latency@request', 'reset@request', 'status@request']) expect(faults[kind], kind).toBeGreaterThan(0);
    expect((faults['drop@response'] ?? 0) + (faults['reset@response'] ?? 0)).toBeGreaterThan(0);
  }, 240_000);

  it('fails every device with ESP_TIMEOUT (0x800705B4) once the timeout passed when management never answers, and the service does not count them deployed', async () => {
    const report = await runFleet({ devices: 2, espTimeoutMinutes: 1, faults: { rules: [{ fault: { kind: 'status', status: 503 }, match: /^GET \/v1\/mdm\/assignments$/ }], seed: 1 } });
    expect(report.succeeded).toBe(0);
    expect(report.failed.map((f) => [f.code, f.hresult])).toEqual([
      ['ESP_TIMEOUT', '0x800705B4'],
      ['ESP_TIMEOUT', '0x800705B4'],
    ]);
    expect(report.perDeviceMs.p50).toBeGreaterThanOrEqual(60_000); // they waited the whole minute out, not a backoff step less
    expect(report.consistency.mismatches).toEqual([]);
    expect(report.consistency.certificatesIssued).toBe(2);
  }, 240_000);

  it('runs from the lab CLI with a live line per change and the summary, and refuses a bad fault or size', async () => {
    const cli = join(packageRoot(), INSTALLED.labCli);
    const run = await exec(process.execPath, [cli, 'bench', '--devices', '2', '--faults', 'latency=50:0.5', '--seed', '4'], { timeout: 120_000 });
    expect(run.stdout).toMatch(/^BENCH-0001 +Device preparation +Securing your hardware/m);
    expect(run.stdout).toMatch(/^BENCH-0002 +succeeded +11\/11 done /m);
    expect(run.stdout).toContain('2 devices on sqlite: **2 succeeded**, failed: none.');
    expect(run.stdout).toContain('Service records vs agents: 2 checked, all match; 2 device certificates issued.');
    expect(run.stdout).toMatch(/\| Device setup \/ Apps \| 2 \| \d+ \| \d+ \|/);
    // `npm run lab -- --devices N` is the same bench.
    const viaLab = await exec(process.execPath, [cli, 'up', '--devices', '1'], { timeout: 120_000 });
    expect(viaLab.stdout).toContain('1 devices on sqlite: **1 succeeded**, failed: none.');
    for (const [args, message] of [
      [['bench', '--devices', '0'], '--devices must be a whole number from 1 to 64'],
      [['bench', '--faults', 'meltdown:0.5'], '"meltdown:0.5" is not a fault'],
      [['bench', '--faults', 'latency:0.5'], 'latency needs =MS'],
      [['bench', '--store', 'oracle'], '--store is sqlite or postgres'],
    ] as const) {
      const refused = await exec(process.execPath, [cli, ...args]).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => error,
      );
      expect(refused.code, args.join(' ')).toBe(2);
      expect(refused.stderr).toContain(message);
    }
  }, 180_000);
});
