import { ZstdFrames } from "../codec/zstd-native.js";
import { ErrorCode, MemzipError } from "../errors.js";

/**
 * One row of the SQLite `memories` table, column for column as better-sqlite3 returns it
 * (`SELECT * FROM memories`, blobs as Uint8Array). A sealed block holds up to a few hundred of
 * these, consecutive by `seq`, and gives back exactly the same values.
 */
export interface PackedRow {
  seq: number;
  ns: number;
  id: string;
  id_hash: number;
  kind: number;
  created_at: number;
  codec: number;
  asset: number | null;
  original_length: number;
  checksum: number;
  content_hash: Uint8Array | null;
  content_of: number | null;
  version: number;
  language: string | null;
  tags_ref: number | null;
  meta_ref: number | null;
  expires_at: number | null;
  envelope: Uint8Array;
}

/** What a block may derive instead of storing: the 4-byte prefix an envelope carries of its asset's ref. */
export interface BlockContext {
  /** The ref (raw bytes) of asset number `asset`, or undefined when the store has none by that number. */
  assetRef(asset: number): Uint8Array | undefined;
}

/** First byte of every block: the encoding, so a later build can read older blocks. */
const ENCODING_PLAIN = 0;

const LEVEL = 3;
let frames: ZstdFrames | undefined;

/**
 * Rows (in seq order) as one compressed block. Stand-in encoding (JSON of the columns, blobs as
 * base64, zstd): correct and simple; the column-wise encoding replaces it behind the same functions.
 */
export function encodeBlock(rows: readonly PackedRow[], _context: BlockContext): Uint8Array {
  const plain = JSON.stringify(rows.map((row) => ({ ...row, content_hash: row.content_hash && Buffer.from(row.content_hash).toString("base64"), envelope: Buffer.from(row.envelope).toString("base64") })));
  const bytes = new TextEncoder().encode(plain);
  const body = (frames ??= new ZstdFrames(LEVEL)).compress(bytes);
  const out = new Uint8Array(1 + 4 + body.length);
  out[0] = ENCODING_PLAIN;
  new DataView(out.buffer).setUint32(1, bytes.length, true);
  out.set(body, 5);
  return out;
}

/** The rows of a block, as they were encoded; a damaged block is an `E_STORE` error, never other rows. */
export function decodeBlock(data: Uint8Array, _context: BlockContext): PackedRow[] {
  try {
    if (data[0] !== ENCODING_PLAIN || data.length < 5) throw new Error(`unknown block encoding ${data[0]}`);
    const length = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(1, true);
    const plain = new TextDecoder("utf-8", { fatal: true }).decode((frames ??= new ZstdFrames(LEVEL)).decompress(data.subarray(5), length));
    const rows = JSON.parse(plain) as (Omit<PackedRow, "content_hash" | "envelope"> & { content_hash: string | null; envelope: string })[];
    return rows.map((row) => ({
      ...row,
      content_hash: row.content_hash === null ? null : new Uint8Array(Buffer.from(row.content_hash, "base64")),
      envelope: new Uint8Array(Buffer.from(row.envelope, "base64")),
    }));
  } catch (error) {
    throw new MemzipError(ErrorCode.STORE, `a sealed block of memories could not be read (${(error as Error).message})`, {
      hint: "Run `memzip verify` to find the damaged block; restore the store from a backup or an export.",
      cause: error,
    });
  }
}
