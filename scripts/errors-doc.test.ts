// docs/errors.md says exactly what the catalogue says.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { CATALOGUE, docsAnchor } from '../protocol/errors/catalogue.js';
import { renderErrorsDoc } from './errors-doc.js';

const path = join(import.meta.dirname, '..', 'docs', 'errors.md');

describe('docs/errors.md', () => {
  it('is the rendering of the error catalogue', () => {
    if (process.env['UPDATE_DOCS']) writeFileSync(path, renderErrorsDoc());
    expect(readFileSync(path, 'utf8')).toBe(renderErrorsDoc());
  });

  it('has a heading for every code, at the anchor the agent links to', () => {
    const doc = readFileSync(path, 'utf8');
    for (const code of CATALOGUE.keys()) {
      expect(doc).toContain(`\n## ${code}\n`);
      expect(docsAnchor(code)).toBe(`errors.md#${code.toLowerCase()}`);
    }
  });
});
