import type { Statement } from "better-sqlite3";
import type {
  CodecUsage,
  DamagedMemories,
  NamespaceCount,
  ContentHolder,
  EnvelopeUpdate,
  Fingerprint,
  Footprint,
  ListQuery,
  MemoryPage,
  MemoryRef,
  MemoryRepository,
  MemorySummary,
  HistoryUsage,
  MemoryFilter,
  PageOptions,
  PageQuery,
  ScanOptions,
  StoredMemory,
  StoredSemantic,
  StoredVersion,
} from "../../core/store.js";
import { nextTurn } from "../../core/turns.js";
import { toVersion, type VersionRow } from "../rows.js";
import { CONTENT_HASH_BYTES } from "../sqlite-migrations.js";
import { assetUsage } from "./assets.js";
import { ErrorCode, MemzipError } from "../../errors.js";
import { idHash, typedError, type SqliteDatabase } from "./database.js";
import { MemoryWrites } from "./memory-writes.js";
import { passingDamage, scopedBlockError, type DamagedBlock, type SealedRows } from "./sealed.js";
import { BY_ID, SUMMARY_FROM, SUMMARY_SELECT, TAGS_JSON, UPDATED_AT, WITH_ENVELOPE, kindNumber, metaCondition, toBytes, toStoredMemory, toSummary, type MemoryRow } from "./rows.js";

/** Rows a scan fetches per round trip unless told otherwise. */
const SCAN_BATCH = 256;

/** Page queries kept prepared, by SQL text (a filter's shape gives one text: few of them; a search reads a page each time). */
const PAGE_STATEMENTS = 64;

/** Whether any memory expired by then: the expiry index alone (a search asks for the expired ones every time; most stores hold none). */
const ANY_EXPIRED = "SELECT 1 FROM memories INDEXED BY memories_by_expiry WHERE expires_at <= ? LIMIT 1";

/** The memories aggregate of the SQLite store. */
export class SqliteMemories implements MemoryRepository {
  private readonly statements;
  private readonly writes: MemoryWrites;
  private readonly pageStatements = new Map<string, Statement>();
  private anyExpired: Statement | undefined;
  private historyUsageSealed: Statement | undefined;

