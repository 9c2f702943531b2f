import type Database from "better-sqlite3";
import type { PackedRow } from "../packed-block.js";
import { passingDamage, scopedBlockError, type DamagedBlock, type SealedRows } from "./sealed.js";
import { decodeVectorBlock, encodeVectorBlock, type VectorBlock } from "./search-vector-blocks.js";
import type { DamagedInNamespace, IndexedVectors, PendingFrom, SearchIndexBytes, SearchIndexEntry, SearchIndexStore, VectorChanges } from "../../core/store.js";

/**
 * Format of the search index's tables. The index is derived data: a file whose index has another
 * format (or the migration-6 tables of format 1) gets its `search_*` tables and triggers dropped and
 * created anew at open, and the next search rebuilds the index. Format 4: the keyword index keeps no
 * document sizes (`columnsize=0`, so no `contentless_delete`); a changed memory's old terms are
 * left in place and masked (`search_moved`) until reclaimed.
 */
export const SEARCH_FORMAT = 4;

/**
 * Keyword rows of memories indexed again (or of a seq used again after a delete) are written under
 * fresh rowids from here up (the old rows cannot be deleted without their terms); below it a row's
 * rowid is its memory's seq.
 */
export const RELOCATED_ROWIDS = 2 ** 40;

/** Drops the vector block holding `seq` (its other memories become pending and are indexed again). */
const FORGET_PACKED = (seq: string) =>
  `DELETE FROM search_vector_blocks WHERE last_seq = (SELECT last_seq FROM search_vector_blocks WHERE last_seq >= ${seq} ORDER BY last_seq LIMIT 1) AND first_seq <= ${seq};`;

/**
 * Masks the keyword rows of `seq` (its text or summary changed, or it is gone): every row of it
 * becomes garbage, and its next terms go under a fresh rowid. Only a seq that may have rows: one at
 * or below the highest seq given a row at its own rowid (`terms_max`), or one moved before.
 */
const FORGET_TERMS = (seq: string) =>
  `INSERT OR REPLACE INTO search_moved (seq, at) SELECT ${seq}, NULL
     WHERE ${seq} <= coalesce((SELECT CAST(value AS INTEGER) FROM search_meta WHERE key = 'terms_max'), -1) OR EXISTS (SELECT 1 FROM search_moved WHERE seq = ${seq});`;

/** True when a vector block covers `seq` (a block covers only memories it holds: any change to one of them drops it). */
const PACKED = (seq: string) => `coalesce((SELECT first_seq FROM search_vector_blocks WHERE last_seq >= ${seq} ORDER BY last_seq LIMIT 1), ${seq} + 1) <= ${seq}`;

const SCHEMA = `
  CREATE TABLE search_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE search_vectors (seq INTEGER PRIMARY KEY, vector BLOB NOT NULL);
  CREATE TABLE search_vector_blocks (last_seq INTEGER PRIMARY KEY, first_seq INTEGER NOT NULL, n INTEGER NOT NULL, width INTEGER NOT NULL, data BLOB NOT NULL);
  CREATE VIRTUAL TABLE search_terms USING fts5(terms, content='', columnsize=0, detail=none, tokenize="ascii tokenchars '_'");
  CREATE TABLE search_moved (seq INTEGER PRIMARY KEY, at INTEGER);
  CREATE TRIGGER search_forget_deleted AFTER DELETE ON memories BEGIN
    DELETE FROM search_vectors WHERE seq = old.seq;
    ${FORGET_TERMS("old.seq")}
    ${FORGET_PACKED("old.seq")}
  END;
  CREATE TRIGGER search_forget_rewritten AFTER UPDATE ON memories
  WHEN old.checksum IS NOT new.checksum OR old.original_length IS NOT new.original_length OR old.content_hash IS NOT new.content_hash BEGIN
    DELETE FROM search_vectors WHERE seq = old.seq;
    ${FORGET_TERMS("old.seq")}
    ${FORGET_PACKED("old.seq")}
  END;
  INSERT INTO search_meta (key, value) VALUES ('format', '${SEARCH_FORMAT}');`;

/** A memory that gains a summary and entities is indexed again (only where the store keeps them). */
const SEMANTIC_TRIGGER = `
  CREATE TRIGGER search_forget_described AFTER INSERT ON semantic BEGIN
    ${FORGET_TERMS("new.seq")}
    DELETE FROM search_vectors WHERE seq = new.seq;
    ${FORGET_PACKED("new.seq")}
  END;`;

/** What a complete index of this format has; one missing (a migration that rebuilt `memories` drops its triggers) means rebuild. */
const OBJECTS = ["search_meta", "search_vectors", "search_vector_blocks", "search_terms", "search_moved", "search_forget_deleted", "search_forget_rewritten"];

/**
 * Creates the search index's tables and triggers unless they all exist in this format; drops any
 * `search_*` table or trigger first (idempotent; safe when another connection does the same, since
 * it runs in an immediate transaction). A dropped index is rebuilt by the next search.
 */
