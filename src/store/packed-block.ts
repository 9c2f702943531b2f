import { checksum32 } from "../codec/checksum.js";
import { assetRefBytes, ENVELOPE_MAGIC, ENVELOPE_MAGIC_V2, EnvelopeFlag, fixedHeaderBytes, REF_BYTES, writeVarint } from "../codec/envelope.js";
import { ZstdFrames } from "../codec/zstd-native.js";
import { ErrorCode, MemzipError } from "../errors.js";
import { ByteReader, ByteWriter } from "./packed-bytes.js";

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

/**
 * First byte of every block: the encoding, so a later build can read older blocks. (0 was the JSON
 * stand-in of f557251, never written by a released build: no longer read, an unknown encoding.)
 */
/** Column-wise, with what the row implies left out (`colD` of the pack11 design): see `encodeBlock`. */
const ENCODING_COLUMNS = 1;

const LEVEL = 3;
/** zstd's largest expansion: a 3-byte block header and one RLE byte give at most 128 KiB (the format's block maximum). */
const ZSTD_MAX_RATIO = 32768;
/** No block's columns may exceed this (256 rows of a few MiB each are far below it). */
const MAX_PLAIN_BYTES = 1 << 30;
/** Version byte, XXH32 of the columns, their length (varint), then the zstd frame. */
const COLUMNS_HEADER_MIN = 1 + 4 + 1;

let frames: ZstdFrames | undefined;
const zstd = (): ZstdFrames => (frames ??= new ZstdFrames(LEVEL));
const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
/** A lone surrogate: it has no UTF-8 form, so a string holding one cannot be kept exactly. */
const LONE_SURROGATE = /\p{Cs}/u;

function damaged(error: unknown): MemzipError {
  return new MemzipError(ErrorCode.STORE, `a sealed block of memories could not be read (${(error as Error).message})`, {
    hint: "Run `memzip verify` to find the damaged block; restore the store from a backup or an export.",
    cause: error,
  });
}

function unpackable(row: PackedRow | undefined, what: string): MemzipError {
  return new MemzipError(ErrorCode.STORE, `a memories row cannot be packed into a block exactly (seq ${String(row?.seq)}: ${what})`, {
    hint: "Leave this row unsealed; report it with `memzip stats --json` output.",
    details: { seq: row?.seq },
  });
}

const INT_COLUMNS = ["seq", "ns", "id_hash", "kind", "created_at", "codec", "original_length", "checksum", "version"] as const;
const NULLABLE_INT_COLUMNS = ["asset", "content_of", "tags_ref", "meta_ref", "expires_at"] as const;

/** Refuses a row holding anything the encoding cannot give back exactly (a float, a lone surrogate, a wrong type). */
function checkRow(row: PackedRow): void {
  for (const key of INT_COLUMNS) if (!Number.isSafeInteger(row[key])) throw unpackable(row, `${key} is ${String(row[key])}, not a safe integer`);
  for (const key of NULLABLE_INT_COLUMNS) {
    const value = row[key];
    if (value !== null && !Number.isSafeInteger(value)) throw unpackable(row, `${key} is ${String(value)}, neither null nor a safe integer`);
  }
  if (typeof row.id !== "string" || LONE_SURROGATE.test(row.id)) throw unpackable(row, "id is not a well-formed string");
  if (row.language !== null && (typeof row.language !== "string" || LONE_SURROGATE.test(row.language))) throw unpackable(row, "language is not a well-formed string");
  if (row.content_hash !== null && !(row.content_hash instanceof Uint8Array)) throw unpackable(row, "content_hash is not bytes");
  if (!(row.envelope instanceof Uint8Array)) throw unpackable(row, "envelope is not bytes");
}

/** Whether a block can hold the row exactly (encodeBlock refuses a block holding one that it cannot). */
export function packable(row: PackedRow): boolean {
  try {
    checkRow(row);
    return true;
  } catch {
    return false;
  }
}

/**
 * How a block records an envelope stored without its implied header: 0, kept whole; 1 + the
 * version/flags byte of a version 1 envelope (1..256); V2_KIND + the first byte (magic and flags) of
 * a version 2 one. (Blocks written before version 2 hold only the first two.)
 */
const V2_KIND = 257;
const V2_KIND_FIRST = V2_KIND + ENVELOPE_MAGIC_V2;
const V2_KIND_LAST = V2_KIND + (ENVELOPE_MAGIC_V2 | 0x07);

/**
 * The envelope header the row implies (version 1: magic, version/flags, codec byte, length,
 * checksum, the asset's 4-byte ref; version 2: magic/flags, codec byte, length, checksum, the asset
 * reference's first `assetRefBytes` bytes), or undefined when it cannot be built.
 */
