import { checksum32 } from "../codec/checksum.js";
import { ErrorCode, MemzipError } from "../errors.js";
import { ByteReader, ByteWriter } from "./packed-bytes.js";

/**
 * Sorted runs of (key, seq) pairs (issue 11): the sealed rows' id and content keys, sorted by key
 * then seq, cut into chunks of about RUN_KEYS pairs, each chunk one row keyed by its first key.
 * A chunk holds the keys as deltas from the one before (the first from the row's key) and the
 * seqs as they are, both varints: ~6 bytes a pair at 10^5 keys, where a `WITHOUT ROWID` B-tree of
 * the same pairs takes ~13.5 (measurements: docs/STORE.md). No SQLite notion here.
 *
 * Chunk: encoding byte, XXH32 of the rest, count, then count × (key delta, seq).
 */

/** Pairs a chunk holds (more only where one key has more seqs than that: a key never straddles two chunks). */
export const RUN_KEYS = 1024;

const ENCODING = 1;

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
    hint: "`memzip compact` rebuilds the key runs from the sealed blocks' keys only where they are readable; restore the store from a backup or an export.",
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
    const body = new ByteWriter();
    body.uint(to - from);
    let previous = pairs.keys[from] as number;
    for (let i = from; i < to; i++) {
      const key = pairs.keys[i] as number;
      if (key < previous) throw new RangeError("key runs must be sorted");
      body.uint(key - previous);
      body.uint(pairs.seqs[i] as number);
      previous = key;
    }
    const plain = body.result();
    const out = new ByteWriter();
    out.byte(ENCODING);
    out.u32(checksum32(plain));
    out.bytes(plain);
    chunks.push([pairs.keys[from] as number, out.result().slice()]);
    from = to;
  }
  return chunks;
}

/** A chunk's pairs (a damaged or foreign chunk is E_STORE, never other pairs). */
export function decodeRun(data: Uint8Array, firstKey: number): KeyRun {
  try {
    if (data[0] !== ENCODING) throw new RangeError(`unknown key run encoding ${String(data[0])}`);
    if (data.length < 6) throw new RangeError(`chunk of ${data.length} bytes`);
    const head = new ByteReader(data);
    head.byte();
    const sum = head.u32();
    const plain = data.subarray(head.at);
    if (checksum32(plain) !== sum) throw new RangeError("the chunk's checksum does not match its pairs");
    const input = new ByteReader(plain);
    const n = input.count(2);
    const keys = new Float64Array(n);
    const seqs = new Float64Array(n);
    let key = firstKey;
    for (let i = 0; i < n; i++) {
      key += input.uint();
      if (!Number.isSafeInteger(key)) throw new RangeError("key out of range");
      keys[i] = key;
      seqs[i] = input.uint();
    }
    input.end();
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
