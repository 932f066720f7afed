// `npm run bench`: every benchmark of the project, one report. Each figure is a ratio against a
// baseline measured in the same run. Writes bench/results/latest.json and latest.md, and two
// charts (SVG and PNG): time per step, and enrollments per minute against concurrency.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

import { STEP_IDS } from '../protocol/esp.js';
import { formatFleet, runFleet } from '../lab/fleet.js';
import { parseFaultSpec } from '../lab/fault-proxy.js';
import { formatAttestBench, runAttestBench } from './attest.js';
import { barChartSvg, lineChartSvg, writeChart } from './charts.js';
import { formatSoakBench, runSoakBench } from './soak.js';
import { formatDeployBench, runDeployBench } from './deploy.js';
import { formatImportBench, runImportBench } from './import.js';
import { formatSetupBench, runSetupBench } from './setup.js';
import { formatTpmBench, runTpmBench } from './tpm.js';

const iterations = Number(process.env['BENCH_ITERATIONS'] ?? 15);
const log = (line: string) => process.stderr.write(`  ${line}\n`);

process.stdout.write(`selfdeploy benchmarks (${iterations} iterations after one warm-up, medians)\n\n`);
const tpm = await runTpmBench({ iterations, log });
const csvImport = await runImportBench({ log });
const attest = await runAttestBench({ log });
const deploy = await runDeployBench({ runs: Math.min(iterations, 10), log });
const setup = await runSetupBench({ runs: iterations, log });
const soak = await runSoakBench({ log });
const fleetDevices = Number(process.env['BENCH_FLEET_DEVICES'] ?? 8);
const fleet = await runFleet({ devices: fleetDevices, log });
const fleetFaults = 'latency=100:0.2,503:0.05,429=1:0.03,reset:0.03,drop@response:0.02';
const fleetUnderFaults = await runFleet({ devices: fleetDevices, faults: { rules: parseFaultSpec(fleetFaults), seed: 1 }, log });

const results = join(import.meta.dirname, '..', '..', 'bench', 'results');
mkdirSync(results, { recursive: true });
const stepLabel = (step: (typeof STEP_IDS)[number]) => fleet.steps.find((s) => s.step === step)?.title ?? deploy.steps.find((s) => s.step === step)?.title ?? step;
const steps = STEP_IDS.filter((step) => deploy.steps.some((s) => s.step === step) || fleet.steps.some((s) => s.step === step));
const stepChart = await writeChart(
  results,
  'steps',
  barChartSvg(`Time per step of a self-deploy (ms)`, 'milliseconds', steps.map(stepLabel), [
    { name: 'one device alone (median)', values: steps.map((step) => deploy.steps.find((s) => s.step === step)?.medianMs ?? 0) },
    { name: `${fleetDevices} devices at once (p50)`, values: steps.map((step) => fleet.steps.find((s) => s.step === step)?.p50Ms ?? 0) },
    { name: `${fleetDevices} at once (p99)`, values: steps.map((step) => fleet.steps.find((s) => s.step === step)?.p99Ms ?? 0) },
  ]),
);
const stores = [...new Set(attest.map((row) => row.store))];
const enrollmentChart = await writeChart(
  results,
  'enrollments',
  lineChartSvg(
    'Full enrollments per minute vs concurrency (one service process)',
    'devices enrolling at once',
    'enrollments per minute',
    stores.map((store) => ({ name: store === 'sqlite' ? 'SQLite' : 'PostgreSQL', points: attest.filter((row) => row.store === store).map((row): [number, number] => [row.concurrency, row.enrollmentsPerMinute]) })),
    { logX: true },
  ),
);
const chartLine = (path: string | null, alt: string) => (path ? `![${alt}](${path.split('/').at(-1)})` : `(${alt}: no PNG — Chromium is not installed; the SVG is beside this report)`);
const markdown = [
  '# Benchmark report',
  '',
  `Measured ${new Date().toISOString()} on ${process.platform}/${process.arch}, Node ${process.versions.node}.`,
  '',
  '## TPM operations: agent addon vs tpm2-tools (same swtpm, same run)',
  '',
  formatTpmBench(tpm),
  '',
  '## CSV import of 10,000 registrations vs a plain bulk insert (same store, same run)',
  '',
  formatImportBench(csvImport),
  '',
  '## Full enrollments (attest, join, token) by simulated devices vs health checks (same server, same run)',
  '',
  formatAttestBench(attest),
  '',
  '## A headless self-deploy by step vs the raw TPM operations it needs (same swtpm, same run)',
  '',
  formatDeployBench(deploy),
  '',
  '## Device setup through the privileged helper vs in-process (same items, same run)',
  '',
  formatSetupBench(setup),
  '',
  `## A staging bench: ${fleetDevices} swtpm devices self-deploying at once against one service (each agent its own process)`,
  '',
  formatFleet(fleet),
  '',
  `${fleetDevices} devices at once took **${(fleet.wallMs / deploy.wholeMedianMs).toFixed(1)}×** the time of one self-deploy alone (${(fleet.wallMs / 1000).toFixed(1)} s vs ${(deploy.wholeMedianMs / 1000).toFixed(2)} s, same run; the agents start as processes on ${availableParallelism()} cores).`,
  '',
  chartLine(stepChart, 'Time per step: one device alone vs the bench'),
  '',
  `### The same bench through the fault proxy (\`${fleetFaults}\`, seed 1)`,
  '',
  formatFleet(fleetUnderFaults),
  '',
  `Under these faults the bench took **${(fleetUnderFaults.wallMs / fleet.wallMs).toFixed(2)}×** its time without them.`,
  '',
  '## Enrollments per minute vs concurrency',
  '',
  chartLine(enrollmentChart, 'Enrollments per minute vs concurrency'),
  '',
  '## Soak: enrollments against one service process, never restarted',
  '',
  formatSoakBench(soak),
  '',
].join('\n');
process.stdout.write(`${markdown}\n`);
writeFileSync(join(results, 'latest.json'), JSON.stringify({ measuredAt: new Date().toISOString(), iterations, tpm, csvImport, attest, deploy, setup, soak, fleet, fleetUnderFaults: { spec: fleetFaults, ...fleetUnderFaults } }, null, 2) + '\n');
writeFileSync(join(results, 'latest.md'), markdown);
