// Just enough DER to take a PKCS#10 request apart without a JavaScript ASN.1 library: the
// elements of a SEQUENCE, each with its tag and exact bytes. Lengths are checked against what is
// there; anything malformed throws DerError.

export class DerError extends Error {}

export interface DerElement {
  tag: number;
  /** The whole element: header and content. */
  bytes: Uint8Array;
  content: Uint8Array;
}

/** The element at the start of `input`. */
export function readElement(input: Uint8Array): DerElement {
  if (input.length < 2) throw new DerError('truncated');
  const tag = input[0]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not used here');
  let length = input[1]!;
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || input.length < 2 + count) throw new DerError('bad length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + input[2 + i]!;
    if (length < 0x80) throw new DerError('length not in its shortest form');
    header += count;
  }
  if (header + length > input.length) throw new DerError('truncated');
  return { tag, bytes: input.subarray(0, header + length), content: input.subarray(header, header + length) };
}

/** The elements inside a constructed element's content, which they must fill exactly. */
export function children(element: DerElement): DerElement[] {
  const found: DerElement[] = [];
  for (let rest = element.content; rest.length > 0; ) {
    const child = readElement(rest);
    found.push(child);
    rest = rest.subarray(child.bytes.length);
  }
  return found;
}

/** An OBJECT IDENTIFIER's dotted form. */
export function oid(element: DerElement): string {
  if (element.tag !== 0x06 || element.content.length === 0) throw new DerError('not an OID');
  const bytes = element.content;
  const arcs: number[] = [];
  let value = 0;
  for (const byte of bytes) {
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      arcs.push(value);
      value = 0;
    }
  }
  const first = arcs.shift()!;
  return [Math.min(2, Math.floor(first / 40)), first - 40 * Math.min(2, Math.floor(first / 40)), ...arcs].join('.');
}

/** An element with `tag` around `content` (DER lengths in their shortest form). */
export function element(tag: number, ...content: Uint8Array[]): Uint8Array {
  const length = content.reduce((sum, part) => sum + part.length, 0);
  const size: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) size.unshift(rest % 256);
  const header = length < 0x80 ? [tag, length] : [tag, 0x80 | size.length, ...size];
  const out = new Uint8Array(header.length + length);
  out.set(header);
  let at = header.length;
  for (const part of content) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export const sequence = (...content: Uint8Array[]) => element(0x30, ...content);

/** An OBJECT IDENTIFIER from its dotted form. */
export function encodeOid(dotted: string): Uint8Array {
  const [first, second, ...rest] = dotted.split('.').map(Number);
  const body: number[] = [];
  for (const arc of [first! * 40 + second!, ...rest]) {
    const groups: number[] = [arc & 0x7f];
    for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128)) groups.unshift((value & 0x7f) | 0x80);
    body.push(...groups);
  }
  return element(0x06, new Uint8Array(body));
}

/** A non-negative INTEGER from its big-endian bytes (shortest form, a 0x00 first when the top bit is set). */
export function encodeUnsigned(value: Uint8Array): Uint8Array {
  let start = 0;
  while (start < value.length - 1 && value[start] === 0 && value[start + 1]! < 0x80) start++;
  const trimmed = value.subarray(start);
  return element(0x02, ...(trimmed[0]! >= 0x80 ? [new Uint8Array([0]), trimmed] : [trimmed]));
}

/** UTCTime until 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5). */
export function encodeTime(date: Date): Uint8Array {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  return date.getUTCFullYear() < 2050 ? element(0x17, new TextEncoder().encode(`${digits.slice(2)}Z`)) : element(0x18, new TextEncoder().encode(`${digits}Z`));
}
