// The short fuzz run of `npm test`: every saved regression case (fuzz/corpus/TARGET/*.json) again,
// then a few hundred fresh inputs per target. `npm run fuzz` is the long run.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { FuzzDefect, TARGETS, restored } from './targets.js';

const CORPUS = join(import.meta.dirname, 'corpus');

describe('fuzzing every parser of untrusted input', () => {
  it.each(TARGETS.map((t) => [t.name, t] as const))('%s: its saved regression cases, then 300 fresh inputs', (_, target) => {
    const dir = join(CORPUS, target.name);
    const cases = existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith('.json')) : [];
    for (const name of cases) target.check(restored(JSON.parse(readFileSync(join(dir, name), 'utf8')) as { text?: string; hex?: string }));
    fc.assert(fc.property(target.arbitrary, (input) => target.check(input)), { numRuns: 300 });
  });

  it('finds a defect when a target has one (the harness is not blind)', () => {
    const broken = { ...TARGETS[0]!, check: (input: unknown) => {
      if (typeof input === 'string' && input.length > 3) throw new FuzzDefect('too long');
    } };
    const result = fc.check(fc.property(broken.arbitrary, (input) => broken.check(input)), { numRuns: 300 });
    expect(result.failed).toBe(true);
    expect(String(result.errorInstance)).toContain('too long');
    expect((result.counterexample![0] as string).length).toBeGreaterThan(3);
  });
});
