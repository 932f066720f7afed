// Bounds-checked big-endian reading and writing of TPM wire structures (TPM 2.0 Part 1 §18:
// canonical marshalling). Every read checks the remaining length, so a short or hostile input
// raises TpmDecodeError, never a RangeError from a typed array or a silently short value.

/** Raised for any malformed TPM structure. `code` is stable for error reporting. */
export class TpmDecodeError extends Error {
  readonly code = 'TPM_STRUCTURE_INVALID';
  constructor(
    readonly structure: string,
    message: string,
  ) {
    super(`${structure}: ${message}`);
    this.name = 'TpmDecodeError';
  }
}

export class ByteReader {
  private offset: number;

  constructor(
    private readonly bytes: Uint8Array,
    readonly structure: string,
    start = 0,
    private readonly end = bytes.length,
  ) {
    this.offset = start;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  private take(count: number, what: string): number {
    if (count > this.remaining) {
      throw new TpmDecodeError(this.structure, `truncated ${what}: need ${count} bytes, have ${this.remaining}`);
    }
    const at = this.offset;
    this.offset += count;
    return at;
  }

  u8(what = 'UINT8'): number {
    const at = this.take(1, what);
    return this.bytes[at]!;
  }

  u16(what = 'UINT16'): number {
    const at = this.take(2, what);
    return (this.bytes[at]! << 8) | this.bytes[at + 1]!;
  }

  u32(what = 'UINT32'): number {
    const at = this.take(4, what);
    return ((this.bytes[at]! << 24) | (this.bytes[at + 1]! << 16) | (this.bytes[at + 2]! << 8) | this.bytes[at + 3]!) >>> 0;
  }

  u64(what = 'UINT64'): bigint {
    const high = BigInt(this.u32(what));
    const low = BigInt(this.u32(what));
    return (high << 32n) | low;
  }

  raw(count: number, what = 'bytes'): Uint8Array {
    const at = this.take(count, what);
    return this.bytes.slice(at, at + count);
  }

  /** A TPM2B: UINT16 size, then that many bytes, at most `max`. */
  sized(what: string, max: number): Uint8Array {
    const size = this.u16(`${what}.size`);
    if (size > max) throw new TpmDecodeError(this.structure, `${what} is ${size} bytes, more than its maximum ${max}`);
    return this.raw(size, what);
  }

  /** A reader over the next `count` bytes (a structure wrapped in a TPM2B). */
  sub(count: number, structure: string): ByteReader {
    const at = this.take(count, structure);
    return new ByteReader(this.bytes, structure, at, at + count);
  }

  /** Asserts that the structure used every byte: trailing bytes are rejected. */
  finish(): void {
    if (this.remaining !== 0) throw new TpmDecodeError(this.structure, `${this.remaining} trailing bytes`);
  }
}

export class ByteWriter {
  private readonly chunks: number[] = [];

  u8(value: number): this {
    this.chunks.push(value & 0xff);
    return this;
  }

  u16(value: number): this {
    this.chunks.push((value >>> 8) & 0xff, value & 0xff);
    return this;
  }

  u32(value: number): this {
    this.chunks.push((value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
    return this;
  }

  raw(bytes: Uint8Array): this {
    for (const byte of bytes) this.chunks.push(byte);
    return this;
  }

  sized(bytes: Uint8Array): this {
    if (bytes.length > 0xffff) throw new RangeError('a TPM2B holds at most 65535 bytes');
    return this.u16(bytes.length).raw(bytes);
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

/** Wraps a marshalled structure into its TPM2B form (UINT16 size prefix). */
export function sized(bytes: Uint8Array): Uint8Array {
  return new ByteWriter().sized(bytes).finish();
}

/** Removes the UINT16 size prefix of a TPM2B, checking it matches the length exactly. */
export function unsized(bytes: Uint8Array, structure: string): Uint8Array {
  const reader = new ByteReader(bytes, structure);
  const size = reader.u16(`${structure}.size`);
  const inner = reader.raw(size, structure);
  reader.finish();
  return inner;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
