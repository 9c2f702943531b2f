import Database from "better-sqlite3";
import { accessSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { xxh32 } from "@node-rs/xxhash";
import { MemzipError, ErrorCode, damagedStoreError, resourceError } from "../errors.js";
import { assetRef, type AssetKind } from "../codec/codec.js";
import { CONTENT_HASH_BYTES, ID_HASH_FUNCTION, MIGRATIONS, SCHEMA_V2, SCHEMA_V2_INDEXES, type Migration } from "./sqlite-migrations.js";
import { ensureSearchSchema, SqliteSearchIndex } from "./sqlite-search.js";
import { MEMORY_KINDS, memoryKey } from "./types.js";
import { markDamaged, parseJsonColumn } from "./damage.js";
import type {
  EnvelopeUpdate,
  Footprint,
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
}

interface AssetRow {
  id: string;
  kind: string;
  namespace: string | null;
  bytes: Buffer;
  meta: string | null;
  created_at: number;
}

/** A memory row as putMemories finds it before writing. */
interface ExistingRow {
  seq: number;
  content_hash: Buffer | null;
  content_of: number | null;
  envelope: Buffer;
  codec: number;
  asset: number | null;
}

export interface OpenOptions {
  /** Open for reading only: a missing store is E_NOT_FOUND (nothing is created), and nothing is written. */
  readOnly?: boolean;
}

const JOB_COLUMNS = `id, kind, source, source_size AS sourceSize, source_mtime AS sourceMtime, namespace, status, position, line,
  started_at AS startedAt, updated_at AS updatedAt`;
const SUMMARY_SELECT = `SELECT m.seq, m.id, n.name AS namespace, m.kind, m.tags, m.created_at, m.meta, c.name AS codec, m.original_length, m.checksum,
  a.id AS asset_id, p.id AS content_of, m.content_hash, m.language, m.version`;
const SUMMARY_FROM = `FROM memories m JOIN namespaces n ON n.n = m.ns JOIN codecs c ON c.n = m.codec
  LEFT JOIN assets a ON a.n = m.asset LEFT JOIN memories p ON p.seq = m.content_of`;
/** A memory with the envelope it reads: its own, or that of the memory holding its text. */
const WITH_ENVELOPE = `${SUMMARY_SELECT}, CASE WHEN m.content_of IS NULL THEN m.envelope ELSE p.envelope END AS envelope ${SUMMARY_FROM}`;
const BY_ID = "m.ns = ? AND m.id_hash = ? AND m.id = ?";
const EMPTY = Buffer.alloc(0);
/** Page size and auto_vacuum of new stores: chosen by measurement (docs/STORE.md). */
const PAGE_SIZE = 1024;

/** The 32-bit hash the id index holds (signed, so SQLite stores it in 4 bytes). */
export function idHash(id: string): number {
  return xxh32(Buffer.from(id, "utf8"), 0) | 0;
}

/**
 * The embedded default store: one SQLite file in WAL mode. Every `putMemories` call is one
 * transaction, so a kill -9 leaves whole batches or nothing. Ids are unique within a namespace.
 */
export class SqliteStore implements MemoryStore {
  readonly location: string;
  readonly readOnly: boolean;
  private readonly db: Database.Database;
  private readonly statements;
  private searchIndex: SqliteSearchIndex | undefined;
  private readonly namespaceIds = new Map<string, number>();
  private readonly codecIds = new Map<string, number>();

  private constructor(
    location: string,
    db: Database.Database,
    readOnly: boolean,
    /** A private copy of a store in a read-only folder, removed at close. */
    private readonly snapshot?: string,
  ) {
    this.location = location;
    this.db = db;
    this.readOnly = readOnly;
    this.statements = {
      existing: db.prepare(`SELECT m.seq, m.content_hash, m.content_of, m.envelope, m.codec, m.asset FROM memories m WHERE ${BY_ID}`),
      insertMemory: db.prepare(
        `INSERT INTO memories (ns, id, id_hash, kind, created_at, codec, asset, original_length, checksum, content_hash, content_of, language, tags, meta, envelope)
         VALUES (@ns, @id, @idHash, @kind, @createdAt, @codec, @asset, @originalLength, @checksum, @contentHash, @contentOf, @language, @tags, @meta, @envelope)`,
      ),
      updateMemory: db.prepare(
        `UPDATE memories SET kind = @kind, created_at = @createdAt, codec = @codec, asset = @asset, original_length = @originalLength, checksum = @checksum,
           content_hash = @contentHash, content_of = @contentOf, language = @language, tags = @tags, meta = @meta, envelope = @envelope, version = version + 1
         WHERE seq = @seq`,
      ),
      replaceEnvelope: db.prepare(
        `UPDATE memories SET codec = @codec, asset = @asset, envelope = @envelope, version = version + 1
         WHERE ns = @ns AND id_hash = @idHash AND id = @id AND version = @version AND content_of IS NULL RETURNING seq`,
      ),
      putSemantic: db.prepare("INSERT OR REPLACE INTO semantic (seq, summary, entities, source, created_at) VALUES (?, ?, ?, ?, ?)"),
      getSemantic: db.prepare(`SELECT s.summary, s.entities, s.source FROM semantic s JOIN memories m ON m.seq = s.seq WHERE ${BY_ID}`),
      findContent: db.prepare(
        `SELECT m.seq, n.name AS namespace, m.id, m.codec, m.asset, c.name AS codecName, m.envelope FROM memories m JOIN namespaces n ON n.n = m.ns JOIN codecs c ON c.n = m.codec
         WHERE m.content_hash = ? AND m.checksum = ? AND m.original_length = ? AND m.content_of IS NULL AND m.seq != ? LIMIT 1`,
      ),
      dependents: db.prepare("SELECT seq FROM memories WHERE content_of = ? ORDER BY seq LIMIT 1"),
      promote: db.prepare("UPDATE memories SET envelope = (SELECT envelope FROM memories WHERE seq = @from), content_of = NULL, version = version + 1 WHERE seq = @to"),
      repoint: db.prepare("UPDATE memories SET content_of = @to WHERE content_of = @from AND seq != @to"),
      followHolder: db.prepare("UPDATE memories SET codec = ?, asset = ? WHERE content_of = ?"),
      namespaceId: db.prepare("SELECT n FROM namespaces WHERE name = ?").pluck(),
      insertNamespace: db.prepare("INSERT INTO namespaces (name, created_at) VALUES (?, ?) ON CONFLICT(name) DO NOTHING"),
      codecId: db.prepare("SELECT n FROM codecs WHERE name = ?").pluck(),
      insertCodec: db.prepare("INSERT INTO codecs (name) VALUES (?) ON CONFLICT(name) DO NOTHING"),
      assetN: db.prepare("SELECT n FROM assets WHERE id = ?").pluck(),
      getMemory: db.prepare(`${WITH_ENVELOPE} WHERE ${BY_ID}`),
      namespacesOf: db.prepare("SELECT n.name FROM memories m JOIN namespaces n ON n.n = m.ns WHERE m.id = ? ORDER BY n.name").pluck(),
      fingerprint: db.prepare(`SELECT m.checksum, m.original_length FROM memories m WHERE ${BY_ID}`),
      deleteMemory: db.prepare("DELETE FROM memories WHERE seq = ?"),
      deleteSemantic: db.prepare("DELETE FROM semantic WHERE seq = ?"),
      putAsset: db.prepare(
        `INSERT OR IGNORE INTO assets (id, ref, kind, ns, bytes, size, meta, created_at)
         VALUES (@id, @ref, @kind, @ns, @bytes, @size, @meta, @createdAt)`,
      ),
      getAsset: db.prepare("SELECT a.id, a.kind, n.name AS namespace, a.bytes, a.meta, a.created_at FROM assets a LEFT JOIN namespaces n ON n.n = a.ns WHERE a.id = ?"),
      getAssetByRef: db.prepare("SELECT a.id, a.kind, n.name AS namespace, a.bytes, a.meta, a.created_at FROM assets a LEFT JOIN namespaces n ON n.n = a.ns WHERE a.ref = ?"),
      activeAsset: db.prepare("SELECT a.id FROM active_assets aa JOIN assets a ON a.n = aa.asset WHERE aa.ns = ? AND aa.kind = ?").pluck(),
      setActiveAsset: db.prepare(
        "INSERT INTO active_assets (ns, kind, asset, samples) VALUES (?, ?, ?, ?) ON CONFLICT(ns, kind) DO UPDATE SET asset = excluded.asset, samples = excluded.samples",
      ),
    };
  }

  /**
   * Opens (creating if needed) a store file and brings its schema up to date. `:memory:` works too.
   * With `readOnly`, nothing is created or written: a missing file is E_NOT_FOUND.
   */
  static open(location: string, options: OpenOptions = {}): SqliteStore {
    const memory = location === ":memory:";
    let readOnly = options.readOnly === true && !memory;
    if (readOnly && !existsSync(location)) {
      throw new MemzipError(ErrorCode.NOT_FOUND, `there is no store at ${location}`, {
        hint: "Check --db / MEMZIP_DB; a store is created by the first write (`memzip add` or `memzip import`).",
        details: { path: location },
      });
    }
    let db: Database.Database | undefined;
    let snapshot: string | undefined;
    try {
      if (readOnly && writable(location) && writable(dirname(location))) readOnly = false;
      if (readOnly) {
        // SQLite cannot read a WAL-mode file in a folder where it may not create the -shm file (and
        // better-sqlite3 takes no `immutable` URI). Such a folder holds no writer, so the file (and any
        // -wal beside it) is read from a private copy, removed at close.
        if (!writable(dirname(location))) snapshot = privateCopy(location);
        db = new Database(snapshot ? join(snapshot, "store.db") : location, { readonly: true, fileMustExist: true });
        db.pragma("busy_timeout = 5000");
        registerFunctions(db);
        const version = db.pragma("user_version", { simple: true }) as number;
        if (version !== MIGRATIONS.length) {
          throw new MemzipError(ErrorCode.STORE, `the store at ${location} has schema version ${version} and cannot be upgraded read-only (this build uses ${MIGRATIONS.length})`, {
            hint: "Run any write command (e.g. `memzip stats` from an account that may write there) to upgrade it, or use the memzip release that made it.",
          });
        }
        return typedErrors(new SqliteStore(location, db, true, snapshot));
      }
      if (!memory && !options.readOnly) mkdirSync(dirname(location), { recursive: true });
      db = new Database(location, options.readOnly ? { fileMustExist: true } : {});
      // The wait first: the first opens of a new file by several processes take turns below.
      db.pragma("busy_timeout = 5000");
      registerFunctions(db);
      // For new files only (no effect on an existing one until VACUUM): see docs/STORE.md.
      db.pragma(`page_size = ${PAGE_SIZE}`);
      db.pragma("auto_vacuum = INCREMENTAL");
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = NORMAL");
      migrate(db);
    } catch (cause) {
      db?.close();
      if (snapshot) rmSync(snapshot, { recursive: true, force: true });
      if (cause instanceof MemzipError) throw cause;
      const resource = resourceError(cause, `open the store at ${location}`);
      if (resource) throw resource;
      const readOnlyCause = /readonly|read-only|unable to open/i.test((cause as Error).message);
      throw new MemzipError(readOnlyCause ? ErrorCode.RESOURCE : ErrorCode.STORE, `cannot open the store at ${location}${readOnlyCause ? " for writing" : ""}: ${(cause as Error).message}`, {
        hint: readOnlyCause
          ? "The store or its folder is read-only: read commands (get, ls, stats, export, verify) still work; write from an account that may write there."
          : "Check the path and its permissions, or point --db / MEMZIP_DB at another file.",
        cause,
      });
    }
    return typedErrors(new SqliteStore(location, db, false));
  }

  /** The store's search index (its tables are created at open by the search module). */
  get search(): SqliteSearchIndex {
    this.searchIndex ??= new SqliteSearchIndex(this.db);
    return this.searchIndex;
  }

  private namespaceId(name: string, create: boolean): number | undefined {
    let n = this.namespaceIds.get(name);
    if (n !== undefined) return n;
    n = this.statements.namespaceId.get(name) as number | undefined;
    if (n === undefined && create) {
      this.statements.insertNamespace.run(name, Date.now());
      n = this.statements.namespaceId.get(name) as number;
    }
    // Cached only outside transactions that might roll back the row.
    if (n !== undefined && !this.db.inTransaction) this.namespaceIds.set(name, n);
    return n;
  }

  private codecId(name: string): number {
    let n = this.codecIds.get(name);
    if (n !== undefined) return n;
    n = this.statements.codecId.get(name) as number | undefined;
    if (n === undefined) {
      this.statements.insertCodec.run(name);
      n = this.statements.codecId.get(name) as number;
    }
    if (!this.db.inTransaction) this.codecIds.set(name, n);
    return n;
  }

  private assetN(assetId: string | null): number | null {
    if (assetId === null) return null;
    const n = this.statements.assetN.get(assetId) as number | undefined;
    if (n === undefined) {
      throw new MemzipError(ErrorCode.MISSING_ASSET, `asset ${assetId} is not in the store`, { hint: "Store the asset before the memories that need it." });
    }
    return n;
  }

  putMemories(memories: readonly StoredMemory[]): Set<string> {
    const references = new Set<string>();
    this.write(() => {
      // Texts whose holder took another text in this batch: a later memory of the batch that names one gets its envelope.
      const released = new Map<string, { envelope: Buffer; codec: number; asset: number | null }>();
      for (const memory of memories) {
        const ns = this.namespaceId(memory.namespace, true) as number;
        const hashOfId = idHash(memory.id);
        const before = this.statements.existing.get(ns, hashOfId, memory.id) as ExistingRow | undefined;
        const hash = memory.contentHash ? Buffer.from(memory.contentHash.subarray(0, CONTENT_HASH_BYTES)) : null;
        if (before && before.content_of === null && !(hash && before.content_hash && hash.equals(before.content_hash))) {
          // A holder whose text changes hands its envelope to the first memory that shares it.
          if (!this.releaseContent(before.seq) && before.content_hash) {
            released.set(before.content_hash.toString("hex"), { envelope: before.envelope, codec: before.codec, asset: before.asset });
          }
        }
        const holder = hash
          ? (this.statements.findContent.get(hash, memory.checksum, memory.originalLength, before?.seq ?? 0) as
              | { seq: number; codec: number; asset: number | null }
              | undefined)
          : undefined;
        const row = {
          ns,
          id: memory.id,
          idHash: hashOfId,
          kind: kindNumber(memory.kind),
          createdAt: memory.createdAt,
          codec: this.codecId(memory.codec),
          asset: this.assetN(memory.assetId),
          originalLength: memory.originalLength,
          checksum: memory.checksum,
          contentHash: hash,
          contentOf: null as number | null,
          language: memory.language ?? null,
          tags: memory.tags.length > 0 ? JSON.stringify(memory.tags) : null,
          meta: Object.keys(memory.meta).length > 0 ? JSON.stringify(memory.meta) : null,
          envelope: Buffer.from(memory.envelope.buffer, memory.envelope.byteOffset, memory.envelope.length),
        };
        if (holder) {
          Object.assign(row, { codec: holder.codec, asset: holder.asset, envelope: EMPTY, contentOf: holder.seq });
          references.add(memoryKey(memory.namespace, memory.id));
        } else if (memory.envelope.length === 0) {
          const handed = hash ? released.get(hash.toString("hex")) : undefined;
          if (!handed) throw new MemzipError(ErrorCode.STORE, `memory ${memory.id} names a text no memory holds any longer`, { hint: "Write it again." });
          Object.assign(row, { codec: handed.codec, asset: handed.asset, envelope: handed.envelope });
          released.delete((hash as Buffer).toString("hex"));
        }
        let seq: number;
        if (before) {
          this.statements.updateMemory.run({ ...row, seq: before.seq });
          seq = before.seq;
        } else {
          seq = Number(this.statements.insertMemory.run(row).lastInsertRowid);
        }
        const { semantic } = memory;
        if (semantic) this.statements.putSemantic.run(seq, semantic.summary, JSON.stringify(semantic.entities), semantic.source, Date.now());
        // A memory that held its text before may have references; they follow its new codec and asset.
        if (!holder && before && before.content_of === null) this.statements.followHolder.run(row.codec, row.asset, seq);
      }
    });
    return references;
  }

  replaceEnvelopes(updates: readonly EnvelopeUpdate[]): number {
    let applied = 0;
    this.write(() => {
      for (const update of updates) {
        const ns = this.namespaceId(update.namespace, false);
        if (ns === undefined) continue;
        const codec = this.codecId(update.codec);
        const asset = this.assetN(update.assetId);
        const envelope = Buffer.from(update.envelope.buffer, update.envelope.byteOffset, update.envelope.length);
        const row = this.statements.replaceEnvelope.get({ ns, idHash: idHash(update.id), id: update.id, version: update.version, codec, asset, envelope }) as
          | { seq: number }
          | undefined;
        if (!row) continue;
        this.statements.followHolder.run(codec, asset, row.seq);
        applied++;
      }
    });
    return applied;
  }

  /** Runs `work` in one write transaction (taking the write lock first, so it never has to upgrade). */
  private write<T>(work: () => T): T {
    if (this.readOnly) {
      throw new MemzipError(ErrorCode.RESOURCE, `the store at ${this.location} is open read-only`, {
        hint: "The store or its folder is read-only; write from an account that may write there.",
      });
    }
    return this.db.transaction(work).immediate();
  }

  getSemantic(namespace: string, id: string): StoredSemantic | undefined {
    const ns = this.namespaceId(namespace, false);
    if (ns === undefined) return undefined;
    const row = this.statements.getSemantic.get(ns, idHash(id), id) as { summary: string; entities: string; source: string } | undefined;
    return row && { summary: row.summary, entities: JSON.parse(row.entities) as StoredSemantic["entities"], source: row.source };
  }

  findContent(contentHash: Uint8Array, checksum: number, originalLength: number): ContentHolder | undefined {
    const hash = Buffer.from(contentHash.subarray(0, CONTENT_HASH_BYTES));
    const row = this.statements.findContent.get(hash, checksum, originalLength, 0) as
      | { namespace: string; id: string; codecName: string; envelope: Buffer }
      | undefined;
    return row && { namespace: row.namespace, id: row.id, codec: row.codecName, storedBytes: row.envelope.length, envelope: toBytes(row.envelope) };
  }

  /** Before a holder is deleted or takes another text: its envelope moves to the first memory that references it. */
  private releaseContent(seq: number): boolean {
    const first = this.statements.dependents.get(seq) as { seq: number } | undefined;
    if (!first) return false;
    this.statements.promote.run({ from: seq, to: first.seq });
    this.statements.repoint.run({ from: seq, to: first.seq });
    return true;
  }

  getMemory(namespace: string, id: string): StoredMemory | undefined {
    const ns = this.namespaceId(namespace, false);
    if (ns === undefined) return undefined;
    const row = this.statements.getMemory.get(ns, idHash(id), id) as MemoryRow | undefined;
    return row ? toStoredMemory(row) : undefined;
  }

  namespacesOf(id: string): string[] {
    return this.statements.namespacesOf.all(id) as string[];
  }

  fingerprints(namespace: string, ids: readonly string[]): Map<string, { checksum: number; originalLength: number }> {
    const found = new Map<string, { checksum: number; originalLength: number }>();
    const ns = this.namespaceId(namespace, false);
    if (ns === undefined) return found;
    for (const id of ids) {
      const row = this.statements.fingerprint.get(ns, idHash(id), id) as { checksum: number; original_length: number } | undefined;
      if (row) found.set(id, { checksum: row.checksum, originalLength: row.original_length });
    }
    return found;
  }

  deleteMemory(namespace: string, id: string): boolean {
    return this.write(() => {
      const ns = this.namespaceId(namespace, false);
      if (ns === undefined) return false;
      const before = this.statements.existing.get(ns, idHash(id), id) as ExistingRow | undefined;
      if (!before) return false;
      if (before.content_of === null) this.releaseContent(before.seq);
      this.statements.deleteSemantic.run(before.seq);
      return this.statements.deleteMemory.run(before.seq).changes > 0;
    });
  }

  listMemories(query: ListQuery): MemorySummary[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.namespace !== undefined) {
      const ns = this.namespaceId(query.namespace, false);
      if (ns === undefined) return [];
      where.push("m.ns = ?");
      params.push(ns);
    }
    if (query.kind !== undefined) {
      where.push("m.kind = ?");
      params.push(kindNumber(query.kind));
    }
    const sql = `${SUMMARY_SELECT} ${SUMMARY_FROM} ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY m.seq LIMIT ? OFFSET ?`;
    const rows = this.db.prepare(sql).all(...params, query.limit ?? -1, query.offset ?? 0) as MemoryRow[];
    return rows.map(toSummary);
  }

  *iterateMemories(namespace?: string): IterableIterator<StoredMemory> {
    let ns: number | undefined;
    if (namespace !== undefined) {
      ns = this.namespaceId(namespace, false);
      if (ns === undefined) return;
    }
    // Paged by seq so no statement stays open while the caller writes between pages.
    const page = this.db.prepare(`${WITH_ENVELOPE} WHERE m.seq > ? ${ns === undefined ? "" : "AND m.ns = ?"} ORDER BY m.seq LIMIT 512`);
    let after = 0;
    for (;;) {
      const rows = (ns === undefined ? page.all(after) : page.all(after, ns)) as MemoryRow[];
      if (rows.length === 0) return;
      for (const row of rows) yield toStoredMemory(row);
      after = (rows[rows.length - 1] as MemoryRow).seq;
    }
  }

  countMemories(namespace?: string): number {
    if (namespace === undefined) return this.db.prepare("SELECT count(*) FROM memories").pluck().get() as number;
    const ns = this.namespaceId(namespace, false);
    return ns === undefined ? 0 : (this.db.prepare("SELECT count(*) FROM memories WHERE ns = ?").pluck().get(ns) as number);
  }

  usageByCodec(namespace?: string): CodecUsage[] {
    if (namespace === undefined) {
      return this.db
        .prepare(
          `SELECT c.name AS codec, count(*) AS memories, sum(m.original_length) AS originalBytes, sum(length(m.envelope)) AS storedBytes
           FROM memories m JOIN codecs c ON c.n = m.codec GROUP BY c.name ORDER BY c.name`,
        )
        .all() as CodecUsage[];
    }
    const ns = this.namespaceId(namespace, false);
    if (ns === undefined) return [];
    // A text this namespace reads from another namespace's holder is charged here in full, once (to its first reference).
    return this.db
      .prepare(
        `SELECT c.name AS codec, count(*) AS memories, sum(m.original_length) AS originalBytes,
           sum(CASE WHEN m.content_of IS NULL THEN length(m.envelope)
                    WHEN p.ns != m.ns AND m.seq = (SELECT min(r.seq) FROM memories r WHERE r.content_of = m.content_of AND r.ns = m.ns) THEN length(p.envelope)
                    ELSE 0 END) AS storedBytes
         FROM memories m JOIN codecs c ON c.n = m.codec LEFT JOIN memories p ON p.seq = m.content_of
         WHERE m.ns = ? GROUP BY c.name ORDER BY c.name`,
      )
      .all(ns) as CodecUsage[];
  }

  footprint(namespace?: string): Footprint {
    let memories = 0;
    let originalBytes = 0;
    let envelopeBytes = 0;
    for (const usage of this.usageByCodec(namespace)) {
      memories += usage.memories;
      originalBytes += usage.originalBytes;
      envelopeBytes += usage.storedBytes;
    }
    let assetBytes = 0;
    let unusedAssetBytes = 0;
    const all = namespace === undefined ? this.assetUsage() : undefined;
    for (const usage of namespace === undefined ? (all as AssetUsage[]) : this.assetUsage(namespace)) {
      if (usage.memories > 0) assetBytes += usage.size;
    }
    for (const usage of all ?? this.assetUsage()) {
      if (usage.memories === 0 && (namespace === undefined || usage.namespace === namespace)) unusedAssetBytes += usage.size;
    }
    return { memories, originalBytes, envelopeBytes, assetBytes, unusedAssetBytes };
  }

  diskUsage(): { fileBytes: number; indexBytes: number } {
    const pages = this.db.pragma("page_count", { simple: true }) as number;
    const pageSize = this.db.pragma("page_size", { simple: true }) as number;
    let fileBytes = pages * pageSize;
    if (this.location !== ":memory:") {
      fileBytes = statSync(this.location).size;
      if (existsSync(`${this.location}-wal`)) fileBytes += statSync(`${this.location}-wal`).size;
    }
    const names = this.db
      .prepare("SELECT name FROM sqlite_schema WHERE name LIKE 'search\\_%' ESCAPE '\\' OR name LIKE 'sqlite\\_autoindex\\_search\\_%' ESCAPE '\\'")
      .pluck()
      .all() as string[];
    const size = this.db.prepare("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = ?").pluck();
    const indexBytes = names.reduce((sum, name) => sum + (size.get(name) as number), 0);
    return { fileBytes, indexBytes };
  }

  compact(): void {
    if (this.readOnly) this.write(() => undefined);
    this.db.pragma("wal_checkpoint(TRUNCATE)");
    this.db.exec("VACUUM");
    this.db.pragma("wal_checkpoint(TRUNCATE)");
  }

  namespaces(): string[] {
    return this.db.prepare("SELECT name FROM namespaces ORDER BY name").pluck().all() as string[];
  }

  putAsset(asset: StoredAsset): void {
    const ref = Buffer.from(assetRef(asset));
    const clash = this.statements.getAssetByRef.get(ref) as AssetRow | undefined;
    if (clash && clash.id !== asset.id) {
      throw new MemzipError(ErrorCode.STORE, `asset ${asset.id} shares its envelope reference (first id bytes) with ${clash.id}`, {
        hint: "Retrain the asset with different settings; two assets must differ in their first 8 id bytes.",
      });
    }
    this.write(() => {
      const ns = asset.namespace === null ? null : (this.namespaceId(asset.namespace, true) as number);
      this.statements.putAsset.run({
        id: asset.id,
        ref,
        kind: asset.kind,
        ns,
        bytes: Buffer.from(asset.bytes),
        size: asset.bytes.length,
        meta: Object.keys(asset.meta).length > 0 ? JSON.stringify(asset.meta) : null,
        createdAt: asset.createdAt,
      });
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
    return (
      this.db.prepare("SELECT a.id, a.kind, n.name AS namespace, a.bytes, a.meta, a.created_at FROM assets a LEFT JOIN namespaces n ON n.n = a.ns ORDER BY a.created_at, a.n").all() as AssetRow[]
    ).map(toAsset);
  }

  assetUsage(namespace?: string): AssetUsage[] {
    const ns = namespace === undefined ? undefined : this.namespaceId(namespace, false);
    const counts = new Map<number, number>();
    if (namespace === undefined || ns !== undefined) {
      const rows = (ns === undefined
        ? this.db.prepare("SELECT asset, count(*) AS n FROM memories WHERE asset IS NOT NULL GROUP BY asset").all()
        : this.db.prepare("SELECT asset, count(*) AS n FROM memories WHERE asset IS NOT NULL AND ns = ? GROUP BY asset").all(ns)) as { asset: number; n: number }[];
      for (const row of rows) counts.set(row.asset, row.n);
    }
    const assets = this.db
      .prepare("SELECT a.n, a.id, a.kind, n.name AS namespace, a.size FROM assets a LEFT JOIN namespaces n ON n.n = a.ns ORDER BY a.created_at, a.n")
      .all() as { n: number; id: string; kind: AssetKind; namespace: string | null; size: number }[];
    return assets.map(({ n, ...asset }) => ({ ...asset, memories: counts.get(n) ?? 0 }));
  }

  activeAsset(namespace: string, kind: AssetKind): string | undefined {
    const ns = this.namespaceId(namespace, false);
    return ns === undefined ? undefined : (this.statements.activeAsset.get(ns, kind) as string | undefined);
  }

  setActiveAsset(namespace: string, kind: AssetKind, assetId: string): void {
    this.write(() => {
      const ns = this.namespaceId(namespace, true) as number;
      const asset = this.getAsset(assetId);
      this.statements.setActiveAsset.run(ns, kind, this.assetN(assetId), Number(asset?.meta.samples ?? 0));
    });
  }

  assetLearnedFrom(namespace: string, kind: AssetKind): number {
    const ns = this.namespaceId(namespace, false);
    if (ns === undefined) return 0;
    return (this.db.prepare("SELECT samples FROM active_assets WHERE ns = ? AND kind = ?").pluck().get(ns, kind) as number | undefined) ?? 0;
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
    return this.db.prepare("SELECT 1 FROM active_assets aa JOIN assets a ON a.n = aa.asset WHERE a.id = ?").get(assetId) !== undefined;
  }

  deleteAsset(assetId: string): boolean {
    const removed = this.write(() => {
      const n = this.statements.assetN.get(assetId) as number | undefined;
      if (n === undefined || this.db.prepare("SELECT 1 FROM memories WHERE asset = ? LIMIT 1").get(n) !== undefined) return false;
      this.db.prepare("UPDATE active_assets SET asset = NULL WHERE asset = ?").run(n);
      return this.db.prepare("DELETE FROM assets WHERE n = ?").run(n).changes > 0;
    });
    // Give the freed pages back to the file system (auto_vacuum = INCREMENTAL).
    if (removed) this.db.pragma("incremental_vacuum");
    return removed;
  }

  close(): void {
    if (this.db.open) this.db.close();
    if (this.snapshot) rmSync(this.snapshot, { recursive: true, force: true });
  }
}

const MODEL_COLUMNS =
  "fingerprint, name, path, architecture, vocabulary_size AS vocabularySize, context_length AS contextLength, size, mtime, added_at AS addedAt";

function registerFunctions(db: Database.Database): void {
  db.function(ID_HASH_FUNCTION, { deterministic: true }, (id: unknown) => idHash(String(id)));
}

/**
 * Brings the schema up to date in one IMMEDIATE transaction that re-reads user_version inside,
 * so several processes opening a new file at once take turns and only the first one migrates.
 */
function migrate(db: Database.Database): void {
  const latest = MIGRATIONS.length;
  db.transaction(() => {
    const version = db.pragma("user_version", { simple: true }) as number;
    if (version > latest) {
      throw new MemzipError(ErrorCode.STORE, `the store has schema version ${version}; this build knows up to ${latest}`, {
        hint: "Upgrade memzip to open this store.",
      });
    }
    if (version === 0) {
      // A new store starts at schema v2 directly (with the jobs, models and engines tables of v1).
      db.exec(SCHEMA_V2);
      db.exec(SCHEMA_V2_INDEXES);
      db.exec(MIGRATIONS[1] as string);
      db.exec(MIGRATIONS[2] as string);
    } else {
      for (let v = version; v < latest; v++) {
        const step = MIGRATIONS[v] as Migration;
        if (typeof step === "string") db.exec(step);
        else step(db);
      }
    }
    if (version !== latest) db.pragma(`user_version = ${latest}`);
    ensureSearchSchema(db);
  }).immediate();
}

function kindNumber(kind: string): number {
  const n = (MEMORY_KINDS as readonly string[]).indexOf(kind);
  if (n < 0) throw new MemzipError(ErrorCode.INVALID_INPUT, `unknown memory kind "${kind}"`, { hint: `Use one of ${MEMORY_KINDS.join(", ")}.` });
  return n;
}

function toBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
}

/**
 * The store as callers see it: SQLite's "the file is damaged" (SQLITE_CORRUPT*, SQLITE_NOTADB) and
 * out-of-room or not-writable errors from any call, or from an iterator a call returned, become
 * typed errors (E_STORE, E_RESOURCE), so a damaged file never surfaces as an untyped SqliteError.
 */
function typedErrors<T extends object>(target: T): T {
  const typed = (error: unknown): unknown => damagedStoreError(error) ?? resourceError(error, "use the store") ?? error;
  const guardIterator = <V>(iterator: IterableIterator<V>): IterableIterator<V> => ({
    next: (...args: [] | [unknown]) => {
      try {
        return iterator.next(...args);
      } catch (error) {
        throw typed(error);
      }
    },
    return: (value?: unknown) => iterator.return?.(value) ?? { done: true, value: undefined },
    [Symbol.iterator]() {
      return this;
    },
  });
  return new Proxy(target, {
    get(object, key) {
      const value: unknown = Reflect.get(object, key, object);
      if (key === "search" && typeof value === "object" && value !== null) return typedErrors(value);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        try {
          const out: unknown = (value as (...a: unknown[]) => unknown).apply(object, args);
          const isIterator = typeof out === "object" && out !== null && typeof (out as Iterator<unknown>).next === "function" && Symbol.iterator in out;
          return isIterator ? guardIterator(out as IterableIterator<unknown>) : out;
        } catch (error) {
          throw typed(error);
        }
      };
    },
  });
}

