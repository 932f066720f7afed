import { describe, expect, it } from 'vitest';

import { jsonSafe, terminalSafe } from './terminal-text.js';

describe('text for a terminal', () => {
  it.each([
    ['an escape sequence that clears the screen', 'a\x1b[2Jb', 'a\\x1b[2Jb'],
    ['a window title (OSC 0)', '\x1b]0;pwned\x07', '\\x1b]0;pwned\\x07'],
    ['a hyperlink (OSC 8)', '\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\', '\\x1b]8;;https://evil.example\\x1b\\click\\x1b]8;;\\x1b\\'],
    ['a C1 CSI', 'a\u009b2Jb', 'a\\x9b2Jb'],
    ['a carriage return that overwrites the line', 'ok\rFAILED', 'ok\\x0dFAILED'],
    ['a backspace', 'abc\b\b\bxyz', 'abc\\x08\\x08\\x08xyz'],
    ['a bidi override (Trojan Source)', 'admin\u202e\u2066txt.exe', 'admin\\u202e\\u2066txt.exe'],
    ['DEL and NUL', 'a\u007fb\u0000c', 'a\\x7fb\\x00c'],
  ])('shows %s as visible escapes', (_, text, shown) => {
    const safe = terminalSafe(text);
    expect(safe).toBe(shown);
    // eslint-disable-next-line no-control-regex
    expect(safe).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  });

  it('keeps newlines, tabs aside, and plain text and other scripts as they are', () => {
    expect(terminalSafe('Gerät wird eingerichtet\nجارٍ الإعداد ✓')).toBe('Gerät wird eingerichtet\nجارٍ الإعداد ✓');
    expect(terminalSafe('one\ntwo', { oneLine: true })).toBe('one\\ntwo');
  });

  it('keeps JSON the same JSON, with C1 and bidi controls escaped', () => {
    const value = { detail: 'x\u009b2J\u202eevil\u2028y\u001b[0m' };
    const json = jsonSafe(JSON.stringify(value));
    // eslint-disable-next-line no-control-regex
    expect(json).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2028]/);
    expect(JSON.parse(json)).toEqual(value);
  });
});
