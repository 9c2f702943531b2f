import type Database from "better-sqlite3";
import { memoryKey, type EnvelopeUpdate, type StoredMemory } from "../../core/store.js";
import { CONTENT_HASH_BYTES } from "../sqlite-migrations.js";
import { idHash, type SqliteDatabase } from "./database.js";
import { BY_ID, asBuffer, kindNumber } from "./rows.js";
import { checkDeleteVersion, checkExpected, noHolder, textChanged, versionValues } from "../rows.js";

/** A memory row as a write finds it before writing. */
interface ExistingRow {
  seq: number;
  content_hash: Buffer | null;
  content_of: number | null;
  envelope: Buffer;
  codec: number;
  asset: number | null;
  checksum: number;
  original_length: number;
  created_at: number;
  version: number;
}

const EMPTY = Buffer.alloc(0);

/**
 * The writes of the memories aggregate (synchronous, each in one transaction): content
 * deduplication on put (within a namespace), hand-over of a shared envelope when its holder goes or changes text, and
 * compare-and-set envelope rewrites.
 */
export class MemoryWrites {
  private readonly statements;
  private tickStatement: Database.Statement | undefined;

  constructor(private readonly database: SqliteDatabase) {
    const db = database.db;
    this.statements = {
      existing: db.prepare(`SELECT m.seq, m.content_hash, m.content_of, m.envelope, m.codec, m.asset, m.checksum, m.original_length, m.created_at, m.version FROM memories m WHERE ${BY_ID}`),
      bySeq: db.prepare("SELECT seq, content_hash, content_of, envelope, codec, asset, checksum, original_length, created_at, version FROM memories WHERE seq = ?"),
      // The next version number; it became current when the last kept version was replaced (or when the memory was created).
      insertVersion: db.prepare(
        `INSERT INTO memory_versions (seq, version, created_at, kind, replaced_at, codec, original_length, checksum, language, tags, meta, payload)
         VALUES (?, (SELECT coalesce(max(version), 0) + 1 FROM memory_versions WHERE seq = ?),
           coalesce((SELECT replaced_at FROM memory_versions WHERE seq = ? ORDER BY version DESC LIMIT 1), ?), ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      deleteVersions: db.prepare("DELETE FROM memory_versions WHERE seq = ?"),
      insertMemory: db.prepare(
        `INSERT INTO memories (seq, ns, id, id_hash, kind, created_at, codec, asset, original_length, checksum, content_hash, content_of, language, tags_ref, meta_ref, envelope, expires_at, version)
         VALUES (@seq, @ns, @id, @idHash, @kind, @createdAt, @codec, @asset, @originalLength, @checksum, @contentHash, @contentOf, @language, @tagsRef, @metaRef, @envelope, @expiresAt, @version)`,
      ),
      updateMemory: db.prepare(
        `UPDATE memories SET kind = @kind, created_at = @createdAt, codec = @codec, asset = @asset, original_length = @originalLength, checksum = @checksum,
           content_hash = @contentHash, content_of = @contentOf, language = @language, tags_ref = @tagsRef, meta_ref = @metaRef, envelope = @envelope, expires_at = @expiresAt, version = @version
         WHERE seq = @seq`,
      ),
      replaceEnvelope: db.prepare(
        `UPDATE memories SET codec = @codec, asset = @asset, envelope = @envelope, version = @next
         WHERE ns = @ns AND id_hash = @idHash AND id = @id AND version = @version AND content_of IS NULL RETURNING seq`,
      ),
      putSemantic: db.prepare("INSERT OR REPLACE INTO semantic (seq, summary, entities, source, created_at) VALUES (?, ?, ?, ?, ?)"),
      findContent: db.prepare(
        `SELECT m.seq, m.codec, m.asset FROM memories m
         WHERE m.content_hash = ? AND m.checksum = ? AND m.original_length = ? AND m.content_of IS NULL AND m.seq != ? AND m.ns = ? LIMIT 1`,
      ),
      dependents: db.prepare("SELECT seq FROM memories WHERE content_of = ? ORDER BY seq LIMIT 1"),
      promote: db.prepare("UPDATE memories SET envelope = (SELECT envelope FROM memories WHERE seq = @from), content_of = NULL, version = @version WHERE seq = @to"),

      repoint: db.prepare("UPDATE memories SET content_of = @to WHERE content_of = @from AND seq != @to"),
      followHolder: db.prepare("UPDATE memories SET codec = ?, asset = ? WHERE content_of = ?"),
      deleteMemory: db.prepare("DELETE FROM memories WHERE seq = ?"),
      deleteSemantic: db.prepare("DELETE FROM semantic WHERE seq = ?"),
    };
  }

  /** The holder the writer checked (`holderId`), moved into `memories` if sealed, while it still holds this text. */
  private namedHolder(ns: number, memory: StoredMemory, hash: Buffer, exceptSeq: number, promoted: ReadonlyMap<number, number>): { seq: number; codec: number; asset: number | null } | undefined {
    if (memory.holderId === undefined) return undefined;
    const hashOfId = idHash(memory.holderId);
    this.database.sealed.beforeWrite(ns, hashOfId, memory.holderId);
    const holds = (row: ExistingRow): boolean =>
      row.seq !== exceptSeq && row.content_of === null && row.content_hash !== null && hash.equals(row.content_hash) && row.checksum === memory.checksum && row.original_length === memory.originalLength;
    let row = this.statements.existing.get(ns, hashOfId, memory.holderId) as ExistingRow | undefined;
    // Its text changed earlier in this batch: the reference it handed its (checked) envelope to holds the text now.
    const handedTo = row && !holds(row) ? promoted.get(row.seq) : undefined;
    if (handedTo !== undefined) row = this.statements.bySeq.get(handedTo) as ExistingRow | undefined;
    return row && holds(row) ? { seq: row.seq, codec: row.codec, asset: row.asset } : undefined;
  }

  /** Writes memories in one transaction; returns the keys of those stored as references. */
  put(memories: readonly StoredMemory[]): Set<string> {
    const references = new Set<string>();
    const database = this.database;
    database.write(() => {
      const version = this.tick();
      // Texts whose holder took another text in this batch: a later memory of the batch that names one gets its envelope.
      const released = new Map<string, { envelope: Buffer; codec: number; asset: number | null }>();
      // Holders whose text changed in this batch and the reference each handed its envelope to (it holds that text now).
      const promoted = new Map<number, number>();
      for (const memory of memories) {
        const ns = database.namespaceId(memory.namespace, true) as number;
        const hashOfId = idHash(memory.id);
        // A sealed row (or a sealed reference to it) goes back into memories first: the code below is the v2 code.
        database.sealed.beforeWrite(ns, hashOfId, memory.id);
        const before = this.statements.existing.get(ns, hashOfId, memory.id) as ExistingRow | undefined;
        // A concurrent writer may have created or changed the row since the writer looked (the replaced text is kept only if the row still holds it).
        checkExpected(memory, before && { checksum: before.checksum, originalLength: before.original_length, version: before.version, ...(before.content_hash ? { contentHash: before.content_hash } : {}) });
        const hash = memory.contentHash ? Buffer.from(memory.contentHash.subarray(0, CONTENT_HASH_BYTES)) : null;
        if (before && before.content_of === null && !(hash && before.content_hash && hash.equals(before.content_hash))) {
          // A holder whose text changes hands its envelope to the first memory that shares it.
          const promotedTo = this.releaseContent(before.seq, version);
          if (promotedTo !== undefined) promoted.set(before.seq, promotedTo);
          else if (before.content_hash) {
            released.set(`${ns}:${before.content_hash.toString("hex")}`, { envelope: before.envelope, codec: before.codec, asset: before.asset });
          }
        }
        // Content is addressed within the namespace only: a text another namespace holds is never found,
        // referenced or reported here (a tenant must not learn what another one stores).
        // A row that holds this very text itself keeps its envelope (a metadata write, a repair, a writer that found the
        // text's holder damaged): it is never made a reference to another holder, which may be a damaged one.
        const keepsOwn = memory.ownEnvelope === true || (memory.envelope.length > 0 && before !== undefined && before.content_of === null && hash !== null && before.content_hash !== null && hash.equals(before.content_hash));
        let holder = keepsOwn || !hash ? undefined : this.namedHolder(ns, memory, hash, before?.seq ?? 0, promoted);
        // Without a named holder only: one the writer checked that no longer holds the text is never swapped for another
        // found by hash, unchecked (it may be damaged); the batch's hand-over below, or a new plan, takes its place.
        if (!keepsOwn && hash && !holder && memory.holderId === undefined) {
          database.sealed.beforeContentLookup(ns, hash, memory.checksum, memory.originalLength, before?.seq ?? 0);
          holder = this.statements.findContent.get(hash, memory.checksum, memory.originalLength, before?.seq ?? 0, ns) as { seq: number; codec: number; asset: number | null } | undefined;
        }
        const row = {
          ns,
          id: memory.id,
          idHash: hashOfId,
          kind: kindNumber(memory.kind),
          createdAt: memory.createdAt,
          codec: database.codecId(memory.codec),
          asset: database.assetN(memory.assetId),
          originalLength: memory.originalLength,
          checksum: memory.checksum,
          contentHash: hash,
          contentOf: null as number | null,
          language: memory.language ?? null,
          tagsRef: database.valueRef(memory.tags.length > 0 ? JSON.stringify(memory.tags) : null),
          metaRef: database.valueRef(Object.keys(memory.meta).length > 0 ? JSON.stringify(memory.meta) : null),
          envelope: asBuffer(memory.envelope),
          expiresAt: memory.expiresAt ?? null,
          version,
        };
        if (holder) {
          Object.assign(row, { codec: holder.codec, asset: holder.asset, envelope: EMPTY, contentOf: holder.seq });
          references.add(memoryKey(memory.namespace, memory.id));
        } else if (memory.envelope.length === 0) {
          const handed = hash ? released.get(`${ns}:${hash.toString("hex")}`) : undefined;
          if (!handed) throw noHolder(memory);
          Object.assign(row, { codec: handed.codec, asset: handed.asset, envelope: handed.envelope });
          released.delete(`${ns}:${(hash as Buffer).toString("hex")}`);
        }
        let seq: number;
        if (before) {
          if (memory.replaces) {
            this.statements.insertVersion.run(before.seq, before.seq, before.seq, before.created_at, ...versionValues(memory.replaces, memory.replaces.checksum));
          }
          this.statements.updateMemory.run({ ...row, seq: before.seq });
          seq = before.seq;
        } else {
          // After every hot and sealed row (null: SQLite's own max(seq) + 1, when nothing is sealed).
          seq = Number(this.statements.insertMemory.run({ ...row, seq: database.sealed.nextSeq() }).lastInsertRowid);
        }
        const { semantic } = memory;
        if (semantic) this.statements.putSemantic.run(seq, semantic.summary, JSON.stringify(semantic.entities), semantic.source, Date.now());
        // A new text without features of its own (semantic off, or its backend down) loses the old text's: its summary,
        // entities and search terms described a text that is gone (trial44: `--mode summary` and search answered with it).
        else if (before && textChanged(before, memory, hash)) this.statements.deleteSemantic.run(seq);
        // A memory that held its text before may have references; they follow its new codec and asset.
        if (!holder && before && before.content_of === null) this.statements.followHolder.run(row.codec, row.asset, seq);
      }
    });
    this.afterWrite();
    return references;
  }

  /** Applies each rewrite only while its row is at the version it was read at; returns how many applied. */
  replaceEnvelopes(updates: readonly EnvelopeUpdate[]): number {
    let applied = 0;
    const database = this.database;
    database.write(() => {
      if (updates.length === 0) return;
      const next = this.tick();
      for (const update of updates) {
        const ns = database.namespaceId(update.namespace, false);
        if (ns === undefined) continue;
        database.sealed.beforeWrite(ns, idHash(update.id), update.id);
        const codec = database.codecId(update.codec);
        const asset = database.assetN(update.assetId);
        const envelope = asBuffer(update.envelope);
        const row = this.statements.replaceEnvelope.get({ ns, idHash: idHash(update.id), id: update.id, version: update.version, next, codec, asset, envelope }) as
          | { seq: number }
          | undefined;
        if (!row) continue;
        this.statements.followHolder.run(codec, asset, row.seq);
        applied++;
      }
    });
    this.afterWrite();
    return applied;
  }

  /** Deletes a memory, handing its envelope to the first memory that references it; false when there was none. */
  delete(namespace: string, id: string, expectedVersion?: number): boolean {
    const database = this.database;
    const deleted = database.write(() => {
      const ns = database.namespaceId(namespace, false);
      if (ns === undefined) return false;
      database.sealed.beforeWrite(ns, idHash(id), id);
      const before = this.statements.existing.get(ns, idHash(id), id) as ExistingRow | undefined;
      if (!before) return false;
      checkDeleteVersion(namespace, id, expectedVersion, before.version);
      if (before.content_of === null) this.releaseContent(before.seq);
      this.statements.deleteSemantic.run(before.seq);
      this.statements.deleteVersions.run(before.seq);
      return this.statements.deleteMemory.run(before.seq).changes > 0;
    });
    this.afterWrite();
    return deleted;
  }

  /**
   * One tick of the store's version clock (sqlite-migrations.ts, versionClock) for a write transaction: every row it
   * writes takes that version, which no row of the store had before (a row written twice in one transaction is not
   * seen in between). Prepared at the first write: a read-only open of a store from before the clock has no such table.
   */
  private tick(): number {
    this.tickStatement ??= this.database.db.prepare("UPDATE version_clock SET n = n + 1 RETURNING n").pluck();
    return this.tickStatement.get() as number;
  }

  /** Test only (`OpenOptions.sealAfterWrites`): every hot row sealed after each write call. */
  private afterWrite(): void {
    if (this.database.sealAfterWrites) this.database.sealed.seal({ always: true });
  }

  /** Before a holder is deleted or takes another text: its envelope moves to the first memory that references it. */
  /** Hands the envelope of holder `seq` to its first reference, which becomes the holder: that row's seq (undefined: none). */
  private releaseContent(seq: number, version?: number): number | undefined {
    const first = this.statements.dependents.get(seq) as { seq: number } | undefined;
    if (!first) return undefined;
    // The promoted row takes the transaction's version, or (a delete, which writes no other row) a tick of its own.
    this.statements.promote.run({ from: seq, to: first.seq, version: version ?? this.tick() });
    this.statements.repoint.run({ from: seq, to: first.seq });
    return first.seq;
  }
}
