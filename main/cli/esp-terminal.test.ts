import { describe, expect, it } from 'vitest';

import { applyEspEvent, initialSnapshot, type EspEvent, type EspSnapshot } from '../../protocol/esp.js';
import { bar, duration, eventLine, renderSnapshot, terminalRenderer } from './esp-terminal.js';

const T0 = '2026-11-26T10:00:00.000Z';
const at = (s: number) => new Date(Date.parse(T0) + s * 1000).toISOString();
const item = (id: string, blocking = true) => ({ id, name: id, kind: 'app' as const, version: 1, blocking, state: 'not-started' as const, startedAt: null, finishedAt: null, detail: null, progress: null, error: null });

function fold(events: Record<string, unknown>[]): EspSnapshot {
  return events.reduce<EspSnapshot>((s, e, i) => applyEspEvent(s, { seq: i + 1, ...e } as EspEvent), initialSnapshot(T0));
}

describe('the terminal ESP', () => {
  it('formats durations and progress bars', () => {
    expect(duration(4_200)).toBe('4s');
    expect(duration(125_000)).toBe('2m05s');
    expect(bar(0.5, 10)).toBe('[#####-----]  50%');
  });

  it('draws phases, steps with N of M, items with progress and elapsed time, and the failure with its remedy', () => {
    const snapshot = fold([
      { type: 'step', step: 'apps', state: 'in-progress', at: at(0) },
      { type: 'items', step: 'apps', items: [item('browser'), item('signage', false)], at: at(0) },
      { type: 'item', step: 'apps', item: 'browser', patch: { state: 'in-progress', progress: 0.25, detail: 'Downloading 1.0 of 4.0 MB' }, at: at(1) },
      { type: 'failed', failure: { code: 'ESP_TIMEOUT', hresult: '0x800705B4', title: 'Setup took too long', message: 'm', remedy: 'Check the network', docs: 'd', detail: 'while downloading', step: 'apps', item: 'browser' }, at: at(9) },
    ]);
    const text = renderSnapshot(snapshot, at(5));
    expect(text).toContain('Device setup (working on it)');
    expect(text).toContain('> Apps (0 of 2) 5s');
    expect(text).toContain('> browser [#####---------------]  25% 4s — Downloading 1.0 of 4.0 MB');
    expect(text).toContain('· signage (optional)');
    expect(text).toContain('ESP_TIMEOUT (0x800705B4): Setup took too long');
    expect(text).toContain('What to do: Check the network');
  });

  it("draws only that setup runs when the profile's showProgress is off, and still the failure", () => {
    const rules = { showProgress: false, timeoutMinutes: 60, customErrorMessage: 'Call the desk.', allowLogCollection: false, blockDeviceUse: true, allowReset: false, allowContinue: false };
    const running = fold([
      { type: 'context', context: { rules }, at: at(0) },
      { type: 'step', step: 'apps', state: 'in-progress', at: at(0) },
      { type: 'items', step: 'apps', items: [item('browser')], at: at(0) },
    ]);
    const text = renderSnapshot(running, at(5));
    expect(text).toContain('Working on it.');
    expect(text).not.toContain('Device setup');
    expect(text).not.toContain('browser');
    const shown = renderSnapshot(fold([{ type: 'context', context: { rules: { ...rules, showProgress: true } }, at: at(0) }, { type: 'step', step: 'apps', state: 'in-progress', at: at(0) }]), at(5));
    expect(shown).toContain('Device setup (working on it)');
    const failed = fold([
      { type: 'context', context: { rules }, at: at(0) },
      { type: 'failed', failure: { code: 'ESP_TIMEOUT', hresult: '0x800705B4', title: 'Setup took too long', message: 'm', remedy: 'Check the network', docs: 'd', detail: null, step: 'apps', item: null }, at: at(9) },
    ]);
    expect(renderSnapshot(failed, at(9))).toContain('ESP_TIMEOUT (0x800705B4): Setup took too long');
  });

  it('shows what the service and items say as visible escapes, never as control characters, in every mode', () => {
    const written: string[] = [];
    const events = [
      { type: 'items', step: 'apps', items: [item('evil\x1b[2J')], at: at(0) },
      { type: 'step', step: 'apps', state: 'in-progress', detail: 'Downloading\x1b]0;owned\x07\u202e', at: at(1) },
    ];
    for (const mode of ['plain', 'tty', 'json'] as const) {
      const out = terminalRenderer({ write: (t) => written.push(t), isTTY: mode === 'tty' }, mode, () => at(2));
      let snapshot = initialSnapshot(T0);
      events.forEach((e, i) => {
        const event = { seq: i + 1, ...e } as EspEvent;
        snapshot = applyEspEvent(snapshot, event);
        out.onEvent(event, snapshot);
      });
      out.finish(snapshot);
    }
    // The renderer's own redraw is the only escape sequence written.
    const text = written.join('').replaceAll('\x1b[H\x1b[2J', '');
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(text).toContain('evil\\x1b[2J');
    expect(text).toContain('Downloading\\x1b]0;owned\\x07\\u202e');
  });

  it('prints one line per change in plain mode, none for progress ticks', () => {
    const events = [
      { type: 'items', step: 'apps', items: [item('browser')], at: at(0) },
      { type: 'item', step: 'apps', item: 'browser', patch: { progress: 0.5 }, at: at(1) },
      { type: 'item', step: 'apps', item: 'browser', patch: { state: 'succeeded' }, at: at(2) },
    ];
    let snapshot = initialSnapshot(T0);
    const lines = events.map((e, i) => {
      const event = { seq: i + 1, ...e } as EspEvent;
      snapshot = applyEspEvent(snapshot, event);
      return eventLine(event, snapshot);
    });
    expect(lines).toEqual(['10:00:00 Apps: 1 item(s): browser', undefined, '10:00:02 Apps · browser: done']);
  });

  it('writes JSON lines in json mode and redraws in place on a terminal', () => {
    const written: string[] = [];
    const json = terminalRenderer({ write: (t) => written.push(t), isTTY: false }, 'json');
    const event = { seq: 1, at: at(0), type: 'succeeded' } as EspEvent;
    json.onEvent(event, applyEspEvent(initialSnapshot(T0), event));
    expect(JSON.parse(written[0]!)).toEqual(event);
    const tty = terminalRenderer({ write: (t) => written.push(t), isTTY: true }, 'tty', () => at(1));
    tty.onEvent(event, applyEspEvent(initialSnapshot(T0), event));
    tty.finish(applyEspEvent(initialSnapshot(T0), event));
    expect(written[1]!.startsWith('\u001b[H\u001b[2JSetting up your device')).toBe(true);
  });
});
