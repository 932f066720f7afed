// One meaning per code: what the catalogue says of a code is what the service answers, what a
// command line exits with, and whether a client waits it out.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { CATALOGUE, catalogueEntry, isErrorCode } from './catalogue.js';
import { exitStatus } from './report.js';

const root = join(import.meta.dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'));
}

describe('the error catalogue', () => {
  it('gives every code the service answers with an HTTP status', () => {
    const thrown = new Set(sources('backend').flatMap((text) => [...text.matchAll(/new ServiceError\(\s*'([A-Z_]+)'/g)].map((m) => m[1]!)));
    expect(thrown.size).toBeGreaterThan(20);
    for (const code of thrown) {
      expect(isErrorCode(code), code).toBe(true);
      if (isErrorCode(code)) expect(catalogueEntry(code).http, code).toBeGreaterThanOrEqual(400);
    }
  });

  it('gives every code an origin, an exit status and whether it is retried', () => {
    for (const entry of CATALOGUE.values()) {
      expect(['agent', 'helper', 'service', 'cli'], entry.code).toContain(entry.origin);
      expect([1, 2, 3, 70], entry.code).toContain(entry.exit);
      expect(exitStatus(entry.code)).toBe(entry.exit);
    }
    expect(exitStatus('USAGE')).toBe(2);
    expect(exitStatus('TPM_UNAVAILABLE')).toBe(3);
    expect(exitStatus('SERVICE_UNREACHABLE')).toBe(3);
  });

  it('tells an agent defect apart from a service failure', () => {
    expect(catalogueEntry('AGENT_INTERNAL')).toMatchObject({ origin: 'agent', exit: 70, retryable: false });
    expect(catalogueEntry('AGENT_INTERNAL').message).not.toMatch(/service failed/i);
    expect(catalogueEntry('INTERNAL')).toMatchObject({ origin: 'service', http: 500, retryable: true });
    expect(catalogueEntry('CLI_INTERNAL')).toMatchObject({ origin: 'cli', exit: 70 });
  });
});
