import type { AssetKind } from "../../codec/codec.js";
import { MEMORY_KINDS, type MemoryKind, type MemorySummary, type StoredAsset, type StoredMemory } from "../../core/store.js";
import { markDamaged, parseJsonColumn } from "../damage.js";
import { toBytes } from "../sqlite/rows.js";

export { asBuffer, kindNumber, toBytes } from "../sqlite/rows.js";

/** A memory row as the summary and envelope queries below return it (pg parses jsonb; int8 as numbers). */
export interface PgMemoryRow {
  seq: number;
  id: string;
  namespace: string;
  kind: number;
  tags: unknown;
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

export interface PgAssetRow {
  id: string;
  kind: string;
  namespace: string | null;
  bytes: Buffer;
  meta: string | null;
  created_at: number;
}

export const SUMMARY_SELECT = `SELECT m.seq, m.id, n.name AS namespace, m.kind, m.tags, m.created_at, m.meta, c.name AS codec, m.original_length, m.checksum,
  a.id AS asset_id, p.id AS content_of, m.content_hash, m.language, m.version, octet_length(m.envelope) AS stored_length`;
export const SUMMARY_FROM = `FROM memories m JOIN namespaces n ON n.n = m.ns JOIN codecs c ON c.n = m.codec
  LEFT JOIN assets a ON a.n = m.asset LEFT JOIN memories p ON p.seq = m.content_of`;
/** A memory with the envelope it reads: its own, or that of the memory holding its text. */
export const WITH_ENVELOPE = `${SUMMARY_SELECT}, CASE WHEN m.content_of IS NULL THEN m.envelope ELSE p.envelope END AS envelope ${SUMMARY_FROM}`;
export const ASSET_SELECT = "SELECT a.id, a.kind, n.name AS namespace, a.bytes, a.meta, a.created_at FROM assets a LEFT JOIN namespaces n ON n.n = a.ns";

/** XXH32 checksums are unsigned 32-bit; the column is a 4-byte signed integer. */
export const toChecksumColumn = (checksum: number): number => checksum | 0;
export const fromChecksumColumn = (value: number): number => value >>> 0;

export function toSummary(row: PgMemoryRow): MemorySummary {
  const damaged: string[] = [];
  const tags = row.tags === null ? [] : Array.isArray(row.tags) && row.tags.every((t) => typeof t === "string") ? (row.tags as string[]) : (damaged.push("tags"), []);
  const summary: MemorySummary = {
    id: row.id,
    namespace: row.namespace,
    kind: (MEMORY_KINDS[row.kind] ?? "note") as MemoryKind,
    tags,
    createdAt: row.created_at,
    meta: row.meta === null ? {} : parseJsonColumn(row.meta, "meta", {} as Record<string, unknown>, (v) => typeof v === "object" && v !== null && !Array.isArray(v), damaged),
    codec: row.codec,
    originalLength: row.original_length,
    checksum: fromChecksumColumn(row.checksum),
    assetId: row.asset_id,
    contentOf: row.content_of ?? null,
    storedLength: row.stored_length,
  };
  if (row.language !== null) summary.language = row.language;
  return markDamaged(summary, damaged);
}

export function toStoredMemory(row: PgMemoryRow): StoredMemory {
  const memory: StoredMemory = { ...toSummary(row), envelope: toBytes(row.envelope as Buffer), version: row.version };
  if (row.content_hash) memory.contentHash = toBytes(row.content_hash);
  return memory;
}

export function toAsset(row: PgAssetRow): StoredAsset {
  return {
    id: row.id,
    kind: row.kind as AssetKind,
    namespace: row.namespace,
    bytes: toBytes(row.bytes),
    meta: row.meta === null ? {} : (JSON.parse(row.meta) as Record<string, unknown>),
    createdAt: row.created_at,
  };
}