  constructor(private readonly database: SqliteDatabase) {
    const db = database.db;
    this.writes = new MemoryWrites(database);
    this.statements = {
      getMemory: db.prepare(`${WITH_ENVELOPE} WHERE ${BY_ID}`),
      getSemantic: db.prepare(`SELECT s.summary, s.entities, s.source FROM semantic s JOIN memories m ON m.seq = s.seq WHERE ${BY_ID}`),
      findContent: db.prepare(
        `SELECT n.name AS namespace, m.id, c.name AS codecName, m.envelope FROM memories m JOIN namespaces n ON n.n = m.ns JOIN codecs c ON c.n = m.codec
         WHERE m.content_hash = ? AND m.checksum = ? AND m.original_length = ? AND m.content_of IS NULL AND m.ns = ? LIMIT 1`,
      ),
      namespacesOf: db.prepare("SELECT n.name FROM memories m JOIN namespaces n ON n.n = m.ns WHERE m.id = ? ORDER BY n.name").pluck(),
      fingerprint: db.prepare(`SELECT m.checksum, m.original_length, m.content_hash FROM memories m WHERE ${BY_ID}`),
      scanAll: db.prepare(`${WITH_ENVELOPE} WHERE m.seq > ? ORDER BY m.seq LIMIT ?`),
      // `+m.ns`: walk seq order and skip other namespaces; through the id index SQLite would sort the
      // whole namespace again for every batch (66 s instead of 10 s for 50,000 of 100,000 memories).
      scanNamespace: db.prepare(`${WITH_ENVELOPE} WHERE m.seq > ? AND +m.ns = ? ORDER BY m.seq LIMIT ?`),
      count: db.prepare("SELECT count(*) FROM memories").pluck(),
      countNamespace: db.prepare("SELECT count(*) FROM memories WHERE ns = ?").pluck(),
      usage: db.prepare(
        `SELECT c.name AS codec, count(*) AS memories, sum(m.original_length) AS originalBytes, sum(length(m.envelope)) AS storedBytes
         FROM memories m JOIN codecs c ON c.n = m.codec GROUP BY c.name ORDER BY c.name`,
      ),
      // A text this namespace reads from another namespace's holder is charged here in full, once (to its first reference).
      usageNamespace: db.prepare(
        `SELECT c.name AS codec, count(*) AS memories, sum(m.original_length) AS originalBytes,
           sum(CASE WHEN m.content_of IS NULL THEN length(m.envelope)
                    WHEN p.ns != m.ns AND m.seq = (SELECT min(r.seq) FROM memories r WHERE r.content_of = m.content_of AND r.ns = m.ns) THEN length(p.envelope)
                    ELSE 0 END) AS storedBytes
         FROM memories m JOIN codecs c ON c.n = m.codec LEFT JOIN memories p ON p.seq = m.content_of
         WHERE m.ns = ? GROUP BY c.name ORDER BY c.name`,
      ),
      namespaces: db.prepare("SELECT name FROM namespaces ORDER BY name").pluck(),
      history: db.prepare(
        `SELECT v.version, v.kind, v.created_at, v.replaced_at, v.codec, v.original_length, v.checksum, v.language, v.tags, v.meta, v.payload
         FROM memory_versions v JOIN memories m ON m.seq = v.seq WHERE ${BY_ID} ORDER BY v.version`,
      ),
      historyBySeq: db.prepare(
        `SELECT v.version, v.kind, v.created_at, v.replaced_at, v.codec, v.original_length, v.checksum, v.language, v.tags, v.meta, v.payload
         FROM memory_versions v WHERE v.seq = ? ORDER BY v.version`,
      ),
      semanticBySeq: db.prepare("SELECT summary, entities, source FROM semantic WHERE seq = ?"),
      usageRowsNamespace: db.prepare(
        `SELECT m.seq, c.name AS codec, m.original_length, length(m.envelope) AS stored, m.content_of FROM memories m JOIN codecs c ON c.n = m.codec WHERE m.ns = ?`,
      ),
      hotHolderOf: db.prepare("SELECT ns, length(envelope) AS stored FROM memories WHERE seq = ?"),
      historyUsage: db.prepare("SELECT count(*) AS versions, coalesce(sum(original_length), 0) AS originalBytes, coalesce(sum(length(payload)), 0) AS storedBytes FROM memory_versions"),
      historyUsageNamespace: db.prepare(
        `SELECT count(*) AS versions, coalesce(sum(v.original_length), 0) AS originalBytes, coalesce(sum(length(v.payload)), 0) AS storedBytes
         FROM memory_versions v JOIN memories m ON m.seq = v.seq WHERE m.ns = ?`,
      ),
    };
  }

  async put(memories: readonly StoredMemory[]): Promise<Set<string>> {
    return this.writes.put(memories);
  }

  async replaceEnvelopes(updates: readonly EnvelopeUpdate[]): Promise<number> {
    return this.writes.replaceEnvelopes(updates);
  }

  async delete(namespace: string, id: string, expectedVersion?: number): Promise<boolean> {
    return this.writes.delete(namespace, id, expectedVersion);
  }

  async history(namespace: string, id: string): Promise<StoredVersion[]> {
    return this.database.read(() => this.historyOf(namespace, id));
  }

  private historyOf(namespace: string, id: string): StoredVersion[] {
    const ns = this.database.namespaceId(namespace, false);
    if (ns === undefined) return [];
    let rows = this.statements.history.all(ns, idHash(id), id) as VersionRow[];
    if (rows.length === 0 && this.sealed.any()) {
      const sealed = this.sealed.byId(ns, idHash(id), id);
      if (sealed) rows = this.statements.historyBySeq.all(sealed.seq) as VersionRow[];
    }
    return rows.map((row) => toVersion(row, row.checksum));
  }

  async historyUsage(namespace?: string): Promise<HistoryUsage> {
    if (namespace === undefined) return this.statements.historyUsage.get() as HistoryUsage;
    const ns = this.database.namespaceId(namespace, false);
    if (ns === undefined) return { versions: 0, originalBytes: 0, storedBytes: 0 };
    return this.database.read(() => {
      const usage = { ...(this.statements.historyUsageNamespace.get(ns) as HistoryUsage) };
      if (!this.sealed.any()) return usage;
      // Versions of rows that are not hot: a sealed row's (its namespace from its block), or of no row.
      for (const row of this.historyUsageNotHot().all() as (HistoryUsage & { seq: number })[]) {
        if (this.sealed.bySeq(row.seq)?.ns !== ns) continue;
        usage.versions += row.versions;
        usage.originalBytes += row.originalBytes;
        usage.storedBytes += row.storedBytes;
      }
      return usage;
    });
  }

