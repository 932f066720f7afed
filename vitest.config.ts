// Two suites: unit tests (no processes, no TPM) and integration tests (*.int.test.ts: real
// swtpm TPMs, a real PostgreSQL, real tpm2-tools and openssl). `npm test` runs both through scripts/test.mjs.
import { defineConfig } from 'vitest/config';

const exclude = ['**/node_modules/**', 'dist/**', 'e2e/**', '.lab/**'];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: [...exclude, '**/*.int.test.ts'],
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
    ],
  },
});
