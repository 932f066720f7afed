import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

type Tree = { [key: string]: string | Tree };

function flatten(tree: Tree, prefix = ''): Record<string, string> {
  return Object.fromEntries(Object.entries(tree).flatMap(([key, value]) => (typeof value === 'string' ? [[`${prefix}${key}`, value]] : Object.entries(flatten(value, `${prefix}${key}.`)))));
}

const load = (code: string) => flatten(JSON.parse(readFileSync(join(import.meta.dirname, 'locales', `${code}.json`), 'utf8')) as Tree);
const placeholders = (text: string) => [...text.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();

describe('the translations', () => {
  const english = load('en');

  it.each(['de', 'fr', 'ar'])('%s has every string English has, no other, none empty, with the same placeholders', (code) => {
    const other = load(code);
    expect(Object.keys(other).sort()).toEqual(Object.keys(english).sort());
    for (const [key, text] of Object.entries(other)) {
      expect(text.trim(), key).not.toBe('');
      expect(placeholders(text), key).toEqual(placeholders(english[key]!));
    }
  });

  it('names every ESP step and state the protocol has', async () => {
    const { STEP_IDS, ItemStateSchema } = await import('../../protocol/esp.js');
    for (const step of STEP_IDS) expect(english[`step.${step}`], step).toBeTruthy();
    for (const state of ItemStateSchema.options) expect(english[`state.${state}`], state).toBeTruthy();
  });
});
