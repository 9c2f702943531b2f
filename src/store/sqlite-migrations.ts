import type Database from "better-sqlite3";
import { MemzipError, ErrorCode } from "../errors.js";
import { MEMORY_KINDS } from "../core/store.js";

/** One step: SQL, or a function for a step that verifies what it did (it runs inside the migration's transaction). */
export type Migration = string | ((db: Database.Database) => void);

/** Schema migrations; `PRAGMA user_version` records how many have been applied. Append only. */
export const MIGRATIONS: readonly Migration[] = [
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
   CREATE INDEX memories_by_content ON memories(checksum) WHERE content_of IS NULL AND content_hash IS NOT NULL;
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
  // Schema v2: compact rows (see docs/STORE.md), ids unique per namespace, a row version for compare-and-set.
  migrateToV2,
  // API keys of the HTTP and MCP front ends: the sha256 of each key, never the key.
  `CREATE TABLE api_keys (
     id TEXT PRIMARY KEY,
     hash BLOB NOT NULL UNIQUE,
     role TEXT NOT NULL,
     namespaces TEXT NOT NULL,
     label TEXT,
     created_at INTEGER NOT NULL,
     revoked_at INTEGER
   );`,
  // History: each earlier text of a memory (seq = memories.seq), coded against the text that replaced
  // it (store/sqlite/memory-writes.ts); deleting the memory deletes them.
  `CREATE TABLE memory_versions (
     seq INTEGER NOT NULL,
     version INTEGER NOT NULL,
     kind INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     replaced_at INTEGER NOT NULL,
     codec TEXT NOT NULL,
     original_length INTEGER NOT NULL,
     checksum INTEGER NOT NULL,
     language TEXT,
     tags TEXT,
     meta TEXT,
     payload BLOB NOT NULL,
     PRIMARY KEY (seq, version)
   );`,
  // Tags and meta stored once per distinct value (memory_values), referred to by number from each memory.
  internMemoryValues,
  // Expiry: when a memory stops being readable (NULL: never).
  addExpiry,
  // Sealed blocks (issue 11): memories rows packed a few hundred to a block (store/packed-block.ts). The step
  // marks the layout (a build from before it refuses the file) and makes nothing: the tables come with the first
  // seal (sqlite/sealed.ts, SEALED_TABLES), so a store that never seals keeps v2's pages.
  sealedBlocksLayout,
  // The sealed rows' id and content keys as sorted runs (sealed.ts, key-runs.ts) instead of the WITHOUT ROWID
  // tables sealed_ids / sealed_content. The step marks the layout (a build from before it would not find the
  // keys of rows sealed after it) and makes nothing: a store's next seal moves the keys, and until then
  // (and in a read-only open) the tables are read as they are.
  sealedKeyRunsLayout,
  // Row versions from one store-wide clock (store/sqlite/memory-writes.ts): a memory forgotten and written again
  // under its id never takes a version an earlier row of that id had, so a compare-and-set prepared from a read of
  // the old row cannot land on the new one.
  versionClock,
  // Who runs an import job (core/process-token.ts): a job whose process was killed is resumed at once, not after
  // its heartbeat went stale. NULL for jobs of earlier builds and where no token can be made.
  addJobOwner,
];

/**
 * Index of the sealed-blocks layout step. Every step from it on makes nothing a read needs (the version clock
 * serves writes only), so a store at this version or later reads as it is where it cannot be upgraded (a read-only open).
 */
export const SEALED_LAYOUT_STEP = MIGRATIONS.indexOf(sealedBlocksLayout);

/** Index of the step that starts the version clock (its test builds a store just before it). */
export const VERSION_CLOCK_STEP = MIGRATIONS.indexOf(versionClock);

/** Index of the step that adds `memories.expires_at` (its test builds a store just before it). */
export const EXPIRY_STEP = MIGRATIONS.indexOf(addExpiry);

/** Index of the step that moves tags and meta into `memory_values` (its test builds a store just before it). */
export const MEMORY_VALUES_STEP = MIGRATIONS.indexOf(internMemoryValues);

/** Index of the v1 -> v2 step: a new store starts at v2 and then applies every step after it. */
export const V2_STEP = MIGRATIONS.indexOf(migrateToV2);

