import { checksum32 } from "../../codec/checksum.js";
import { ZstdFrames } from "../../codec/zstd-native.js";
import { damagedSearchIndex, ErrorCode, MemzipError } from "../../errors.js";

/**
 * The search vectors of a sealed block of memories, packed as one row of `search_vector_blocks`
 * (issue 11): no per-row B-tree cell, and the vectors' bytes column by column (byte j of every
 * vector, then byte j + 1, ...) through zstd, which takes a ternary code of 64 bytes to ~48.
 *
 * Layout: version byte (1), varint n, varint width (bytes a vector), varint length of the seq
 * part, the XXH32 of what the frame holds (4 bytes, little-endian), then one zstd frame of: the n seqs (the first as is, then gaps, varints) and the n × width
 * vector bytes, column by column. Lossless: `decodeVectorBlock(encodeVectorBlock(x))` is x.
 */
export interface VectorBlock {
  /** Ascending. */
  seqs: number[];
  /** One per seq, all of one width. */
  vectors: Uint8Array[];
}

const VERSION = 1;
const LEVEL = 3;
/** A block holds at most this many vectors of at most this width (a corrupted length can never ask for more). */
const MAX_ROWS = 1 << 16;
const MAX_WIDTH = 1 << 14;

let frames: ZstdFrames | undefined;
const zstd = (): ZstdFrames => (frames ??= new ZstdFrames(LEVEL));

export function encodeVectorBlock(block: VectorBlock): Buffer {
  const n = block.seqs.length;
  const width = block.vectors[0]?.length ?? 0;
  if (n === 0 || n !== block.vectors.length || n > MAX_ROWS || width > MAX_WIDTH || block.vectors.some((v) => v.length !== width)) {
    throw new MemzipError(ErrorCode.STORE, `a vector block needs 1 to ${MAX_ROWS} vectors of one width (got ${n} seqs, ${block.vectors.length} vectors)`, {
      hint: "A bug in the search index's packing: report it with the store file.",
    });
  }
  const seqBytes: number[] = [];
  let previous = 0;
  for (const [i, seq] of block.seqs.entries()) {
    if (!Number.isSafeInteger(seq) || seq < 0 || (i > 0 && seq <= previous)) {
      throw new MemzipError(ErrorCode.STORE, `vector block seqs must ascend (seq ${seq} after ${previous})`, { hint: "A bug in the search index's packing: report it with the store file." });
    }
    writeVarint(seqBytes, i === 0 ? seq : seq - previous);
    previous = seq;
  }
  const plain = new Uint8Array(seqBytes.length + n * width);
  plain.set(seqBytes, 0);
  let at = seqBytes.length;
  for (let j = 0; j < width; j++) for (let i = 0; i < n; i++) plain[at++] = (block.vectors[i] as Uint8Array)[j] as number;
  const head: number[] = [VERSION];
  writeVarint(head, n);
  writeVarint(head, width);
  writeVarint(head, seqBytes.length);
  const sum = Buffer.alloc(4);
  sum.writeUInt32LE(checksum32(plain) >>> 0);
  return Buffer.concat([Buffer.from(head), sum, zstd().compress(plain)]);
}

export function decodeVectorBlock(data: Uint8Array): VectorBlock {
  const damaged = (why: string) => damagedSearchIndex(`a vector block: ${why}`);
  if (data[0] !== VERSION) throw damaged(`version ${String(data[0])}`);
  const cursor = { at: 1 };
  const n = readVarint(data, cursor);
  const width = readVarint(data, cursor);
  const seqLength = readVarint(data, cursor);
  if (n < 1 || n > MAX_ROWS || width > MAX_WIDTH || seqLength > n * 10) throw damaged("header");
  if (data.length < cursor.at + 4) throw damaged("truncated");
  const sum = Buffer.from(data.buffer, data.byteOffset, data.byteLength).readUInt32LE(cursor.at);
  let plain: Uint8Array;
  try {
    plain = zstd().decompress(data.subarray(cursor.at + 4), seqLength + n * width);
  } catch (error) {
    throw damaged(error instanceof Error ? error.message : String(error));
  }
  if (checksum32(plain) >>> 0 !== sum) throw damaged("checksum");
  const seqs: number[] = [];
  const inner = { at: 0 };
  let previous = 0;
  for (let i = 0; i < n; i++) {
    previous = i === 0 ? readVarint(plain, inner) : previous + readVarint(plain, inner);
    seqs.push(previous);
  }
  if (inner.at !== seqLength) throw damaged("seq part");
  const vectors: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const vector = new Uint8Array(width);
    for (let j = 0; j < width; j++) vector[j] = plain[seqLength + j * n + i] as number;
    vectors.push(vector);
  }
  return { seqs, vectors };
}

function writeVarint(out: number[], value: number): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

function readVarint(data: Uint8Array, cursor: { at: number }): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    const byte = data[cursor.at++];
    if (byte === undefined) throw new MemzipError(ErrorCode.STORE, "damaged search vector block: truncated varint", { hint: "The search index is derived data: rebuild it." });
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return value;
    scale *= 0x80;
  }
  throw new MemzipError(ErrorCode.STORE, "damaged search vector block: varint too long", { hint: "The search index is derived data: rebuild it." });
}
