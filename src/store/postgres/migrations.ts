/**
 * Schema of the PostgreSQL store: versioned steps, append only. `memzip_schema` records each step
 * applied (one row a step); each step runs in its own transaction under an advisory lock, so the
 * first opens of a new database by several processes take turns and only one migrates.
 *
 * Row layout (docs/STORE.md, as SQLite's schema v2): namespaces, codecs and assets are small lookup
 * tables the memory rows refer to by integer; timestamps are bigint milliseconds; tags (jsonb) and
 * meta (text, kept byte for byte) only when present; an 8-byte content hash; the envelope as bytea.
 */
export const PG_MIGRATIONS: readonly string[] = [
  `CREATE TABLE memzip_state (id integer PRIMARY KEY CHECK (id = 1), changes bigint NOT NULL);
   INSERT INTO memzip_state (id, changes) VALUES (1, 0);
   CREATE TABLE namespaces (n serial PRIMARY KEY, name text NOT NULL UNIQUE, created_at bigint NOT NULL);
   CREATE TABLE codecs (n serial PRIMARY KEY, name text NOT NULL UNIQUE);
   CREATE TABLE assets (
     n serial PRIMARY KEY,
     id text NOT NULL UNIQUE,
     ref bytea NOT NULL UNIQUE,
     kind text NOT NULL,
     ns integer,
     bytes bytea NOT NULL,
     size integer NOT NULL,
     meta text,
     created_at bigint NOT NULL
   );
   CREATE TABLE active_assets (ns integer NOT NULL, kind text NOT NULL, asset integer, samples integer NOT NULL DEFAULT 0, PRIMARY KEY (ns, kind));
   CREATE TABLE memories (
     seq bigserial PRIMARY KEY,
     ns integer NOT NULL,
     kind smallint NOT NULL,
     codec integer NOT NULL,
     asset integer,
     version integer NOT NULL DEFAULT 1,
     created_at bigint NOT NULL,
     original_length integer NOT NULL,
     checksum integer NOT NULL,
     content_of bigint,
     content_hash bytea,
     id text NOT NULL,
     language text,
     tags jsonb,
     meta text,
     envelope bytea NOT NULL,
     UNIQUE (ns, id)
   );
   CREATE INDEX memories_by_content ON memories (checksum) WHERE content_of IS NULL AND content_hash IS NOT NULL;
   CREATE INDEX memories_by_content_of ON memories (content_of) WHERE content_of IS NOT NULL;
   CREATE INDEX memories_by_asset ON memories (asset) WHERE asset IS NOT NULL;
   CREATE INDEX memories_by_id ON memories (id);
   CREATE TABLE semantic (seq bigint PRIMARY KEY, summary text NOT NULL, entities text NOT NULL, source text NOT NULL, created_at bigint NOT NULL);
   CREATE TABLE jobs (
     id text PRIMARY KEY,
     kind text NOT NULL,
     source text NOT NULL,
     source_size bigint NOT NULL,
     source_mtime double precision NOT NULL,
     namespace text NOT NULL,
     status text NOT NULL,
     position bigint NOT NULL DEFAULT 0,
     line bigint NOT NULL DEFAULT 0,
     started_at bigint NOT NULL,
     updated_at bigint NOT NULL
   );
   CREATE TABLE models (
     fingerprint text PRIMARY KEY,
     ref bytea NOT NULL UNIQUE,
     name text NOT NULL UNIQUE,
     path text NOT NULL,
     architecture text NOT NULL,
     vocabulary_size integer NOT NULL,
     context_length integer NOT NULL,
     size bigint NOT NULL,
     mtime double precision NOT NULL,
     added_at bigint NOT NULL
   );
   CREATE TABLE engines (id text PRIMARY KEY, ref bytea NOT NULL UNIQUE, runtime text NOT NULL, settings text NOT NULL, created_at bigint NOT NULL);
   CREATE TABLE api_keys (
     id text PRIMARY KEY,
     hash bytea NOT NULL UNIQUE,
     role text NOT NULL,
     namespaces text NOT NULL,
     label text,
     created_at bigint NOT NULL,
     revoked_at bigint
   );`,
  // The search index: one vector and the keyword terms (tsvector, GIN) per memory, derived data.
  // A memory deleted, given another text, or given a summary drops out and is indexed again.
  `CREATE TABLE search_meta (key text PRIMARY KEY, value text NOT NULL);
   CREATE TABLE search_vectors (seq bigint PRIMARY KEY, vector bytea NOT NULL);
   CREATE TABLE search_terms (seq bigint PRIMARY KEY, terms tsvector NOT NULL);
   CREATE INDEX search_terms_gin ON search_terms USING gin (terms);
   CREATE FUNCTION memzip_search_forget() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     IF TG_OP = 'INSERT' OR TG_TABLE_NAME = 'semantic' THEN
       DELETE FROM search_vectors WHERE seq = NEW.seq;
       DELETE FROM search_terms WHERE seq = NEW.seq;
     ELSE
       DELETE FROM search_vectors WHERE seq = OLD.seq;
       DELETE FROM search_terms WHERE seq = OLD.seq;
     END IF;
     RETURN NULL;
   END $$;
   CREATE TRIGGER search_forget_deleted AFTER DELETE ON memories FOR EACH ROW EXECUTE FUNCTION memzip_search_forget();
   CREATE TRIGGER search_forget_rewritten AFTER UPDATE ON memories FOR EACH ROW
     WHEN (OLD.checksum IS DISTINCT FROM NEW.checksum OR OLD.original_length IS DISTINCT FROM NEW.original_length OR OLD.content_hash IS DISTINCT FROM NEW.content_hash)
     EXECUTE FUNCTION memzip_search_forget();
   CREATE TRIGGER search_forget_described AFTER INSERT OR UPDATE ON semantic FOR EACH ROW EXECUTE FUNCTION memzip_search_forget();`,
  // History: each earlier text of a memory (seq = memories.seq), coded against the text that replaced
  // it; deleting the memory deletes them (as SQLite's step).
  `CREATE TABLE memory_versions (
     seq bigint NOT NULL,
     version integer NOT NULL,
     kind smallint NOT NULL,
     created_at bigint NOT NULL,
     replaced_at bigint NOT NULL,
     codec text NOT NULL,
     original_length integer NOT NULL,
     checksum integer NOT NULL,
     language text,
     tags text,
     meta text,
     payload bytea NOT NULL,
     PRIMARY KEY (seq, version)
   );`,
  // Expiry: when a memory stops being readable (ms since the epoch; NULL: never), as SQLite's step.
  `ALTER TABLE memories ADD COLUMN expires_at bigint;
   CREATE INDEX memories_by_expiry ON memories (expires_at) WHERE expires_at IS NOT NULL;`,
  // Row versions from one store-wide clock, as SQLite's step: a memory forgotten and written again under its id never
  // takes a version an earlier row of that id had. A store with rows starts the clock at 2^32, above any version
  // counted per row before; every write takes the next value (memory-writes.ts; an insert by the column's default).
  `ALTER TABLE memories ALTER COLUMN version TYPE bigint;
   CREATE SEQUENCE memory_version_clock AS bigint MINVALUE 0;
   SELECT setval('memory_version_clock', CASE WHEN EXISTS (SELECT 1 FROM memories) THEN 4294967296 ELSE 0 END, true);
   ALTER TABLE memories ALTER COLUMN version SET DEFAULT nextval('memory_version_clock');`,
  // Who runs an import job, as SQLite's step (core/process-token.ts).
  "ALTER TABLE jobs ADD COLUMN IF NOT EXISTS owner text;",
];

/** memzip's tables (usage, compact). */
export const PG_TABLES = [
  "memzip_schema", "memzip_state", "namespaces", "codecs", "assets", "active_assets", "memories", "memory_versions", "semantic", "jobs", "models", "engines", "api_keys",
  "search_meta", "search_vectors", "search_terms",
] as const;

/** The search index's tables: derived data. */
export const PG_SEARCH_TABLES = ["search_meta", "search_vectors", "search_terms"] as const;
