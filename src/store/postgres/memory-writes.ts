import { memoryKey, type EnvelopeUpdate, type StoredMemory } from "../../core/store.js";
import { CONTENT_HASH_BYTES } from "../sqlite-migrations.js";
import type { PgDatabase, PgTransaction } from "./database.js";
import { asBuffer, fromChecksumColumn, kindNumber, toChecksumColumn } from "./rows.js";
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
/** Namespaces, checksums and hashes of the memories that have a content hash (the texts a holder could be found for, each in its namespace). */
function textsOf(memories: readonly StoredMemory[], hashes: readonly (Buffer | null)[], nss: readonly number[]): [number[], number[], Buffer[]] {
  const namespaces: number[] = [];
  const checksums: number[] = [];
  const found: Buffer[] = [];
  memories.forEach((memory, i) => {
    const hash = hashes[i];
    if (!hash) return;
    namespaces.push(nss[i] as number);
    checksums.push(toChecksumColumn(memory.checksum));
    found.push(hash);
  });
  return [namespaces, checksums, found];
}
/** Rows per multi-row INSERT (15 parameters each, well under PostgreSQL's 65,535). */
const PUT_SLICE = 1000;
const BUMP = "UPDATE memzip_state SET changes = changes + 1 WHERE id = 1";

/**
 * The writes of the memories aggregate, each in one transaction under the store's write lock:
 * content deduplication on put (within a namespace), hand-over of a shared envelope when its holder goes or changes
 * text, and compare-and-set envelope rewrites (the same rules as store/sqlite/memory-writes.ts).
 */
export class PgMemoryWrites {
  constructor(private readonly database: PgDatabase) {}

