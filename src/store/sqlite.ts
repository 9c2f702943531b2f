import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { MemzipError, ErrorCode } from "../errors.js";
import { assetRef, type AssetKind } from "../codec/codec.js";
import { MIGRATIONS } from "./sqlite-migrations.js";
import { SqliteSearchIndex } from "./sqlite-search.js";
import { markDamaged, parseJsonColumn } from "./damage.js";
import type {
  AssetUsage,
  CodecUsage,
  ContentHolder,
  EngineRecord,
  ImportJob,
  ListQuery,
  MemoryKind,
  MemoryStore,
  MemorySummary,
  RegisteredModel,
  StoredAsset,
  StoredMemory,
  StoredSemantic,
} from "./types.js";

interface MemoryRow {
  id: string;
  namespace: string;
  kind: string;
  tags: string;
  created_at: number;
  meta: string;
  codec: string;
  envelope?: Buffer;
  original_length: number;
  checksum: number;
  asset_id: string | null;
  content_of?: string | null;
  content_hash?: Buffer | null;
}

interface AssetRow {
  id: string;
  kind: string;
  namespace: string | null;
  bytes: Buffer;
  meta: string;
  created_at: number;
}

const JOB_COLUMNS = `id, kind, source, source_size AS sourceSize, source_mtime AS sourceMtime, namespace, status, position, line,
  started_at AS startedAt, updated_at AS updatedAt`;
const SUMMARY_COLUMNS = "id, namespace, kind, tags, created_at, meta, codec, original_length, checksum, asset_id, content_of";
/** A memory with the envelope it reads: its own, or that of the memory holding its text. */
const WITH_ENVELOPE = `SELECT m.seq, ${SUMMARY_COLUMNS.split(", ").map((c) => `m.${c}`).join(", ")}, m.content_hash, COALESCE(p.envelope, m.envelope) AS envelope
  FROM memories m LEFT JOIN memories p ON p.id = m.content_of`;
const EMPTY = Buffer.alloc(0);

/**
 * The embedded default store: one SQLite file in WAL mode. Every `putMemories` call is one
 * transaction, so a kill -9 leaves whole batches or nothing.
 */
export class SqliteStore implements MemoryStore {
  readonly location: string;
  private readonly db: Database.Database;
  private readonly statements;
  readonly search: SqliteSearchIndex;

  private constructor(location: string, db: Database.Database) {
    this.location = location;
    this.db = db;
    this.search = new SqliteSearchIndex(db);
    this.statements = {
      upsertMemory: db.prepare(
        `INSERT INTO memories (id, namespace, kind, tags, created_at, meta, codec, envelope, original_length, checksum, asset_id, content_hash, content_of)
         VALUES (@id, @namespace, @kind, @tags, @createdAt, @meta, @codec, @envelope, @originalLength, @checksum, @assetId, @contentHash, @contentOf)
         ON CONFLICT(id) DO UPDATE SET namespace = excluded.namespace, kind = excluded.kind, tags = excluded.tags,
           meta = excluded.meta, codec = excluded.codec, envelope = excluded.envelope,
           original_length = excluded.original_length, checksum = excluded.checksum, asset_id = excluded.asset_id,
           content_hash = excluded.content_hash, content_of = excluded.content_of`,
      ),
      putSemantic: db.prepare("INSERT OR REPLACE INTO semantic (id, summary, entities, source, created_at) VALUES (?, ?, ?, ?, ?)"),
      getSemantic: db.prepare("SELECT summary, entities, source FROM semantic WHERE id = ?"),
      contentOfRow: db.prepare("SELECT content_hash, content_of FROM memories WHERE id = ?"),
      findContent: db.prepare(
        "SELECT id, codec, asset_id, length(envelope) AS storedBytes FROM memories WHERE content_hash = ? AND content_of IS NULL AND id != ? LIMIT 1",
      ),
      dependents: db.prepare("SELECT id FROM memories WHERE content_of = ? ORDER BY seq"),
      promote: db.prepare("UPDATE memories SET envelope = (SELECT envelope FROM memories WHERE id = @from), content_of = NULL WHERE id = @to"),
      repoint: db.prepare("UPDATE memories SET content_of = @to WHERE content_of = @from AND id != @to"),
      followHolder: db.prepare("UPDATE memories SET codec = ?, asset_id = ? WHERE content_of = ?"),
      ensureNamespace: db.prepare("INSERT OR IGNORE INTO namespaces (name, created_at) VALUES (?, ?)"),
      getMemory: db.prepare(`${WITH_ENVELOPE} WHERE m.id = ?`),
      fingerprint: db.prepare("SELECT checksum, original_length FROM memories WHERE id = ?"),
      deleteMemory: db.prepare("DELETE FROM memories WHERE id = ?"),
      putAsset: db.prepare(
        `INSERT OR IGNORE INTO assets (id, ref, kind, namespace, bytes, size, meta, created_at)
         VALUES (@id, @ref, @kind, @namespace, @bytes, @size, @meta, @createdAt)`,
      ),
      getAsset: db.prepare("SELECT id, kind, namespace, bytes, meta, created_at FROM assets WHERE id = ?"),
      getAssetByRef: db.prepare("SELECT id, kind, namespace, bytes, meta, created_at FROM assets WHERE ref = ?"),
      activeAsset: db.prepare("SELECT asset_id FROM active_assets WHERE namespace = ? AND kind = ?"),
      setActiveAsset: db.prepare(
        "INSERT INTO active_assets (namespace, kind, asset_id) VALUES (?, ?, ?) ON CONFLICT(namespace, kind) DO UPDATE SET asset_id = excluded.asset_id",
      ),
    };
  }

