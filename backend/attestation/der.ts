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
