/** Schema migrations; `PRAGMA user_version` records how many have been applied. Append only. */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE assets (
     id TEXT PRIMARY KEY,
     ref BLOB NOT NULL UNIQUE,
     kind TEXT NOT NULL,
     namespace TEXT,
     bytes BLOB NOT NULL,
     size INTEGER NOT NULL,
     meta TEXT NOT NULL DEFAULT '{}',
     created_at INTEGER NOT NULL
   );
   CREATE TABLE namespaces (
     name TEXT PRIMARY KEY,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE active_assets (
     namespace TEXT NOT NULL REFERENCES namespaces(name),
     kind TEXT NOT NULL,
     asset_id TEXT NOT NULL REFERENCES assets(id),
     PRIMARY KEY (namespace, kind)
   );
   CREATE TABLE memories (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     namespace TEXT NOT NULL REFERENCES namespaces(name),
     kind TEXT NOT NULL,
     tags TEXT NOT NULL DEFAULT '[]',
     created_at INTEGER NOT NULL,
     meta TEXT NOT NULL DEFAULT '{}',
     codec TEXT NOT NULL,
     envelope BLOB NOT NULL,
     original_length INTEGER NOT NULL,
     checksum INTEGER NOT NULL,
     asset_id TEXT REFERENCES assets(id)
   );
   CREATE INDEX memories_by_namespace ON memories(namespace, seq);
   CREATE INDEX memories_by_asset ON memories(asset_id);`,
  `CREATE TABLE jobs (
     id TEXT PRIMARY KEY,
     kind TEXT NOT NULL,
     source TEXT NOT NULL,
     source_size INTEGER NOT NULL,
     source_mtime INTEGER NOT NULL,
     namespace TEXT NOT NULL,
     status TEXT NOT NULL,
     position INTEGER NOT NULL DEFAULT 0,
     line INTEGER NOT NULL DEFAULT 0,
     started_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );`,
  `CREATE TABLE models (
     fingerprint TEXT PRIMARY KEY,
     ref BLOB NOT NULL UNIQUE,
     name TEXT NOT NULL UNIQUE,
     path TEXT NOT NULL,
     architecture TEXT NOT NULL,
     vocabulary_size INTEGER NOT NULL,
     context_length INTEGER NOT NULL,
     size INTEGER NOT NULL,
     mtime INTEGER NOT NULL,
     added_at INTEGER NOT NULL
   );
   CREATE TABLE engines (
     id TEXT PRIMARY KEY,
     ref BLOB NOT NULL UNIQUE,
     runtime TEXT NOT NULL,
     settings TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );`,
  // Content addressing: a memory whose exact text another memory already holds keeps an empty
  // envelope and points at that memory (content_of); the text is stored once.
  `ALTER TABLE memories ADD COLUMN content_hash BLOB;
   ALTER TABLE memories ADD COLUMN content_of TEXT;
   CREATE INDEX memories_by_content ON memories(content_hash) WHERE content_of IS NULL AND content_hash IS NOT NULL;
   CREATE INDEX memories_by_content_of ON memories(content_of) WHERE content_of IS NOT NULL;`,
  // Semantic features: a summary and entities beside the exact envelope (lossy; never needed to rebuild the text).
  `CREATE TABLE semantic (
     id TEXT PRIMARY KEY REFERENCES memories(id) ON DELETE CASCADE,
     summary TEXT NOT NULL,
     entities TEXT NOT NULL,
     source TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );`,
  // Search: a float16 vector and keyword terms per memory (rowid = memories.seq), built on demand.
  // A memory whose text or semantic features change, or that is deleted, drops out and is indexed again.
  `CREATE TABLE search_vectors (
     seq INTEGER PRIMARY KEY,
     embedder TEXT NOT NULL,
     vector BLOB NOT NULL
   );
   CREATE VIRTUAL TABLE search_terms USING fts5(terms, content='', contentless_delete=1);
   CREATE TRIGGER search_forget_deleted AFTER DELETE ON memories BEGIN
     DELETE FROM search_vectors WHERE seq = old.seq;
     DELETE FROM search_terms WHERE rowid = old.seq;
   END;
   CREATE TRIGGER search_forget_rewritten AFTER UPDATE ON memories
   WHEN old.checksum IS NOT new.checksum OR old.original_length IS NOT new.original_length OR old.content_hash IS NOT new.content_hash BEGIN
     DELETE FROM search_vectors WHERE seq = old.seq;
     DELETE FROM search_terms WHERE rowid = old.seq;
   END;
   CREATE TRIGGER search_forget_described AFTER INSERT ON semantic BEGIN
     DELETE FROM search_terms WHERE rowid = (SELECT seq FROM memories WHERE id = new.id);
     DELETE FROM search_vectors WHERE seq = (SELECT seq FROM memories WHERE id = new.id);
   END;`,
];