  /** Opens (creating if needed) a store file and brings its schema up to date. `:memory:` works too. */
  static open(location: string): SqliteStore {
    let db: Database.Database;
    try {
      if (location !== ":memory:") mkdirSync(dirname(location), { recursive: true });
      db = new Database(location);
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = NORMAL");
      db.pragma("foreign_keys = ON");
      db.pragma("busy_timeout = 5000");
      migrate(db);
    } catch (cause) {
      if (cause instanceof MemzipError) throw cause;
      throw new MemzipError(ErrorCode.STORE, `cannot open the store at ${location}: ${(cause as Error).message}`, {
        hint: "Check the path and its permissions, or point --db / MEMZIP_DB at another file.",
        cause,
      });
    }
    return new SqliteStore(location, db);
  }

  putMemories(memories: readonly StoredMemory[]): Set<string> {
    const now = Date.now();
    const references = new Set<string>();
    this.db.transaction(() => {
      for (const memory of memories) {
        this.statements.ensureNamespace.run(memory.namespace, now);
        const before = this.statements.contentOfRow.get(memory.id) as { content_hash: Buffer | null; content_of: string | null } | undefined;
        const hash = memory.contentHash ? Buffer.from(memory.contentHash) : null;
        // A holder whose text changes hands its envelope to the first memory that shares it.
        if (before && before.content_of === null && !(hash && before.content_hash && hash.equals(before.content_hash))) this.releaseContent(memory.id);
        const holder = hash ? (this.statements.findContent.get(hash, memory.id) as { id: string; codec: string; asset_id: string | null } | undefined) : undefined;
        const row = {
          ...memory,
          tags: JSON.stringify(memory.tags),
          meta: JSON.stringify(memory.meta),
          envelope: Buffer.from(memory.envelope.buffer, memory.envelope.byteOffset, memory.envelope.length),
          contentHash: hash,
          contentOf: null as string | null,
        };
        if (holder) {
          Object.assign(row, { codec: holder.codec, assetId: holder.asset_id, envelope: EMPTY, contentOf: holder.id });
          references.add(memory.id);
        } else if (memory.envelope.length === 0) {
          throw new MemzipError(ErrorCode.STORE, `memory ${memory.id} names a text no memory holds any longer`, { hint: "Write it again." });
        }
        const { semantic } = memory;
        delete (row as { semantic?: unknown }).semantic;
        this.statements.upsertMemory.run(row);
        if (semantic) this.statements.putSemantic.run(memory.id, semantic.summary, JSON.stringify(semantic.entities), semantic.source, now);
        // A memory that held its text before may have references; they follow its new codec and asset.
        if (!holder && before && before.content_of === null) this.statements.followHolder.run(row.codec, row.assetId, memory.id);
      }
    })();
    return references;
  }

  getSemantic(id: string): StoredSemantic | undefined {
    const row = this.statements.getSemantic.get(id) as { summary: string; entities: string; source: string } | undefined;
    return row && { summary: row.summary, entities: JSON.parse(row.entities) as StoredSemantic["entities"], source: row.source };
  }