/** The schema v2 tables a new store starts with (the search tables belong to store/sqlite/search-index.ts). */
export const SCHEMA_V2 = `
  CREATE TABLE namespaces (n INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL);
  CREATE TABLE codecs (n INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
  CREATE TABLE assets (
    n INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    ref BLOB NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    ns INTEGER,
    bytes BLOB NOT NULL,
    size INTEGER NOT NULL,
    meta TEXT,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE active_assets (
    ns INTEGER NOT NULL,
    kind TEXT NOT NULL,
    asset INTEGER,
    samples INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (ns, kind)
  ) WITHOUT ROWID;
  CREATE TABLE memories (
    seq INTEGER PRIMARY KEY,
    ns INTEGER NOT NULL,
    id TEXT NOT NULL,
    id_hash INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    codec INTEGER NOT NULL,
    asset INTEGER,
    original_length INTEGER NOT NULL,
    checksum INTEGER NOT NULL,
    content_hash BLOB,
    content_of INTEGER,
    version INTEGER NOT NULL DEFAULT 1,
    language TEXT,
    tags TEXT,
    meta TEXT,
    envelope BLOB NOT NULL
  );
  CREATE TABLE semantic (
    seq INTEGER PRIMARY KEY,
    summary TEXT NOT NULL,
    entities TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );`;

/** Indexes of the v2 tables (created after the tables are filled). */
export const SCHEMA_V2_INDEXES = `
  CREATE INDEX memories_by_id ON memories(ns, id_hash);
  CREATE INDEX memories_by_content ON memories(checksum) WHERE content_of IS NULL AND content_hash IS NOT NULL;
  CREATE INDEX memories_by_content_of ON memories(content_of) WHERE content_of IS NOT NULL;`;

/** Bytes of sha256 a v2 row keeps as its content hash (collisions are checked against checksum, length and, on write, the bytes). */
export const CONTENT_HASH_BYTES = 8;

/** A 32-bit hash of a memory id: the id index holds this, so the id itself is stored once, in the row. */
export const ID_HASH_FUNCTION = "memzip_id_hash";

const KIND_CASE = `CASE m.kind ${MEMORY_KINDS.map((k, i) => `WHEN '${k}' THEN ${i}`).join(" ")} ELSE -1 END`;

/**
 * v1 -> v2 in place: new tables beside the old, every row copied, then checked row by row against
 * the old tables (ids, namespaces, envelopes, checksums, lengths, holders, assets) before the old
 * tables are dropped. It runs in the caller's transaction: any failure rolls back to the v1 file.
 */
