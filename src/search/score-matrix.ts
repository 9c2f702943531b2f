import { readFileSync } from "node:fs";
import { ErrorCode, MemzipError } from "../errors.js";
import { VECTOR_ENCODINGS, type VectorEncodingName } from "./vector-encoding.js";

/** The functions each WebAssembly module must export (a build older than this code lacks some). */
const EXPORTS: Record<string, readonly string[]> = { "dot-scores": ["scores"], "ternary-scores": ["scores", "sparseScores", "boundedScores"] };

interface DotExports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  scores(queryAt: number, matrixAt: number, rows: number, stride: number, outAt: number): void;
}

interface TernaryExports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  scores(tableAt: number, codesAt: number, rows: number, width: number, normsAt: number, outAt: number): void;
  sparseScores(tableAt: number, codesAt: number, rows: number, width: number, normsAt: number, outAt: number, listAt: number, countA: number, countB: number): void;
  rescoreRows(tableAt: number, codesAt: number, width: number, normsAt: number, outAt: number, rowsAt: number, count: number): void;
  boundedScores(tableAt: number, codesAt: number, blocksAt: number, nibblesAt: number, rows: number, width: number, normsAt: number, outAt: number, listAt: number, count: number, scale: number, margin: number, cut: number, rescoredAt: number): number;
}

const modules = new Map<string, WebAssembly.Module>();

