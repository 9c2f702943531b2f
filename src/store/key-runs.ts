import { checksum32 } from "../codec/checksum.js";
import { ErrorCode, MemzipError } from "../errors.js";
import { ByteReader, ByteWriter } from "./packed-bytes.js";

/**
 * Sorted runs of (key, seq) pairs (issue 11): the sealed rows' id and content keys, sorted by key
 * then seq, cut into chunks of about RUN_KEYS pairs, each chunk one row keyed by its first key.
 * A chunk holds the keys as deltas from the one before (the first from the row's key), Rice-coded
 * (a unary quotient and k low bits, k chosen per chunk), and the seqs in the fewest bits that hold the
 * chunk's largest: ~4.2 bytes a pair at 10^5 keys, where a `WITHOUT ROWID` B-tree of the same pairs
 * takes ~13.9 (measurements: docs/STORE.md). No SQLite notion here.
 *
 * Chunk: encoding byte, XXH32 of the row's first key (varint) and the rest, count (varint), k, seq width, then count × (delta, seq)
 * as bits, least significant first, zero-padded to a byte. A quotient of ESCAPE or more is written as
 * ESCAPE ones and the delta in 53 bits (the jump between namespaces).
 */

/** Pairs a chunk holds (more only where one key has more seqs than that: a key never straddles two chunks). */
export const RUN_KEYS = 1024;

/** 2: the checksum covers the row's first key too (a changed key is damage, not shifted keys). */
const ENCODING = 2;
/** Unary quotients this long or longer are an escape to a 53-bit delta. */
const ESCAPE = 24;
const SAFE_BITS = 53;

/** 2^24: values are moved in pieces of at most 24 bits, so the 32-bit operators below never see more than 31. */
const PIECE = 0x1000000;

/** Bits, least significant first, into bytes (values up to 53 bits: pieces of 24 by arithmetic, bits by 32-bit operators). */
class BitWriter {
  private bytes = new Uint8Array(1024);
  private length = 0;
  /** Fewer than 8 pending bits (0..7), so `acc | piece << held` stays below 2^31. */
  private acc = 0;
  private held = 0;

  private piece(value: number, bits: number): void {
    this.acc |= value << this.held;
    this.held += bits;
    if (this.length + 4 > this.bytes.length) {
      const next = new Uint8Array(this.bytes.length * 2);
      next.set(this.bytes);
      this.bytes = next;
    }
    while (this.held >= 8) {
      this.bytes[this.length++] = this.acc & 0xff;
      this.acc >>>= 8;
      this.held -= 8;
    }
  }

  write(value: number, bits: number): void {
    while (bits > 24) {
      this.piece(value % PIECE, 24);
      value = Math.floor(value / PIECE);
      bits -= 24;
    }
    if (bits > 0) this.piece(value & ((1 << bits) - 1), bits);
  }

  finish(): Uint8Array {
    if (this.held > 0) this.bytes[this.length++] = this.acc;
    this.acc = 0;
    this.held = 0;
    return this.bytes.slice(0, this.length);
  }
}

class BitReader {
  private at = 0;
  /** Up to 31 bits: at most 23 held when a byte is added. */
  private acc = 0;
  private held = 0;

  constructor(private readonly data: Uint8Array) {}

  private piece(bits: number): number {
    while (this.held < bits) {
      if (this.at >= this.data.length) throw new RangeError("chunk truncated");
      this.acc |= (this.data[this.at++] as number) << this.held;
      this.held += 8;
    }
    const value = this.acc & ((1 << bits) - 1);
    this.acc >>>= bits;
    this.held -= bits;
    return value;
  }

  read(bits: number): number {
    if (bits <= 24) return bits === 0 ? 0 : this.piece(bits);
    let value = 0;
    let scale = 1;
    while (bits > 0) {
      const take = Math.min(bits, 24);
      value += this.piece(take) * scale;
      scale *= PIECE;
      bits -= take;
    }
    return value;
  }

  /** Every byte read, and the padding bits zero. */
  end(): void {
    if (this.at !== this.data.length || this.acc !== 0) throw new RangeError("bytes after the last pair");
  }
}