  /** Writes memories in one transaction; returns the keys of those stored as references. */
  async put(memories: readonly StoredMemory[]): Promise<Set<string>> {
    const references = new Set<string>();
    if (memories.length === 0) return references;
    const database = this.database;
    await database.write(async (tx) => {
      if (await this.putAllNew(tx, memories)) {
        await tx.query(BUMP);
        return;
      }
      // Texts whose holder took another text in this batch: a later memory of the batch that names one gets its envelope.
      const released = new Map<string, { envelope: Buffer; codec: number; asset: number | null }>();
      // Holders whose text changed in this batch and the reference each handed its envelope to (it holds that text now).
      const promoted = new Map<number, number>();
      for (const memory of memories) {
        const ns = (await database.namespaceId(memory.namespace, tx)) as number;
        const hash = memory.contentHash ? Buffer.from(memory.contentHash.subarray(0, CONTENT_HASH_BYTES)) : null;
        // One round trip: the row this write replaces, and up to two memories of its namespace holding the same text (one may be
        // that row). Content is addressed within a namespace only: a text another namespace holds is never found or referenced.
        // A hand-over below cannot change the holder found: it promotes a memory of the row's old text, never of this one.
        const found = (
          await tx.query<ExistingRow & { holder: boolean }>(
            `SELECT false AS holder, seq, content_hash, content_of, envelope, codec, asset, checksum, original_length, created_at, version FROM memories WHERE ns = $1 AND id = $2
             UNION ALL
             (SELECT true, seq, NULL, NULL, NULL, codec, asset, checksum, original_length, created_at, version FROM memories
              WHERE $3::bytea IS NOT NULL AND content_hash = $3 AND checksum = $4 AND original_length = $5 AND content_of IS NULL AND ns = $1 LIMIT 2)`,
            [ns, memory.id, hash, toChecksumColumn(memory.checksum), memory.originalLength],
          )
        ).rows;
        const before = found.find((row) => !row.holder);
        // A concurrent writer may have created or changed the row since the writer looked (the replaced text is kept only if the row still holds it).
        checkExpected(memory, before && { checksum: fromChecksumColumn(before.checksum), originalLength: before.original_length, version: before.version, ...(before.content_hash ? { contentHash: before.content_hash } : {}) });
        if (before && before.content_of === null && !(hash && before.content_hash && hash.equals(before.content_hash))) {
          // A holder whose text changes hands its envelope to the first memory that shares it.
          const promotedTo = await this.releaseContent(tx, before.seq);
          if (promotedTo !== undefined) promoted.set(Number(before.seq), Number(promotedTo));
          else if (before.content_hash) {
            released.set(`${ns}:${before.content_hash.toString("hex")}`, { envelope: before.envelope, codec: before.codec, asset: before.asset });
          }
        }
        // A row that holds this very text itself keeps its envelope (a metadata write, a repair, a writer that found the
        // text's holder damaged): it is never made a reference to another holder, which may be a damaged one. The holder
        // the writer checked (`holderId`) is the one referenced while it still holds the text.
        const keepsOwn = memory.ownEnvelope === true || (memory.envelope.length > 0 && before !== undefined && before.content_of === null && hash !== null && before.content_hash !== null && hash.equals(before.content_hash));
        let named: { seq: number; codec: number; asset: number | null } | undefined;
        if (!keepsOwn && hash && memory.holderId !== undefined) {
          // The named holder, or (its text changed earlier in this batch) the reference it handed its envelope to.
          const byId = (await tx.query<{ seq: number }>("SELECT seq FROM memories WHERE ns = $1 AND id = $2", [ns, memory.holderId])).rows[0];
          const handedTo = byId ? promoted.get(Number(byId.seq)) : undefined;
          const candidates = byId ? [Number(byId.seq), ...(handedTo === undefined ? [] : [handedTo])] : [];
          named = (
            await tx.query<{ seq: number; codec: number; asset: number | null }>(
              `SELECT seq, codec, asset FROM memories WHERE seq = ANY($1::bigint[]) AND content_of IS NULL AND content_hash = $2 AND checksum = $3 AND original_length = $4
                AND seq IS DISTINCT FROM $5 ORDER BY seq = $6 DESC LIMIT 1`,
              [candidates, hash, toChecksumColumn(memory.checksum), memory.originalLength, before?.seq ?? null, candidates[0] ?? null],
            )
          ).rows[0];
        }
        const holder = keepsOwn ? undefined : (named ?? (memory.holderId === undefined ? found.find((row) => row.holder && row.seq !== before?.seq) : undefined));
        let codec = await database.codecId(memory.codec, tx);
        let asset = await database.assetN(memory.assetId, tx);
        let envelope = asBuffer(memory.envelope);
        let contentOf: number | null = null;
        if (holder) {
          ({ codec, asset } = holder);
          envelope = EMPTY;
          contentOf = holder.seq;
          references.add(memoryKey(memory.namespace, memory.id));
        } else if (memory.envelope.length === 0) {
          const handed = hash ? released.get(`${ns}:${hash.toString("hex")}`) : undefined;
          if (!handed) throw noHolder(memory);
          ({ codec, asset, envelope } = handed);
          released.delete(`${ns}:${(hash as Buffer).toString("hex")}`);
        }
        const values = [
          kindNumber(memory.kind),
          memory.createdAt,
          codec,
          asset,
          memory.originalLength,
          toChecksumColumn(memory.checksum),
          hash,
          contentOf,
          memory.language ?? null,
          memory.tags.length > 0 ? JSON.stringify(memory.tags) : null,
          Object.keys(memory.meta).length > 0 ? JSON.stringify(memory.meta) : null,
          envelope,
          memory.expiresAt ?? null,
        ];
        let seq: number;
        if (before) {
          if (memory.replaces) {
            await tx.query(
              `INSERT INTO memory_versions (seq, version, created_at, kind, replaced_at, codec, original_length, checksum, language, tags, meta, payload)
               VALUES ($1, (SELECT coalesce(max(version), 0) + 1 FROM memory_versions WHERE seq = $1),
                 coalesce((SELECT replaced_at FROM memory_versions WHERE seq = $1 ORDER BY version DESC LIMIT 1), $2), $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
              [before.seq, before.created_at, ...versionValues(memory.replaces, toChecksumColumn(memory.replaces.checksum))],
            );
          }
          await tx.query(
            `UPDATE memories SET kind = $1, created_at = $2, codec = $3, asset = $4, original_length = $5, checksum = $6, content_hash = $7, content_of = $8,
               language = $9, tags = $10, meta = $11, envelope = $12, expires_at = $13, version = nextval('memory_version_clock') WHERE seq = $14`,
            [...values, before.seq],
          );
          seq = before.seq;
        } else {
          const inserted = await tx.query<{ seq: number }>(
            `INSERT INTO memories (kind, created_at, codec, asset, original_length, checksum, content_hash, content_of, language, tags, meta, envelope, expires_at, ns, id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING seq`,
            [...values, ns, memory.id],
          );
          seq = (inserted.rows[0] as { seq: number }).seq;
        }
        const { semantic } = memory;
        if (semantic) {
          await tx.query(
            `INSERT INTO semantic (seq, summary, entities, source, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (seq) DO UPDATE SET summary = excluded.summary, entities = excluded.entities, source = excluded.source, created_at = excluded.created_at`,
            [seq, semantic.summary, JSON.stringify(semantic.entities), semantic.source, Date.now()],
          );
        } else if (before && textChanged({ checksum: fromChecksumColumn(before.checksum), original_length: before.original_length, content_hash: before.content_hash }, memory, hash)) {
          // A new text without features of its own loses the old text's (they described a text that is gone).
          await tx.query("DELETE FROM semantic WHERE seq = $1", [seq]);
        }
        // A memory that held its text before may have references; they follow its new codec and asset.
        if (!holder && before && before.content_of === null) await tx.query("UPDATE memories SET codec = $1, asset = $2 WHERE content_of = $3", [codec, asset, seq]);
      }
      await tx.query(BUMP);
    });
    return references;
  }

  /**
   * The common case of an import, in a few round trips instead of two per memory: every memory is
   * new to its namespace and every text new to its namespace, there and in the batch (so nothing is replaced,
   * referenced or handed over). One query checks that; then one multi-row INSERT per slice, and one
   * for the summaries. False, with nothing written, when the check fails: `put` then goes memory by
   * memory. Runs under the write lock, so no other write can come between the check and the insert.
   */
  private async putAllNew(tx: PgTransaction, memories: readonly StoredMemory[]): Promise<boolean> {
    const database = this.database;
    const keys = new Set<string>();
    const hashes = new Set<string>();
    const nss: number[] = [];
    const contentHashes: (Buffer | null)[] = [];
    for (const memory of memories) {
      // A write that expects a row goes memory by memory, where a missing row is refused.
      if (memory.envelope.length === 0 || (memory.expected !== undefined && memory.expected !== null)) return false;
      const key = memoryKey(memory.namespace, memory.id);
      const hash = memory.contentHash ? Buffer.from(memory.contentHash.subarray(0, CONTENT_HASH_BYTES)) : null;
      const ns = (await database.namespaceId(memory.namespace, tx)) as number;
      if (keys.has(key) || (hash && hashes.has(`${ns}:${hash.toString("hex")}`))) return false;
      keys.add(key);
      if (hash) hashes.add(`${ns}:${hash.toString("hex")}`);
      contentHashes.push(hash);
      nss.push(ns);
    }
    const clash = await tx.query<{ clash: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM unnest($1::int[], $2::text[]) AS w(ns, id) JOIN memories m ON m.ns = w.ns AND m.id = w.id)
           OR EXISTS (SELECT 1 FROM unnest($3::int[], $4::int[], $5::bytea[]) AS t(ns, checksum, hash)
                      JOIN memories m ON m.checksum = t.checksum AND m.content_hash = t.hash AND m.ns = t.ns WHERE m.content_of IS NULL AND m.content_hash IS NOT NULL) AS clash`,
      [nss, memories.map((memory) => memory.id), ...textsOf(memories, contentHashes, nss)],
    );
    if (clash.rows[0]?.clash !== false) return false;
    const seqs = new Map<string, number>();
    for (let start = 0; start < memories.length; start += PUT_SLICE) {
      const slice = memories.slice(start, start + PUT_SLICE);
      const params: unknown[] = [];
      const rows: string[] = [];
      for (const [i, memory] of slice.entries()) {
        const values = [
          kindNumber(memory.kind),
          memory.createdAt,
          await database.codecId(memory.codec, tx),
          await database.assetN(memory.assetId, tx),
          memory.originalLength,
          toChecksumColumn(memory.checksum),
          contentHashes[start + i] ?? null,
          null,
          memory.language ?? null,
          memory.tags.length > 0 ? JSON.stringify(memory.tags) : null,
          Object.keys(memory.meta).length > 0 ? JSON.stringify(memory.meta) : null,
          asBuffer(memory.envelope),
          memory.expiresAt ?? null,
          nss[start + i],
          memory.id,
        ];
        rows.push(`(${values.map((_, j) => `$${params.length + j + 1}`).join(", ")})`);
        params.push(...values);
      }
      const inserted = await tx.query<{ seq: number; ns: number; id: string }>(
        `INSERT INTO memories (kind, created_at, codec, asset, original_length, checksum, content_hash, content_of, language, tags, meta, envelope, expires_at, ns, id)
         VALUES ${rows.join(", ")} RETURNING seq, ns, id`,
        params,
      );
      for (const row of inserted.rows) seqs.set(`${row.ns}\u0000${row.id}`, row.seq);
    }
    const described = memories.flatMap((memory, i) => (memory.semantic ? [{ seq: seqs.get(`${nss[i]}\u0000${memory.id}`) as number, semantic: memory.semantic }] : []));
    if (described.length > 0) {
      const now = Date.now();
      await tx.query(
        `INSERT INTO semantic (seq, summary, entities, source, created_at)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[])`,
        [described.map((d) => d.seq), described.map((d) => d.semantic.summary), described.map((d) => JSON.stringify(d.semantic.entities)), described.map((d) => d.semantic.source), described.map(() => now)],
      );
    }
    return true;
  }

  /** Applies each rewrite only while its row is at the version it was read at; returns how many applied. */
  async replaceEnvelopes(updates: readonly EnvelopeUpdate[]): Promise<number> {
    if (updates.length === 0) return 0;
    const database = this.database;
    return database.write(async (tx) => {
      let applied = 0;
      for (const update of updates) {
        const ns = await database.namespaceId(update.namespace, tx, false);
        if (ns === undefined) continue;
        const codec = await database.codecId(update.codec, tx);
        const asset = await database.assetN(update.assetId, tx);
        const row = (
          await tx.query<{ seq: number }>(
            `UPDATE memories SET codec = $1, asset = $2, envelope = $3, version = nextval('memory_version_clock')
             WHERE ns = $4 AND id = $5 AND version = $6 AND content_of IS NULL RETURNING seq`,
            [codec, asset, asBuffer(update.envelope), ns, update.id, update.version],
          )
        ).rows[0];
        if (!row) continue;
        await tx.query("UPDATE memories SET codec = $1, asset = $2 WHERE content_of = $3", [codec, asset, row.seq]);
        applied++;
      }
      if (applied > 0) await tx.query(BUMP);
      return applied;
    });
  }

  /** Deletes a memory, handing its envelope to the first memory that references it; false when there was none. */
  async delete(namespace: string, id: string, expectedVersion?: number): Promise<boolean> {
    const database = this.database;
    const ns = await database.namespaceId(namespace);
    if (ns === undefined) return false;
    return database.write(async (tx) => {
      const before = (await tx.query<{ seq: number; content_of: number | null; version: number }>("SELECT seq, content_of, version FROM memories WHERE ns = $1 AND id = $2", [ns, id])).rows[0];
      if (!before) return false;
      checkDeleteVersion(namespace, id, expectedVersion, before.version);
      if (before.content_of === null) await this.releaseContent(tx, before.seq);
      await tx.query("DELETE FROM semantic WHERE seq = $1", [before.seq]);
      await tx.query("DELETE FROM memory_versions WHERE seq = $1", [before.seq]);
      const deleted = (await tx.query("DELETE FROM memories WHERE seq = $1", [before.seq])).rowCount ?? 0;
      await tx.query(BUMP);
      return deleted > 0;
    });
  }

  /** Before a holder is deleted or takes another text: its envelope moves to the first memory that references it. */
  /** Hands the envelope of holder `seq` to its first reference, which becomes the holder: that row's seq (undefined: none). */
  private async releaseContent(tx: PgTransaction, seq: number): Promise<number | undefined> {
    const first = (await tx.query<{ seq: number }>("SELECT seq FROM memories WHERE content_of = $1 ORDER BY seq LIMIT 1", [seq])).rows[0];
    if (!first) return undefined;
    await tx.query("UPDATE memories SET envelope = (SELECT envelope FROM memories WHERE seq = $1), content_of = NULL, version = nextval('memory_version_clock') WHERE seq = $2", [seq, first.seq]);
    await tx.query("UPDATE memories SET content_of = $2 WHERE content_of = $1 AND seq != $2", [seq, first.seq]);
    return first.seq;
  }
}