function migrateToV2(db: Database.Database): void {
  db.exec(SCHEMA_V2.replace(/CREATE TABLE (\w+)/g, "CREATE TABLE $1_v2"));
  db.exec(`
    INSERT INTO namespaces_v2 (name, created_at) SELECT name, created_at FROM namespaces ORDER BY rowid;
    INSERT OR IGNORE INTO namespaces_v2 (name, created_at) SELECT DISTINCT namespace, 0 FROM memories;
    INSERT INTO codecs_v2 (name) SELECT DISTINCT codec FROM memories ORDER BY codec;
    INSERT INTO assets_v2 (id, ref, kind, ns, bytes, size, meta, created_at)
      SELECT a.id, a.ref, a.kind, (SELECT n FROM namespaces_v2 WHERE name = a.namespace), a.bytes, a.size, NULLIF(a.meta, '{}'), a.created_at
      FROM assets a ORDER BY a.created_at, a.rowid;
    INSERT INTO active_assets_v2 (ns, kind, asset, samples)
      SELECT ns.n, aa.kind, a.n, coalesce(json_extract(a.meta, '$.samples'), 0)
      FROM active_assets aa JOIN namespaces_v2 ns ON ns.name = aa.namespace JOIN assets_v2 a ON a.id = aa.asset_id;
    INSERT INTO memories_v2 (seq, ns, id, id_hash, kind, created_at, codec, asset, original_length, checksum, content_hash, content_of, tags, meta, envelope)
      SELECT m.seq, ns.n, m.id, ${ID_HASH_FUNCTION}(m.id), ${KIND_CASE}, m.created_at, c.n, a.n, m.original_length, m.checksum,
        substr(m.content_hash, 1, ${CONTENT_HASH_BYTES}), p.seq, NULLIF(m.tags, '[]'), NULLIF(m.meta, '{}'), m.envelope
      FROM memories m JOIN namespaces_v2 ns ON ns.name = m.namespace JOIN codecs_v2 c ON c.name = m.codec
      LEFT JOIN assets_v2 a ON a.id = m.asset_id LEFT JOIN memories p ON p.id = m.content_of
      ORDER BY m.seq;
    INSERT INTO semantic_v2 (seq, summary, entities, source, created_at)
      SELECT m.seq, s.summary, s.entities, s.source, s.created_at FROM semantic s JOIN memories m ON m.id = s.id;`);
  const count = (sql: string) => (db.prepare(sql).pluck().get() as number) ?? 0;
  const checks: [string, number, number][] = [
    ["memories", count("SELECT count(*) FROM memories"), count("SELECT count(*) FROM memories_v2")],
    [
      "memories identical in id, namespace, kind, codec, asset, length, checksum, envelope and holder",
      count("SELECT count(*) FROM memories"),
      count(`SELECT count(*) FROM memories m JOIN memories_v2 v ON v.seq = m.seq
        JOIN namespaces_v2 ns ON ns.n = v.ns JOIN codecs_v2 c ON c.n = v.codec LEFT JOIN assets_v2 a ON a.n = v.asset
        LEFT JOIN memories_v2 vp ON vp.seq = v.content_of
        WHERE v.id = m.id AND ns.name = m.namespace AND v.kind = ${KIND_CASE} AND v.kind >= 0 AND c.name = m.codec AND a.id IS m.asset_id
          AND v.original_length = m.original_length AND v.checksum = m.checksum AND v.envelope = m.envelope
          AND v.created_at = m.created_at AND coalesce(v.tags, '[]') = m.tags AND coalesce(v.meta, '{}') = m.meta
          AND vp.id IS m.content_of AND v.id_hash = ${ID_HASH_FUNCTION}(v.id)`),
    ],
    ["assets", count("SELECT count(*) FROM assets"), count("SELECT count(*) FROM assets a JOIN assets_v2 v ON v.id = a.id WHERE v.bytes = a.bytes AND v.ref = a.ref")],
    ["active assets", count("SELECT count(*) FROM active_assets"), count("SELECT count(*) FROM active_assets_v2")],
    ["semantic features", count("SELECT count(*) FROM semantic"), count("SELECT count(*) FROM semantic_v2")],
  ];
  for (const [what, before, after] of checks) {
    if (before !== after) {
      throw new MemzipError(ErrorCode.STORE, `the upgrade to schema v2 did not verify: ${what}: ${before} before, ${after} after; the store is left as it was (v1)`, {
        hint: "Keep using the previous memzip release on this store and report the failure with `memzip stats --json` output.",
      });
    }
  }
  db.exec(`
    DROP TRIGGER IF EXISTS search_forget_deleted;
    DROP TRIGGER IF EXISTS search_forget_rewritten;
    DROP TRIGGER IF EXISTS search_forget_described;
    DROP TABLE IF EXISTS search_vectors;
    DROP TABLE IF EXISTS search_terms;
    DROP TABLE semantic;
    DROP TABLE active_assets;
    DROP TABLE memories;
    DROP TABLE namespaces;
    DROP TABLE assets;
    DELETE FROM sqlite_sequence WHERE name = 'memories';
    ALTER TABLE namespaces_v2 RENAME TO namespaces;
    ALTER TABLE codecs_v2 RENAME TO codecs;
    ALTER TABLE assets_v2 RENAME TO assets;
    ALTER TABLE active_assets_v2 RENAME TO active_assets;
    ALTER TABLE memories_v2 RENAME TO memories;
    ALTER TABLE semantic_v2 RENAME TO semantic;
    ${SCHEMA_V2_INDEXES}`);
}

/**
 * Tags and meta as numbers: each distinct JSON text (a memory's tags array or meta object) is
 * stored once in `memory_values` (found by a 32-bit hash of the text, the text compared too) and
 * `memories.tags_ref` / `meta_ref` refer to it; the inline `tags` / `meta` columns are dropped.
 * Records of a corpus mostly repeat the same few metas, so the ~40 bytes a row become one or none.
 * Adds and drops columns with ALTER TABLE (never recreates `memories`, so every other column,
 * index and trigger, whichever step added it, is kept as is); checks every row's values before
 * dropping the inline columns; runs in the caller's transaction.
 */
