/**
 * Bytes a row of sealed blocks, on the rows of real stores: the `memories` rows of each store given
 * (read-only), 256 to a block in seq order, packed with the first stand-in encoding (version 0: JSON
 * of the columns + zstd 3) and with the column-wise encoding (`encodeBlock`), every block decoded back
 * and compared. Prints one JSON line per store. Sizes only; CPU figures are process CPU (noisy on a
 * shared machine: the medians of several passes).
 *
 *   node dist/bench/packed-blocks.js /tmp/pack11/dev.db /tmp/pack11/syn1e4.db [--block 256] [--passes 5]
 */
import Database from "better-sqlite3";
import { deepStrictEqual } from "node:assert";
import { ZstdFrames } from "../src/codec/zstd-native.js";
import { decodeBlock, encodeBlock, type BlockContext, type PackedRow } from "../src/store/packed-block.js";

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  return at < 0 ? fallback : Number(args[at + 1]);
};
const BLOCK = option("block", 256);
const PASSES = option("passes", 5);
const files = args.filter((arg, i) => !arg.startsWith("--") && !args[i - 1]?.startsWith("--"));

/** The stand-in of f557251 (encoding 0), as it wrote blocks. */
function encodePlain(rows: readonly PackedRow[], frames: ZstdFrames): Uint8Array {
  const plain = JSON.stringify(rows.map((row) => ({ ...row, content_hash: row.content_hash && Buffer.from(row.content_hash).toString("base64"), envelope: Buffer.from(row.envelope).toString("base64") })));
  const bytes = new TextEncoder().encode(plain);
  const body = frames.compress(bytes);
  const out = new Uint8Array(1 + 4 + body.length);
  out[0] = 0;
  new DataView(out.buffer).setUint32(1, bytes.length, true);
  out.set(body, 5);
  return out;
}

/** The stand-in's reader (no longer in packed-block.ts, which refuses encoding 0): for the comparison only. */
function decodePlain(data: Uint8Array, frames: ZstdFrames): PackedRow[] {
  const length = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(1, true);
  const rows = JSON.parse(new TextDecoder().decode(frames.decompress(data.subarray(5), length))) as (Omit<PackedRow, "content_hash" | "envelope"> & { content_hash: string | null; envelope: string })[];
  return rows.map((row) => ({
    ...row,
    content_hash: row.content_hash === null ? null : new Uint8Array(Buffer.from(row.content_hash, "base64")),
    envelope: new Uint8Array(Buffer.from(row.envelope, "base64")),
  }));
}

const cpuMs = (work: () => void): number => {
  const start = process.cpuUsage();
  work();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
};
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

for (const file of files) {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  const toRow = (raw: Record<string, unknown>): PackedRow => {
    const row = { ...raw } as unknown as PackedRow;
    row.envelope = new Uint8Array(raw.envelope as Buffer);
    row.content_hash = raw.content_hash === null ? null : new Uint8Array(raw.content_hash as Buffer);
    return row;
  };
  const rows = (db.prepare("SELECT * FROM memories ORDER BY seq").all() as Record<string, unknown>[]).map(toRow);
  const refs = new Map((db.prepare("SELECT n, ref FROM assets").all() as { n: number; ref: Buffer }[]).map((a) => [a.n, new Uint8Array(a.ref)]));
  db.close();
  const context: BlockContext = { assetRef: (n) => refs.get(n) };
  const chunks: PackedRow[][] = [];
  for (let i = 0; i < rows.length; i += BLOCK) chunks.push(rows.slice(i, i + BLOCK));
  const frames = new ZstdFrames(3);
  const plainBlocks = chunks.map((chunk) => encodePlain(chunk, frames));
  const blocks = chunks.map((chunk) => encodeBlock(chunk, context));
  chunks.forEach((chunk, i) => {
    deepStrictEqual(decodeBlock(blocks[i] as Uint8Array, context), chunk);
    deepStrictEqual(decodePlain(plainBlocks[i] as Uint8Array, frames), chunk);
  });
  const encodeMs: number[] = [];
  const decodeMs: number[] = [];
  const standInEncodeMs: number[] = [];
  const standInDecodeMs: number[] = [];
  for (let pass = 0; pass < PASSES; pass++) {
    encodeMs.push(cpuMs(() => chunks.forEach((chunk) => encodeBlock(chunk, context))));
    standInEncodeMs.push(cpuMs(() => chunks.forEach((chunk) => encodePlain(chunk, frames))));
    decodeMs.push(cpuMs(() => blocks.forEach((block) => decodeBlock(block, context))));
    standInDecodeMs.push(cpuMs(() => plainBlocks.forEach((block) => decodePlain(block, frames))));
  }
  const bytes = (list: Uint8Array[]): number => list.reduce((sum, block) => sum + block.length, 0);
  const envelopeBytes = rows.reduce((sum, row) => sum + row.envelope.length, 0);
  console.log(
    JSON.stringify({
      file,
      rows: rows.length,
      block: BLOCK,
      blocks: blocks.length,
      envelopeBytesPerRow: +(envelopeBytes / rows.length).toFixed(2),
      standInBytes: bytes(plainBlocks),
      standInBytesPerRow: +(bytes(plainBlocks) / rows.length).toFixed(2),
      columnsBytes: bytes(blocks),
      columnsBytesPerRow: +(bytes(blocks) / rows.length).toFixed(2),
      verified: rows.length,
      encodeCpuUsPerBlock: Math.round((median(encodeMs) * 1000) / blocks.length),
      decodeCpuUsPerBlock: Math.round((median(decodeMs) * 1000) / blocks.length),
      standInEncodeCpuUsPerBlock: Math.round((median(standInEncodeMs) * 1000) / blocks.length),
      standInDecodeCpuUsPerBlock: Math.round((median(standInDecodeMs) * 1000) / blocks.length),
    }),
  );
}