  /** Per seq, the versions of rows that are not hot (read by `historyUsage` once some row is sealed). */
  private historyUsageNotHot(): Statement {
    return (this.historyUsageSealed ??= this.database.db.prepare(
      `SELECT v.seq, count(*) AS versions, coalesce(sum(v.original_length), 0) AS originalBytes, coalesce(sum(length(v.payload)), 0) AS storedBytes
       FROM memory_versions v WHERE NOT EXISTS (SELECT 1 FROM memories m WHERE m.seq = v.seq) GROUP BY v.seq ORDER BY v.seq`,
    ));
  }

  async get(namespace: string, id: string): Promise<StoredMemory | undefined> {
    return this.database.read(() => this.read(namespace, id));
  }

  async getMany(refs: readonly MemoryRef[]): Promise<(StoredMemory | undefined)[]> {
    return this.database.read(() => refs.map((ref) => this.read(ref.namespace, ref.id)));
  }

  private read(namespace: string, id: string): StoredMemory | undefined {
    const ns = this.database.namespaceId(namespace, false);
    if (ns === undefined) return undefined;
    const row = this.statements.getMemory.get(ns, idHash(id), id) as MemoryRow | undefined;
    if (row) return toStoredMemory(row);
    const sealed = this.sealed.any() ? this.sealed.byId(ns, idHash(id), id) : undefined;
    return sealed ? toStoredMemory(this.sealed.toMemoryRow(sealed)) : undefined;
  }

  async getSemantic(namespace: string, id: string): Promise<StoredSemantic | undefined> {
    return this.database.read(() => this.semanticOf(namespace, id));
  }

  private semanticOf(namespace: string, id: string): StoredSemantic | undefined {
    const ns = this.database.namespaceId(namespace, false);
    if (ns === undefined) return undefined;
    let row = this.statements.getSemantic.get(ns, idHash(id), id) as { summary: string; entities: string; source: string } | undefined;
    if (!row && this.sealed.any()) {
      const sealed = this.sealed.byId(ns, idHash(id), id);
      if (sealed) row = this.statements.semanticBySeq.get(sealed.seq) as { summary: string; entities: string; source: string } | undefined;
    }
    return row && { summary: row.summary, entities: JSON.parse(row.entities) as StoredSemantic["entities"], source: row.source };
  }

  async findContent(namespace: string, contentHash: Uint8Array, checksum: number, originalLength: number): Promise<ContentHolder | undefined> {
    return this.database.read(() => this.holderOf(namespace, contentHash, checksum, originalLength));
  }

  private holderOf(namespace: string, contentHash: Uint8Array, checksum: number, originalLength: number): ContentHolder | undefined {
    const ns = this.database.namespaceId(namespace, false);
    if (ns === undefined) return undefined;
    const hash = Buffer.from(contentHash.subarray(0, CONTENT_HASH_BYTES));
    const row = this.statements.findContent.get(hash, checksum, originalLength, ns) as { namespace: string; id: string; codecName: string; envelope: Buffer } | undefined;
    if (!row && this.sealed.any()) {
      const sealed = this.sealed.holder(ns, hash, checksum, originalLength);
      if (sealed) {
        const found = this.sealed.toMemoryRow(sealed);
        return { namespace: found.namespace, id: found.id, codec: found.codec, storedBytes: sealed.envelope.length, envelope: new Uint8Array(sealed.envelope) };
      }
    }
    return row && { namespace: row.namespace, id: row.id, codec: row.codecName, storedBytes: row.envelope.length, envelope: toBytes(row.envelope) };
  }

  async namespacesOf(id: string): Promise<string[]> {
    return this.database.read(() => this.namespacesOfId(id));
  }

  private namespacesOfId(id: string): string[] {
    const names = this.statements.namespacesOf.all(id) as string[];
    if (!this.sealed.any()) return names;
    for (const row of this.sealed.byIdAnyNamespace(idHash(id), id)) names.push(this.sealed.namespaceName(row.ns));
    // ORDER BY n.name: SQLite's binary order of the UTF-8 bytes.
    return names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  }

  async fingerprints(namespace: string, ids: readonly string[]): Promise<Map<string, Fingerprint>> {
    return this.database.read(() => this.fingerprintsOf(namespace, ids));
  }

  private fingerprintsOf(namespace: string, ids: readonly string[]): Map<string, Fingerprint> {
    const found = new Map<string, Fingerprint>();
    const ns = this.database.namespaceId(namespace, false);
    if (ns === undefined) return found;
    for (const id of ids) {
      let row = this.statements.fingerprint.get(ns, idHash(id), id) as { checksum: number; original_length: number; content_hash: Uint8Array | null } | undefined;
      if (!row && this.sealed.any()) row = this.sealed.byId(ns, idHash(id), id);
      if (row) found.set(id, { checksum: row.checksum, originalLength: row.original_length, ...(row.content_hash ? { contentHash: new Uint8Array(row.content_hash) } : {}) });
    }
    return found;
  }