/** Bits of the Rice code of `deltas` with `k` low bits. */
function riceBits(deltas: readonly number[], k: number): number {
  const unit = 2 ** k;
  let bits = 0;
  for (const d of deltas) {
    const q = Math.floor(d / unit);
    bits += q >= ESCAPE ? ESCAPE + SAFE_BITS : q + 1 + k;
  }
  return bits;
}

/** Bits that hold `value` (0 for 0). */
function width(value: number): number {
  let bits = 0;
  while (bits < SAFE_BITS && 2 ** bits <= value) bits++;
  return bits;
}

/** Namespace numbers below this make an id key that is a safe integer (ns × 2^32 + hash); a row of a larger one stays unsealed. */
export const KEYED_NAMESPACES = 2 ** 21;

/** The id key of (ns, id_hash): namespaces apart, then the hash as an unsigned 32-bit value. */
export function idKey(ns: number, idHash: number): number {
  return ns * 2 ** 32 + (idHash >>> 0);
}

/** The namespace of an id key. */
export function keyNamespace(key: number): number {
  return Math.floor(key / 2 ** 32);
}

/** The content key of a checksum (signed or not as stored: the unsigned 32-bit value). */
export function contentKey(checksum: number): number {
  return checksum >>> 0;
}

/** Pairs sorted by key, then seq. */
export interface KeyPairs {
  keys: number[];
  seqs: number[];
}

/** One decoded chunk. */
export interface KeyRun {
  keys: Float64Array;
  seqs: Float64Array;
}

function damaged(what: string): MemzipError {
  return new MemzipError(ErrorCode.STORE, `a sealed key run could not be read (${what})`, {
    hint: "Run `memzip compact`: the key runs are derived data and are made again from the sealed blocks (the memories themselves are in the blocks).",
  });
}

/** Sorts pairs by key, then seq (in place order of a copy). */
export function sortPairs(pairs: KeyPairs): KeyPairs {
  const order = pairs.keys.map((_, i) => i);
  order.sort((a, b) => (pairs.keys[a] as number) - (pairs.keys[b] as number) || (pairs.seqs[a] as number) - (pairs.seqs[b] as number));
  return { keys: order.map((i) => pairs.keys[i] as number), seqs: order.map((i) => pairs.seqs[i] as number) };
}

/** The union of two sorted pair lists, sorted (a pair in both is kept once). */
export function mergePairs(a: KeyPairs, b: KeyPairs): KeyPairs {
  const out: KeyPairs = { keys: [], seqs: [] };
  let i = 0;
  let j = 0;
  while (i < a.keys.length || j < b.keys.length) {
    let order: number;
    if (i >= a.keys.length) order = 1;
    else if (j >= b.keys.length) order = -1;
    else order = (a.keys[i] as number) - (b.keys[j] as number) || (a.seqs[i] as number) - (b.seqs[j] as number);
    if (order <= 0) {
      out.keys.push(a.keys[i] as number);
      out.seqs.push(a.seqs[i] as number);
      i++;
      if (order === 0) j++;
    } else {
      out.keys.push(b.keys[j] as number);
      out.seqs.push(b.seqs[j] as number);
      j++;
    }
  }
  return out;
}

