// Lint: typescript-eslint's type-aware recommended rules (floating promises matter in an agent
// that talks to a TPM and a service), plus the rule that keeps raw console out of product code:
// the agent, the service and the renderer speak through their logs, the ESP and the CLIs' io.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'native/build/**', '.lab/**', '.cache/**', '.test-results/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // Each layer's project for its sources, tsconfig.test.json for tests and tooling.
        project: ['./protocol/tsconfig.json', './protocol/node/tsconfig.json', './main/tsconfig.json', './main/host/electron/tsconfig.json', './backend/tsconfig.json', './lab/tsconfig.json', './bench/tsconfig.json', './fuzz/tsconfig.json', './renderer/tsconfig.json', './tsconfig.test.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // Product code: no raw console (tests and the lab, benchmarks and scripts may print).
    files: ['main/**/*.{ts,tsx,cts}', 'backend/**/*.ts', 'protocol/**/*.ts', 'renderer/**/*.{ts,tsx}'],
    ignores: ['**/*.test.ts', '**/*.test.tsx', '**/testing/**'],
    rules: { 'no-console': 'error' },
  },
  {
    // vitest's asymmetric matchers (expect.stringContaining …) are typed `any`.
    files: ['**/*.test.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  {
    files: ['**/*.mjs', '**/*.js', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: 'readonly', console: 'readonly' },
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', global: 'readonly', process: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
