import type { MemorySummary, StoredMemory } from "../../core/store.js";
import { summaryOf, withEnvelope, type MemoryColumns } from "../rows.js";

export { asBuffer, kindNumber, toAsset, toBytes, type AssetRow as PgAssetRow } from "../rows.js";

/** A memory row as the summary and envelope queries below return it (pg parses jsonb; int8 as numbers). */
export interface PgMemoryRow extends MemoryColumns {
  tags: unknown;
  checksum: number;
}

export const SUMMARY_SELECT = `SELECT m.seq, m.id, n.name AS namespace, m.kind, m.tags, m.created_at, m.meta, c.name AS codec, m.original_length, m.checksum,
  a.id AS asset_id, p.id AS content_of, m.content_hash, m.language, m.version, m.expires_at, octet_length(m.envelope) AS stored_length`;
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
  return summaryOf(row, tags, fromChecksumColumn(row.checksum), damaged);
}

export function toStoredMemory(row: PgMemoryRow): StoredMemory {
  return withEnvelope(toSummary(row), row);
}