  findContent(contentHash: Uint8Array): ContentHolder | undefined {
    const row = this.statements.findContent.get(Buffer.from(contentHash), "") as { id: string; codec: string; storedBytes: number } | undefined;
    return row && { id: row.id, codec: row.codec, storedBytes: row.storedBytes };
  }

  /** Before a holder is deleted or takes another text: its envelope moves to the first memory that references it. */
  private releaseContent(id: string): void {
    const first = this.statements.dependents.get(id) as { id: string } | undefined;
    if (!first) return;
    this.statements.promote.run({ from: id, to: first.id });
    this.statements.repoint.run({ from: id, to: first.id });
  }

  getMemory(id: string): StoredMemory | undefined {
    const row = this.statements.getMemory.get(id) as MemoryRow | undefined;
    return row ? toStoredMemory(row) : undefined;
  }

  fingerprints(ids: readonly string[]): Map<string, { checksum: number; originalLength: number }> {
    const found = new Map<string, { checksum: number; originalLength: number }>();
    for (const id of ids) {
      const row = this.statements.fingerprint.get(id) as { checksum: number; original_length: number } | undefined;
      if (row) found.set(id, { checksum: row.checksum, originalLength: row.original_length });
    }
    return found;
  }

  deleteMemory(id: string): boolean {
    return this.db.transaction(() => {
      this.releaseContent(id);
      return this.statements.deleteMemory.run(id).changes > 0;
    })();
  }