  async list(query: ListQuery, options: PageOptions = {}): Promise<MemorySummary[]> {
    return this.database.read(() => this.listOf(query, options.skipDamaged === true));
  }

  private listOf(query: ListQuery, skipDamaged: boolean): MemorySummary[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.namespace !== undefined) {
      const ns = this.database.namespaceId(query.namespace, false);
      if (ns === undefined) return [];
      where.push("+m.ns = ?");
      params.push(ns);
    }
    if (query.kind !== undefined) {
      where.push("m.kind = ?");
      params.push(kindNumber(query.kind));
    }
    const sql = `${SUMMARY_SELECT} ${SUMMARY_FROM} ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY m.seq LIMIT ? OFFSET ?`;
    if (!this.sealed.any()) {
      const rows = this.database.db.prepare(sql).all(...params, query.limit ?? -1, query.offset ?? 0) as MemoryRow[];
      return rows.map(toSummary);
    }
    // Both homes in seq order: the first offset + limit of each, merged.
    const offset = Math.max(0, query.offset ?? 0);
    const wanted = query.limit === undefined || query.limit < 0 ? Infinity : offset + query.limit;
    const hot = this.database.db.prepare(sql).all(...params, Number.isFinite(wanted) ? wanted : -1, 0) as MemoryRow[];
    const ns = params.length > 0 && query.namespace !== undefined ? [params[0] as number] : undefined;
    // Sealed rows past the last hot row wanted cannot be among the first `wanted`.
    const until = Number.isFinite(wanted) && hot.length >= wanted ? (hot[hot.length - 1] as MemoryRow).seq : Infinity;
    const sealed = this.sealed.rowsAfter(0, wanted, this.sealed.predicate({ ...(query.kind !== undefined ? { kind: query.kind } : {}) }, ns), skipDamaged ? () => undefined : undefined, until);
    const merged = mergeBySeq(hot, sealed.map((row) => this.sealed.toMemoryRow(row)));
    return merged.slice(offset, Number.isFinite(wanted) ? wanted : undefined).map(toSummary);
  }

  async page(query: PageQuery, options: PageOptions = {}): Promise<MemoryPage> {
    return this.database.read(() => this.pageOf(query, options.skipDamaged === true));
  }

  private pageOf(query: PageQuery, skipDamaged: boolean): MemoryPage {
    const filter = this.filterWhere(query);
    if (!filter) return { items: [], next: null };
    const limit = Math.max(1, Math.floor(query.limit));
    // None expired at all: no page to read (the page query costs ~60 µs even when it finds nothing, this probe ~4 µs).
    // (Prepared on first use, as the page queries: the expiry index is there once the store is migrated.)
    const anySealed = this.sealed.any();
    if (
      query.expiredBy !== undefined &&
      (this.anyExpired ??= this.database.db.prepare(ANY_EXPIRED).pluck()).get(query.expiredBy) === undefined &&
      !(anySealed && this.sealed.anyExpired(query.expiredBy))
    )
      return { items: [], next: null };
    // Expired memories are few (compact removes them): found through the expiry index, not by reading every row in seq order.
    const from = query.expiredBy === undefined ? SUMMARY_FROM : SUMMARY_FROM.replace("FROM memories m ", "FROM memories m INDEXED BY memories_by_expiry ");
    const sql = `${SUMMARY_SELECT} ${from} WHERE m.seq > ?${filter.sql} ORDER BY m.seq LIMIT ?`;
    const after = decodeCursor(query.cursor);
    let rows = this.pageStatement(sql).all(after, ...filter.params, limit + 1) as MemoryRow[];
    const passed: DamagedBlock[] = [];
    const onDamaged = skipDamaged ? (block: DamagedBlock) => passed.push(block) : undefined;
    if (anySealed) rows = mergeBySeq(rows, this.sealedPage(query, filter.namespaces, after, limit + 1, onDamaged, untilOf(rows, limit + 1))).slice(0, limit + 1);
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    const next = rows.length > limit && last ? encodeCursor(last.seq) : null;
    // A block past the page's last row is walked again by the next page: named there, once.
    const damaged = this.damagedOf(
      passed.filter((block) => next === null || (last !== undefined && block.lastSeq < last.seq)),
      filter.namespaces,
    );
    return { items: items.map(toSummary), next, ...(damaged.length > 0 ? { damaged } : {}) };
  }

  /** Damaged blocks as the memories of these namespaces (all when absent) they hold; blocks holding none left out. */
  private damagedOf(blocks: readonly DamagedBlock[], namespaces: readonly number[] | undefined): DamagedMemories[] {
    return blocks
      .map((block) => ({
        where: `sealed block of seqs ${block.firstSeq}..${block.lastSeq}`,
        memories: this.sealed.countInRange(block.firstSeq, block.lastSeq, namespaces),
        error: namespaces === undefined ? block.error : scopedBlockError(block.error),
      }))
      .filter((damage) => damage.memories > 0);
  }

  /** Sealed rows of a page: through sealed_expiry for the expired ones, else block by block from the cursor. */
  private sealedPage(filter: MemoryFilter, namespaces: number[] | undefined, after: number, limit: number, onDamaged?: (damage: DamagedBlock) => void, until = Infinity): MemoryRow[] {
    const keep = this.sealed.predicate(filter, namespaces);
    let rows;
    if (filter.expiredBy !== undefined) {
      rows = [];
      // A block that cannot be read goes to `onDamaged` once (without one, its E_STORE error is thrown), as the walk by blocks does.
      const passed = new Set<number>();
      const once = (block: DamagedBlock) => {
        if (passed.has(block.lastSeq)) return;
        passed.add(block.lastSeq);
        onDamaged?.(block);
      };
      for (const seq of this.sealed.expiredSeqs(filter.expiredBy, after)) {
        const row = onDamaged ? passingDamage(() => this.sealed.bySeq(seq), undefined, once) : this.sealed.bySeq(seq);
        if (row && keep(row)) rows.push(row);
        if (rows.length >= limit) break;
      }
    } else {
      rows = this.sealed.rowsAfter(after, limit, keep, onDamaged, until);
    }
    return rows.map((row) => this.sealed.toMemoryRow(row));
  }

  /** The prepared statement for a page query's SQL, prepared once (the oldest of PAGE_STATEMENTS goes first). */
  private pageStatement(sql: string): Statement {
    let statement = this.pageStatements.get(sql);
    if (!statement) {
      if (this.pageStatements.size >= PAGE_STATEMENTS) this.pageStatements.delete(this.pageStatements.keys().next().value as string);
      statement = this.database.db.prepare(sql);
      this.pageStatements.set(sql, statement);
    }
    return statement;
  }

  /** A filter as SQL conditions (each after " AND ") over `memories m`; undefined when it matches nothing (no such namespace). */
  private filterWhere(filter: MemoryFilter): { sql: string; params: (string | number)[]; namespaces?: number[] } | undefined {
    const where: string[] = [];
    const params: (string | number)[] = [];
    let namespaces: number[] | undefined;
    if (filter.namespaces !== undefined) {
      const ns = filter.namespaces.map((name) => this.database.namespaceId(name, false)).filter((n): n is number => n !== undefined);
      if (ns.length === 0) return undefined;
      namespaces = ns;
      where.push(`+m.ns IN (${ns.map(() => "?").join(", ")})`);
      params.push(...ns);
    }
    if (filter.kind !== undefined) {
      where.push("m.kind = ?");
      params.push(kindNumber(filter.kind));
    }
    for (const tag of new Set(filter.tags ?? [])) {
      where.push(`json_valid(${TAGS_JSON}) AND EXISTS (SELECT 1 FROM json_each(${TAGS_JSON}) t WHERE t.value = ?)`);
      params.push(tag);
    }
    const anyTags = [...new Set(filter.anyTags ?? [])];
    if (anyTags.length > 0) {
      where.push(`json_valid(${TAGS_JSON}) AND EXISTS (SELECT 1 FROM json_each(${TAGS_JSON}) t WHERE t.value IN (${anyTags.map(() => "?").join(", ")}))`);
      params.push(...anyTags);
    }
    const range = (column: string, from: number | undefined, before: number | undefined): void => {
      if (from !== undefined) {
        where.push(`${column} >= ?`);
        params.push(from);
      }
      if (before !== undefined) {
        where.push(`${column} < ?`);
        params.push(before);
      }
    };
    range("m.created_at", filter.createdFrom, filter.createdBefore);
    range(UPDATED_AT, filter.updatedFrom, filter.updatedBefore);
    for (const [key, value] of Object.entries(filter.meta ?? {})) {
      const condition = metaCondition(key, value);
      where.push(condition.sql);
      params.push(...condition.params);
    }
    if (filter.activeAt !== undefined) {
      where.push("(m.expires_at IS NULL OR m.expires_at > ?)");
      params.push(filter.activeAt);
    }
    if (filter.expiredBy !== undefined) {
      where.push("m.expires_at <= ?");
      params.push(filter.expiredBy);
    }
    return { sql: where.map((w) => ` AND ${w}`).join(""), params, ...(namespaces ? { namespaces } : {}) };
  }

  /**
   * Pages by seq (`WHERE seq > ? ORDER BY seq LIMIT batch`): each page is read whole, so no SQLite
   * statement stays open while the caller awaits or writes; the event loop runs between pages.
   */
  async *scan(options: ScanOptions = {}): AsyncGenerator<StoredMemory> {
    const { namespace, signal } = options;
    const batchSize = Math.max(1, Math.floor(options.batchSize ?? SCAN_BATCH));
    const filter = options.filter ? this.filterWhere(options.filter) : undefined;
    if (options.filter && !filter) return;
    const filtered = filter ? this.database.db.prepare(`${WITH_ENVELOPE} WHERE m.seq > ?${namespace === undefined ? "" : " AND +m.ns = ?"}${filter.sql} ORDER BY m.seq LIMIT ?`) : undefined;
    // A damaged block goes to `onDamaged` once (a later page may walk past it again), with its rows of the scanned namespaces.
    const reported = new Set<number>();
    const damaged =
      options.onDamaged &&
      ((block: DamagedBlock) => {
        if (reported.has(block.lastSeq)) return;
        reported.add(block.lastSeq);
        const ns = namespace === undefined ? undefined : this.database.namespaceId(namespace, false);
        for (const damage of this.damagedOf([block], ns === undefined ? filter?.namespaces : [ns])) options.onDamaged?.(damage);
      });
    // Each page in one read transaction: the hot and the sealed rows of a page from one snapshot.
    const page = (after: number): MemoryRow[] | undefined => {
      signal?.throwIfAborted();
      try {
        return this.database.read(() => pageRows(after));
      } catch (error) {
        throw typedError(error);
      }
    };
    const pageRows = (after: number): MemoryRow[] | undefined => {
      const ns = namespace === undefined ? undefined : this.database.namespaceId(namespace, false);
      if (namespace !== undefined && ns === undefined) return undefined;
      let rows: MemoryRow[];
      if (filtered && filter) rows = filtered.all(after, ...(ns === undefined ? [] : [ns]), ...filter.params, batchSize) as MemoryRow[];
      else if (ns === undefined) rows = this.statements.scanAll.all(after, batchSize) as MemoryRow[];
      else rows = this.statements.scanNamespace.all(after, ns, batchSize) as MemoryRow[];
      if (!this.sealed.any()) return rows;
      const sealedFilter: MemoryFilter = options.filter ?? {};
      const namespaces = ns === undefined ? filter?.namespaces : filter?.namespaces ? filter.namespaces.filter((n) => n === ns) : [ns];
      if (namespaces && namespaces.length === 0) return rows;
      return mergeBySeq(rows, this.sealedPage(sealedFilter, namespaces, after, batchSize, damaged, untilOf(rows, batchSize))).slice(0, batchSize);
    };
    let after = 0;
    for (;;) {
      const rows = page(after);
      if (!rows || rows.length === 0) return;
      for (const row of rows) {
        signal?.throwIfAborted();
        yield toStoredMemory(row);
      }
      if (rows.length < batchSize) return;
      after = (rows[rows.length - 1] as MemoryRow).seq;
      await nextTurn();
    }
  }

  async count(namespace?: string): Promise<number> {
    return this.database.read(() => this.countOf(namespace));
  }

  private countOf(namespace?: string): number {
    const sealed = this.sealed.any();
    if (namespace === undefined) return (this.statements.count.get() as number) + (sealed ? this.sealed.count() : 0);
    const ns = this.database.namespaceId(namespace, false);
    return ns === undefined ? 0 : (this.statements.countNamespace.get(ns) as number) + (sealed ? this.sealed.count(ns) : 0);
  }

  async countExpired(at: number, namespace?: string): Promise<number> {
    return this.database.read(() => this.countExpiredOf(at, namespace));
  }

  private countExpiredOf(at: number, namespace?: string): number {
    // INDEXED BY: the partial index holds only memories with an expiry (SQLite refuses the statement if it cannot use it).
    const select = "SELECT count(*) FROM memories INDEXED BY memories_by_expiry WHERE expires_at IS NOT NULL AND expires_at <= ?";
    const sealed = this.sealed.any();
    if (namespace === undefined) return (this.database.db.prepare(select).pluck().get(at) as number) + (sealed ? this.sealed.countExpired(at) : 0);
    const ns = this.database.namespaceId(namespace, false);
    return ns === undefined ? 0 : (this.database.db.prepare(`${select} AND ns = ?`).pluck().get(at, ns) as number) + (sealed ? this.sealed.countExpired(at, ns) : 0);
  }

  async usageByCodec(namespace?: string): Promise<CodecUsage[]> {
    return this.database.read(() => this.codecUsage(namespace));
  }

  async countWithoutAsset(codec: string, namespace?: string): Promise<NamespaceCount[]> {
    return this.database.read(() => {
      const ns = namespace === undefined ? undefined : this.database.namespaceId(namespace, false);
      if (namespace !== undefined && ns === undefined) return [];
      const where = ns === undefined ? "" : " AND t.ns = ?";
      const args = ns === undefined ? [codec] : [codec, ns];
      const rows = this.database.db
        .prepare(`SELECT t.ns AS ns, count(*) AS n FROM memories t JOIN codecs c ON c.n = t.codec WHERE c.name = ? AND t.asset IS NULL${where} GROUP BY t.ns`)
        .all(...args) as { ns: number; n: number }[];
      if (this.sealed.any()) {
        // Sealed rows are counted per block, by namespace, codec and asset (memory_block_usage).
        rows.push(
          ...(this.database.db
            .prepare(`SELECT t.ns AS ns, sum(t.n) AS n FROM memory_block_usage t JOIN codecs c ON c.n = t.codec WHERE c.name = ? AND t.asset IS NULL${where} GROUP BY t.ns`)
            .all(...args) as { ns: number; n: number }[]),
        );
      }
      const counts = new Map<number, number>();
      for (const row of rows) counts.set(row.ns, (counts.get(row.ns) ?? 0) + row.n);
      const names = new Map((this.database.db.prepare("SELECT n, name FROM namespaces").all() as { n: number; name: string }[]).map((r) => [r.n, r.name]));
      return [...counts]
        .filter(([, n]) => n > 0)
        .map(([n, memories]) => ({ namespace: names.get(n) as string, memories }))
        .sort((a, b) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0));
    });
  }

  private codecUsage(namespace?: string): CodecUsage[] {
    const sealed = this.sealed.any();
    if (namespace === undefined) {
      const hot = this.statements.usage.all() as CodecUsage[];
      return sealed ? sumByCodec([...hot, ...this.sealed.usageByCodec()]) : hot;
    }
    const ns = this.database.namespaceId(namespace, false);
    if (ns === undefined) return [];
    return sealed ? this.namespaceUsage(ns) : (this.statements.usageNamespace.all(ns) as CodecUsage[]);
  }

  /**
   * `usageNamespace`'s sums over both homes: a text read from another namespace's holder is charged in full, once, to
   * the namespace's first reference to it. Sealed rows count by their blocks' sums (memory_block_usage, which a
   * damaged block keeps); only the blocks holding references are decoded and their rows charged one by one.
   * (Decoding every block of the namespace held the event loop ~90 ms per 20,000 memories, twice per `stats`.)
   */
  private namespaceUsage(ns: number): CodecUsage[] {
    const rows = (this.statements.usageRowsNamespace.all(ns) as { seq: number; codec: string; original_length: number; stored: number; content_of: number | null }[]).map((r) => ({ ...r }));
    const sums = new Map<string, CodecUsage>();
    const add = (codec: string, memories: number, originalBytes: number, storedBytes: number) => {
      const sum = sums.get(codec) ?? { codec, memories: 0, originalBytes: 0, storedBytes: 0 };
      sum.memories += memories;
      sum.originalBytes += originalBytes;
      sum.storedBytes += storedBytes;
      sums.set(codec, sum);
    };
    for (const usage of this.sealed.namespaceUsageByCodec(ns)) add(usage.codec, usage.memories, usage.originalBytes, usage.storedBytes);
    const referencing = this.sealed.referenceBlockRows(ns);
    // The decoded blocks' rows count one by one (below) in place of their sums.
    for (const lastSeq of referencing.blocks) {
      for (const usage of this.sealed.blockUsage(lastSeq, ns)) add(usage.codec, -usage.memories, -usage.originalBytes, -usage.storedBytes);
    }
    for (const row of referencing.rows) {
      rows.push({ seq: row.seq, codec: this.sealed.codecName(row.codec), original_length: row.original_length, stored: row.envelope.length, content_of: row.content_of });
    }
    const firstReference = new Map<number, number>();
    for (const row of rows) {
      if (row.content_of === null) continue;
      const first = firstReference.get(row.content_of);
      if (first === undefined || row.seq < first) firstReference.set(row.content_of, row.seq);
    }
    for (const row of rows) {
      let stored = row.stored;
      if (row.content_of !== null) {
        stored = 0;
        if (firstReference.get(row.content_of) === row.seq) {
          const hot = this.statements.hotHolderOf.get(row.content_of) as { ns: number; stored: number } | undefined;
          const sealed = hot ? undefined : this.sealed.readableBySeq(row.content_of);
          const holder = hot ?? (sealed && { ns: sealed.ns, stored: sealed.envelope.length });
          // No holder at all: the SQL's CASE gives NULL, which sum() skips.
          if (holder && holder.ns !== ns) stored = holder.stored;
        }
      }
      add(row.codec, 1, row.original_length, stored);
    }
    return [...sums.values()].filter((sum) => sum.memories !== 0).sort((a, b) => (a.codec < b.codec ? -1 : a.codec > b.codec ? 1 : 0));
  }

  async footprint(namespace?: string): Promise<Footprint> {
    return this.database.read(() => this.footprintOf(namespace));
  }

  private footprintOf(namespace?: string): Footprint {
    let memories = 0;
    let originalBytes = 0;
    let envelopeBytes = 0;
    for (const usage of this.codecUsage(namespace)) {
      memories += usage.memories;
      originalBytes += usage.originalBytes;
      envelopeBytes += usage.storedBytes;
    }
    let assetBytes = 0;
    let unusedAssetBytes = 0;
    const all = assetUsage(this.database);
    for (const usage of namespace === undefined ? all : assetUsage(this.database, namespace)) {
      if (usage.memories > 0) assetBytes += usage.size;
    }
    for (const usage of all) {
      if (usage.memories === 0 && (namespace === undefined || usage.namespace === namespace)) unusedAssetBytes += usage.size;
    }
    return { memories, originalBytes, envelopeBytes, assetBytes, unusedAssetBytes };
  }

  private get sealed(): SealedRows {
    return this.database.sealed;
  }

  async namespaces(): Promise<string[]> {
    return this.statements.namespaces.all() as string[];
  }
}

