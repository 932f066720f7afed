// `npm test`: bootstrap (Debian packages, npm ci, native addon, tsc, the renderer), then every
// suite — type checks of the tests and the renderer, lint, unit and integration tests (vitest),
// the system suite (vitest: a real Debian 13 root, lab/debian-root.ts), end to end (Playwright in
// Debian's Chromium) — a summary with each suite's time and the tests it skipped, by name with the
// reason, and one closing line "N passed, N failed" summing them all. Extra arguments go to vitest
// (e.g. a file filter; the system suite and end to end are then skipped).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { bootstrap } from './bootstrap.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (pkg, path) => join(root, 'node_modules', pkg, path);
const results = [];
/** Tests a suite skipped, by name: what this machine does not run, and why. */
const skippedTests = [];

function record(suite, passed, failed, note = '', seconds = undefined) {
  results.push({ suite, passed, failed, note, seconds });
}

const since = (started) => Math.round((Date.now() - started) / 1000);

function check(suite, args) {
  process.stdout.write(`\n== ${suite}\n`);
  const started = Date.now();
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  const ok = result.status === 0;
  record(suite, ok ? 1 : 0, ok ? 0 : 1, '', since(started));
  return ok;
}

const suiteOf = (file) => (file.includes('.system.test.') ? 'system tests' : file.includes('.int.test.') ? 'integration tests' : 'unit tests');

/** One vitest run (`args`: projects or a file filter), each suite in it recorded with the run's time. */
function vitest(title, args) {
  process.stdout.write(`\n== vitest (${title})\n`);
  const outDir = join(root, '.test-results');
  const report = join(outDir, 'vitest.json');
  mkdirSync(outDir, { recursive: true });
  rmSync(report, { force: true });
  const started = Date.now();
  const result = spawnSync(
    process.execPath,
    [bin('vitest', 'vitest.mjs'), 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...args],
    { cwd: root, stdio: 'inherit' },
  );
  const seconds = since(started);
  if (!existsSync(report)) {
    record(`vitest (${title})`, 0, 1, `vitest ended without a report (exit ${result.status ?? result.signal})`, seconds);
    return;
  }
  const json = JSON.parse(readFileSync(report, 'utf8'));
  const suites = new Map();
  for (const file of json.testResults ?? []) {
    const name = suiteOf(relative(root, file.name));
    const counts = suites.get(name) ?? { passed: 0, failed: 0, skipped: 0 };
    for (const test of file.assertionResults ?? []) {
      if (test.status === 'passed') counts.passed++;
      else if (test.status === 'failed') counts.failed++;
      else {
        counts.skipped++;
        skippedTests.push(`${name}: ${test.fullName ?? test.title}`); // with its describe, which may say why
      }
    }
    // A file that failed to load has no test results but must not pass silently.
    if (file.status === 'failed' && (file.assertionResults ?? []).every((t) => t.status !== 'failed')) counts.failed++;
    suites.set(name, counts);
  }
  for (const [name, counts] of [...suites].sort()) {
    record(name, counts.passed, counts.failed, counts.skipped ? `${counts.skipped} skipped` : '', suites.size === 1 ? seconds : undefined);
  }
  if (suites.size > 1) record(`  (vitest ${title})`, 0, 0, '', seconds);
  if (result.status !== 0 && [...suites.values()].every((c) => c.failed === 0)) {
    record(`vitest (${title})`, 0, 1, `vitest exited with ${result.status ?? result.signal}`, seconds);
  }
}

/** Playwright end to end: the real renderer in Debian's Chromium over a real run (e2e/). */
function endToEnd() {
  process.stdout.write("\n== end to end (Playwright, Debian's Chromium)\n");
  const report = join(root, '.test-results', 'e2e.json');
  rmSync(report, { force: true });
  const started = Date.now();
  const result = spawnSync(process.execPath, [bin('@playwright/test', 'cli.js'), 'test', '-c', 'e2e/playwright.config.ts'], { cwd: root, stdio: 'inherit' });
  if (!existsSync(report)) {
    record('end to end', 0, 1, `playwright ended without a report (exit ${result.status ?? result.signal})`, since(started));
    return;
  }
  const json = JSON.parse(readFileSync(report, 'utf8'));
  const stats = json.stats ?? {};
  const failed = (stats.unexpected ?? 0) + (stats.flaky ?? 0) + (result.status !== 0 && !stats.unexpected ? 1 : 0);
  const why = (spec) => (spec.tests ?? []).flatMap((t) => t.annotations ?? []).find((a) => a.type === 'skip' && a.description)?.description;
  const walk = (suite) => [
    ...(suite.specs ?? []).filter((spec) => (spec.tests ?? []).some((t) => t.status === 'skipped')).map((spec) => (why(spec) ? `${spec.title} — ${why(spec)}` : spec.title)),
    ...(suite.suites ?? []).flatMap(walk),
  ];
  for (const title of (json.suites ?? []).flatMap(walk)) skippedTests.push(`end to end: ${title}`);
  record('end to end', stats.expected ?? 0, failed, [stats.skipped ? `${stats.skipped} skipped` : '', 'screenshots in .test-results/e2e/screenshots'].filter(Boolean).join('; '), since(started));
}

const extra = process.argv.slice(2);
try {
  bootstrap('test');
  record('bootstrap and build', 1, 0);
} catch (error) {
  process.stderr.write(`bootstrap: ${error.message}\n`);
  record('bootstrap and build', 0, 1);
}
if (results[0].failed === 0) {
  check('type check of the tests', [bin('typescript', 'bin/tsc'), '-p', 'tsconfig.test.json']);
  check('type check of the renderer', [bin('typescript', 'bin/tsc'), '-p', 'renderer/tsconfig.json']);
  check('lint', [bin('eslint', 'bin/eslint.js'), '--max-warnings=0', '.']);
  if (extra.length) vitest('filtered', extra); // a file filter is for vitest alone
  else {
    vitest('unit and integration', ['--project', 'unit', '--project', 'integration']);
    vitest('system', ['--project', 'system']);
    endToEnd();
  }
}

const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
process.stdout.write('\n== summary\n');
for (const r of results) {
  const time = r.seconds === undefined ? '' : `${r.seconds} s`;
  if (r.suite.startsWith('  (')) process.stdout.write(`${r.suite.padEnd(28)} ${''.padStart(25)} ${time.padStart(7)}\n`);
  else process.stdout.write(`${r.suite.padEnd(28)} ${String(r.passed).padStart(5)} passed ${String(r.failed).padStart(4)} failed ${time.padStart(7)}${r.note ? `  (${r.note})` : ''}\n`);
}
if (skippedTests.length) {
  process.stdout.write('skipped, with the reason:\n');
  for (const title of skippedTests) process.stdout.write(`  - ${title}\n`);
}
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exitCode = failed === 0 ? 0 : 1;
