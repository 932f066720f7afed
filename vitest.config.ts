// Three suites: unit tests (no processes, no TPM), integration tests (*.int.test.ts: real swtpm
// TPMs, a real PostgreSQL, real tpm2-tools and openssl) and system tests (*.system.test.ts: a real
// Debian 13 root, lab/debian-root.ts, with the agent's deb installed in it). `npm test` runs them
// all through scripts/test.mjs.
import { defineConfig } from 'vitest/config';

const exclude = ['**/node_modules/**', 'dist/**', 'e2e/**', '.lab/**', '.cache/**'];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: [...exclude, '**/*.int.test.ts', '**/*.system.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['**/*.int.test.ts'],
          exclude,
          // One private PostgreSQL server for the run; the service suites run on it and on SQLite.
          globalSetup: ['backend/testing/global-postgres.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'system',
          include: ['**/*.system.test.ts'],
          exclude,
          globalSetup: ['scripts/system-setup.ts'],
          // Each file works on its own copy of a 1 GB root: one at a time.
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
