/**
 * Byte writer and reader of the column-wise block encoding (packed-block.ts). Integers are JS numbers
 * and must be safe integers (|v| < 2^53): the writer refuses anything else, the reader never
 * produces anything else. Every read is bounds-checked against the bytes it was given, so a damaged
 * block fails with a RangeError instead of reading past its end or allocating what it claims.
 */

/** Byte 0x01 as a signed integer: "minus zero", which no integer encodes, so it stands for null. */
const NULL_BYTE = 0x01;

export class ByteWriter {
  private buffer = new Uint8Array(4096);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
  }

  byte(value: number): void {
    this.room(1);
    this.buffer[this.length++] = value;
  }

  /** Unsigned LEB128 of a safe integer >= 0 (at most 8 bytes). */
  uint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a non-negative safe integer: ${value}`);
    this.room(8);
    while (value >= 0x80) {
      this.buffer[this.length++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.buffer[this.length++] = value;
  }

  /** A safe integer: the sign in bit 0 of the first byte, then the magnitude, 6 bits then 7 a byte (at most 8 bytes). */
  int(value: number): void {
    if (!Number.isSafeInteger(value)) throw new RangeError(`not a safe integer: ${value}`);
    this.room(8);
    const negative = value < 0;
    let magnitude = negative ? -value : value;
    let first = ((magnitude % 0x40) << 1) | (negative ? 1 : 0);
    magnitude = Math.floor(magnitude / 0x40);
    if (magnitude > 0) first |= 0x80;
    this.buffer[this.length++] = first;
    while (magnitude > 0) {
      const low = magnitude % 0x80;
      magnitude = Math.floor(magnitude / 0x80);
      this.buffer[this.length++] = magnitude > 0 ? low | 0x80 : low;
    }
  }

  nullableInt(value: number | null): void {
    if (value === null) this.byte(NULL_BYTE);
    else this.int(value);
  }

  u32(value: number): void {
    this.room(4);
    const at = this.length;
    this.buffer[at] = value & 0xff;
    this.buffer[at + 1] = (value >>> 8) & 0xff;
    this.buffer[at + 2] = (value >>> 16) & 0xff;
    this.buffer[at + 3] = (value >>> 24) & 0xff;
    this.length += 4;
  }

  bytes(value: Uint8Array): void {
    this.room(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
  }

  result(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }
}

export class ByteReader {
  at = 0;

  constructor(private readonly data: Uint8Array) {}

  get left(): number {
    return this.data.length - this.at;
  }

  byte(): number {
    if (this.at >= this.data.length) throw new RangeError("block truncated");
    return this.data[this.at++] as number;
  }

  uint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const byte = this.byte();
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (!Number.isSafeInteger(value)) break;
        return value;
      }
      scale *= 0x80;
    }
    throw new RangeError("integer out of range");
  }

  /** A count of things that each take at least `perItem` bytes of what is left (so an array of that many can be allocated). */
  count(perItem = 1): number {
    const value = this.uint();
    if (value * perItem > this.left) throw new RangeError(`count ${value} is more than the block holds`);
    return value;
  }

  private signed(): number | null {
    const first = this.byte();
    const negative = (first & 1) === 1;
    let magnitude = (first >> 1) & 0x3f;
    if (first & 0x80) {
      let scale = 0x40;
      for (let i = 0; ; i++) {
        if (i === 7) throw new RangeError("integer out of range");
        const byte = this.byte();
        magnitude += (byte & 0x7f) * scale;
        if ((byte & 0x80) === 0) break;
        scale *= 0x80;
      }
      if (!Number.isSafeInteger(magnitude)) throw new RangeError("integer out of range");
    }
    if (negative && magnitude === 0) return first === NULL_BYTE ? null : Number.NaN;
    return negative ? -magnitude : magnitude;
  }

  int(): number {
    const value = this.signed();
    if (value === null || Number.isNaN(value)) throw new RangeError("null or malformed where an integer must be");
    return value;
  }

  nullableInt(): number | null {
    const value = this.signed();
    if (value !== null && Number.isNaN(value)) throw new RangeError("malformed integer");
    return value;
  }

  u32(): number {
    if (this.left < 4) throw new RangeError("block truncated");
    const d = this.data;
    const at = this.at;
    this.at += 4;
    return ((d[at] as number) | ((d[at + 1] as number) << 8) | ((d[at + 2] as number) << 16) | ((d[at + 3] as number) << 24)) >>> 0;
  }

  /** `length` bytes as a view (the caller copies what it keeps). */
  view(length: number): Uint8Array {
    if (length > this.left) throw new RangeError("block truncated");
    const out = this.data.subarray(this.at, this.at + length);
    this.at += length;
    return out;
  }

  end(): void {
    if (this.at !== this.data.length) throw new RangeError(`${this.left} bytes after the last column`);
  }
}