/** Copies a store file (and its -wal, if any) into a new private folder; returns the folder. */
function privateCopy(location: string): string {
  const folder = mkdtempSync(join(tmpdir(), "memzip-readonly-"));
  try {
    copyFileSync(location, join(folder, "store.db"));
    if (existsSync(`${location}-wal`)) copyFileSync(`${location}-wal`, join(folder, "store.db-wal"));
    return folder;
  } catch (error) {
    rmSync(folder, { recursive: true, force: true });
    throw error;
  }
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function toSummary(row: MemoryRow): MemorySummary {
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
  };
  if (row.language !== null) summary.language = row.language;
  return markDamaged(summary, damaged);
}

function toStoredMemory(row: MemoryRow): StoredMemory {
  const memory: StoredMemory = { ...toSummary(row), envelope: toBytes(row.envelope as Buffer), version: row.version };
  if (row.content_hash) memory.contentHash = toBytes(row.content_hash);
  return memory;
}

function toAsset(row: AssetRow): StoredAsset {
  return {
    id: row.id,
    kind: row.kind as AssetKind,
    namespace: row.namespace,
    bytes: toBytes(row.bytes),
    meta: row.meta === null ? {} : (JSON.parse(row.meta) as Record<string, unknown>),
    createdAt: row.created_at,
  };
}