function impliedHeader(row: PackedRow, kind: number, codecByte: number, context: BlockContext): Uint8Array | undefined {
  if (row.original_length < 0) return undefined;
  const version = kind >= V2_KIND ? 2 : 1;
  const first = version === 2 ? kind - V2_KIND : kind - 1;
  const flags = version === 2 ? first & 0x07 : first;
  let ref: Uint8Array | undefined;
  if (flags & EnvelopeFlag.ASSET) {
    ref = row.asset === null ? undefined : context.assetRef(row.asset);
    if (!ref || ref.length < REF_BYTES) return undefined;
    ref = ref.subarray(0, assetRefBytes(version, codecByte));
  }
  const header = new Uint8Array(fixedHeaderBytes(version, row.original_length) + (ref ? ref.length : 0));
  let at: number;
  if (version === 1) {
    header[0] = ENVELOPE_MAGIC;
    header[1] = first;
    header[2] = codecByte;
    at = 3;
  } else {
    header[0] = first;
    header[1] = codecByte;
    at = 2;
  }
  at = writeVarint(header, at, row.original_length);
  const checksum = row.checksum >>> 0;
  header[at++] = checksum & 0xff;
  header[at++] = (checksum >>> 8) & 0xff;
  header[at++] = (checksum >>> 16) & 0xff;
  header[at++] = checksum >>> 24;
  if (ref) header.set(ref, at);
  return header;
}

/** The kind (see V2_KIND) of an envelope whose header a block may leave out, or undefined when it is no memzip envelope. */
function envelopeKind(envelope: Uint8Array): number | undefined {
  if (envelope.length < 3) return undefined;
  const first = envelope[0] as number;
  if (first === ENVELOPE_MAGIC) return (envelope[1] as number) + 1;
  if (first >= ENVELOPE_MAGIC_V2 && first <= (ENVELOPE_MAGIC_V2 | 0x07)) return V2_KIND + first;
  return undefined;
}

/** The codec byte of an envelope of this kind. */
function codecByteOf(envelope: Uint8Array, kind: number): number {
  return envelope[kind >= V2_KIND ? 1 : 2] as number;
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** A delta-coded column (first value, then each value minus the previous minus `bias`), or the plain values when a delta would not be exact. */
function writeDeltas(out: ByteWriter, values: readonly number[], bias: number): void {
  let exact = true;
  for (let i = 1; i < values.length && exact; i++) {
    const delta = (values[i] as number) - (values[i - 1] as number) - bias;
    exact = Number.isSafeInteger(delta) && (values[i - 1] as number) + delta + bias === values[i];
  }
  out.byte(exact ? 0 : 1);
  for (let i = 0; i < values.length; i++) out.int(exact && i > 0 ? (values[i] as number) - (values[i - 1] as number) - bias : (values[i] as number));
}

function readDeltas(input: ByteReader, n: number, bias: number): number[] {
  const mode = input.byte();
  if (mode > 1) throw new RangeError(`unknown column mode ${mode}`);
  const values = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const value = input.int();
    if (mode === 1 || i === 0) values[i] = value;
    else {
      const next = (values[i - 1] as number) + value + bias;
      if (!Number.isSafeInteger(next)) throw new RangeError("integer out of range");
      values[i] = next;
    }
  }
  return values;
}

/** Rows whose value differs from the one derived for them: how many, then (index gap, value) each. */
function writeExceptions(out: ByteWriter, exceptions: readonly [index: number, value: number][]): void {
  out.uint(exceptions.length);
  let last = -1;
  for (const [index, value] of exceptions) {
    out.uint(index - last - 1);
    out.int(value);
    last = index;
  }
}

function readExceptions(input: ByteReader, n: number): Map<number, number> {
  const count = input.count(2);
  const out = new Map<number, number>();
  let last = -1;
  for (let i = 0; i < count; i++) {
    const index = last + 1 + input.uint();
    if (index >= n) throw new RangeError("exception past the last row");
    out.set(index, input.int());
    last = index;
  }
  return out;
}

/**
 * Rows (in seq order) as one compressed block: byte 0 is the encoding (1), then the XXH32 of the
 * columns, their length (varint) and the columns as one zstd frame (level 3). The columns, one
 * after the other: the row count; seq (first, then gaps); ns, kind, codec, version (integers);
 * created_at (first, then signed deltas); asset, content_of, tags_ref, meta_ref, expires_at (nullable
 * integers); original_length; checksum (4 bytes, plus the rows whose value is not the unsigned 32-bit
 * one); id_hash left out and recomputed from the id (the rows whose value differs kept); language (an
 * index into the block's distinct values); ids front-coded on their UTF-8 bytes; content_hash; and
 * the envelopes without the header the row implies (magic, length, checksum, asset ref: a kind that
 * names the version and flags, and the codec byte, kept; see V2_KIND), an envelope whose header is not
 * the implied one kept whole. Blocks hold version 1 and version 2 envelopes side by side.
 * Throws E_STORE for a row it cannot give back exactly (see `checkRow`): leave such a row unsealed.
 */
