// `npm run bench`: every benchmark of the project, one report. Each figure is a ratio against a
// baseline measured in the same run. Writes bench/results/latest.json and latest.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { formatAttestBench, runAttestBench } from './attest.js';
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
].join('\n');
process.stdout.write(`${markdown}\n`);
const results = join(import.meta.dirname, '..', '..', 'bench', 'results');
mkdirSync(results, { recursive: true });
writeFileSync(join(results, 'latest.json'), JSON.stringify({ measuredAt: new Date().toISOString(), iterations, tpm, csvImport, attest, deploy, setup }, null, 2) + '\n');
writeFileSync(join(results, 'latest.md'), markdown);
