// DER certificates as TPMs keep them in NV: one certificate, sometimes followed by padding (the EK
// certificate indices), or several one after another (the chain indices).

/** The length of the DER SEQUENCE at the start of `content` (header included), or null when it is none. */
function derLength(content: Uint8Array): number | null {
  if (content.length < 2 || content[0] !== 0x30) return null;
  const first = content[1]!;
  if (first < 0x80) return 2 + first;
  const count = first & 0x7f;
  if (count === 0 || count > 3 || content.length < 2 + count) return null;
  let length = 0;
  for (let i = 0; i < count; i++) length = length * 256 + content[2 + i]!;
  return 2 + count + length;
}

/** NV content is the DER certificate, sometimes followed by padding: keep the DER only. */
export function trimDer(content: Uint8Array): Uint8Array {
  const length = derLength(content);
  return length !== null && length <= content.length ? content.slice(0, length) : content;
}

/** The DER certificates one after another in an NV index (the padding some TPMs leave after them dropped). */
export function splitDer(content: Uint8Array): Uint8Array[] {
  const certificates: Uint8Array[] = [];
  let rest = content;
  for (let length = derLength(rest); length !== null && length <= rest.length; length = derLength(rest)) {
    certificates.push(rest.slice(0, length));
    rest = rest.subarray(length);
  }
  return certificates;
}