export function encodeBlock(rows: readonly PackedRow[], context: BlockContext): Uint8Array {
  for (const row of rows) checkRow(row);
  const out = new ByteWriter();
  const n = rows.length;
  out.uint(n);
  writeDeltas(out, rows.map((row) => row.seq), 1);
  for (const row of rows) out.int(row.ns);
  for (const row of rows) out.int(row.kind);
  for (const row of rows) out.int(row.codec);
  for (const row of rows) out.int(row.version);
  writeDeltas(out, rows.map((row) => row.created_at), 0);
  for (const key of NULLABLE_INT_COLUMNS) for (const row of rows) out.nullableInt(row[key]);
  for (const row of rows) out.int(row.original_length);

  for (const row of rows) out.u32(row.checksum >>> 0);
  writeExceptions(out, rows.flatMap((row, i) => (row.checksum >>> 0 === row.checksum ? [] : [[i, row.checksum] as [number, number]])));

  const ids = rows.map((row) => utf8.encode(row.id));
  writeExceptions(out, rows.flatMap((row, i) => ((checksum32(ids[i] as Uint8Array) | 0) === row.id_hash ? [] : [[i, row.id_hash] as [number, number]])));

  const languages = new Map<string, number>();
  for (const row of rows) if (row.language !== null && !languages.has(row.language)) languages.set(row.language, languages.size);
  out.uint(languages.size);
  for (const language of languages.keys()) {
    const bytes = utf8.encode(language);
    out.uint(bytes.length);
    out.bytes(bytes);
  }
  for (const row of rows) out.uint(row.language === null ? 0 : (languages.get(row.language) as number) + 1);

  const shared = ids.map((id, i) => {
    const previous = i === 0 ? new Uint8Array(0) : (ids[i - 1] as Uint8Array);
    let k = 0;
    while (k < id.length && k < previous.length && id[k] === previous[k]) k++;
    return k;
  });
  for (const k of shared) out.uint(k);
  for (let i = 0; i < n; i++) out.uint((ids[i] as Uint8Array).length - (shared[i] as number));
  for (let i = 0; i < n; i++) out.bytes((ids[i] as Uint8Array).subarray(shared[i]));

  for (const row of rows) out.uint(row.content_hash === null ? 0 : row.content_hash.length + 1);
  for (const row of rows) if (row.content_hash !== null) out.bytes(row.content_hash);

  const kinds = rows.map((row) => envelopeKind(row.envelope));
  const headers = rows.map((row, i) => {
    const kind = kinds[i];
    if (kind === undefined) return undefined;
    const header = impliedHeader(row, kind, codecByteOf(row.envelope, kind), context);
    return header && startsWith(row.envelope, header) ? header : undefined;
  });
  for (let i = 0; i < n; i++) out.uint(headers[i] ? (kinds[i] as number) : 0);
  for (let i = 0; i < n; i++) if (headers[i]) out.byte(codecByteOf((rows[i] as PackedRow).envelope, kinds[i] as number));
  for (let i = 0; i < n; i++) out.uint((rows[i] as PackedRow).envelope.length - (headers[i]?.length ?? 0));
  for (let i = 0; i < n; i++) out.bytes((rows[i] as PackedRow).envelope.subarray(headers[i]?.length ?? 0));

  const plain = out.result();
  if (plain.length > MAX_PLAIN_BYTES) throw unpackable(rows[0], `the block's columns take ${plain.length} bytes, more than ${MAX_PLAIN_BYTES}`);
  const frame = zstd().compress(plain);
  const head = new ByteWriter();
  head.byte(ENCODING_COLUMNS);
  head.u32(checksum32(plain));
  head.uint(plain.length);
  head.bytes(frame);
  return head.result().slice();
}