  listMemories(query: ListQuery): MemorySummary[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.namespace !== undefined) {
      where.push("namespace = ?");
      params.push(query.namespace);
    }
    if (query.kind !== undefined) {
      where.push("kind = ?");
      params.push(query.kind);
    }
    const sql = `SELECT ${SUMMARY_COLUMNS} FROM memories ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
                 ORDER BY seq LIMIT ? OFFSET ?`;
    const rows = this.db.prepare(sql).all(...params, query.limit ?? -1, query.offset ?? 0) as MemoryRow[];
    return rows.map(toSummary);
  }

  *iterateMemories(namespace?: string): IterableIterator<StoredMemory> {
    // Paged by seq so no statement stays open while the caller writes between pages.
    const page = this.db.prepare(
      `${WITH_ENVELOPE} WHERE m.seq > ? ${namespace === undefined ? "" : "AND m.namespace = ?"} ORDER BY m.seq LIMIT 512`,
    );
    let after = 0;
    for (;;) {
      const rows = (namespace === undefined ? page.all(after) : page.all(after, namespace)) as (MemoryRow & { seq: number })[];
      if (rows.length === 0) return;
      for (const row of rows) yield toStoredMemory(row);
      after = (rows[rows.length - 1] as { seq: number }).seq;
    }
  }

  countMemories(namespace?: string): number {
    const row = (namespace === undefined
      ? this.db.prepare("SELECT count(*) AS n FROM memories").get()
      : this.db.prepare("SELECT count(*) AS n FROM memories WHERE namespace = ?").get(namespace)) as { n: number };
    return row.n;
  }

  usageByCodec(namespace?: string): CodecUsage[] {
    const sql = `SELECT codec, count(*) AS memories, sum(original_length) AS originalBytes, sum(length(envelope)) AS storedBytes
                 FROM memories ${namespace === undefined ? "" : "WHERE namespace = ?"} GROUP BY codec ORDER BY codec`;
    const statement = this.db.prepare(sql);
    return (namespace === undefined ? statement.all() : statement.all(namespace)) as CodecUsage[];
  }

  namespaces(): string[] {
    return (this.db.prepare("SELECT name FROM namespaces ORDER BY name").all() as { name: string }[]).map((r) => r.name);
  }

  putAsset(asset: StoredAsset): void {
    const ref = Buffer.from(assetRef(asset));
    const clash = this.statements.getAssetByRef.get(ref) as AssetRow | undefined;
    if (clash && clash.id !== asset.id) {
      throw new MemzipError(ErrorCode.STORE, `asset ${asset.id} shares its envelope reference (first id bytes) with ${clash.id}`, {
        hint: "Retrain the asset with different settings; two assets must differ in their first 8 id bytes.",
      });
    }
    if (asset.namespace !== null) this.statements.ensureNamespace.run(asset.namespace, Date.now());
    this.statements.putAsset.run({
      id: asset.id,
      ref,
      kind: asset.kind,
      namespace: asset.namespace,
      bytes: Buffer.from(asset.bytes),
      size: asset.bytes.length,
      meta: JSON.stringify(asset.meta),
      createdAt: asset.createdAt,
    });
  }

  getAsset(id: string): StoredAsset | undefined {
    const row = this.statements.getAsset.get(id) as AssetRow | undefined;
    return row ? toAsset(row) : undefined;
  }

  getAssetByRef(ref: Uint8Array): StoredAsset | undefined {
    const row = this.statements.getAssetByRef.get(Buffer.from(ref)) as AssetRow | undefined;
    return row ? toAsset(row) : undefined;
  }

  listAssets(): StoredAsset[] {
    return (this.db.prepare("SELECT id, kind, namespace, bytes, meta, created_at FROM assets ORDER BY created_at").all() as AssetRow[]).map(toAsset);
  }

  assetUsage(namespace?: string): AssetUsage[] {
    const sql = `SELECT a.id, a.kind, a.namespace, a.size, count(m.id) AS memories FROM assets a
                 LEFT JOIN memories m ON m.asset_id = a.id ${namespace === undefined ? "" : "AND m.namespace = ?"}
                 GROUP BY a.id ORDER BY a.created_at`;
    const statement = this.db.prepare(sql);
    return (namespace === undefined ? statement.all() : statement.all(namespace)) as AssetUsage[];
  }

  activeAsset(namespace: string, kind: AssetKind): string | undefined {
    return (this.statements.activeAsset.get(namespace, kind) as { asset_id: string } | undefined)?.asset_id;
  }

  setActiveAsset(namespace: string, kind: AssetKind, assetId: string): void {
    this.statements.ensureNamespace.run(namespace, Date.now());
    this.statements.setActiveAsset.run(namespace, kind, assetId);
  }

  putModel(model: RegisteredModel): void {
    const ref = Buffer.from(model.fingerprint.slice(0, 8), "hex");
    const clash = this.db.prepare(`SELECT ${MODEL_COLUMNS} FROM models WHERE ref = ?`).get(ref) as RegisteredModel | undefined;
    if (clash && clash.fingerprint !== model.fingerprint) {
      throw new MemzipError(ErrorCode.STORE, `model ${model.fingerprint} shares its envelope reference with ${clash.fingerprint} (${clash.name})`, {
        hint: "Two registered models must differ in their first 4 fingerprint bytes; remove one of them from this store.",
      });
    }
    const named = this.getModel(model.name);
    if (named && named.fingerprint !== model.fingerprint) {
      throw new MemzipError(ErrorCode.USAGE, `the name "${model.name}" already belongs to model ${named.fingerprint.slice(0, 12)}…`, {
        hint: "Pick another name with --name.",
      });
    }
    this.db
      .prepare(
        `INSERT INTO models (fingerprint, ref, name, path, architecture, vocabulary_size, context_length, size, mtime, added_at)
         VALUES (@fingerprint, @ref, @name, @path, @architecture, @vocabularySize, @contextLength, @size, @mtime, @addedAt)
         ON CONFLICT(fingerprint) DO UPDATE SET name = excluded.name, path = excluded.path, size = excluded.size, mtime = excluded.mtime`,
      )
      .run({ ...model, ref });
  }

  getModel(nameOrFingerprint: string): RegisteredModel | undefined {
    return this.db.prepare(`SELECT ${MODEL_COLUMNS} FROM models WHERE name = ? OR fingerprint = ?`).get(nameOrFingerprint, nameOrFingerprint) as
      | RegisteredModel
      | undefined;
  }

  getModelByRef(ref: Uint8Array): RegisteredModel | undefined {
    return this.db.prepare(`SELECT ${MODEL_COLUMNS} FROM models WHERE ref = ?`).get(Buffer.from(ref)) as RegisteredModel | undefined;
  }

  listModels(): RegisteredModel[] {
    return this.db.prepare(`SELECT ${MODEL_COLUMNS} FROM models ORDER BY added_at`).all() as RegisteredModel[];
  }

  putEngine(engine: EngineRecord): void {
    this.db
      .prepare("INSERT OR IGNORE INTO engines (id, ref, runtime, settings, created_at) VALUES (?, ?, ?, ?, ?)")
      .run(engine.id, Buffer.from(engine.id.slice(0, 8), "hex"), engine.runtime, JSON.stringify(engine.settings), engine.createdAt);
  }

  getEngineByRef(ref: Uint8Array): EngineRecord | undefined {
    const row = this.db.prepare("SELECT id, runtime, settings, created_at AS createdAt FROM engines WHERE ref = ?").get(Buffer.from(ref)) as
      | (Omit<EngineRecord, "settings"> & { settings: string })
      | undefined;
    return row ? { ...row, settings: JSON.parse(row.settings) as EngineRecord["settings"] } : undefined;
  }

  createJob(job: ImportJob): void {
    this.db
      .prepare(
        `INSERT INTO jobs (id, kind, source, source_size, source_mtime, namespace, status, position, line, started_at, updated_at)
         VALUES (@id, @kind, @source, @sourceSize, @sourceMtime, @namespace, @status, @position, @line, @startedAt, @updatedAt)`,
      )
      .run(job);
  }

  updateJob(id: string, changes: Partial<Pick<ImportJob, "status" | "position" | "line">>): void {
    const fields = Object.keys(changes).filter((k) => ["status", "position", "line"].includes(k));
    const assignments = [...fields.map((k) => `${k} = @${k}`), "updated_at = @updatedAt"].join(", ");
    this.db.prepare(`UPDATE jobs SET ${assignments} WHERE id = @id`).run({ ...changes, id, updatedAt: Date.now() });
  }

  getJob(id: string): ImportJob | undefined {
    const row = this.db.prepare(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = ?`).get(id);
    return row as ImportJob | undefined;
  }

  listJobs(limit = 50): ImportJob[] {
    return this.db.prepare(`SELECT ${JOB_COLUMNS} FROM jobs ORDER BY started_at DESC LIMIT ?`).all(limit) as ImportJob[];
  }

  isActiveAsset(assetId: string): boolean {
    return this.db.prepare("SELECT 1 FROM active_assets WHERE asset_id = ?").get(assetId) !== undefined;
  }

  deleteAsset(assetId: string): void {
    this.db.prepare("DELETE FROM assets WHERE id = ?").run(assetId);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

const MODEL_COLUMNS =
  "fingerprint, name, path, architecture, vocabulary_size AS vocabularySize, context_length AS contextLength, size, mtime, added_at AS addedAt";

function migrate(db: Database.Database): void {
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new MemzipError(ErrorCode.STORE, `the store has schema version ${version}; this build knows up to ${MIGRATIONS.length}`, {
      hint: "Upgrade memzip to open this store.",
    });
  }
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

function toSummary(row: MemoryRow): MemorySummary {
  // A damaged tags/meta column reads as empty and is marked, so one bad row does not end a scan (issue 12).
  const damaged: string[] = [];
  return markDamaged({
    id: row.id,
    namespace: row.namespace,
    kind: row.kind as MemoryKind,
    tags: parseJsonColumn(row.tags, "tags", [] as string[], (v) => Array.isArray(v) && v.every((t) => typeof t === "string"), damaged),
    createdAt: row.created_at,
    meta: parseJsonColumn(row.meta, "meta", {} as Record<string, unknown>, (v) => typeof v === "object" && v !== null && !Array.isArray(v), damaged),
    codec: row.codec,
    originalLength: row.original_length,
    checksum: row.checksum,
    assetId: row.asset_id,
    contentOf: row.content_of ?? null,
  }, damaged);
}

function toStoredMemory(row: MemoryRow): StoredMemory {
  const envelope = row.envelope as Buffer;
  const memory: StoredMemory = { ...toSummary(row), envelope: new Uint8Array(envelope.buffer, envelope.byteOffset, envelope.length) };
  if (row.content_hash) memory.contentHash = new Uint8Array(row.content_hash.buffer, row.content_hash.byteOffset, row.content_hash.length);
  return memory;
}

function toAsset(row: AssetRow): StoredAsset {
  return {
    id: row.id,
    kind: row.kind as AssetKind,
    namespace: row.namespace,
    bytes: new Uint8Array(row.bytes.buffer, row.bytes.byteOffset, row.bytes.length),
    meta: JSON.parse(row.meta) as Record<string, unknown>,
    createdAt: row.created_at,
  };
}
