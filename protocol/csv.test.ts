// The CSV reader: what spreadsheets write, and clear row numbers for what they should not.
import { describe, expect, it } from 'vitest';

import { CsvSyntaxError, parseCsv } from './csv.js';

describe('parseCsv', () => {
  it('reads LF and CRLF files, with or without a BOM and a final line break', () => {
    const expected = [
      { row: 1, fields: ['a', 'b'] },
      { row: 2, fields: ['1', '2'] },
    ];
    for (const text of ['a,b\n1,2\n', 'a,b\r\n1,2\r\n', '\uFEFFa,b\n1,2', 'a,b\n1,2']) expect(parseCsv(text), JSON.stringify(text)).toEqual(expected);
  });

  it('reads quoted fields with commas, doubled quotes and line breaks, and empty fields', () => {
    expect(parseCsv('a,"b,c","say ""hi""","two\nlines",\n')).toEqual([{ row: 1, fields: ['a', 'b,c', 'say "hi"', 'two\nlines', ''] }]);
    expect(parseCsv('"",x\n')).toEqual([{ row: 1, fields: ['', 'x'] }]);
  });

  it('skips blank lines but counts them, as a spreadsheet numbers rows', () => {
    expect(parseCsv('h\n\nx\n')).toEqual([
      { row: 1, fields: ['h'] },
      { row: 3, fields: ['x'] },
    ]);
  });

  it('names the row of a syntax error', () => {
    const cases: [string, number, RegExp][] = [
      ['h\n"open\n', 2, /not closed/],
      ['h\nab"c\n', 2, /quote inside an unquoted field/],
      ['h\n"a"b\n', 2, /after a closing quote/],
      ['h\rx\n', 1, /carriage return/],
    ];
    for (const [text, row, reason] of cases) {
      let error: unknown;
      try {
        parseCsv(text);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(text)).toBeInstanceOf(CsvSyntaxError);
      expect((error as CsvSyntaxError).row).toBe(row);
      expect((error as CsvSyntaxError).message).toMatch(reason);
    }
  });
});
