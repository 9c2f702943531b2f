import type { MemorySummary, StoredMemory } from "../../core/store.js";
import { parseJsonColumn } from "../damage.js";
import { summaryOf, withEnvelope, type MemoryColumns } from "../rows.js";

export { asBuffer, kindNumber, toAsset, toBytes, type AssetRow } from "../rows.js";

/** A memory row as the summary and envelope queries below return it (tags as JSON text). */
export interface MemoryRow extends MemoryColumns {
  tags: string | null;
  checksum: number;
}

/** A memory's tags as JSON text (stored once per distinct value in memory_values). */
export const TAGS_JSON = "tv.json";
/** A memory's meta as JSON text. */
export const META_JSON = "mv.json";
/** When a memory last changed: its newest history entry's replacement (when its current text became current), else its creation. */
export const UPDATED_AT = "coalesce((SELECT max(v.replaced_at) FROM memory_versions v WHERE v.seq = m.seq), m.created_at)";

export const SUMMARY_SELECT = `SELECT m.seq, m.id, n.name AS namespace, m.kind, ${TAGS_JSON} AS tags, m.created_at, mv.json AS meta, c.name AS codec, m.original_length, m.checksum,
  a.id AS asset_id, p.id AS content_of, m.content_hash, m.language, m.version, m.expires_at, length(m.envelope) AS stored_length`;
export const SUMMARY_FROM = `FROM memories m JOIN namespaces n ON n.n = m.ns JOIN codecs c ON c.n = m.codec
  LEFT JOIN assets a ON a.n = m.asset LEFT JOIN memories p ON p.seq = m.content_of
  LEFT JOIN memory_values tv ON tv.n = m.tags_ref LEFT JOIN memory_values mv ON mv.n = m.meta_ref`;
/** A memory with the envelope it reads: its own, or that of the memory holding its text. */
export const WITH_ENVELOPE = `${SUMMARY_SELECT}, CASE WHEN m.content_of IS NULL THEN m.envelope ELSE p.envelope END AS envelope ${SUMMARY_FROM}`;
/** A memory by namespace number, id hash and id (the id index). */
export const BY_ID = "m.ns = ? AND m.id_hash = ? AND m.id = ?";
export const ASSET_SELECT = "SELECT a.id, a.kind, n.name AS namespace, a.bytes, a.meta, a.created_at FROM assets a LEFT JOIN namespaces n ON n.n = a.ns";

export function toSummary(row: MemoryRow): MemorySummary {
  const damaged: string[] = [];
  const tags = row.tags === null ? [] : parseJsonColumn(row.tags, "tags", [] as string[], (v) => Array.isArray(v) && v.every((t) => typeof t === "string"), damaged);
  return summaryOf(row, tags, row.checksum, damaged);
}

export function toStoredMemory(row: MemoryRow): StoredMemory {
  return withEnvelope(toSummary(row), row);
}

/**
 * One meta condition of a filter as SQL over `META_JSON` (memories' and sealed rows' alike), with its parameters: the
 * key holds exactly this JSON value. A number is compared as a number (json_quote writes a real with 15 digits, so
 * 0.8333333333333334 matched nothing where PostgreSQL's jsonb matched it); anything else as JSON text (json_each gives
 * true/false as 1/0), against the wanted value normalised by json().
 */
export function metaCondition(key: string, value: unknown): { sql: string; params: (string | number)[] } {
  if (typeof value === "number" && Number.isFinite(value)) {
    // An integer past 2^53 is compared by its digits (a bound double does not equal SQLite's 64-bit integer), as
    // PostgreSQL's numeric compares it.
    return {
      sql: `json_valid(${META_JSON}) AND EXISTS (SELECT 1 FROM json_each(${META_JSON}) j WHERE j.key = ?
           AND ((j.type = 'real' AND j.value = ?) OR (j.type = 'integer' AND (j.value = ? OR CAST(j.value AS TEXT) = ?))))`,
      params: [key, value, value, JSON.stringify(value)],
    };
  }
  return {
    sql: `json_valid(${META_JSON}) AND EXISTS (SELECT 1 FROM json_each(${META_JSON}) j WHERE j.key = ?
           AND (CASE j.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE json_quote(j.value) END) = json(?))`,
    params: [key, JSON.stringify(value ?? null)],
  };
}
