import type { IndexedVectors, PendingFrom, SearchIndexBytes, SearchIndexEntry, SearchIndexStore, VectorChanges } from "../../core/store.js";
import type { PgDatabase, PgTransaction } from "./database.js";

/** Whether the index holds the key passed as $1. */
const HOLDS = "coalesce((SELECT value FROM search_meta WHERE key = 'key') = $1, false)";
const BUMP = "UPDATE memzip_state SET changes = changes + 1 WHERE id = 1";

/** A single term as a tsquery literal: quoted, so PostgreSQL takes it verbatim (no parsing, no stemming). */
function termQuery(term: string): string {
  return `'${term.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
}

/** The normalised terms string split at spaces, each term once (what `array_to_tsvector` takes). */
function lexemes(terms: string): string[] {
  return [...new Set(terms.split(" ").filter((t) => t !== ""))];
}

/**
 * The search index in PostgreSQL: `search_vectors` (one quantized vector a memory, as the index
 * key in `search_meta` says; bytea) and `search_terms` (a tsvector a memory with a GIN index). The
 * terms come split and normalised by the engine (Chinese as bigrams, as SQLite gets them); they are
 * stored verbatim with `array_to_tsvector`, so no text-search configuration parses, lower-cases or
 * stems them, and a look-up is one quoted lexeme. Triggers drop a memory's rows when it is deleted,
 * rewritten or described anew. Vectors are read whole by `vectors()` and scored in the engine.
 */
export class PgSearchIndex implements SearchIndexStore {
  constructor(private readonly database: PgDatabase) {}

  private async key(on?: PgTransaction): Promise<string | undefined> {
    const sql = "SELECT value FROM search_meta WHERE key = 'key'";
    const rows = on ? (await on.query<{ value: string }>(sql)).rows : await this.database.query<{ value: string }>(sql);
    return rows[0]?.value;
  }

  /** One round trip: whether the index holds `key` is checked in the same statement. */
  async pending(key: string, limit: number, from: PendingFrom = {}): Promise<{ seq: number; id: string; namespace: string }[]> {
    return this.database.query<{ seq: number; id: string; namespace: string }>(
      `SELECT m.seq, m.id, n.name AS namespace FROM memories m JOIN namespaces n ON n.n = m.ns
       WHERE m.seq > $3 AND NOT (${HOLDS} AND EXISTS (SELECT 1 FROM search_vectors v WHERE v.seq = m.seq)) ORDER BY m.seq LIMIT $2`,
      [key, limit, from.after ?? 0],
    );
  }

  async countPending(key: string): Promise<number> {
    const rows = await this.database.query<{ n: number }>(
      `SELECT count(*) AS n FROM memories m WHERE NOT (${HOLDS} AND EXISTS (SELECT 1 FROM search_vectors v WHERE v.seq = m.seq))`,
      [key],
    );
    return rows[0]?.n ?? 0;
  }

  /** One statement per table for the whole batch; entries of memories deleted meanwhile are skipped. */
  async put(key: string, entries: readonly SearchIndexEntry[]): Promise<void> {
    await this.database.write(async (tx) => {
      if ((await this.key(tx)) !== key) {
        await this.clearAll(tx);
        await tx.query("INSERT INTO search_meta (key, value) VALUES ('key', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key]);
      }
      if (entries.length > 0) {
        const seqs = entries.map((e) => e.seq);
        await tx.query(
          `INSERT INTO search_vectors (seq, vector) SELECT s, v FROM unnest($1::bigint[], $2::bytea[]) AS t(s, v)
           WHERE EXISTS (SELECT 1 FROM memories m WHERE m.seq = t.s) ON CONFLICT (seq) DO UPDATE SET vector = excluded.vector`,
          [seqs, entries.map((e) => Buffer.from(e.vector.buffer, e.vector.byteOffset, e.vector.length))],
        );
        // Terms travel as one JSON array of arrays (text[][] cannot be ragged).
        await tx.query(
          `INSERT INTO search_terms (seq, terms)
           SELECT t.s, array_to_tsvector(ARRAY(SELECT jsonb_array_elements_text(($2::jsonb) -> (t.i::int - 1)))) FROM unnest($1::bigint[]) WITH ORDINALITY AS t(s, i)
           WHERE EXISTS (SELECT 1 FROM memories m WHERE m.seq = t.s) ON CONFLICT (seq) DO UPDATE SET terms = excluded.terms`,
          [seqs, JSON.stringify(entries.map((e) => lexemes(e.terms)))],
        );
      }
      await tx.query(BUMP);
    });
  }

  async vectors(key: string): Promise<IndexedVectors> {
    if ((await this.key()) !== key) return { seqs: [], ids: [], namespaces: [], vectors: [] };
    const rows = await this.database.query<{ seq: number; id: string; namespace: string; vector: Buffer }>(
      "SELECT v.seq, m.id, n.name AS namespace, v.vector FROM search_vectors v JOIN memories m ON m.seq = v.seq JOIN namespaces n ON n.n = m.ns ORDER BY v.seq",
    );
    return { seqs: rows.map((r) => r.seq), ids: rows.map((r) => r.id), namespaces: rows.map((r) => r.namespace), vectors: rows.map((r) => r.vector) };
  }

  /** Always every vector: PostgreSQL keeps no log of what changed (the change token says only that something did). */
  async vectorsSince(key: string): Promise<VectorChanges> {
    return { full: true, vectors: await this.vectors(key), changed: [], cursor: "" };
  }

  async matching(term: string): Promise<number[]> {
    if (term === "") return [];
    return (await this.database.query<{ seq: number }>("SELECT seq FROM search_terms WHERE terms @@ $1::tsquery", [termQuery(term)])).map((r) => r.seq);
  }

  async documentFrequency(term: string): Promise<number> {
    if (term === "") return 0;
    return (await this.database.query<{ n: number }>("SELECT count(*) AS n FROM search_terms WHERE terms @@ $1::tsquery", [termQuery(term)]))[0]?.n ?? 0;
  }

  async indexedCount(atMost?: number): Promise<number> {
    if (atMost !== undefined) return (await this.database.query<{ n: number }>("SELECT count(*) AS n FROM (SELECT 1 FROM search_vectors LIMIT $1) t", [Math.max(0, Math.floor(atMost)) + 1]))[0]?.n ?? 0;
    return (await this.database.query<{ n: number }>("SELECT count(*) AS n FROM search_vectors"))[0]?.n ?? 0;
  }

  /** A counter every write that may change the index raises (in the writer's transaction), from any process. */
  async changeToken(): Promise<string> {
    return String((await this.database.query<{ changes: number }>("SELECT changes FROM memzip_state WHERE id = 1"))[0]?.changes ?? 0);
  }

  async vectorBytes(): Promise<number> {
    return (await this.database.query<{ n: number }>("SELECT coalesce(sum(octet_length(vector)), 0)::bigint AS n FROM search_vectors"))[0]?.n ?? 0;
  }

  async bytes(): Promise<SearchIndexBytes> {
    const row = (
      await this.database.query<SearchIndexBytes>(
        `SELECT pg_total_relation_size('search_vectors')::bigint AS vectors, pg_total_relation_size('search_terms')::bigint AS terms,
           pg_total_relation_size('search_meta')::bigint AS other`,
      )
    )[0];
    return row ?? { vectors: 0, terms: 0, other: 0 };
  }

  /** Merges the GIN index's pending list into the index proper. */
  async compact(): Promise<void> {
    await this.database.query("SELECT gin_clean_pending_list('search_terms_gin'::regclass)");
  }

  async clear(): Promise<void> {
    await this.database.write(async (tx) => {
      await this.clearAll(tx);
      await tx.query(BUMP);
    });
  }

  private async clearAll(tx: PgTransaction): Promise<void> {
    await tx.query("DELETE FROM search_vectors");
    await tx.query("DELETE FROM search_terms");
    await tx.query("DELETE FROM search_meta WHERE key = 'key'");
  }
}
