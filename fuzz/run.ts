// `npm run fuzz [-- --target NAME] [--runs N] [--seed N]`: the long fuzz run. Each target gets N
// inputs (default 100,000); throughput is printed per target; an input that breaks one is shrunk
// by fast-check and saved as a regression case in fuzz/corpus/TARGET/<sha256>.json, which every
// `npm test` then runs again. Exit status 1 when anything broke.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import fc from 'fast-check';

import { TARGETS, saveable } from './targets.js';

const CORPUS = join(import.meta.dirname, '..', '..', 'fuzz', 'corpus');

const { values } = parseArgs({ options: { target: { type: 'string' }, runs: { type: 'string', default: '100000' }, seed: { type: 'string' } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  process.stderr.write(`fuzz: --runs takes a whole number, not "${values.runs}"\n`);
  process.exit(2);
}
const chosen = values.target ? TARGETS.filter((t) => t.name === values.target) : TARGETS;
if (chosen.length === 0) {
  process.stderr.write(`fuzz: no target "${values.target}"; the targets: ${TARGETS.map((t) => t.name).join(', ')}\n`);
  process.exit(2);
}
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
process.stdout.write(`Fuzzing ${chosen.length} target(s), ${runs} inputs each, seed ${seed}\n\n`);
let broken = 0;
for (const target of chosen) {
  const started = performance.now();
  const result = fc.check(fc.property(target.arbitrary, (input) => target.check(input)), { numRuns: runs, seed });
  const seconds = (performance.now() - started) / 1000;
  if (result.failed && result.counterexample) {
    broken++;
    const [input] = result.counterexample;
    const saved = JSON.stringify(saveable(input), null, 2) + '\n';
    const dir = join(CORPUS, target.name);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${createHash('sha256').update(saved).digest('hex').slice(0, 16)}.json`);
    writeFileSync(file, saved);
    process.stdout.write(`✗ ${target.name}: ${String(result.errorInstance)}\n  after ${result.numRuns} inputs; saved as ${file} (npm test runs it from now on)\n`);
  } else {
    process.stdout.write(`✓ ${target.name.padEnd(16)} ${String(result.numRuns).padStart(8)} inputs in ${seconds.toFixed(1).padStart(6)} s (${Math.round(result.numRuns / seconds)}/s) — ${target.what}\n`);
  }
}
process.exit(broken ? 1 : 0);
