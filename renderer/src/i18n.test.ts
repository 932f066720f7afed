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

  it.each(['de', 'fr', 'ar'])('%s translates the same failures, each a catalogue code with its title, message and remedy', async (code) => {
    const { isErrorCode } = await import('../../protocol/errors/catalogue.js');
    const failures = JSON.parse(readFileSync(join(import.meta.dirname, 'locales', 'failures', `${code}.json`), 'utf8')) as Record<string, Record<string, string>>;
    const german = JSON.parse(readFileSync(join(import.meta.dirname, 'locales', 'failures', 'de.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(failures).sort()).toEqual(Object.keys(german).sort());
    // What a device meets most: no TPM, not registered, blocked, no network, clock, timeout, a failed item, the service.
    for (const common of ['TPM_UNAVAILABLE', 'DEVICE_NOT_REGISTERED', 'REENROLLMENT_BLOCKED', 'NETWORK_UNAVAILABLE', 'CLOCK_SKEW', 'ESP_TIMEOUT', 'ITEM_FAILED', 'SERVICE_UNREACHABLE'])
      expect(Object.keys(failures), common).toContain(common);
    for (const [failure, fields] of Object.entries(failures)) {
      expect(isErrorCode(failure), failure).toBe(true);
      expect(Object.keys(fields).sort(), failure).toEqual(['message', 'remedy', 'title']);
      for (const text of Object.values(fields)) expect(text.trim(), failure).not.toBe('');
    }
  });

  it('names every ESP step and state the protocol has', async () => {
    const { STEP_IDS, ItemStateSchema } = await import('../../protocol/esp.js');
    for (const step of STEP_IDS) expect(english[`step.${step}`], step).toBeTruthy();
    for (const state of ItemStateSchema.options) expect(english[`state.${state}`], state).toBeTruthy();
  });
});