function instance<T>(name: string, bytes: number): T {
  let compiled = modules.get(name);
  if (!compiled) modules.set(name, (compiled = new WebAssembly.Module(readFileSync(new URL(`../../asm/${name}.wasm`, import.meta.url)))));
  const exports = new WebAssembly.Instance(compiled, {}).exports as unknown as T & { memory: { buffer: ArrayBuffer; grow(pages: number): number } };
  const missing = (EXPORTS[name] ?? []).filter((fn) => typeof (exports as Record<string, unknown>)[fn] !== "function");
  if (missing.length > 0) {
    throw new MemzipError(ErrorCode.VERSION, `asm/${name}.wasm is older than this code (it lacks ${missing.join(", ")})`, { hint: "Rebuild the WebAssembly modules: `npm run build` (or `npm run build:wasm`)." });
  }
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
   * With `floor`, only the rows scoring at or above it are sure to hold their exact score: the
   * others may hold a value below `floor` instead, until `exact` is called for them.
   */
  scores(query: Float32Array, floor?: number): Float32Array;
  /** Puts the exact scores of `rows` into the array the last `scores` returned (a no-op where all are exact). */
  exact(rows: readonly number[]): void;
  /**
   * The rows that can score at least `floor` in the array the last `scores` returned, when the scan
   * listed them (a bounded scan, for a floor at least its own), in order: a superset of the rows
   * holding a score at or above `floor` (the caller checks each). Undefined: look at every row.
   */
  atOrAbove(floor: number): Iterable<number> | undefined;
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

  exact(): void {}

  atOrAbove(): undefined {
    return undefined;
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

/** The largest nibble-table entry of the bounded scan: two look-ups sum to at most 126 in an i8 lane. */
const NIBBLE_MAX = 63;

/** How a ternary query is scanned: `auto` picks; the others force one (tests, benchmarks). */
export type TernaryScan = "auto" | "dense" | "sparse" | "bounded";

/**
 * Ternary codes (2 bits a dimension: 64 bytes a row at 256 dimensions, 6.4 MB for 100,000 rows)
 * scored as stored, by table look-up (asm/ternary-scores.ts): per query a table of partial sums
 * (one per code byte and byte value), per row one look-up per byte, times the row's inverse norm.
 * The result is the cosine with the decoded unit row, as decoding and a float dot product give it
 * (up to float rounding), at a sixteenth of the memory.
 *
 * With a floor above 0 the scan is bounded: the codes are also held in blocks of 16 rows
 * transposed by byte (another 64 bytes a row), scored 16 rows at a time with WASM SIMD nibble
 * look-ups of the query's partial sums quantised to small integers, plus a proven bound on what the
 * quantisation and float rounding can change; only the rows whose bound reaches the floor are then
 * scored exactly, by the same loop as the dense scan, so they hold the same bits (docs/SEARCH.md).
 */
export class TernaryRows implements VectorRows {
  /** Bytes a stored vector has. */
  private readonly bytes: number;
  /** Bytes a row takes in memory: `bytes` padded to a multiple of 4 (whole 32-bit words). */
  private readonly width: number;
  private exports: TernaryExports;
  private count = 0;
  private capacity: number;
  /** Rows the last bounded scan scored exactly (for benchmarks). */
  rescored = 0;
  /** The rows the last scan scored exactly and the floor it bounded against (none after any other scan). */
  private candidates: { rows: Uint32Array; floor: number } | undefined;

  constructor(
    readonly dimensions: number,
    capacity: number,
  ) {
    this.bytes = Math.ceil(dimensions / 4);
    this.width = Math.ceil(this.bytes / 4) * 4;
    this.capacity = blocksOf16(capacity);
    this.exports = this.allocate(this.capacity);
  }

  get rows(): number {
    return this.count;
  }

  /** The table, the list of code bytes a sparse query looks up (4 bytes an entry), then the nibble tables (32 bytes a code byte). */
  private get tableBytes(): number {
    return this.width * 256 * 4 + this.width * 4 + this.width * 32;
  }

  private get listAt(): number {
    return this.width * 256 * 4;
  }

  private get nibblesAt(): number {
    return this.width * 256 * 4 + this.width * 4;
  }

  /** Layout: the tables, the inverse norms, the scores, a list of rows, the codes, then the codes in blocks of 16 rows. */
  private allocate(capacity: number): TernaryExports {
    return instance<TernaryExports>("ternary-scores", this.tableBytes + capacity * 12 + capacity * this.width * 2);
  }

  private normsAt(): number {
    return this.tableBytes;
  }

  private outAt(capacity = this.capacity): number {
    return this.tableBytes + capacity * 4;
  }

  private rowsAt(capacity = this.capacity): number {
    return this.tableBytes + capacity * 8;
  }

  private codesAt(capacity = this.capacity): number {
    return this.tableBytes + capacity * 12;
  }

  private blocksAt(capacity = this.capacity): number {
    return this.codesAt(capacity) + capacity * this.width;
  }

  append(bytes: Uint8Array): number {
    if (this.count === this.capacity) this.grow(this.capacity * 2);
    this.candidates = undefined;
    const row = this.count++;
    const buffer = this.exports.memory.buffer;
    const codes = new Uint8Array(buffer, this.codesAt() + row * this.width, this.width);
    codes.fill(0);
    codes.set(bytes.subarray(0, this.bytes));
    this.place(buffer, row, codes);
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

  /** Copies row `row`'s `codes` (`width` bytes) into its block of 16 rows, byte b at b·16 + row mod 16. */
  private place(buffer: ArrayBuffer, row: number, codes: Uint8Array): void {
    const blocks = new Uint8Array(buffer, this.blocksAt() + (row >> 4) * this.width * 16, this.width * 16);
    const lane = row & 15;
    for (let b = 0; b < this.width; b++) blocks[b * 16 + lane] = codes[b] as number;
  }

  private grow(capacity: number): void {
    const old = this.exports.memory.buffer;
    const exports = this.allocate(capacity);
    const buffer = exports.memory.buffer;
    new Uint8Array(buffer, this.normsAt(), this.count * 4).set(new Uint8Array(old, this.normsAt(), this.count * 4));
    new Uint8Array(buffer, this.codesAt(capacity), this.count * this.width).set(new Uint8Array(old, this.codesAt(), this.count * this.width));
    const blockBytes = blocksOf16(this.count) * this.width;
    new Uint8Array(buffer, this.blocksAt(capacity), blockBytes).set(new Uint8Array(old, this.blocksAt(), blockBytes));
    this.exports = exports;
    this.capacity = capacity;
  }

  vector(r: number): Float32Array {
    const out = new Float32Array(this.dimensions);
    VECTOR_ENCODINGS.ternary.decode(new Uint8Array(this.exports.memory.buffer, this.codesAt() + r * this.width, this.bytes), out);
    return out;
  }

  /**
   * `floor` above 0 (and `scan` `auto`) takes the bounded scan: rows below the floor then hold a
   * bound below it, not their score, until `exact`. `scan` forces a loop (tests, benchmarks).
   */
  scores(query: Float32Array, floor?: number, scan: TernaryScan = "auto"): Float32Array {
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
        const q = this.weight(query, b * 4 + k);
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
    const list = new Uint32Array(buffer, this.listAt, evens.length + odds.length);
    list.set(evens);
    list.set(odds, evens.length);
    const bounded = scan === "bounded" || (scan === "auto" && floor !== undefined && floor > 0);
    this.candidates = undefined;
    // The scan adds per-byte sums in [-126, 126] in 16-bit lanes: exact (and its bound proven) up to
    // 260 weighted code bytes (1,040 dimensions); wider queries take the exact loops below.
    if (bounded && floor !== undefined && evens.length + odds.length > 0 && (evens.length + odds.length) * 126 <= 32767) {
      this.boundedScan(query, list, floor);
    } else if (scan === "sparse" || (scan === "auto" && evens.length + odds.length <= this.bytes * SPARSE_SHARE)) {
      // A byte without weight looks up +0, which changes no sum: skipping it gives the same scores, bit for bit.
      // Byte loads cost more than word loads, so the whole rows are read when most bytes count.
      this.exports.sparseScores(0, this.codesAt(), this.count, this.width, this.normsAt(), this.outAt(), this.listAt, evens.length, odds.length);
    } else {
      this.exports.scores(0, this.codesAt(), this.count, this.width, this.normsAt(), this.outAt());
    }
    return new Float32Array(buffer, this.outAt(), this.count);
  }

  /** The query's weight on dimension `d` (0 past its end). */
  private weight(query: Float32Array, d: number): number {
    return d < this.dimensions && d < query.length ? (query[d] as number) : 0;
  }

  /**
   * Fills the nibble tables for the weighted code bytes in `list` and runs the bounded scan.
   *
   * The bound. Let R be the real sum of the float32 table entries a row looks up, S its float32 sum
   * as the dense loop computes it, and N the nibble sums computed exactly (in float64, from the
   * float32 query values). Each entry is quantised to Q = round(N / scale) with |Q| ≤ 63, and
   * `quantised` = Σ over weighted nibbles of max |N − scale·Q| bounds |Σ N − scale·ΣQ|. Each table
   * entry is at most 3 float32 additions of the query's weights away from its N (≤ 3u·Σ|q| of its
   * byte, u = 2^-24), and the dense sum of `width` entries adds at most (width + 1)·u·Σ|entries|,
   * so |S − scale·ΣQ| ≤ quantised + (width + 8)·2u·L1 (L1 = Σ|q|, with room to spare). The score
   * is S times the inverse norm (≤ 1), rounded once more; the float32 bound arithmetic in the scan
   * (3 roundings of values ≤ L1) and that rounding are covered by lowering the cut by 1e-6·(1 + L1).
   */
  private boundedScan(query: Float32Array, list: Uint32Array, floor: number): void {
    const nibbleSums = new Float64Array(list.length * 32);
    let largest = 0;
    let l1 = 0;
    for (let i = 0; i < list.length; i++) {
      const b = list[i] as number;
      for (let half = 0; half < 2; half++) {
        const q0 = this.weight(query, b * 4 + half * 2);
        const q1 = this.weight(query, b * 4 + half * 2 + 1);
        l1 += Math.abs(q0) + Math.abs(q1);
        for (let n = 0; n < 16; n++) {
          const sum = ternary(n & 3, q0) + ternary(n >> 2, q1);
          nibbleSums[i * 32 + half * 16 + n] = sum;
          largest = Math.max(largest, Math.abs(sum));
        }
      }
    }
    const buffer = this.exports.memory.buffer;
    const nibbles = new Int8Array(buffer, this.nibblesAt, this.width * 32);
    const scale = Math.fround(largest / NIBBLE_MAX);
    let quantised = 0;
    for (let i = 0; i < list.length; i++) {
      const b = list[i] as number;
      for (let half = 0; half < 2; half++) {
        let worst = 0;
        for (let n = 0; n < 16; n++) {
          const sum = nibbleSums[i * 32 + half * 16 + n] as number;
          const q = scale === 0 ? 0 : Math.max(-NIBBLE_MAX, Math.min(NIBBLE_MAX, Math.round(sum / scale)));
          nibbles[b * 32 + half * 16 + n] = q;
          worst = Math.max(worst, Math.abs(sum - scale * q));
        }
        quantised += worst;
      }
    }
    const rounding = (this.width + 8) * 2 * 2 ** -24 * l1;
    // Rounded up to float32 with room (float32 has 24 bits; 1e-6 relative is over 16 units in the last place).
    const margin = Math.fround((quantised + rounding) * (1 + 1e-6) + 1e-30);
    const cut = Math.fround(floor - 1e-6 * (1 + l1));
    this.rescored = this.exports.boundedScores(0, this.codesAt(), this.blocksAt(), this.nibblesAt, this.count, this.width, this.normsAt(), this.outAt(), this.listAt, list.length, scale, margin, cut, this.rowsAt());
    this.candidates = { rows: new Uint32Array(this.exports.memory.buffer, this.rowsAt(), this.rescored).slice(), floor };
  }

  atOrAbove(floor: number): Iterable<number> | undefined {
    return this.candidates !== undefined && floor >= this.candidates.floor ? this.candidates.rows : undefined;
  }

  exact(rows: readonly number[]): void {
    const buffer = this.exports.memory.buffer;
    const list = new Uint32Array(buffer, this.rowsAt(), this.capacity);
    for (let at = 0; at < rows.length; at += this.capacity) {
      const part = rows.length - at <= this.capacity ? rows.slice(at) : rows.slice(at, at + this.capacity);
      list.set(part);
      this.exports.rescoreRows(0, this.codesAt(), this.width, this.normsAt(), this.outAt(), this.rowsAt(), part.length);
    }
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
      const codes = new Uint8Array(buffer, this.codesAt() + r * this.width, this.width);
      nextCodes.set(codes, row * next.width);
      next.place(nextBuffer, row, codes);
    }
    return next;
  }
}

/** `n` rounded up to whole blocks of 16 rows. */
function blocksOf16(n: number): number {
  return Math.ceil(Math.max(n, 1) / 16) * 16;
}

/** What a 2-bit code contributes with query weight `q`: +q (1), −q (2) or nothing (0, 3), as the table's sums take it. */
function ternary(code: number, q: number): number {
  return code === 1 ? q : code === 2 ? -q : 0;
}
