import { describe, expect, it } from 'vitest';

import { parseRange } from './range.js';

describe('parseRange', () => {
  it('serves everything without a Range header', () => {
    expect(parseRange(undefined, 100)).toEqual({ kind: 'full' });
  });

  it('serves a closed range, clamped to the end', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual({ kind: 'partial', start: 0, end: 9 });
    expect(parseRange('bytes=90-200', 100)).toEqual({ kind: 'partial', start: 90, end: 99 });
    expect(parseRange('bytes=99-99', 100)).toEqual({ kind: 'partial', start: 99, end: 99 });
  });

  it('serves an open range and a suffix', () => {
    expect(parseRange('bytes=40-', 100)).toEqual({ kind: 'partial', start: 40, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ kind: 'partial', start: 90, end: 99 });
    expect(parseRange('bytes=-500', 100)).toEqual({ kind: 'partial', start: 0, end: 99 });
  });

  it('refuses ranges that start at or past the end', () => {
    expect(parseRange('bytes=100-', 100)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=150-160', 100)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-0', 100)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
  });

  it('ignores what it does not serve: several ranges, other units, nonsense, reversed ranges', () => {
    for (const header of ['bytes=0-1,5-6', 'items=0-1', 'bytes=a-b', 'bytes=9-3', 'bytes=-', 'bytes 0-1']) {
      expect(parseRange(header, 100), header).toEqual({ kind: 'full' });
    }
  });

  it('serves the whole when If-Range names another version', () => {
    expect(parseRange('bytes=0-9', 100, '"other"', '"this"')).toEqual({ kind: 'full' });
    expect(parseRange('bytes=0-9', 100, '"this"', '"this"')).toEqual({ kind: 'partial', start: 0, end: 9 });
  });
});
