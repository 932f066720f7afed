// The design tokens keep their promise: every text colour reads at 4.5:1 or more on every
// background it is used on, in the light and the dark scheme (WCAG 2.2 §1.4.3).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { PAGE, contrast } from '../contrast.js';

const css = readFileSync(join(import.meta.dirname, 'tokens.css'), 'utf8');

/** The custom properties of the first block that `selector` opens (after `after`, if given). */
function tokens(after = ''): Record<string, string> {
  const start = css.indexOf(':root {', after ? css.indexOf(after) : 0);
  const block = css.slice(start, css.indexOf('}', start));
  return Object.fromEntries([...block.matchAll(/--([a-z0-9-]+):\s*(#[0-9a-f]{6})/gi)].map((m) => [m[1]!, m[2]!]));
}

describe('the design tokens', () => {
  const light = tokens();
  const dark = { ...light, ...tokens('@media (prefers-color-scheme: dark)') };
  const TEXTS = ['text', 'text-muted', 'succeeded', 'failed', 'running', 'warning', 'accent-text'];
  const BACKGROUNDS = ['bg', 'surface'];

  it.each([
    ['light', light],
    ['dark', dark],
  ])('reach 4.5:1 for every text colour on every background (%s)', (_scheme, palette) => {
    for (const text of TEXTS) {
      for (const background of BACKGROUNDS) {
        expect(contrast(palette[text]!, palette[background]!), `${text} on ${background}`).toBeGreaterThanOrEqual(4.5);
      }
    }
    expect(contrast(palette['on-accent']!, palette['accent']!)).toBeGreaterThanOrEqual(4.5);
  });

  it('are the backgrounds the ESP computes its accent text for', () => {
    expect([light['bg'], light['surface']]).toEqual([...PAGE.light]);
    expect([dark['bg'], dark['surface']]).toEqual([...PAGE.dark]);
  });

  it('has a dark scheme that changes the backgrounds', () => {
    expect(dark['bg']).not.toBe(light['bg']);
    expect(dark['text']).not.toBe(light['text']);
  });
});
