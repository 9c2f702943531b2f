import { MemzipError, ErrorCode } from "../../errors.js";
import type { AssetKind } from "../../codec/codec.js";
import { MEMORY_KINDS, type MemoryKind, type MemorySummary, type StoredAsset, type StoredMemory } from "../../core/store.js";
import { markDamaged, parseJsonColumn } from "../damage.js";

/** A memory row as the summary and envelope queries below return it. */
export interface MemoryRow {
  seq: number;
  id: string;
  namespace: string;
  kind: number;
  tags: string | null;
  created_at: number;
  meta: string | null;
  codec: string;
  envelope?: Buffer;
  original_length: number;
  checksum: number;
  asset_id: string | null;
  content_of: string | null;
  content_hash: Buffer | null;
  language: string | null;
  version: number;
  stored_length: number;
}

export interface AssetRow {
  id: string;
  kind: string;
  namespace: string | null;
  bytes: Buffer;
  meta: string | null;
  created_at: number;
}

export const SUMMARY_SELECT = `SELECT m.seq, m.id, n.name AS namespace, m.kind, m.tags, m.created_at, m.meta, c.name AS codec, m.original_length, m.checksum,
  a.id AS asset_id, p.id AS content_of, m.content_hash, m.language, m.version, length(m.envelope) AS stored_length`;
export const SUMMARY_FROM = `FROM memories m JOIN namespaces n ON n.n = m.ns JOIN codecs c ON c.n = m.codec
  LEFT JOIN assets a ON a.n = m.asset LEFT JOIN memories p ON p.seq = m.content_of`;
/** A memory with the envelope it reads: its own, or that of the memory holding its text. */
export const WITH_ENVELOPE = `${SUMMARY_SELECT}, CASE WHEN m.content_of IS NULL THEN m.envelope ELSE p.envelope END AS envelope ${SUMMARY_FROM}`;
/** A memory by namespace number, id hash and id (the id index). */
export const BY_ID = "m.ns = ? AND m.id_hash = ? AND m.id = ?";
export const ASSET_SELECT = "SELECT a.id, a.kind, n.name AS namespace, a.bytes, a.meta, a.created_at FROM assets a LEFT JOIN namespaces n ON n.n = a.ns";

export function kindNumber(kind: string): number {
  const n = (MEMORY_KINDS as readonly string[]).indexOf(kind);
  if (n < 0) throw new MemzipError(ErrorCode.INVALID_INPUT, `unknown memory kind "${kind}"`, { hint: `Use one of ${MEMORY_KINDS.join(", ")}.` });
  return n;
}

export function toBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
}

/** A byte array as a Buffer over the same memory (no copy). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

export function toSummary(row: MemoryRow): MemorySummary {
  // A damaged tags/meta column reads as empty and is marked, so one bad row does not end a scan (issue 12).
  const damaged: string[] = [];
  const summary: MemorySummary = {
    id: row.id,
    namespace: row.namespace,
    kind: (MEMORY_KINDS[row.kind] ?? "note") as MemoryKind,
    tags: row.tags === null ? [] : parseJsonColumn(row.tags, "tags", [] as string[], (v) => Array.isArray(v) && v.every((t) => typeof t === "string"), damaged),
    createdAt: row.created_at,
    meta: row.meta === null ? {} : parseJsonColumn(row.meta, "meta", {} as Record<string, unknown>, (v) => typeof v === "object" && v !== null && !Array.isArray(v), damaged),
    codec: row.codec,
    originalLength: row.original_length,
    checksum: row.checksum,
    assetId: row.asset_id,
    contentOf: row.content_of ?? null,
    storedLength: row.stored_length,
  };
  if (row.language !== null) summary.language = row.language;
  return markDamaged(summary, damaged);
}

export function toStoredMemory(row: MemoryRow): StoredMemory {
  const memory: StoredMemory = { ...toSummary(row), envelope: toBytes(row.envelope as Buffer), version: row.version };
  if (row.content_hash) memory.contentHash = toBytes(row.content_hash);
  return memory;
}

export function toAsset(row: AssetRow): StoredAsset {
  return {
    id: row.id,
    kind: row.kind as AssetKind,
    namespace: row.namespace,
    bytes: toBytes(row.bytes),
    meta: row.meta === null ? {} : (JSON.parse(row.meta) as Record<string, unknown>),
    createdAt: row.created_at,
  };
}