export function ensureSearchSchema(db: Database.Database, checkSchema?: () => void): void {
  const current = (): boolean => {
    const present = db.prepare(`SELECT count(*) FROM sqlite_schema WHERE name IN (${OBJECTS.map(() => "?").join(", ")})`).pluck().get(...OBJECTS);
    if (present !== OBJECTS.length) return false;
    return db.prepare("SELECT value FROM search_meta WHERE key = 'format'").pluck().get() === String(SEARCH_FORMAT);
  };
  if (current()) return;
  db.transaction(() => {
    // A newer memzip's index format is not this build's to drop.
    checkSchema?.();
    if (current()) return;
    const named = (type: string) =>
      (db.prepare(`SELECT name, sql FROM sqlite_schema WHERE type = ? AND name LIKE 'search\\_%' ESCAPE '\\'`).all(type) as { name: string; sql: string | null }[]);
    for (const { name } of named("trigger")) db.exec(`DROP TRIGGER IF EXISTS "${name}"`);
    // A virtual table drops its shadow tables (search_terms_data, ...) with it.
    for (const { name, sql } of named("table")) if (sql?.startsWith("CREATE VIRTUAL")) db.exec(`DROP TABLE IF EXISTS "${name}"`);
    for (const { name } of named("table")) db.exec(`DROP TABLE IF EXISTS "${name}"`);
    db.exec(SCHEMA);
    if (db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'semantic'").get()) db.exec(SEMANTIC_TRIGGER);
  }).immediate();
}

/**
 * The search index inside the store file: `search_vectors` (one quantized vector a memory, as the
 * index key in `search_meta` says) and `search_terms` (FTS5, contentless, `detail=none`: which
 * memories hold a term, no positions and no second copy of the text; terms come split and
 * lower-cased, so the tokenizer only splits at spaces: `ascii` keeps non-ASCII characters and `_`). Triggers drop a memory's
 * rows when it is deleted or rewritten. (Copied from store/sqlite-search.ts, which the synchronous store uses until it goes.)
 */
export class SqliteSearchIndex implements SearchIndexStore {
  private prepared: ReturnType<typeof prepare> | undefined;
  /** Raised whenever this connection empties the index: a cursor from before it means reload. */
  private epoch = 0;
  /** Change-log ids at or below this were trimmed: a cursor from before means reload. */
  private trimmed = 0;
  /** Where a walk of look-ups last found nothing more pending: later look-ups visit only the memories changed since. */
  private settled: { key: string; at: ChangeLogPosition } | undefined;
  /** Where the walk of look-ups under way began (its look-up from seq 0; `at` unset until the index holds its key). */
  private walk: { key: string; at: ChangeLogPosition | undefined } | undefined;

  constructor(
    private readonly db: Database.Database,
    /** Sealed memories rows (their search rows stay keyed by seq; ids and namespaces come from the blocks). */
    private readonly sealed?: SealedRows,
    /** Runs a read in one read transaction (the store's `SqliteDatabase.read`): hot and sealed rows from one snapshot. */
    private readonly reading: <T>(work: () => T) => T = (work) => work(),
    /**
     * Run first inside each of the index's write transactions (the store's schema check: a process that a newer
     * memzip upgraded the store under stops before it writes the index's rows as its own build lays them out).
     */
    private readonly checkSchema: () => void = () => undefined,
    /** Runs a write in one immediate transaction (the store's `SqliteDatabase.write`: its lock wait leaves the event loop free). */
    private readonly writing: <T>(work: () => T) => T = (work) => db.transaction(work).immediate(),
  ) {}

  /** `work` in one immediate write transaction, after the schema check. */
  private write<T>(work: () => T): T {
    return this.writing(() => {
      this.checkSchema();
      return work();
    });
  }

  /** `work` in one snapshot (the statements prepared first: preparing may create the index's tables). */
  private read<T>(work: () => T): T {
    void this.statements;
    return this.reading(work);
  }

  /** The sealed rows' side, when any row is sealed. */
  private sealedRows(): SealedRows | undefined {
    return this.sealed?.any() ? this.sealed : undefined;
  }

  /**
   * Sealed blocks that could not be read, met by this index's reads (by last seq): their memories are left out of the
   * pending ones and of the vectors (no text, no id), and `damaged` names them while the block is there.
   */
  private readonly damagedBlocks = new Map<number, DamagedBlock>();

  private readonly noteDamage = (block: DamagedBlock): void => {
    this.damagedBlocks.set(block.lastSeq, block);
  };

  /** The sealed row at `seq`, or none where its block cannot be read (noted). */
  private sealedRow(sealed: SealedRows, seq: number): PackedRow | undefined {
    return passingDamage(() => sealed.bySeq(seq), undefined, this.noteDamage);
  }

  async damaged(): Promise<DamagedInNamespace[]> {
    const sealed = this.sealed;
    if (this.damagedBlocks.size === 0 || !sealed) return [];
    return this.read(() => {
      const out: DamagedInNamespace[] = [];
      for (const [lastSeq, block] of [...this.damagedBlocks]) {
        // Set aside since (or never a block here): nothing left out any more.
        if (sealed.blockAt(lastSeq)?.last_seq !== lastSeq) {
          this.damagedBlocks.delete(lastSeq);
          continue;
        }
        for (const { namespace, memories } of sealed.blockNamespaces(lastSeq)) {
          out.push({ namespace, memories, where: `sealed block of seqs ${block.firstSeq}..${lastSeq}`, error: scopedBlockError(block.error) });
        }
      }
      return out;
    });
  }

  /** Vectors whose memory is sealed, with its id and namespace (a vector of no memory at all, or of one in a damaged block, is left out). */
  private sealedVectors(sealed: SealedRows, rows: readonly { seq: number; vector: Buffer }[]): VectorRow[] {
    const out: VectorRow[] = [];
    for (const { seq, vector } of rows) {
      const row = this.sealedRow(sealed, seq);
      if (row) out.push({ seq, id: row.id, namespace: sealed.namespaceName(row.ns), vector });
    }
    return out;
  }

  /**
   * Sealed memories (seq order) with no vector, at most `limit`: block by block, a block whose rows
   * all have vectors (a count over a seq range of search_vectors) skipped undecoded, and the blocks
   * found complete from the start remembered (while the index key, its epoch and data_version hold:
   * only a clear, a seal or another connection takes a sealed row's vector away or adds blocks), so
   * each batch of a first index build starts where the last one stopped.
   */
  private sealedPendingInBlocks(sealed: SealedRows, key: string, at: ChangeLogPosition, after: number, limit: number): { seq: number; id: string; namespace: string }[] {
    const known = this.sealedIndexed;
    let upTo = known && known.key === key && known.epoch === at.epoch && known.dataVersion === at.dataVersion ? known.upTo : 0;
    // Blocks between the complete run and `after` are not looked at: the run cannot grow past them.
    let complete = after <= upTo;
    const out: { seq: number; id: string; namespace: string }[] = [];
    for (const block of sealed.blocksAfter(Math.max(upTo, after))) {
      if ((this.sealedStatements.vectorsInRange.get({ first: block.first_seq, last: block.last_seq }) as number) >= block.n) {
        if (complete) upTo = block.last_seq;
        continue;
      }
      complete = false;
      for (const row of passingDamage(() => sealed.rowsOf(block), [], this.noteDamage)) {
        if (row.seq <= after || this.statements.hasVector.get({ seq: row.seq }) !== undefined) continue;
        out.push({ seq: row.seq, id: row.id, namespace: sealed.namespaceName(row.ns) });
        if (out.length >= limit) break;
      }
      if (out.length >= limit) break;
    }
    this.sealedIndexed = { key, epoch: at.epoch, dataVersion: at.dataVersion, upTo };
    return out;
  }

  /** Sealed memories in seq order, at most `limit`, as pending entries (an index of another key: every one). */
  private sealedPending(sealed: SealedRows, after: number, limit: number): { seq: number; id: string; namespace: string }[] {
    return sealed.rowsAfter(after, limit, undefined, this.noteDamage).map((row) => ({ seq: row.seq, id: row.id, namespace: sealed.namespaceName(row.ns) }));
  }

  /** Prepared at first use (as the old store did), so opening a store never touches the index. */
  private get statements(): ReturnType<typeof prepare> {
    this.prepared ??= prepare(this.db, this.checkSchema);
    return this.prepared;
  }

  private preparedSealed: ReturnType<typeof prepareSealed> | undefined;
  /** Sealed blocks up to `upTo` had a vector for every row when last looked at (`sealedPendingInBlocks`). */
  private sealedIndexed: { key: string; epoch: number; dataVersion: number; upTo: number } | undefined;

  private get sealedStatements(): ReturnType<typeof prepareSealed> {
    this.preparedSealed ??= prepareSealed(this.db);
    return this.preparedSealed;
  }

  private holds(key: string): boolean {
    return this.statements.key.get() === key;
  }

  async pending(key: string, limit: number, from: PendingFrom = {}): Promise<{ seq: number; id: string; namespace: string }[]> {
    return this.read(() => this.pendingOf(key, limit, from.after ?? 0, from.full === true));
  }

  private pendingOf(key: string, limit: number, after: number, full: boolean): { seq: number; id: string; namespace: string }[] {
    // A walk starts at seq 0. Where it ends with nothing more pending, everything pending where it began was seen
    // (listed, or written since: a later seq); look-ups after `after` of no walk never settle anything.
    if (after === 0) this.walk = { key, at: undefined };
    const sealed = this.sealedRows();
    if (!this.holds(key)) {
      // A walk that began while the index held another key settles nothing: a memory it listed may be rewritten before
      // the key's first write, which logs nothing this walk could start from. The next walk settles.
      this.walk = undefined;
      const all = this.statements.all.all(after, limit) as { seq: number; id: string; namespace: string }[];
      return sealed ? mergeSeq(all, this.sealedPending(sealed, after, limit)).slice(0, limit) : all;
    }
    const at = this.position();
    // A walk begins at its first look-up's position; a walk across a clear settles nothing.
    const walk = this.walk?.key === key ? this.walk : undefined;
    if (walk && walk.at === undefined) walk.at = at;
    else if (walk?.at && walk.at.epoch !== at.epoch) this.walk = undefined;
    const since = full ? undefined : this.settledSince(key, at);
    // Since a settled point, only hot rows changed: a write to a sealed row unseals it, and a seal starts a full look.
    let rows = (since === undefined ? this.statements.pending.all(after, limit) : this.statements.pendingSince.all(since, at.id, after, limit)) as { seq: number; id: string; namespace: string }[];
    if (sealed && since === undefined) rows = mergeSeq(rows, this.sealedPendingInBlocks(sealed, key, at, after, limit)).slice(0, limit);
    if (rows.length === 0 && this.walk?.key === key && this.walk.at) this.settled = { key, at: this.walk.at };
    return rows;
  }

  async countPending(key: string): Promise<number> {
    return this.read(() => this.countPendingOf(key));
  }

  private countPendingOf(key: string): number {
    const sealed = this.sealedRows();
    if (!this.holds(key)) return (this.statements.countAll.get() as number) + (sealed ? sealed.count() : 0);
    const at = this.position();
    const since = this.settledSince(key, at);
    if (since !== undefined) return this.statements.countPendingSince.get(since, at.id) as number;
    return (this.statements.countPending.get() as number) + (sealed ? (this.sealedStatements.countSealedPending.get() as number) : 0);
  }

  /**
   * Vectors changed since `cursor`, from this connection's change log (a temporary table its own
   * temporary triggers fill: memories and vectors inserted, updated or deleted); every vector when
   * another connection wrote since (PRAGMA data_version), the index was cleared or the log trimmed.
   */
  async vectorsSince(key: string, cursor: string | undefined, options: { cursorOnly?: boolean } = {}): Promise<VectorChanges> {
    return this.read(() => this.vectorsSinceOf(key, cursor, options));
  }

  private vectorsSinceOf(key: string, cursor: string | undefined, options: { cursorOnly?: boolean }): VectorChanges {
    const at = this.position();
    const next = `${key}\n${at.epoch}\n${at.dataVersion}\n${at.id}`;
    const none = { seqs: [], ids: [], namespaces: [], vectors: [] };
    if (!this.holds(key)) return { full: true, vectors: none, changed: [], cursor: next };
    const [cursorKey, epoch, dataVersion, id] = (cursor ?? "").split("\n");
    const from = Number(id);
    if (cursorKey !== key || Number(epoch) !== at.epoch || Number(dataVersion) !== at.dataVersion || !(from >= this.trimmed)) {
      this.trim(at.id);
      return { full: true, vectors: options.cursorOnly ? none : columns(this.allVectors()), changed: [], cursor: next };
    }
    const changed = this.statements.changedSeqs.all(from, at.id) as number[];
    let vectors: IndexedVectors = none;
    if (changed.length > 0) {
      const sealed = this.sealedRows();
      const hot = this.statements.changedVectors.all(from, at.id) as VectorRow[];
      const loose = sealed ? mergeSeq(hot, this.sealedVectors(sealed, this.statements.changedSealedVectors.all(from, at.id) as { seq: number; vector: Buffer }[])) : hot;
      vectors = columns(mergeSeq(loose, this.packedVectorsOf(this.statements.changedPacked.all(from, at.id) as number[])));
    }
    this.trim(at.id);
    return { full: false, vectors, changed, cursor: next };
  }

  /** Keeps the change log bounded: past CHANGE_LOG_KEEP entries, the older half goes (a reader that far behind reloads). */
  private trim(last: number): void {
    if (last - this.trimmed <= CHANGE_LOG_KEEP) return;
    this.trimmed = last - CHANGE_LOG_KEEP / 2;
    this.statements.trimLog.run(this.trimmed);
  }

  private position(): ChangeLogPosition {
    return { epoch: this.epoch + (this.sealed?.generation ?? 0), dataVersion: this.statements.dataVersion.get() as number, id: (this.statements.lastLogged.get() as number | null) ?? 0 };
  }

  /** The log id after which every pending memory was changed, when a look-up found none pending and nothing since forces a full look. */
  private settledSince(key: string, at: ChangeLogPosition): number | undefined {
    const settled = this.settled;
    if (!settled || settled.key !== key || settled.at.epoch !== at.epoch || settled.at.dataVersion !== at.dataVersion || settled.at.id < this.trimmed) return undefined;
    if (settled.at.id < at.id && this.statements.fullLookSince.get(settled.at.id, at.id) !== undefined) {
      // Sealed rows may have lost their vectors: look at every block again (and settle afresh).
      this.sealedIndexed = undefined;
      this.settled = undefined;
      return undefined;
    }
    return settled.at.id;
  }

  async put(key: string, entries: readonly SearchIndexEntry[]): Promise<void> {
    this.write(() => {
      if (!this.holds(key)) {
        this.clearAll();
        this.statements.setKey.run(key);
      }
      // A memory deleted since its batch was read has no entry (a vector of no memory would fool the sealed blocks' counts).
      const cold = new Set(entries.filter((entry) => this.statements.isMemory.get(entry.seq) === undefined).map((entry) => entry.seq));
      const sealed = cold.size > 0 ? this.sealedRows()?.heldSeqs(cold) : undefined;
      const terms = new TermWrites(this.statements);
      for (const entry of entries) {
        if (cold.has(entry.seq) && !sealed?.has(entry.seq)) continue;
        // A memory indexed again leaves its vector block (the block's other memories are indexed again too).
        this.statements.forgetPacked.run({ seq: entry.seq });
        terms.plan(entry.seq, entry.terms);
        this.statements.putVector.run(entry.seq, entry.vector);
      }
      terms.write();
    });
    if (this.reclaimDue()) this.reclaim();
  }

  /** Masked keyword rows past this share of the seqs given rows (and RECLAIM_MIN) are reclaimed by the next put. */
  private reclaimDue(): boolean {
    const moved = this.statements.movedCount.get() as number;
    return moved > RECLAIM_MIN && moved * RECLAIM_SHARE > Number(this.statements.meta.get("terms_max") ?? 0);
  }

  /**
   * Deletes every masked keyword row (FTS5 'delete' with the row's exact terms, read back from the
   * index itself: one pass over it) and moves every relocated row back to its seq's rowid, so
   * `search_moved` ends empty. Returns how many rows it deleted. What `matching` returns is unchanged.
   * With `optimize`, the index is then merged into one segment (the deleted rows' bytes go; the
   * store's `compact` asks for it before its VACUUM).
   */
  reclaim(options: { optimize?: boolean } = {}): number {
    if (this.db.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'search_moved'").get() === undefined) return 0;
    const s = this.statements;
    if ((s.movedCount.get() as number) === 0) return 0;
    let deleted = 0;
    this.write(() => {
      this.db.exec("CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_instances USING fts5vocab(main, search_terms, instance)");
      const relocated = new Map<number, number>();
      for (const { seq, at } of s.moved.all() as { seq: number; at: number | null }[]) if (at !== null) relocated.set(at, seq);
      const rows = new Map<number, string[]>();
      for (const { term, doc } of s.maskedInstances.iterate() as Iterable<{ term: string; doc: number }>) {
        let terms = rows.get(doc);
        if (!terms) rows.set(doc, (terms = []));
        terms.push(term);
      }
      let highest = Number(s.meta.get("terms_max") ?? -1);
      const kept: { seq: number; at: number }[] = [];
      const back: [number, string][] = [];
      // Deletes, then inserts, each in rowid order: FTS5 starts a new segment whenever a write's rowid goes back.
      for (const rowid of [...rows.keys()].sort((x, y) => x - y)) {
        const terms = (rows.get(rowid) as string[]).join(" ");
        s.deleteTerms.run(rowid, terms);
        const seq = relocated.get(rowid);
        if (seq === undefined) deleted++;
        else if (seq >= RELOCATED_ROWIDS) kept.push({ seq, at: rowid });
        // The current row of a relocated seq goes back to the seq's own rowid (its old rows there go above).
        else back.push([seq, terms]);
      }
      for (const [seq, terms] of back.sort((x, y) => x[0] - y[0])) {
        s.putTerms.run(seq, terms);
        highest = Math.max(highest, seq);
      }
      s.clearMoved.run();
      for (const { seq, at } of kept) s.setMoved.run(seq, at);
      s.setMeta.run("terms_max", String(highest));
      if (kept.length === 0) s.deleteMeta.run("terms_next");
    });
    this.movedCache = undefined;
    if (options.optimize === true) this.db.exec("INSERT INTO search_terms (search_terms) VALUES ('optimize')");
    return deleted;
  }

  async vectors(key: string): Promise<IndexedVectors> {
    return this.read(() => (this.holds(key) ? columns(this.allVectors()) : { seqs: [], ids: [], namespaces: [], vectors: [] }));
  }

  /** Every vector with its memory's id and namespace, in seq order, from both homes of the memories. */
  private allVectors(): VectorRow[] {
    const hot = this.statements.vectors.all() as VectorRow[];
    const sealed = this.sealedRows();
    const loose = sealed ? mergeSeq(hot, this.sealedVectors(sealed, this.statements.sealedVectors.all() as { seq: number; vector: Buffer }[])) : hot;
    const packed: VectorRow[] = [];
    for (const row of this.statements.vectorBlocks.iterate() as Iterable<VectorBlockRow>) {
      const block = this.vectorBlock(row);
      for (const [i, seq] of block.seqs.entries()) {
        const owner = this.ownerOf(sealed, seq);
        if (owner) packed.push({ seq, ...owner, vector: Buffer.from((block.vectors[i] as Uint8Array).buffer) });
      }
    }
    return mergeSeq(loose, packed);
  }

  /** The id and namespace of the memory at `seq`, hot or sealed (undefined: no memory). */
  private ownerOf(sealed: SealedRows | undefined, seq: number): { id: string; namespace: string } | undefined {
    const row = sealed && this.sealedRow(sealed, seq);
    if (row) return { id: row.id, namespace: sealed?.namespaceName(row.ns) as string };
    return this.statements.hotOwner.get(seq) as { id: string; namespace: string } | undefined;
  }

  /** Decoded vector blocks, kept while nothing changed the store (a block is only ever inserted or deleted whole). */
  private readonly blockCache = new Map<number, VectorBlock>();
  private blockCacheToken = "";

  private vectorBlock(row: VectorBlockRow): VectorBlock {
    const token = `${String(this.statements.dataVersion.get())}:${String(this.statements.totalChanges.get())}`;
    if (token !== this.blockCacheToken) {
      this.blockCache.clear();
      this.blockCacheToken = token;
    }
    let block = this.blockCache.get(row.last_seq);
    if (!block) {
      block = decodeVectorBlock(row.data);
      if (this.blockCache.size >= BLOCK_CACHE) this.blockCache.delete(this.blockCache.keys().next().value as number);
      this.blockCache.set(row.last_seq, block);
    }
    return block;
  }

  /** Vectors of `seqs` (ascending) held in vector blocks, with their memories' ids and namespaces. */
  private packedVectorsOf(seqs: readonly number[]): VectorRow[] {
    const sealed = this.sealedRows();
    const out: VectorRow[] = [];
    for (const seq of seqs) {
      const row = this.statements.vectorBlockAt.get(seq) as VectorBlockRow | undefined;
      if (!row || row.first_seq > seq) continue;
      const block = this.vectorBlock(row);
      const i = block.seqs.indexOf(seq);
      const owner = i < 0 ? undefined : this.ownerOf(sealed, seq);
      if (owner) out.push({ seq, ...owner, vector: Buffer.from((block.vectors[i] as Uint8Array).buffer) });
    }
    return out;
  }

  /**
   * After a seal (the store's `compact`): packs the vectors of the newly sealed blocks, when the file
   * has a search index of this format (a store never searched gets no index tables from it).
   */
  packVectors(): number {
    if (this.db.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'search_vector_blocks'").get() === undefined) return 0;
    return this.statements.key.get() !== undefined ? this.packSealed() : 0;
  }

  /**
   * Moves the vectors of every sealed block whose memories all have one (and no vector block yet)
   * into one `search_vector_blocks` row each (issue 11: no per-row cell, zstd over the codes).
   * Returns how many vectors moved. Nothing a search returns changes.
   */
  private packSealed(): number {
    const sealed = this.sealedRows();
    if (!sealed) return 0;
    const s = this.statements;
    let packed = 0;
    this.write(() => {
      for (const block of [...sealed.blocksAfter(0)]) {
        if (s.hotIn.get(block.first_seq, block.last_seq) !== undefined) continue;
        const loose = s.vectorsIn.all(block.first_seq, block.last_seq) as { seq: number; vector: Uint8Array }[];
        if (loose.length === 0) continue;
        // Vector blocks inside this block's range (one made before a seal merged a short block with later rows) are merged into one.
        const inside = s.vectorBlocksIn.all(block.first_seq, block.last_seq) as VectorBlockRow[];
        if (inside.some((b) => b.first_seq < block.first_seq || b.last_seq > block.last_seq)) continue;
        const rows = [...loose];
        for (const b of inside) {
          // Decoded afresh, not through the cache: this is a write transaction that may roll back.
          const decoded = decodeVectorBlock(b.data);
          for (const [i, seq] of decoded.seqs.entries()) rows.push({ seq, vector: decoded.vectors[i] as Uint8Array });
        }
        rows.sort((x, y) => x.seq - y.seq);
        // A block that cannot be read keeps its vectors loose (they are left out of searches while it is there).
        const members = passingDamage(() => sealed.rowsOf(block), undefined);
        if (!members) continue;
        const width = (rows[0] as { vector: Uint8Array }).vector.length;
        if (members.length !== rows.length || members.some((m, i) => (rows[i] as { seq: number }).seq !== m.seq) || rows.some((r) => r.vector.length !== width)) continue;
        const data = encodeVectorBlock({ seqs: rows.map((r) => r.seq), vectors: rows.map((r) => r.vector) });
        for (const b of inside) s.deleteVectorBlock.run(b.last_seq);
        s.insertVectorBlock.run(block.last_seq, block.first_seq, rows.length, width, data);
        s.deleteVectorsIn.run(block.first_seq, block.last_seq);
        packed += loose.length;
      }
    });
    if (packed > 0) {
      // The change log saw these vectors leave search_vectors: readers reload (same vectors, from the blocks).
      this.epoch++;
      this.settled = undefined;
    }
    return packed;
  }

  async matching(term: string): Promise<number[]> {
    return this.read(() => {
      const rowids = this.statements.matching.all(quoted(term)) as number[];
      const moved = this.movedRows();
      if (moved === undefined) return rowids;
      // Masked rows left out; relocated ones answered by their seq, in seq order as ever.
      const out: number[] = [];
      for (const rowid of rowids) {
        if (rowid < RELOCATED_ROWIDS) {
          if (!moved.seqs.has(rowid)) out.push(rowid);
        } else {
          const seq = moved.at.get(rowid);
          if (seq !== undefined) out.push(seq);
        }
      }
      return moved.at.size === 0 ? out : out.sort((a, b) => a - b);
    });
  }

  /** `search_moved` as sets (undefined when empty), read again whenever the store changed. */
  private movedRows(): { seqs: Set<number>; at: Map<number, number> } | undefined {
    const token = `${String(this.statements.dataVersion.get())}:${String(this.statements.totalChanges.get())}`;
    if (this.movedCache?.token === token) return this.movedCache.rows;
    let rows: { seqs: Set<number>; at: Map<number, number> } | undefined;
    for (const { seq, at } of this.statements.moved.iterate() as Iterable<{ seq: number; at: number | null }>) {
      rows ??= { seqs: new Set(), at: new Map() };
      rows.seqs.add(seq);
      if (at !== null) rows.at.set(at, seq);
    }
    this.movedCache = { token, rows };
    return rows;
  }

  private movedCache: { token: string; rows: { seqs: Set<number>; at: Map<number, number> } | undefined } | undefined;

  async frequentTerms(minDocs: number, maxEntries: number): Promise<string[]> {
    // The vocabulary table walks the whole keyword index (~0.35 s at 10^5 memories): once, when a search index warms.
    const terms: string[] = [];
    let entries = 0;
    for (const { term, doc } of this.statements.frequent.iterate(Math.max(1, Math.floor(minDocs))) as Iterable<{ term: string; doc: number }>) {
      if (entries + doc > maxEntries) continue;
      entries += doc;
      terms.push(term);
    }
    return terms;
  }

  async documentFrequency(term: string): Promise<number> {
    // The vocabulary counts masked rows too: with any, the rows are counted one by one.
    if (this.read(() => this.movedRows()) !== undefined) return (await this.matching(term)).length;
    return (this.statements.frequency.get(term) as number | undefined) ?? 0;
  }

  async indexedCount(atMost?: number): Promise<number> {
    return (atMost === undefined ? this.statements.indexed.get() : this.statements.indexedUpTo.get(Math.max(0, Math.floor(atMost)) + 1)) as number;
  }

  /** PRAGMA data_version (changes made by other connections) and total_changes() (this connection's own). */
  async changeToken(): Promise<string> {
    return `${String(this.statements.dataVersion.get())}:${String(this.statements.totalChanges.get())}`;
  }

  async compact(): Promise<void> {
    this.reclaim();
    this.db.exec("INSERT INTO search_terms (search_terms) VALUES ('optimize')");
    this.packSealed();
    // Building and merging segments leaves free pages behind; hand them back to the file system
    // (stores are created with auto_vacuum = INCREMENTAL; a no-op on files without it).
    this.db.pragma("incremental_vacuum");
  }

  /** Empties the index (inside the caller's write transaction, where there is one) where the store has one; the next search rebuilds it. */
  forgetAll(): void {
    if (this.db.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'search_meta'").get() === undefined) return;
    this.write(() => this.clearAll());
  }

  async clear(): Promise<void> {
    this.write(() => this.clearAll());
  }

  private clearAll(): void {
    this.epoch++;
    this.settled = undefined;
    this.db.exec("DELETE FROM search_vectors; DELETE FROM search_vector_blocks; INSERT INTO search_terms (search_terms) VALUES ('delete-all'); DELETE FROM search_moved; DELETE FROM search_meta WHERE key IN ('key', 'terms_max', 'terms_next');");
  }

  async vectorBytes(): Promise<number> {
    return this.statements.vectorPayload.get() as number;
  }

  async bytes(): Promise<SearchIndexBytes> {
    const rows = this.statements.pages.all() as { name: string; bytes: number }[];
    const sum = (pick: (name: string) => boolean) => rows.filter((r) => pick(r.name)).reduce((total, r) => total + r.bytes, 0);
    return { vectors: sum((n) => n === "search_vectors" || n === "search_vector_blocks"), terms: sum((n) => n.startsWith("search_terms_")), other: sum((n) => n === "search_meta" || n === "search_moved") };
  }
}

interface VectorRow {
  seq: number;
  id: string;
  namespace: string;
  vector: Buffer;
}

interface VectorBlockRow {
  last_seq: number;
  first_seq: number;
  data: Buffer;
}

/**
 * A batch's keyword rows (format 4: rows are never deleted one by one, so a memory indexed again gets
 * a fresh row). `plan` first (it reads the index), then `write`, in rowid order (FTS5 starts a new
 * segment whenever a write's rowid goes back).
 */
class TermWrites {
  private readonly rows: [number, string][] = [];
  private readonly statements: ReturnType<typeof prepare>;
  private highest: number;
  private next: number;
  private readonly moved: [number, number | null][] = [];

  constructor(statements: ReturnType<typeof prepare>) {
    this.statements = statements;
    this.highest = Number(statements.meta.get("terms_max") ?? -1);
    this.next = Math.max(RELOCATED_ROWIDS, Number(statements.meta.get("terms_next") ?? 0));
  }

  /**
   * A seq that may have keyword rows already (at or below `terms_max`, moved before, or beyond the
   * seq rowids) gets its terms under a fresh rowid, and its earlier rows become garbage: masked at its
   * own rowid (`search_moved`), or left behind at a fresh rowid its `at` no longer names. So a put
   * always replaces a memory's terms (the store contract), without reading the old ones. Any other
   * seq's terms go at its own rowid.
   */
  plan(seq: number, terms: string): void {
    const s = this.statements;
    const first = terms.split(" ").find((t) => t !== "");
    const mayHaveRows = seq <= this.highest || seq >= RELOCATED_ROWIDS || s.movedOf.get(seq) !== undefined;
    if (first === undefined) {
      // No terms: no row, and any earlier row of it masked.
      if (mayHaveRows) this.moved.push([seq, null]);
      return;
    }
    if (mayHaveRows) {
      this.rows.push([this.next, terms]);
      this.moved.push([seq, this.next++]);
      return;
    }
    this.rows.push([seq, terms]);
  }

  write(): void {
    const s = this.statements;
    const start = this.highest;
    for (const [rowid, terms] of this.rows.sort((x, y) => x[0] - y[0])) {
      s.putTerms.run(rowid, terms);
      if (rowid < RELOCATED_ROWIDS) this.highest = Math.max(this.highest, rowid);
    }
    for (const [seq, at] of this.moved) s.setMoved.run(seq, at);
    if (this.highest !== start) s.setMeta.run("terms_max", String(this.highest));
    if (this.moved.length > 0) s.setMeta.run("terms_next", String(this.next));
  }
}

/** A term as an FTS5 query string (one quoted token: no operator in it is query syntax). */
function quoted(term: string): string {
  return `"${term.replaceAll('"', '""')}"`;
}

/** Masked keyword rows are reclaimed (one pass over the keyword index) past 1/RECLAIM_SHARE of the seqs given rows... */
const RECLAIM_SHARE = 16;
/** ...and past this many (a small index is reclaimed at `compact`). */
const RECLAIM_MIN = 1000;

/** Decoded vector blocks kept per connection (~256 vectors each). */
const BLOCK_CACHE = 64;

interface ChangeLogPosition {
  epoch: number;
  dataVersion: number;
  id: number;
}

function mergeSeq<T extends { seq: number }>(a: readonly T[], b: readonly T[]): T[] {
  return b.length === 0 ? [...a] : [...a, ...b].sort((x, y) => x.seq - y.seq);
}

function columns(rows: readonly VectorRow[]): IndexedVectors {
  return { seqs: rows.map((r) => r.seq), ids: rows.map((r) => r.id), namespaces: rows.map((r) => r.namespace), vectors: rows.map((r) => r.vector) };
}

/** A change-log entry that is no memory: something changed that the log cannot name row by row (a dropped vector block). */
const FULL_LOOK = -1;

/** Change-log entries kept before the older half is trimmed. */
const CHANGE_LOG_KEEP = 200_000;

/**
 * Per connection (temporary, not part of the file): the seqs of the memories and vectors this
 * connection inserts, updates or deletes, in order, and the hot memories of each vector block it drops. Changes by other connections show in
 * PRAGMA data_version instead (then readers start over).
 */
const CHANGE_LOG = ["memories", "search_vectors"]
  .flatMap((table) =>
    (["INSERT", "UPDATE", "DELETE"] as const).map(
      (event) =>
        `CREATE TEMP TRIGGER IF NOT EXISTS search_log_${table}_${event.toLowerCase()} AFTER ${event} ON main.${table} BEGIN INSERT INTO temp.search_changes (seq) VALUES (${event === "DELETE" ? "old" : "new"}.seq); END;`,
    ),
  )
  .concat(
    // A dropped vector block (a write to one of its memories) leaves its other memories without a vector: they are
    // pending again and must be in the log, or a connection that settled before the drop never indexes them (review21 S1).
    // Its range may also hold sealed rows (of a block sealed again with other bounds): those are not hot, so a marker
    // (seq -1) makes the next look-up a full one, sealed blocks included.
    "CREATE TEMP TRIGGER IF NOT EXISTS search_log_vector_blocks_delete AFTER DELETE ON main.search_vector_blocks BEGIN " +
      "INSERT INTO temp.search_changes (seq) SELECT seq FROM main.memories WHERE seq BETWEEN old.first_seq AND old.last_seq; " +
      `INSERT INTO temp.search_changes (seq) VALUES (${FULL_LOOK}); END;`,
  )
  .join("\n");

/** Statements on the sealed rows' tables (issue 11): prepared once some row is sealed (a store that never sealed has no such tables). */
function prepareSealed(db: Database.Database) {
  return {
    // Vector blocks only partly inside the range are not counted: an undercount only means the rows are looked at one by one.
    vectorsInRange: db
      .prepare(
        "SELECT (SELECT count(*) FROM search_vectors WHERE seq BETWEEN @first AND @last) + (SELECT coalesce(sum(n), 0) FROM search_vector_blocks WHERE last_seq BETWEEN @first AND @last AND first_seq >= @first)",
      )
      .pluck(),
    // Per block: its rows less the vectors in its range, loose or packed (as vectorsInRange; a seal leaves no vector of another seq there).
    countSealedPending: db
      .prepare(
        `SELECT coalesce(sum(max(0, b.n - (SELECT count(*) FROM search_vectors v WHERE v.seq BETWEEN b.first_seq AND b.last_seq)
           - (SELECT coalesce(sum(vb.n), 0) FROM search_vector_blocks vb WHERE vb.last_seq BETWEEN b.first_seq AND b.last_seq AND vb.first_seq >= b.first_seq))), 0)
         FROM memory_blocks b`,
      )
      .pluck(),
  };
}

function prepare(db: Database.Database, checkSchema?: () => void) {
  ensureSearchSchema(db, checkSchema);
  // Per connection, so not part of the schema: how many memories hold each term.
  db.exec("CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_vocabulary USING fts5vocab(main, search_terms, row)");
  db.exec(`CREATE TABLE IF NOT EXISTS temp.search_changes (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL);\n${CHANGE_LOG}`);
  return {
    key: db.prepare("SELECT value FROM search_meta WHERE key = 'key'").pluck(),
    setKey: db.prepare("INSERT OR REPLACE INTO search_meta (key, value) VALUES ('key', ?)"),
    frequency: db.prepare("SELECT doc FROM temp.search_vocabulary WHERE term = ?").pluck(),
    frequent: db.prepare("SELECT term, doc FROM temp.search_vocabulary WHERE doc >= ? ORDER BY doc DESC, term"),
    indexed: db.prepare("SELECT (SELECT count(*) FROM search_vectors) + (SELECT coalesce(sum(n), 0) FROM search_vector_blocks)").pluck(),
    indexedUpTo: db.prepare("SELECT (SELECT count(*) FROM (SELECT 1 FROM search_vectors LIMIT ?)) + (SELECT coalesce(sum(n), 0) FROM search_vector_blocks)").pluck(),
    pending: db.prepare(
      `SELECT m.seq, m.id, n.name AS namespace FROM memories m JOIN namespaces n ON n.n = m.ns LEFT JOIN search_vectors v ON v.seq = m.seq WHERE m.seq > ? AND v.seq IS NULL AND NOT ${PACKED("m.seq")} ORDER BY m.seq LIMIT ?`,
    ),
    countPending: db.prepare(`SELECT count(*) FROM memories m LEFT JOIN search_vectors v ON v.seq = m.seq WHERE v.seq IS NULL AND NOT ${PACKED("m.seq")}`).pluck(),
    pendingSince: db.prepare(
      `SELECT m.seq, m.id, n.name AS namespace FROM memories m JOIN namespaces n ON n.n = m.ns
       WHERE m.seq IN (SELECT seq FROM temp.search_changes WHERE id > ? AND id <= ?) AND m.seq > ? AND NOT EXISTS (SELECT 1 FROM search_vectors v WHERE v.seq = m.seq) AND NOT ${PACKED("m.seq")} ORDER BY m.seq LIMIT ?`,
    ),
    countPendingSince: db
      .prepare(
        `SELECT count(*) FROM memories m WHERE m.seq IN (SELECT seq FROM temp.search_changes WHERE id > ? AND id <= ?) AND NOT EXISTS (SELECT 1 FROM search_vectors v WHERE v.seq = m.seq) AND NOT ${PACKED("m.seq")}`,
      )
      .pluck(),
    lastLogged: db.prepare("SELECT max(id) FROM temp.search_changes").pluck(),
    fullLookSince: db.prepare(`SELECT 1 FROM temp.search_changes WHERE id > ? AND id <= ? AND seq = ${FULL_LOOK} LIMIT 1`),
    changedSeqs: db.prepare("SELECT DISTINCT seq FROM temp.search_changes WHERE id > ? AND id <= ? AND seq >= 0").pluck(),
    changedVectors: db.prepare(
      `SELECT v.seq, m.id, n.name AS namespace, v.vector FROM search_vectors v JOIN memories m ON m.seq = v.seq JOIN namespaces n ON n.n = m.ns
       WHERE v.seq IN (SELECT seq FROM temp.search_changes WHERE id > ? AND id <= ?) ORDER BY v.seq`,
    ),
    trimLog: db.prepare("DELETE FROM temp.search_changes WHERE id <= ?"),
    all: db.prepare("SELECT m.seq, m.id, n.name AS namespace FROM memories m JOIN namespaces n ON n.n = m.ns WHERE m.seq > ? ORDER BY m.seq LIMIT ?"),
    countAll: db.prepare("SELECT count(*) FROM memories").pluck(),
    sealedVectors: db.prepare("SELECT v.seq, v.vector FROM search_vectors v WHERE NOT EXISTS (SELECT 1 FROM memories m WHERE m.seq = v.seq) ORDER BY v.seq"),
    changedSealedVectors: db.prepare(
      `SELECT v.seq, v.vector FROM search_vectors v
       WHERE v.seq IN (SELECT seq FROM temp.search_changes WHERE id > ? AND id <= ?) AND NOT EXISTS (SELECT 1 FROM memories m WHERE m.seq = v.seq) ORDER BY v.seq`,
    ),
    isMemory: db.prepare("SELECT 1 FROM memories WHERE seq = ?"),
    hasVector: db.prepare(`SELECT 1 WHERE EXISTS (SELECT 1 FROM search_vectors WHERE seq = @seq) OR ${PACKED("@seq")}`),
    changedPacked: db
      .prepare(
        `SELECT DISTINCT c.seq FROM temp.search_changes c WHERE c.id > ? AND c.id <= ? AND NOT EXISTS (SELECT 1 FROM search_vectors v WHERE v.seq = c.seq) AND ${PACKED("c.seq")} ORDER BY c.seq`,
      )
      .pluck(),
    hotOwner: db.prepare("SELECT m.id, n.name AS namespace FROM memories m JOIN namespaces n ON n.n = m.ns WHERE m.seq = ?"),
    vectorBlocks: db.prepare("SELECT last_seq, first_seq, data FROM search_vector_blocks ORDER BY last_seq"),
    vectorBlockAt: db.prepare("SELECT last_seq, first_seq, data FROM search_vector_blocks WHERE last_seq >= ? ORDER BY last_seq LIMIT 1"),
    vectorBlocksIn: db.prepare("SELECT last_seq, first_seq, data FROM search_vector_blocks WHERE last_seq >= ? AND first_seq <= ? ORDER BY last_seq"),
    deleteVectorBlock: db.prepare("DELETE FROM search_vector_blocks WHERE last_seq = ?"),
    hotIn: db.prepare("SELECT 1 FROM memories WHERE seq BETWEEN ? AND ? LIMIT 1"),
    vectorsIn: db.prepare("SELECT seq, vector FROM search_vectors WHERE seq BETWEEN ? AND ? ORDER BY seq"),
    deleteVectorsIn: db.prepare("DELETE FROM search_vectors WHERE seq BETWEEN ? AND ?"),
    insertVectorBlock: db.prepare("INSERT INTO search_vector_blocks (last_seq, first_seq, n, width, data) VALUES (?, ?, ?, ?, ?)"),
    forgetPacked: db.prepare(FORGET_PACKED("@seq")),
    putTerms: db.prepare("INSERT INTO search_terms (rowid, terms) VALUES (?, ?)"),
    deleteTerms: db.prepare("INSERT INTO search_terms (search_terms, rowid, terms) VALUES ('delete', ?, ?)"),
    meta: db.prepare("SELECT value FROM search_meta WHERE key = ?").pluck(),
    setMeta: db.prepare("INSERT OR REPLACE INTO search_meta (key, value) VALUES (?, ?)"),
    deleteMeta: db.prepare("DELETE FROM search_meta WHERE key = ?"),
    moved: db.prepare("SELECT seq, at FROM search_moved"),
    movedOf: db.prepare("SELECT at FROM search_moved WHERE seq = ?"),
    movedCount: db.prepare("SELECT count(*) FROM search_moved").pluck(),
    setMoved: db.prepare("INSERT OR REPLACE INTO search_moved (seq, at) VALUES (?, ?)"),
    clearMoved: db.prepare("DELETE FROM search_moved"),
    // The rows to delete or move back at a reclaim, as (term, rowid) pairs: masked ones (a moved seq's own rowid) and relocated ones.
    get maskedInstances() {
      return db.prepare(`SELECT term, doc FROM temp.search_instances WHERE doc >= ${RELOCATED_ROWIDS} OR doc IN (SELECT seq FROM search_moved)`);
    },
    putVector: db.prepare("INSERT OR REPLACE INTO search_vectors (seq, vector) VALUES (?, ?)"),
    vectors: db.prepare(
      "SELECT v.seq, m.id, n.name AS namespace, v.vector FROM search_vectors v JOIN memories m ON m.seq = v.seq JOIN namespaces n ON n.n = m.ns ORDER BY v.seq",
    ),
    matching: db.prepare("SELECT rowid FROM search_terms WHERE search_terms MATCH ?").pluck(),
    dataVersion: db.prepare("PRAGMA data_version").pluck(),
    totalChanges: db.prepare("SELECT total_changes()").pluck(),
    // The encoded vectors' bytes wherever they are kept (packed ones as decoded: n × width; the pages are bytes()).
    vectorPayload: db.prepare("SELECT coalesce((SELECT sum(length(vector)) FROM search_vectors), 0) + coalesce((SELECT sum(n * width) FROM search_vector_blocks), 0)").pluck(),
    pages: db.prepare("SELECT name, sum(pgsize) AS bytes FROM dbstat WHERE name = 'search_meta' OR name = 'search_vectors' OR name = 'search_vector_blocks' OR name LIKE 'search\\_terms\\_%' ESCAPE '\\' GROUP BY name"),
  };
}