/** Sorted pairs cut into chunks: [first key, encoded chunk]. Equal keys stay in one chunk. */
export function encodeRuns(pairs: KeyPairs, perChunk = RUN_KEYS): [firstKey: number, data: Uint8Array][] {
  const chunks: [number, Uint8Array][] = [];
  const n = pairs.keys.length;
  for (let from = 0; from < n; ) {
    let to = Math.min(n, from + perChunk);
    while (to < n && pairs.keys[to] === pairs.keys[to - 1]) to++;
    const deltas: number[] = [];
    let previous = pairs.keys[from] as number;
    let largest = 0;
    for (let i = from; i < to; i++) {
      const key = pairs.keys[i] as number;
      const seq = pairs.seqs[i] as number;
      if (key < previous || !Number.isSafeInteger(key)) throw new RangeError("key runs must be sorted safe integers");
      if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`not a seq: ${seq}`);
      deltas.push(key - previous);
      largest = Math.max(largest, seq);
      previous = key;
    }
    // k near log2 of the mean gap, the best of a few by exact size.
    const mean = deltas.reduce((a, b) => a + b, 0) / Math.max(1, deltas.length - 1);
    const guess = Math.max(0, Math.min(SAFE_BITS - 1, width(Math.floor(mean * 0.69)) - 1));
    let k = guess;
    for (let c = Math.max(0, guess - 2); c <= Math.min(SAFE_BITS - 1, guess + 2); c++) if (riceBits(deltas, c) < riceBits(deltas, k)) k = c;
    const seqBits = width(largest);
    const bits = new BitWriter();
    const unit = 2 ** k;
    for (let i = 0; i < deltas.length; i++) {
      const d = deltas[i] as number;
      const q = Math.floor(d / unit);
      if (q >= ESCAPE) {
        bits.write(2 ** ESCAPE - 1, ESCAPE);
        bits.write(d, SAFE_BITS);
      } else {
        if (q > 0) bits.write(2 ** q - 1, q);
        bits.write(0, 1);
        bits.write(d - q * unit, k);
      }
      bits.write(pairs.seqs[from + i] as number, seqBits);
    }
    const body = new ByteWriter();
    body.uint(to - from);
    body.byte(k);
    body.byte(seqBits);
    body.bytes(bits.finish());
    const plain = body.result();
    const out = new ByteWriter();
    out.byte(ENCODING);
    out.u32(chunkSum(pairs.keys[from] as number, plain));
    out.bytes(plain);
    chunks.push([pairs.keys[from] as number, out.result().slice()]);
    from = to;
  }
  return chunks;
}

/** XXH32 of the key a chunk's row is keyed by and of its pairs: the key is the one field outside the chunk's bytes. */
function chunkSum(firstKey: number, plain: Uint8Array): number {
  const keyed = new ByteWriter();
  keyed.uint(firstKey);
  keyed.bytes(plain);
  return checksum32(keyed.result());
}

/** A chunk's pairs (a damaged or foreign chunk, or one under another first key, is E_STORE, never other pairs). */
export function decodeRun(data: Uint8Array, firstKey: number): KeyRun {
  try {
    if (data[0] !== ENCODING) throw new RangeError(`unknown key run encoding ${String(data[0])}`);
    if (data.length < 6) throw new RangeError(`chunk of ${data.length} bytes`);
    const head = new ByteReader(data);
    head.byte();
    const sum = head.u32();
    const plain = data.subarray(head.at);
    if (chunkSum(firstKey, plain) !== sum) throw new RangeError("the chunk's checksum does not match its first key and pairs");
    const input = new ByteReader(plain);
    const n = input.uint();
    const k = input.byte();
    const seqBits = input.byte();
    if (k >= SAFE_BITS || seqBits > SAFE_BITS) throw new RangeError(`widths ${k} / ${seqBits}`);
    // Every pair takes at least one bit.
    if (n > input.left * 8) throw new RangeError(`count ${n} is more than the chunk holds`);
    const bits = new BitReader(input.view(input.left));
    const keys = new Float64Array(n);
    const seqs = new Float64Array(n);
    const unit = 2 ** k;
    let key = firstKey;
    for (let i = 0; i < n; i++) {
      let q = 0;
      while (q < ESCAPE && bits.read(1) === 1) q++;
      key += q >= ESCAPE ? bits.read(SAFE_BITS) : q * unit + bits.read(k);
      if (!Number.isSafeInteger(key)) throw new RangeError("key out of range");
      keys[i] = key;
      seqs[i] = bits.read(seqBits);
    }
    bits.end();
    return { keys, seqs };
  } catch (error) {
    throw damaged(`chunk of first key ${firstKey}: ${(error as Error).message}`);
  }
}

/** The seqs a run holds for `key` (binary search). */
export function seqsOf(run: KeyRun, key: number): number[] {
  let lo = 0;
  let hi = run.keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((run.keys[mid] as number) < key) lo = mid + 1;
    else hi = mid;
  }
  const out: number[] = [];
  for (let i = lo; i < run.keys.length && run.keys[i] === key; i++) out.push(run.seqs[i] as number);
  return out;
}
