// The registrations CSV (docs/protocol.md#registrations-csv) and RFC 4180 CSV as spreadsheets
// write it: UTF-8 with or without a byte-order mark, CRLF or LF, fields quoted when they hold
// commas, quotes ("" inside) or line breaks. Rows are numbered as a spreadsheet shows them (the
// header is row 1), so an error report points at the right line.

/** The header of a hardware-hash file, as Autopilot's: what the service imports. */
export const CSV_HEADER = ['Device Serial Number', 'Hardware Hash', 'Group Tag', 'Assigned User'] as const;
export const CSV_HEADER_LINE = CSV_HEADER.join(',');

/** One CSV field, quoted when it must be (RFC 4180). */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export function csvLine(fields: readonly string[]): string {
  return fields.map(csvField).join(',');
}

export class CsvSyntaxError extends Error {
  constructor(
    readonly row: number,
    reason: string,
  ) {
    super(`row ${row}: ${reason}`);
    this.name = 'CsvSyntaxError';
  }
}

export interface CsvRecord {
  /** 1-based record number; blank lines count but are not returned. */
  row: number;
  fields: string[];
}

export function parseCsv(input: string): CsvRecord[] {
  const text = input.startsWith('\uFEFF') ? input.slice(1) : input;
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let row = 1;
  let quoted = false; // inside a quoted field
  let wasQuoted = false; // the current field was quoted (only a separator may follow)
  let i = 0;

  const endField = () => {
    fields.push(field);
    field = '';
    wasQuoted = false;
  };
  const endRecord = () => {
    endField();
    if (!(fields.length === 1 && fields[0] === '')) records.push({ row, fields });
    fields = [];
    row++;
  };

  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        wasQuoted = true;
        i++;
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (c === ',') {
      endField();
      i++;
    } else if (c === '\r' || c === '\n') {
      if (c === '\r' && text[i + 1] !== '\n') throw new CsvSyntaxError(row, 'a carriage return without a line feed');
      endRecord();
      i += c === '\r' ? 2 : 1;
    } else if (wasQuoted) {
      throw new CsvSyntaxError(row, `unexpected "${c}" after a closing quote`);
    } else if (c === '"') {
      if (field !== '') throw new CsvSyntaxError(row, 'a quote inside an unquoted field (quote the whole field and double the quote)');
      quoted = true;
      i++;
    } else {
      field += c;
      i++;
    }
  }
  if (quoted) throw new CsvSyntaxError(row, 'a quoted field is not closed');
  if (field !== '' || fields.length > 0 || wasQuoted) endRecord();
  return records;
}
