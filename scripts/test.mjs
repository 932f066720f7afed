// `npm test`: bootstrap (Debian packages, npm ci, native addon, tsc, the renderer), then every
// suite — type checks of the tests and the renderer, lint, unit and integration tests (vitest),
// end to end (Playwright in Debian's Chromium) — and one closing line "N passed, N failed"
// summing them all. Extra arguments go to vitest (e.g. a file filter; end to end is then skipped).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { bootstrap } from './bootstrap.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (pkg, path) => join(root, 'node_modules', pkg, path);
const results = [];

function record(suite, passed, failed, note = '') {
  results.push({ suite, passed, failed, note });
}

function check(suite, args) {
  process.stdout.write(`\n== ${suite}\n`);
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  const ok = result.status === 0;
  record(suite, ok ? 1 : 0, ok ? 0 : 1);
  return ok;
}

function vitest(extra) {
  process.stdout.write('\n== vitest (unit and integration)\n');
  const outDir = join(root, '.test-results');
  const report = join(outDir, 'vitest.json');
  mkdirSync(outDir, { recursive: true });
  rmSync(report, { force: true });
  const result = spawnSync(
    process.execPath,
    [bin('vitest', 'vitest.mjs'), 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...extra],
    { cwd: root, stdio: 'inherit' },
  );
  if (!existsSync(report)) {
    record('vitest', 0, 1, `vitest ended without a report (exit ${result.status ?? result.signal})`);
    return;
  }
  const json = JSON.parse(readFileSync(report, 'utf8'));
  const suites = new Map();
  for (const file of json.testResults ?? []) {
    const name = relative(root, file.name).includes('.int.test.') ? 'integration tests' : 'unit tests';
    const counts = suites.get(name) ?? { passed: 0, failed: 0, skipped: 0 };
    for (const test of file.assertionResults ?? []) {
      if (test.status === 'passed') counts.passed++;
      else if (test.status === 'failed') counts.failed++;
      else counts.skipped++;
    }
    // A file that failed to load has no test results but must not pass silently.
    if (file.status === 'failed' && (file.assertionResults ?? []).every((t) => t.status !== 'failed')) counts.failed++;
    suites.set(name, counts);
  }
  for (const [name, counts] of [...suites].sort()) {
    record(name, counts.passed, counts.failed, counts.skipped ? `${counts.skipped} skipped` : '');
  }
  if (result.status !== 0 && [...suites.values()].every((c) => c.failed === 0)) {
    record('vitest', 0, 1, `vitest exited with ${result.status ?? result.signal}`);
  }
}

/** Playwright end to end: the real renderer in Debian's Chromium over a real run (e2e/). */
function endToEnd() {
  process.stdout.write("\n== end to end (Playwright, Debian's Chromium)\n");
  const report = join(root, '.test-results', 'e2e.json');
  rmSync(report, { force: true });
  const result = spawnSync(process.execPath, [bin('@playwright/test', 'cli.js'), 'test', '-c', 'e2e/playwright.config.ts'], { cwd: root, stdio: 'inherit' });
  if (!existsSync(report)) {
    record('end to end', 0, 1, `playwright ended without a report (exit ${result.status ?? result.signal})`);
    return;
  }
  const stats = JSON.parse(readFileSync(report, 'utf8')).stats ?? {};
  const failed = (stats.unexpected ?? 0) + (stats.flaky ?? 0) + (result.status !== 0 && !stats.unexpected ? 1 : 0);
  record('end to end', stats.expected ?? 0, failed, [stats.skipped ? `${stats.skipped} skipped` : '', 'screenshots in .test-results/e2e/screenshots'].filter(Boolean).join('; '));
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
  vitest(extra);
  if (extra.length === 0) endToEnd(); // a file filter is for vitest alone
}

const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
process.stdout.write('\n== summary\n');
for (const r of results) {
  process.stdout.write(`${r.suite.padEnd(28)} ${String(r.passed).padStart(5)} passed ${String(r.failed).padStart(4)} failed${r.note ? `  (${r.note})` : ''}\n`);
}
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exitCode = failed === 0 ? 0 : 1;