/** With `limit` hot rows already, sealed rows past the last of them are not wanted: its seq (else no bound). */
function untilOf(hot: readonly MemoryRow[], limit: number): number {
  return hot.length >= limit ? (hot[limit - 1] as MemoryRow).seq : Infinity;
}

/** Two seq-ordered row lists as one (a seq lives in one home only). */
function mergeBySeq(a: readonly MemoryRow[], b: readonly MemoryRow[]): MemoryRow[] {
  if (b.length === 0) return [...a];
  if (a.length === 0) return [...b];
  const out: MemoryRow[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x.seq < y.seq)) {
      out.push(x as MemoryRow);
      i++;
    } else {
      out.push(y);
      j++;
    }
  }
  return out;
}

/** Usage rows summed by codec name, in name order. */
function sumByCodec(rows: readonly CodecUsage[]): CodecUsage[] {
  const sums = new Map<string, CodecUsage>();
  for (const row of rows) {
    const sum = sums.get(row.codec) ?? { codec: row.codec, memories: 0, originalBytes: 0, storedBytes: 0 };
    sum.memories += row.memories;
    sum.originalBytes += row.originalBytes;
    sum.storedBytes += row.storedBytes;
    sums.set(row.codec, sum);
  }
  return [...sums.values()].sort((a, b) => (a.codec < b.codec ? -1 : a.codec > b.codec ? 1 : 0));
}

/** A page cursor: the last seq of the previous page, in base 36 behind a version letter. */
function encodeCursor(seq: number): string {
  return `s${seq.toString(36)}`;
}

function decodeCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  const seq = /^s[0-9a-z]{1,11}$/.test(cursor) ? parseInt(cursor.slice(1), 36) : NaN;
  if (!Number.isSafeInteger(seq)) {
    throw new MemzipError(ErrorCode.USAGE, `invalid page cursor ${JSON.stringify(cursor.slice(0, 40))}`, { hint: "Pass the `next` value of the previous page as it was given, or no cursor for the first page." });
  }
  return seq;
}
