import { readFileSync } from "node:fs";
import { VECTOR_ENCODINGS, type VectorEncodingName } from "./vector-encoding.js";

interface DotExports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  scores(queryAt: number, matrixAt: number, rows: number, stride: number, outAt: number): void;
}

interface TernaryExports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  scores(tableAt: number, codesAt: number, rows: number, width: number, normsAt: number, outAt: number): void;
  sparseScores(tableAt: number, codesAt: number, rows: number, width: number, normsAt: number, outAt: number, listAt: number, countA: number, countB: number): void;
}

const modules = new Map<string, WebAssembly.Module>();

function instance<T>(name: string, bytes: number): T {
  let compiled = modules.get(name);
  if (!compiled) modules.set(name, (compiled = new WebAssembly.Module(readFileSync(new URL(`../../asm/${name}.wasm`, import.meta.url)))));
  const exports = new WebAssembly.Instance(compiled, {}).exports as unknown as T & { memory: { buffer: ArrayBuffer; grow(pages: number): number } };
  const have = exports.memory.buffer.byteLength;
  if (bytes > have) exports.memory.grow(Math.ceil((bytes - have) / 65536));
  return exports;
}

/**
 * The stored vectors of the search index in memory, one row each, appended as they are indexed
 * and scored against a query in WebAssembly. Rows are never removed here: the index tombstones
 * them and, now and then, copies the live ones into a new table (`compacted`).
 */
export interface VectorRows {
  readonly rows: number;
  /** Appends one stored vector (its encoded bytes); returns its row. */
  append(bytes: Uint8Array): number;
  /**
   * The dot product of `query` with every row's decoded unit vector, in row order: a view of the
   * table's memory, valid (and the caller's to change) until the next `scores` or `append`.
   */
  scores(query: Float32Array): Float32Array;
  /** Row `r` decoded: a unit vector (or zeros). */
  vector(r: number): Float32Array;
  /** A new table holding the rows `keep`, in that order. */
  compacted(keep: readonly number[]): VectorRows;
}

/** A table for vectors stored with `encoding`: ternary codes are scored as they are stored, other encodings decoded to float32. */
export function vectorRows(encoding: VectorEncodingName, dimensions: number, capacity = 1024): VectorRows {
  return encoding === "ternary" ? new TernaryRows(dimensions, capacity) : new FloatRows(encoding, dimensions, capacity);
}

/**
 * Decoded vectors as rows of a float32 matrix, scored with SIMD dot products (asm/dot-scores.ts),
 * bound by memory bandwidth: 4 bytes a dimension a row (100 MiB for 100,000 × 256). Rows are padded
 * to a multiple of 4 with zeros. Used for the `float16`, `int8` and `binary` encodings.
 */
export class FloatRows implements VectorRows {
  private readonly stride: number;
  private exports: DotExports;
  private count = 0;

  constructor(
    private readonly encoding: VectorEncodingName,
    readonly dimensions: number,
    private capacity: number,
  ) {
    this.stride = Math.ceil(dimensions / 4) * 4;
    this.exports = this.allocate(capacity);
  }

  get rows(): number {
    return this.count;
  }

  /** Layout: the query, the scores, then the matrix. */
  private allocate(capacity: number): DotExports {
    return instance<DotExports>("dot-scores", this.stride * 4 + capacity * 4 + capacity * this.stride * 4);
  }

  private get matrixAt(): number {
    return this.stride * 4 + this.capacity * 4;
  }

  append(bytes: Uint8Array): number {
    if (this.count === this.capacity) {
      const old = new Uint8Array(this.exports.memory.buffer, this.matrixAt, this.count * this.stride * 4);
      const capacity = this.capacity * 2;
      const exports = this.allocate(capacity);
      new Uint8Array(exports.memory.buffer, this.stride * 4 + capacity * 4, old.length).set(old);
      this.exports = exports;
      this.capacity = capacity;
    }
    const row = this.count++;
    VECTOR_ENCODINGS[this.encoding].decode(bytes, this.row(row));
    return row;
  }

  private row(r: number): Float32Array {
    return new Float32Array(this.exports.memory.buffer, this.matrixAt + r * this.stride * 4, this.dimensions);
  }

  vector(r: number): Float32Array {
    return this.row(r).slice();
  }

  scores(query: Float32Array): Float32Array {
    const buffer = this.exports.memory.buffer;
    const padded = new Float32Array(buffer, 0, this.stride);
    padded.fill(0);
    padded.set(query.subarray(0, this.dimensions));
    const outAt = this.stride * 4;
    this.exports.scores(0, this.matrixAt, this.count, this.stride, outAt);
    return new Float32Array(buffer, outAt, this.count);
  }

  compacted(keep: readonly number[]): VectorRows {
    const next = new FloatRows(this.encoding, this.dimensions, Math.max(1024, keep.length));
    for (const r of keep) {
      next.row(next.count++).set(this.row(r));
    }
    return next;
  }
}

/** The sparse scan is used when at most this share of the code bytes carry query weight (measured: docs/SEARCH.md). */
const SPARSE_SHARE = 0.5;

/**
 * Ternary codes (2 bits a dimension: 64 bytes a row at 256 dimensions, 6.4 MB for 100,000 rows)
 * scored as stored, by table look-up (asm/ternary-scores.ts): per query a table of partial sums
 * (one per code byte and byte value), per row one look-up per byte, times the row's inverse norm.
 * The result is the cosine with the decoded unit row, as decoding and a float dot product give it
 * (up to float rounding), at a sixteenth of the memory.
 */
export class TernaryRows implements VectorRows {
  /** Bytes a stored vector has. */
  private readonly bytes: number;
  /** Bytes a row takes in memory: `bytes` padded to a multiple of 4 (whole 32-bit words). */
  private readonly width: number;
  private exports: TernaryExports;
  private count = 0;