function internMemoryValues(db: Database.Database): void {
  db.exec(`
    CREATE TABLE memory_values (n INTEGER PRIMARY KEY, hash INTEGER NOT NULL, json TEXT NOT NULL);
    CREATE INDEX memory_values_by_hash ON memory_values(hash);
    ALTER TABLE memories ADD COLUMN tags_ref INTEGER;
    ALTER TABLE memories ADD COLUMN meta_ref INTEGER;
    INSERT INTO memory_values (hash, json)
      SELECT ${ID_HASH_FUNCTION}(v), v FROM (SELECT tags AS v FROM memories WHERE tags IS NOT NULL UNION SELECT meta FROM memories WHERE meta IS NOT NULL);
    UPDATE memories SET
      tags_ref = (SELECT v.n FROM memory_values v WHERE v.hash = ${ID_HASH_FUNCTION}(memories.tags) AND v.json = memories.tags),
      meta_ref = (SELECT v.n FROM memory_values v WHERE v.hash = ${ID_HASH_FUNCTION}(memories.meta) AND v.json = memories.meta)
    WHERE tags IS NOT NULL OR meta IS NOT NULL;`);
  const mismatched = db
    .prepare(
      `SELECT count(*) FROM memories m LEFT JOIN memory_values t ON t.n = m.tags_ref LEFT JOIN memory_values v ON v.n = m.meta_ref
       WHERE t.json IS NOT m.tags OR v.json IS NOT m.meta`,
    )
    .pluck()
    .get() as number;
  if (mismatched !== 0) {
    throw new MemzipError(ErrorCode.STORE, `storing tags and meta once per value did not verify: ${mismatched} memories differ; the store is left as it was`, {
      hint: "Keep using the previous memzip release on this store and report the failure with `memzip stats --json` output.",
    });
  }
  // DROP COLUMN rewrites the rows in place and keeps every other column, index and trigger as it is.
  db.exec("ALTER TABLE memories DROP COLUMN tags; ALTER TABLE memories DROP COLUMN meta;");
}

/**
 * `memories.expires_at`: ms since the epoch after which reads skip the memory and `compact` deletes
 * it; NULL (every existing row) means never. A plain nullable column added in place with ALTER
 * TABLE, so every other column, index and trigger stays as it is.
 */
/** The sealed-blocks step: nothing to make until a store seals (see MIGRATIONS). */
function sealedBlocksLayout(): void {}

function sealedKeyRunsLayout(): void {}

/**
 * The store's version clock: the last row version handed out. Versions written before it counted from 1 per row,
 * so a store with any row (hot or sealed) starts the clock at 2^32, above every version such a row can have reached
 * (sealed rows keep theirs inside their blocks, where no query reaches them); an empty store starts at 0.
 */
function versionClock(db: Database.Database): void {
  const sealed = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'memory_blocks'").get() !== undefined;
  const rows = sealed || db.prepare("SELECT 1 FROM memories LIMIT 1").get() !== undefined;
  db.exec(`CREATE TABLE IF NOT EXISTS version_clock (n INTEGER NOT NULL);
    INSERT INTO version_clock (n) SELECT ${rows ? VERSION_CLOCK_START : 0} WHERE NOT EXISTS (SELECT 1 FROM version_clock);`);
}

/** Where the version clock of a store that had rows before it starts (above any version counted per row). */
export const VERSION_CLOCK_START = 2 ** 32;

/** Idempotent, as the version clock's step: a test that rebuilds an earlier store from this build's file keeps the column. */
function addJobOwner(db: Database.Database): void {
  const columns = db.prepare("SELECT name FROM pragma_table_info('jobs')").pluck().all() as string[];
  if (!columns.includes("owner")) db.exec("ALTER TABLE jobs ADD COLUMN owner TEXT");
}

function addExpiry(db: Database.Database): void {
  db.exec(`ALTER TABLE memories ADD COLUMN expires_at INTEGER;
    CREATE INDEX memories_by_expiry ON memories(expires_at) WHERE expires_at IS NOT NULL;`);
}
