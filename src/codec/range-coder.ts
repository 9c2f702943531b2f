/**
 * A carry-propagating range coder (the LZMA scheme widened to a 48-bit range) shared by every
 * model-driven codec: binary decisions for context models, frequency tables for token models.
 *
 * All state is integers below 2^53 held in doubles, and every division is by a power of two,
 * so results are exact and identical on every platform. Precision: the range never drops below
 * 2^40, so a 16-bit probability or a frequency table with up to 2^24 total costs < 2^-16 bits
 * of rounding per symbol.
 */
const TOP = 2 ** 40;
const RANGE_BITS = 48;
const FULL = 2 ** RANGE_BITS;
const PROBABILITY_SCALE = 65536;

/** Probabilities are 16-bit: P(bit = 1) in 1..65535 out of 65536. */
export const PROBABILITY_BITS = 16;
/** Largest log2 of a frequency table's total. */
export const MAX_TOTAL_BITS = 24;

export class RangeEncoder {
  private low = 0;
  private range = FULL - 1;
  private cache = -1; // -1: no byte pending yet (the first byte would always be 0, so it is never written)
  private pendingFFs = 0;
  private out: Uint8Array;
  private length = 0;

  constructor(capacity = 256) {
    this.out = new Uint8Array(Math.max(16, capacity));
  }

  /** Codes `bit` with P(bit = 1) = p1 / 65536, p1 in 1..65535. */
  encodeBit(p1: number, bit: number): void {
    const bound = Math.floor(this.range / PROBABILITY_SCALE) * p1;
    if (bit) {
      this.range = bound;
    } else {
      this.low += bound;
      this.range -= bound;
    }
    while (this.range < TOP) {
      this.range *= 256;
      this.shiftLow();
    }
  }

  /** Codes a symbol occupying [cumulative, cumulative + frequency) of a table whose total is 2^totalBits. */
  encodeFrequency(cumulative: number, frequency: number, totalBits: number): void {
    const unit = Math.floor(this.range / 2 ** totalBits);
    this.low += cumulative * unit;
    this.range = frequency * unit;
    while (this.range < TOP) {
      this.range *= 256;
      this.shiftLow();
    }
  }

  /** Bytes written so far; the finished stream is at most this plus 7. */
  get bytesWritten(): number {
    return this.length + (this.cache >= 0 ? 1 : 0) + this.pendingFFs;
  }

  /** Ends the stream and returns its bytes. Trailing zero bytes are dropped: the decoder pads with zeros. */
  finish(): Uint8Array {
    // Pick the value in [low, low + range) with the most trailing zero bits, so the tail is short.
    for (let shift = RANGE_BITS; shift >= 0; shift -= 8) {
      const unit = 2 ** shift;
      const value = Math.ceil(this.low / unit) * unit;
      if (value < this.low + this.range) {
        this.low = value;
        break;
      }
    }
    for (let i = 0; i < RANGE_BITS / 8 + 1; i++) this.shiftLow();
    let end = this.length;
    while (end > 0 && this.out[end - 1] === 0) end--;
    return this.out.slice(0, end);
  }

  private shiftLow(): void {
    if (this.low < FULL - TOP || this.low >= FULL) {
      const carry = this.low >= FULL ? 1 : 0;
      if (this.cache >= 0) this.push((this.cache + carry) & 0xff);
      for (; this.pendingFFs > 0; this.pendingFFs--) this.push((0xff + carry) & 0xff);
      this.cache = Math.floor(this.low / TOP) % 256;
    } else {
      this.pendingFFs++;
    }
    this.low = (this.low % TOP) * 256;
  }

  private push(byte: number): void {
    if (this.length === this.out.length) {
      const grown = new Uint8Array(this.out.length * 2);
      grown.set(this.out);
      this.out = grown;
    }
    this.out[this.length++] = byte;
  }
}

export class RangeDecoder {
  private code = 0;
  private range = FULL - 1;
  private position = 0;

  constructor(private readonly input: Uint8Array) {
    for (let i = 0; i < RANGE_BITS / 8; i++) this.code = this.code * 256 + this.nextByte();
  }

  decodeBit(p1: number): number {
    const bound = Math.floor(this.range / PROBABILITY_SCALE) * p1;
    let bit: number;
    if (this.code < bound) {
      this.range = bound;
      bit = 1;
    } else {
      this.code -= bound;
      this.range -= bound;
      bit = 0;
    }
    while (this.range < TOP) {
      this.range *= 256;
      this.code = (this.code % TOP) * 256 + this.nextByte();
    }
    return bit;
  }

  /** The position inside a table of total 2^totalBits that the next symbol covers; follow with `consume`. */
  peekFrequency(totalBits: number): number {
    const unit = Math.floor(this.range / 2 ** totalBits);
    return Math.min(Math.floor(this.code / unit), 2 ** totalBits - 1);
  }

  consume(cumulative: number, frequency: number, totalBits: number): void {
    const unit = Math.floor(this.range / 2 ** totalBits);
    this.code -= cumulative * unit;
    this.range = frequency * unit;
    while (this.range < TOP) {
      this.range *= 256;
      this.code = (this.code % TOP) * 256 + this.nextByte();
    }
  }

  /** Bytes consumed beyond the end of the input (read as zeros); large values mean a corrupt stream. */
  get overrun(): number {
    return Math.max(0, this.position - this.input.length);
  }

  private nextByte(): number {
    const byte = this.position < this.input.length ? (this.input[this.position] as number) : 0;
    this.position++;
    return byte;
  }
}