  constructor(
    readonly dimensions: number,
    private capacity: number,
  ) {
    this.bytes = Math.ceil(dimensions / 4);
    this.width = Math.ceil(this.bytes / 4) * 4;
    this.exports = this.allocate(capacity);
  }

  get rows(): number {
    return this.count;
  }

  /** The table, then the list of code bytes a sparse query looks up (4 bytes an entry). */
  private get tableBytes(): number {
    return this.width * 256 * 4 + this.width * 4;
  }

  private get listAt(): number {
    return this.width * 256 * 4;
  }

  /** Layout: the table, the byte list, the inverse norms, the scores, then the codes. */
  private allocate(capacity: number): TernaryExports {
    return instance<TernaryExports>("ternary-scores", this.tableBytes + capacity * 8 + capacity * this.width);
  }

  private normsAt(): number {
    return this.tableBytes;
  }

  private outAt(capacity = this.capacity): number {
    return this.tableBytes + capacity * 4;
  }

  private codesAt(capacity = this.capacity): number {
    return this.tableBytes + capacity * 8;
  }

  append(bytes: Uint8Array): number {
    if (this.count === this.capacity) this.grow(this.capacity * 2);
    const row = this.count++;
    const buffer = this.exports.memory.buffer;
    const codes = new Uint8Array(buffer, this.codesAt() + row * this.width, this.width);
    codes.fill(0);
    codes.set(bytes.subarray(0, this.bytes));
    let nonzero = 0;
    for (let i = 0; i < this.bytes; i++) {
      const byte = codes[i] as number;
      for (let shift = 0; shift < 8; shift += 2) {
        const code = (byte >> shift) & 3;
        if (code === 1 || code === 2) nonzero++;
      }
    }
    new Float32Array(buffer, this.normsAt(), this.capacity)[row] = nonzero > 0 ? 1 / Math.sqrt(nonzero) : 0;
    return row;
  }

  private grow(capacity: number): void {
    const old = this.exports.memory.buffer;
    const exports = this.allocate(capacity);
    const buffer = exports.memory.buffer;
    new Uint8Array(buffer, this.normsAt(), this.count * 4).set(new Uint8Array(old, this.normsAt(), this.count * 4));
    new Uint8Array(buffer, this.codesAt(capacity), this.count * this.width).set(new Uint8Array(old, this.codesAt(), this.count * this.width));
    this.exports = exports;
    this.capacity = capacity;
  }

  vector(r: number): Float32Array {
    const out = new Float32Array(this.dimensions);
    VECTOR_ENCODINGS.ternary.decode(new Uint8Array(this.exports.memory.buffer, this.codesAt() + r * this.width, this.bytes), out);
    return out;
  }

  /** `scan`: `auto` picks the sparse loop for a query that weighs few code bytes; `dense` and `sparse` force one (tests, benchmarks). */
  scores(query: Float32Array, scan: "auto" | "dense" | "sparse" = "auto"): Float32Array {
    const buffer = this.exports.memory.buffer;
    const table = new Float32Array(buffer, 0, this.width * 256);
    table.fill(0);
    // Code bytes the query gives weight to, in two lists as the dense loop sums them: bytes 0 and 2 of each word, then 1 and 3.
    const evens: number[] = [];
    const odds: number[] = [];
    // Per code byte: the sums of ±q over its 4 dimensions, built a pair of bits at a time.
    for (let b = 0; b < this.bytes; b++) {
      const at = b * 256;
      let weighted = false;
      for (let k = 0; k < 4; k++) {
        const d = b * 4 + k;
        const q = d < this.dimensions && d < query.length ? (query[d] as number) : 0;
        if (q === 0) continue;
        weighted = true;
        const shift = k * 2;
        for (let v = 0; v < 256; v++) {
          const code = (v >> shift) & 3;
          if (code === 1) table[at + v] = (table[at + v] as number) + q;
          else if (code === 2) table[at + v] = (table[at + v] as number) - q;
        }
      }
      if (weighted) ((b & 1) === 0 ? evens : odds).push(b);
    }
    // A byte without weight looks up +0, which changes no sum: skipping it gives the same scores, bit for bit.
    // Byte loads cost more than word loads, so the whole rows are read when most bytes count.
    if (scan === "sparse" || (scan === "auto" && evens.length + odds.length <= this.bytes * SPARSE_SHARE)) {
      const list = new Uint32Array(buffer, this.listAt, evens.length + odds.length);
      list.set(evens);
      list.set(odds, evens.length);
      this.exports.sparseScores(0, this.codesAt(), this.count, this.width, this.normsAt(), this.outAt(), this.listAt, evens.length, odds.length);
    } else {
      this.exports.scores(0, this.codesAt(), this.count, this.width, this.normsAt(), this.outAt());
    }
    return new Float32Array(buffer, this.outAt(), this.count);
  }

  compacted(keep: readonly number[]): VectorRows {
    const next = new TernaryRows(this.dimensions, Math.max(1024, keep.length));
    const buffer = this.exports.memory.buffer;
    const norms = new Float32Array(buffer, this.normsAt(), this.capacity);
    const nextBuffer = next.exports.memory.buffer;
    const nextNorms = new Float32Array(nextBuffer, next.normsAt(), next.capacity);
    const nextCodes = new Uint8Array(nextBuffer, next.codesAt(), next.capacity * next.width);
    for (const r of keep) {
      const row = next.count++;
      nextNorms[row] = norms[r] as number;
      nextCodes.set(new Uint8Array(buffer, this.codesAt() + r * this.width, this.width), row * next.width);
    }
    return next;
  }
}