function decodeColumns(data: Uint8Array, context: BlockContext): PackedRow[] {
  if (data.length < COLUMNS_HEADER_MIN) throw new RangeError(`block of ${data.length} bytes`);
  const head = new ByteReader(data);
  head.byte();
  const sum = head.u32();
  const length = head.uint();
  const frame = data.subarray(head.at);
  if (length > MAX_PLAIN_BYTES || length > frame.length * ZSTD_MAX_RATIO) throw new RangeError(`block claims ${length} bytes of columns from a ${frame.length}-byte frame`);
  const plain = zstd().decompress(frame, length);
  if (checksum32(plain) !== sum) throw new RangeError("the block's checksum does not match its columns");

  const input = new ByteReader(plain);
  const n = input.count(8);
  const seq = readDeltas(input, n, 1);
  const ints = (): number[] => {
    const values = new Array<number>(n);
    for (let i = 0; i < n; i++) values[i] = input.int();
    return values;
  };
  const nullableInts = (): (number | null)[] => {
    const values = new Array<number | null>(n);
    for (let i = 0; i < n; i++) values[i] = input.nullableInt();
    return values;
  };
  const ns = ints();
  const kind = ints();
  const codec = ints();
  const version = ints();
  const createdAt = readDeltas(input, n, 0);
  const asset = nullableInts();
  const contentOf = nullableInts();
  const tagsRef = nullableInts();
  const metaRef = nullableInts();
  const expiresAt = nullableInts();
  const originalLength = ints();

  const checksum = new Array<number>(n);
  for (let i = 0; i < n; i++) checksum[i] = input.u32();
  for (const [i, value] of readExceptions(input, n)) checksum[i] = value;
  const idHashes = readExceptions(input, n);

  const languages = Array.from({ length: input.count(2) }, () => strictUtf8.decode(input.view(input.count())));
  const language = Array.from({ length: n }, () => {
    const index = input.uint();
    if (index > languages.length) throw new RangeError("language index past the block's languages");
    return index === 0 ? null : (languages[index - 1] as string);
  });

  const shared = Array.from({ length: n }, () => input.uint());
  const suffix = Array.from({ length: n }, () => input.count(1));
  const ids: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const k = shared[i] as number;
    const previous = i === 0 ? new Uint8Array(0) : (ids[i - 1] as Uint8Array);
    if (k > previous.length) throw new RangeError("id shares more than the previous id holds");
    const bytes = new Uint8Array(k + (suffix[i] as number));
    bytes.set(previous.subarray(0, k));
    bytes.set(input.view(suffix[i] as number), k);
    ids.push(bytes);
  }

  const hashLength = Array.from({ length: n }, () => input.count(1));
  const contentHash = hashLength.map((l) => (l === 0 ? null : input.view(l - 1).slice()));

  const envelopeKinds = Array.from({ length: n }, () => input.uint());
  const codecByte = envelopeKinds.map((k) => {
    if (k > 256 && (k < V2_KIND_FIRST || k > V2_KIND_LAST)) throw new RangeError("envelope header kind out of range");
    return k === 0 ? 0 : input.byte();
  });
  const tailLength = Array.from({ length: n }, () => input.count(1));
  const rows: PackedRow[] = [];
  for (let i = 0; i < n; i++) {
    const tail = input.view(tailLength[i] as number);
    const id = strictUtf8.decode(ids[i]);
    const idHash = idHashes.get(i) ?? checksum32(ids[i] as Uint8Array) | 0;
    const row: PackedRow = {
      seq: seq[i] as number,
      ns: ns[i] as number,
      id,
      id_hash: idHash,
      kind: kind[i] as number,
      created_at: createdAt[i] as number,
      codec: codec[i] as number,
      asset: asset[i] as number | null,
      original_length: originalLength[i] as number,
      checksum: checksum[i] as number,
      content_hash: contentHash[i] as Uint8Array | null,
      content_of: contentOf[i] as number | null,
      version: version[i] as number,
      language: language[i] as string | null,
      tags_ref: tagsRef[i] as number | null,
      meta_ref: metaRef[i] as number | null,
      expires_at: expiresAt[i] as number | null,
      envelope: tail,
    };
    const k = envelopeKinds[i] as number;
    if (k === 0) row.envelope = tail.slice();
    else {
      const header = impliedHeader(row, k, codecByte[i] as number, context);
      if (!header) throw new RangeError(`the envelope header of seq ${row.seq} cannot be rebuilt (asset ${String(row.asset)} unknown)`);
      const envelope = new Uint8Array(header.length + tail.length);
      envelope.set(header);
      envelope.set(tail, header.length);
      row.envelope = envelope;
    }
    rows.push(row);
  }
  input.end();
  return rows;
}

/** The rows of a block, as they were encoded; a damaged block is an `E_STORE` error, never other rows. */
export function decodeBlock(data: Uint8Array, context: BlockContext): PackedRow[] {
  try {
    if (data[0] === ENCODING_COLUMNS) return decodeColumns(data, context);
    // Version 0 (the JSON stand-in of f557251) was never written by a released build: unknown, as any other.
    throw new Error(`unknown block encoding ${String(data[0])}`);
  } catch (error) {
    throw damaged(error);
  }
}
