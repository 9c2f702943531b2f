import type Database from "better-sqlite3";
import type { IndexedVectors, SearchIndexStore, SearchIndexEntry } from "./types.js";

/**
 * The search index inside the store file: `search_vectors` (float16, one row a memory, named by
 * the embedder that made it) and `search_terms` (FTS5, contentless: the inverted index only, no
 * second copy of the text). Triggers drop a memory's rows when it is deleted or rewritten.
 */
/**
 * Creates the search tables and their triggers on \`memories\` when missing (idempotent; the store
 * calls it at open). Rows are keyed by \`memories.seq\`.
 */
export function ensureSearchSchema(db: Database.Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS search_vectors (seq INTEGER PRIMARY KEY, embedder TEXT NOT NULL, vector BLOB NOT NULL);
    CREATE VIRTUAL TABLE IF NOT EXISTS search_terms USING fts5(terms, content='', contentless_delete=1);
    CREATE TRIGGER IF NOT EXISTS search_forget_deleted AFTER DELETE ON memories BEGIN
      DELETE FROM search_vectors WHERE seq = old.seq;
      DELETE FROM search_terms WHERE rowid = old.seq;
    END;
    CREATE TRIGGER IF NOT EXISTS search_forget_rewritten AFTER UPDATE ON memories
    WHEN old.checksum IS NOT new.checksum OR old.original_length IS NOT new.original_length OR old.content_hash IS NOT new.content_hash BEGIN
      DELETE FROM search_vectors WHERE seq = old.seq;
      DELETE FROM search_terms WHERE rowid = old.seq;
    END;
    CREATE TRIGGER IF NOT EXISTS search_forget_described AFTER INSERT ON semantic BEGIN
      DELETE FROM search_terms WHERE rowid = new.seq;
      DELETE FROM search_vectors WHERE seq = new.seq;
    END;`);
}

export class SqliteSearchIndex implements SearchIndexStore {
  private readonly statements;

  constructor(private readonly db: Database.Database) {
    // Per connection, so no migration: how many memories hold each term (FTS5's own statistics).
    db.exec("CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_vocabulary USING fts5vocab(main, search_terms, row)");
    this.statements = {
      frequency: db.prepare("SELECT doc FROM temp.search_vocabulary WHERE term = ?").pluck(),
      indexed: db.prepare("SELECT count(*) FROM search_vectors").pluck(),
      pending: db.prepare(
        `SELECT m.seq, m.id, n.name AS namespace FROM memories m JOIN namespaces n ON n.n = m.ns LEFT JOIN search_vectors v ON v.seq = m.seq
         WHERE v.seq IS NULL OR v.embedder != ? ORDER BY m.seq LIMIT ?`,
      ),
      countPending: db.prepare("SELECT count(*) AS n FROM memories m LEFT JOIN search_vectors v ON v.seq = m.seq WHERE v.seq IS NULL OR v.embedder != ?"),
      forgetTerms: db.prepare("DELETE FROM search_terms WHERE rowid = ?"),
      putTerms: db.prepare("INSERT INTO search_terms (rowid, terms) VALUES (?, ?)"),
      putVector: db.prepare("INSERT OR REPLACE INTO search_vectors (seq, embedder, vector) VALUES (?, ?, ?)"),
      vectors: db.prepare(
        "SELECT v.seq, m.id, n.name AS namespace, v.vector FROM search_vectors v JOIN memories m ON m.seq = v.seq JOIN namespaces n ON n.n = m.ns WHERE v.embedder = ? ORDER BY v.seq",
      ),
      vectorOf: db.prepare("SELECT v.vector FROM search_vectors v JOIN memories m ON m.seq = v.seq WHERE m.id = ? AND v.embedder = ?"),
      keyword: db.prepare(
        `SELECT t.rowid AS seq, m.id, n.name AS namespace FROM search_terms t JOIN memories m ON m.seq = t.rowid JOIN namespaces n ON n.n = m.ns
         WHERE search_terms MATCH ? ORDER BY t.rank LIMIT ?`,
      ),
      dataVersion: db.prepare("PRAGMA data_version").pluck(),
      totalChanges: db.prepare("SELECT total_changes()").pluck(),
      bytes: db.prepare("SELECT coalesce(sum(length(vector)), 0) FROM search_vectors").pluck(),
    };
  }

  pending(embedder: string, limit: number): { seq: number; id: string; namespace: string }[] {
    return this.statements.pending.all(embedder, limit) as { seq: number; id: string; namespace: string }[];
  }

  countPending(embedder: string): number {
    return (this.statements.countPending.get(embedder) as { n: number }).n;
  }

  put(entries: readonly SearchIndexEntry[]): void {
    this.db.transaction(() => {
      for (const entry of entries) {
        this.statements.forgetTerms.run(entry.seq);
        this.statements.putTerms.run(entry.seq, entry.terms);
        this.statements.putVector.run(entry.seq, entry.embedder, entry.vector);
      }
    })();
  }

  vectors(embedder: string): IndexedVectors {
    const rows = this.statements.vectors.all(embedder) as { seq: number; id: string; namespace: string; vector: Buffer }[];
    return { ids: rows.map((r) => r.id), namespaces: rows.map((r) => r.namespace), vectors: rows.map((r) => r.vector) };
  }

  vectorOf(id: string, embedder: string): Uint8Array | undefined {
    return (this.statements.vectorOf.get(id, embedder) as { vector: Buffer } | undefined)?.vector;
  }

  keyword(match: string, limit: number): { id: string; namespace: string }[] {
    return this.statements.keyword.all(match, limit) as { id: string; namespace: string }[];
  }

  documentFrequency(term: string): number {
    return (this.statements.frequency.get(term) as number | undefined) ?? 0;
  }

  indexedCount(): number {
    return this.statements.indexed.get() as number;
  }

  version(): string {
    return `${String(this.statements.dataVersion.get())}:${String(this.statements.totalChanges.get())}`;
  }

  clear(): void {
    this.db.transaction(() => {
      this.db.exec("DELETE FROM search_vectors; DELETE FROM search_terms;");
    })();
  }

  vectorBytes(): number {
    return this.statements.bytes.get() as number;
  }
}
