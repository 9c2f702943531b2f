import type Database from "better-sqlite3";
import type { Statement } from "better-sqlite3";
import type { MemoryFilter } from "../../core/store.js";
import { ErrorCode, MemzipError } from "../../errors.js";
import { KEYED_NAMESPACES, contentKey, decodeRun, encodeRuns, idKey, mergePairs, seqsOf, sortPairs, type KeyPairs, type KeyRun } from "../key-runs.js";
import { decodeBlock, encodeBlock, packable, type BlockContext, type PackedRow } from "../packed-block.js";
import { asBuffer } from "../rows.js";
import { TAGS_JSON, kindNumber, metaCondition, type MemoryRow } from "./rows.js";

/**
 * Sealed blocks `dropDamaged` set aside (made by the first): their bytes as they were, what reading them said, and
 * when. Nothing reads them again; they are kept so that no byte of a store is deleted by a repair.
 */
const DAMAGED_TABLE = `
  CREATE TABLE IF NOT EXISTS damaged_blocks (last_seq INTEGER NOT NULL, first_seq INTEGER NOT NULL, n INTEGER NOT NULL, ns INTEGER, data BLOB NOT NULL, error TEXT NOT NULL, set_aside_at INTEGER NOT NULL);`;

/** Rows a sealed block holds at most (256: the knee of block size against bytes, pack11-design.md). */
export const BLOCK_ROWS = 256;

/**
 * Sealable rows a store's first seal waits for: the sealed layout's six tables and their indexes take
 * ~9 pages of their own, so sealing a few rows makes the file larger (measured with `memzip compact` on
 * the first N dev records, 1 KiB pages: 10 rows 50 -> 58 KiB, 60 rows 60 -> 65, 120 rows 78 -> 74,
 * 250 rows 129 -> 114). Below it the rows stay hot; a block smaller than this (`blockRows`, tests) lowers it.
 */
export const FIRST_SEAL_ROWS = 128;

/**
 * The sealed layout's tables, made by the first seal (in its transaction: a seal that rolls back
 * leaves none), so a store that never seals keeps v2's pages. Reads find none and read `memories` alone.
 */
export const SEALED_TABLES = `
  CREATE TABLE IF NOT EXISTS memory_blocks (last_seq INTEGER PRIMARY KEY, first_seq INTEGER NOT NULL, n INTEGER NOT NULL, ns INTEGER /* NULL when mixed */, data BLOB NOT NULL);
  CREATE TABLE IF NOT EXISTS memory_block_usage (
    last_seq INTEGER NOT NULL, ns INTEGER NOT NULL, codec INTEGER NOT NULL, asset INTEGER,
    n INTEGER NOT NULL, original_bytes INTEGER NOT NULL, envelope_bytes INTEGER NOT NULL,
    PRIMARY KEY (last_seq, ns, codec, asset)
  );
  CREATE TABLE IF NOT EXISTS sealed_id_runs (first_key INTEGER PRIMARY KEY, data BLOB NOT NULL);
  CREATE TABLE IF NOT EXISTS sealed_content_runs (first_key INTEGER PRIMARY KEY, data BLOB NOT NULL);
  CREATE TABLE IF NOT EXISTS sealed_refs (content_of INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (content_of, seq)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS sealed_expiry (expires_at INTEGER NOT NULL, seq INTEGER NOT NULL, ns INTEGER NOT NULL, PRIMARY KEY (expires_at, seq)) WITHOUT ROWID;`;

/**
 * Envelope bytes a block holds at most (a row larger than this gets a block of its own): a cold read
 * decodes one block, and the cache below holds at most CACHED_BLOCKS of them. 256 rows of typical
 * memories (hundreds of bytes) stay far below it.
 */
export const BLOCK_BYTES = 256 * 1024;

/** Hot rows a seal reads at a time (it holds about this many and one block's in memory). */
const SEAL_PAGE_ROWS = 1024;

/** Decoded blocks kept per connection (invalidated whenever the store changes). */
const CACHED_BLOCKS = 32;

/** Decoded key run chunks kept per connection (~16 KB each; invalidated with the blocks). */
const CACHED_RUNS = 256;

/** The two sorted-run tables: the sealed rows' (ns, id_hash) keys, and their holders' checksums. */
type RunTable = "sealed_id_runs" | "sealed_content_runs";

/**
 * How the sealed rows' keys are kept: sorted runs (this build's seals), the exact `WITHOUT ROWID`
 * tables `sealed_ids` / `sealed_content` of a store sealed by an earlier build (read as they are until
 * the next seal replaces them), or none (nothing sealed yet).
 */
type KeyLayout = "runs" | "tables" | "none";

/** The `memories` columns, in the order a sealed row goes back into the table (every column the table has: checked at open). */
export const SEALED_COLUMNS = [
  "seq",
  "ns",
  "id",
  "id_hash",
  "kind",
  "created_at",
  "codec",
  "asset",
  "original_length",
  "checksum",
  "content_hash",
  "content_of",
  "version",
  "language",
  "tags_ref",
  "meta_ref",
  "expires_at",
  "envelope",
] as const satisfies readonly (keyof PackedRow)[];
const COLUMNS = SEALED_COLUMNS;

interface BlockRef {
  last_seq: number;
  first_seq: number;
  n: number;
  /** The namespace of every row of the block; null when they are of several. */
  ns: number | null;
}

/** A sealed block that could not be read: its seq range, how many rows it holds, and the error. */
export interface DamagedBlock {
  firstSeq: number;
  lastSeq: number;
  rows: number;
  error: MemzipError;
}

function blockError(block: BlockRef, what: string, cause?: unknown): MemzipError {
  return new MemzipError(ErrorCode.STORE, `the sealed block of seqs ${block.first_seq}..${block.last_seq} (${block.n} memories) could not be read: ${what}`, {
    hint: "`memzip verify` lists every damaged block and checks the rest; `memzip verify --set-aside-damaged` moves them out of the way, then import a backup or an export to store their memories again.",
    details: { firstSeq: block.first_seq, lastSeq: block.last_seq, rows: block.n },
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * A block's error as told to a reader of some of its namespaces: without the block's count of memories, which would tell
 * how many other namespaces' memories it holds (the reader is told its own count beside it).
 */
export function scopedBlockError(error: MemzipError): MemzipError {
  return new MemzipError(error.code, error.message.replace(/ \(\d+ memories\) could not be read/, " could not be read"), { ...(error.hint === undefined ? {} : { hint: error.hint }), details: error.details, cause: error });
}

/** The block a sealed read's error says cannot be read (`blockError`), or undefined for any other error. */
export function damagedBlockOf(error: unknown): DamagedBlock | undefined {
  if (!(error instanceof MemzipError) || error.code !== ErrorCode.STORE) return undefined;
  const { firstSeq, lastSeq, rows } = error.details;
  if (typeof firstSeq !== "number" || typeof lastSeq !== "number") return undefined;
  return { firstSeq, lastSeq, rows: typeof rows === "number" ? rows : 0, error };
}

/**
 * `work`'s result, or `otherwise` where it met a sealed block that cannot be read (`blockError`; handed to `onDamaged`
 * first); any other error is thrown.
 */
export function passingDamage<T>(work: () => T, otherwise: T, onDamaged?: (block: DamagedBlock) => void): T {
  try {
    return work();
  } catch (error) {
    const block = damagedBlockOf(error);
    if (!block) throw error;
    onDamaged?.(block);
    return otherwise;
  }
}

/** What sealing needs of the open store (database.ts's SqliteDatabase; an interface here, so the two modules do not import each other). */
export interface SealedHost {
  readonly db: Database.Database;
  /** Runs `work` in one immediate write transaction. */
  write<T>(work: () => T): T;
  /** Runs `work` in one read transaction (one snapshot), or in the open transaction. */
  read<T>(work: () => T): T;
  /** Whether what is read now may be kept past the open transaction (none open, or a read's). */
  readonly cacheable: boolean;
  /** Whether the open transaction is `write`'s, and a count that moves at every write's start and end. */
  readonly writing: boolean;
  readonly writes: number;
}

/**
 * A filter over sealed rows: exactly the SQL conditions of `SqliteMemories.filterWhere`, evaluated per
 * row; `namespaces` (when it admits only some) lets a walk skip the blocks of other namespaces whole.
 */
export type SealedPredicate = ((row: PackedRow) => boolean) & { namespaces?: ReadonlySet<number> };

/** A sealed row's keys: its id key always, its content key when it holds its text (not a reference). */
function addKeys(row: PackedRow, keys: { ids: KeyPairs; content: KeyPairs }): void {
  keys.ids.keys.push(idKey(row.ns, row.id_hash));
  keys.ids.seqs.push(row.seq);
  if (row.content_of === null && row.content_hash !== null) {
    keys.content.keys.push(contentKey(row.checksum));
    keys.content.seqs.push(row.seq);
  }
}

/**
 * The second home of memories rows (issue 11): rows packed in blocks (`memory_blocks`, the block
 * codec of store/packed-block.ts), with per-block sums (`memory_block_usage`), the sealed rows' id
 * and holder content keys as sorted runs (`sealed_id_runs`, `sealed_content_runs`: store/key-runs.ts;
 * rewritten by each seal, stale between seals, every candidate checked against its row), and exact
 * tables for the few references and expiring rows (`sealed_refs`, `sealed_expiry`). One rule keeps every write the v2 code: before any write to a sealed row (or to
 * a row whose references are sealed) its whole block moves back into `memories`, same seq and
 * columns, inside the same write transaction. A hot row's holder is always hot (unsealing a block
 * unseals the blocks of its rows' holders), so the hot SQL joins stay exact.
 */
export class SealedRows {
  private prepared: ReturnType<typeof prepare> | undefined;
  private tablesQuery: Statement | undefined;
  private tokenQuery: Statement | undefined;
  private readonly cache = new Map<number, PackedRow[]>();
  private readonly runCache = new Map<string, KeyRun>();
  private keyLayoutNow: KeyLayout | undefined;
  private keyStatements: ReturnType<typeof prepareKeys> | undefined;
  private token = "";
  private anyBlocks: boolean | undefined;
  private readonly names = { namespaces: new Map<number, string>(), codecs: new Map<number, string>() };
  readonly context: BlockContext;
  /** Raised by every seal this connection commits (the search index reloads its vectors then). */
  generation = 0;
  /** How `memories`' columns differ from SEALED_COLUMNS (`checkColumns`, at open): sealing is refused unless empty. */
  private columnDifference = "";

  /** Sealable rows the first seal of a store with no block waits for (FIRST_SEAL_ROWS, at most one block). */
  readonly firstSealRows: number;

  constructor(
    private readonly database: SealedHost,
    readonly blockRows = BLOCK_ROWS,
    firstSealRows = FIRST_SEAL_ROWS,
  ) {
    this.firstSealRows = Math.min(firstSealRows, blockRows);
    this.context = { assetRef: (asset) => this.statements.assetRef.get(asset) as Buffer | undefined };
  }

  /** The statements on the sealed tables: use only once they exist (`any()` true, or inside `seal` after it made them). */
  private get statements(): ReturnType<typeof prepare> {
    this.prepared ??= prepare(this.database);
    return this.prepared;
  }

  /**
   * Drops cached blocks when the store changed (another connection: data_version; this one:
   * total_changes). Inside a read transaction the token is its snapshot's (data_version changes
   * only when a read transaction starts on a newer state), so the cache serves the reads in it.
   */
  private fresh(): void {
    this.tokenQuery ??= this.database.db.prepare("SELECT (SELECT data_version FROM pragma_data_version) || ':' || total_changes()").pluck();
    // Inside `write` (it holds the write lock: only this connection changes the store, and `unsealAt` / `seal` reset
    // what they change) what is read is kept for the rest of that write and dropped at its end (`writes` moves then:
    // a rollback does not lower total_changes, so a token of the data would let a rolled-back read outlive it).
    // Inside any other transaction nothing is kept.
    let token: string;
    if (this.database.cacheable) token = this.tokenQuery.get() as string;
    else if (this.database.writing) token = `w${this.database.writes}`;
    else token = "";
    if (token === "") this.token = "-";
    if (token !== this.token) {
      this.token = token;
      this.forget();
    }
  }

  /** Drops what this connection knows of the sealed tables (blocks, key runs, which key layout). */
  private forget(): void {
    this.cache.clear();
    this.runCache.clear();
    this.anyBlocks = undefined;
    this.keyLayoutNow = undefined;
    this.keyStatements = undefined;
  }

  /** Which key layout the store has (asked again whenever the store changed). */
  private keyLayout(): KeyLayout {
    this.fresh();
    if (this.keyLayoutNow === undefined) {
      const tables = this.database.db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name IN ('sealed_id_runs', 'sealed_ids')").pluck().all() as string[];
      this.keyLayoutNow = tables.includes("sealed_id_runs") ? "runs" : tables.includes("sealed_ids") ? "tables" : "none";
    }
    return this.keyLayoutNow;
  }

  /** The statements on the key layout the store has (prepared again when it changed). */
  private keys(): ReturnType<typeof prepareKeys> {
    const layout = this.keyLayout();
    this.keyStatements ??= prepareKeys(this.database.db, layout);
    return this.keyStatements;
  }

  /**
   * The seqs a key run holds for `key` (one chunk: a key never straddles two). Candidates only: a run
   * may name seqs unsealed since the last seal (or taken again by a new row after a delete), so every
   * caller checks the row it names.
   */
  private runSeqs(table: RunTable, key: number): number[] {
    const s = this.keys();
    if (s.layout !== "runs") return [];
    const firstKey = (table === "sealed_id_runs" ? s.idChunk : s.contentChunk).get(key) as number | undefined;
    if (firstKey === undefined) return [];
    const name = `${table}:${firstKey}`;
    let run = this.runCache.get(name);
    if (!run) {
      const data = (table === "sealed_id_runs" ? s.idChunkData : s.contentChunkData).get(firstKey) as Buffer;
      run = decodeRun(data, firstKey);
      if (this.runCache.size >= CACHED_RUNS) this.runCache.delete(this.runCache.keys().next().value as string);
      this.runCache.set(name, run);
    }
    return seqsOf(run, key);
  }

  /** Candidate seqs of sealed rows of (ns, id hash). */
  private idSeqs(ns: number, hash: number): number[] {
    const s = this.keys();
    if (s.layout === "tables") return s.idSeqs.all(ns, hash) as number[];
    return ns < KEYED_NAMESPACES ? this.runSeqs("sealed_id_runs", idKey(ns, hash)) : [];
  }

  /** Candidate seqs of sealed holders of a checksum. */
  private contentSeqs(checksum: number): number[] {
    const s = this.keys();
    if (s.layout === "tables") return s.contentSeqs.all(checksum) as number[];
    return this.runSeqs("sealed_content_runs", contentKey(checksum));
  }

  /**
   * At open: compares `memories`' columns (PRAGMA table_info) with SEALED_COLUMNS. A column a block
   * does not hold would lose its values in a seal, so `seal` refuses while they differ.
   */
  checkColumns(): void {
    const table = (this.database.db.prepare("SELECT name FROM pragma_table_info('memories')").pluck().all() as string[]).sort();
    const known = new Set<string>(COLUMNS);
    const extra = table.filter((name) => !known.has(name));
    const missing = COLUMNS.filter((name) => !table.includes(name));
    this.columnDifference = [extra.length ? `not in a block: ${extra.join(", ")}` : "", missing.length ? `not in the table: ${missing.join(", ")}` : ""].filter(Boolean).join("; ");
  }

  /** Whether any row is sealed (most reads take the v2 SQL alone when none is; a store that never sealed has no sealed tables). */
  any(): boolean {
    this.fresh();
    this.anyBlocks ??= this.hasTables() && this.statements.anyBlock.get() !== undefined;
    return this.anyBlocks;
  }

  /** Whether the sealed tables exist (the first seal makes them); the statements on them are prepared only then. */
  private hasTables(): boolean {
    // Asked each time the cached answer of `any()` goes stale: a seal that rolled back takes its new tables with it.
    this.tablesQuery ??= this.database.db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'memory_blocks'");
    return this.tablesQuery.get() !== undefined;
  }

  /** The decoded rows of a block (a damaged one is E_STORE naming its seq range). */
  rowsOf(block: BlockRef): PackedRow[] {
    this.fresh();
    let rows = this.cache.get(block.last_seq);
    if (rows) {
      this.cache.delete(block.last_seq);
    } else {
      rows = this.decode(block);
      if (this.cache.size >= CACHED_BLOCKS) this.cache.delete(this.cache.keys().next().value as number);
    }
    this.cache.set(block.last_seq, rows);
    return rows;
  }

  /** A block's rows, decoded now (not cached), and checked against the block's row: its seq range, count and namespace. */
  private decode(block: BlockRef): PackedRow[] {
    const data = this.statements.blockData.get(block.last_seq) as Buffer | undefined;
    if (data === undefined) throw blockError(block, "it is missing");
    let rows: PackedRow[];
    try {
      rows = decodeBlock(data, remembering(this.context));
    } catch (error) {
      // packed-block.ts's error says "a sealed block ... could not be read (why)": the why, with the block named.
      const why = error instanceof MemzipError && error.cause instanceof Error ? error.cause.message : error instanceof Error ? error.message : String(error);
      throw blockError(block, why, error);
    }
    const mismatch = blockMismatch(block, rows);
    if (mismatch !== undefined) throw blockError(block, mismatch);
    return rows;
  }

  /** The block whose seq range holds `seq`, if any. */
  blockAt(seq: number): BlockRef | undefined {
    const block = this.statements.blockAt.get(seq) as BlockRef | undefined;
    return block && block.first_seq <= seq ? block : undefined;
  }

  bySeq(seq: number): PackedRow | undefined {
    const block = this.blockAt(seq);
    return block ? this.rowsOf(block).find((row) => row.seq === seq) : undefined;
  }

  /** `bySeq`, with none for a row in a block that cannot be read (E_STORE). */
  readableBySeq(seq: number): PackedRow | undefined {
    return passingDamage(() => this.bySeq(seq), undefined);
  }

  /** The sealed row of (ns, id), if any. */
  byId(ns: number, hash: number, id: string): PackedRow | undefined {
    for (const seq of this.idSeqs(ns, hash)) {
      const row = this.bySeq(seq);
      if (row && row.id === id && row.ns === ns) return row;
    }
    return undefined;
  }

  /** Sealed rows of an id in any namespace (looked up in each namespace that has sealed rows: `namespacesOf` is rare). */
  byIdAnyNamespace(hash: number, id: string): PackedRow[] {
    const found: PackedRow[] = [];
    for (const ns of this.statements.sealedNamespaces.all() as number[]) {
      const row = this.byId(ns, hash, id);
      if (row) found.push(row);
    }
    return found;
  }

  /** The sealed holder (content_of IS NULL) of a text in namespace `ns`, if any (texts are addressed within a namespace only). */
  holder(ns: number, hash: Buffer, checksum: number, originalLength: number, exceptSeq = 0): PackedRow | undefined {
    for (const seq of this.contentSeqs(checksum)) {
      if (seq === exceptSeq) continue;
      // A candidate in a block that cannot be read holds nothing a write could use: the write keeps its own envelope.
      const row = this.readableBySeq(seq);
      if (row && row.ns === ns && row.content_of === null && row.content_hash && row.checksum === checksum && row.original_length === originalLength && hash.equals(row.content_hash)) return row;
    }
    return undefined;
  }

  /** Blocks with rows after `after`, in seq order, a few at a time. */
  *blocksAfter(after: number): Generator<BlockRef> {
    let from = after;
    for (;;) {
      const blocks = this.statements.blocksAfter.all(from) as BlockRef[];
      if (blocks.length === 0) return;
      for (const block of blocks) yield block;
      from = (blocks[blocks.length - 1] as BlockRef).last_seq;
    }
  }

  /**
   * Sealed rows after `after` that `keep` accepts, in seq order, at most `limit`. With `onDamaged`,
   * a block that cannot be read is handed to it and skipped (else its E_STORE error is thrown).
   */
  rowsAfter(after: number, limit: number, keep: SealedPredicate | undefined, onDamaged?: (damage: DamagedBlock) => void, until = Infinity): PackedRow[] {
    const out: PackedRow[] = [];
    if (limit <= 0) return out;
    const namespaces = keep?.namespaces;
    for (const block of this.blocksAfter(after)) {
      // Past `until` (the caller has its rows up to there already) nothing more is wanted.
      if (block.first_seq > until) return out;
      // A block of one namespace the filter does not admit holds nothing wanted: not decoded.
      if (namespaces && block.ns !== null && !namespaces.has(block.ns)) continue;
      let rows: PackedRow[];
      try {
        rows = this.rowsOf(block);
      } catch (error) {
        const damaged = damagedBlockOf(error);
        if (!damaged) throw error;
        // A mixed block holding none of the wanted namespaces' rows (its per-block sums say so) hides nothing wanted.
        if (namespaces && this.countInRange(block.first_seq, block.last_seq, [...namespaces]) === 0) continue;
        if (!onDamaged) throw error;
        onDamaged(damaged);
        continue;
      }
      for (const row of rows) {
        if (row.seq > until) return out;
        if (row.seq <= after || (keep && !keep(row))) continue;
        out.push(row);
        if (out.length >= limit) return out;
      }
    }
    return out;
  }

  /**
   * A sealed row as the summary / envelope queries give a hot one (names, holder id and envelope,
   * tags and meta JSON). Its bytes are copies, as SQL gives fresh ones: a caller that changes them
   * does not change the cached block.
   */
  toMemoryRow(row: PackedRow): MemoryRow {
    let contentOf: string | null = null;
    let envelope: Buffer | null = Buffer.from(row.envelope);
    if (row.content_of !== null) {
      const holder = (this.statements.hotHolder.get(row.content_of) as { id: string; envelope: Buffer } | undefined) ?? this.sealedHolder(row.content_of);
      contentOf = holder?.id ?? null;
      envelope = holder?.envelope ?? null;
    }
    return {
      seq: row.seq,
      id: row.id,
      namespace: this.namespaceName(row.ns),
      kind: row.kind,
      tags: this.value(row.tags_ref),
      created_at: row.created_at,
      meta: this.value(row.meta_ref),
      codec: this.codecName(row.codec),
      original_length: row.original_length,
      checksum: row.checksum,
      asset_id: row.asset === null ? null : ((this.statements.assetId.get(row.asset) as string | undefined) ?? null),
      content_of: contentOf,
      content_hash: row.content_hash === null ? null : Buffer.from(row.content_hash),
      language: row.language,
      version: row.version,
      expires_at: row.expires_at,
      stored_length: row.envelope.length,
      envelope: envelope as Buffer,
    };
  }

  /**
   * The sealed holder of a reference's text. One in a block that cannot be read is none: the reference then reads as a
   * damaged envelope of its own (E_FORMAT), so that a scan (`verify`, `export --skip-bad`) reports it and goes on instead
   * of stopping at a block it is not walking.
   */
  private sealedHolder(seq: number): { id: string; envelope: Buffer } | undefined {
    const holder = this.readableBySeq(seq);
    return holder && { id: holder.id, envelope: Buffer.from(holder.envelope) };
  }

  namespaceName(ns: number): string {
    let name = this.names.namespaces.get(ns);
    if (name === undefined) {
      name = this.statements.namespaceName.get(ns) as string;
      if (this.database.cacheable) this.names.namespaces.set(ns, name);
    }
    return name;
  }

  codecName(codec: number): string {
    let name = this.names.codecs.get(codec);
    if (name === undefined) {
      name = this.statements.codecName.get(codec) as string;
      if (this.database.cacheable) this.names.codecs.set(codec, name);
    }
    return name;
  }

  private value(ref: number | null): string | null {
    return ref === null ? null : ((this.statements.value.get(ref) as string | undefined) ?? null);
  }

  /** The JS twin of `filterWhere`'s SQL: the JSON conditions run in SQLite itself, once per distinct tags / meta value. */
  predicate(filter: MemoryFilter, namespaces: readonly number[] | undefined): SealedPredicate {
    const db = this.database.db;
    const ns = namespaces && new Set(namespaces);
    const kind = filter.kind === undefined ? undefined : kindNumber(filter.kind);
    const tagConditions: string[] = [];
    const tagParams: string[] = [];
    for (const tag of new Set(filter.tags ?? [])) {
      tagConditions.push(`json_valid(${TAGS_JSON}) AND EXISTS (SELECT 1 FROM json_each(${TAGS_JSON}) t WHERE t.value = ?)`);
      tagParams.push(tag);
    }
    const anyTags = [...new Set(filter.anyTags ?? [])];
    if (anyTags.length > 0) {
      tagConditions.push(`json_valid(${TAGS_JSON}) AND EXISTS (SELECT 1 FROM json_each(${TAGS_JSON}) t WHERE t.value IN (${anyTags.map(() => "?").join(", ")}))`);
      tagParams.push(...anyTags);
    }
    const metaConditions: string[] = [];
    const metaParams: (string | number)[] = [];
    for (const [key, value] of Object.entries(filter.meta ?? {})) {
      const condition = metaCondition(key, value);
      metaConditions.push(condition.sql);
      metaParams.push(...condition.params);
    }
    const jsonTest = (conditions: string[], params: (string | number)[], alias: string) => {
      if (conditions.length === 0) return undefined;
      const statement = db.prepare(`SELECT (${conditions.map((c) => `(${c})`).join(" AND ")}) IS 1 FROM (SELECT ? AS json) ${alias}`).pluck();
      const seen = new Map<number | null, boolean>();
      return (ref: number | null): boolean => {
        let ok = seen.get(ref);
        if (ok === undefined) {
          ok = (statement.get(...params, this.value(ref)) as number) === 1;
          seen.set(ref, ok);
        }
        return ok;
      };
    };
    const tagsOk = jsonTest(tagConditions, tagParams, "tv");
    const metaOk = jsonTest(metaConditions, metaParams, "mv");
    const updated = filter.updatedFrom !== undefined || filter.updatedBefore !== undefined ? this.statements.updatedAt : undefined;
    const test: SealedPredicate = (row) => {
      if (ns && !ns.has(row.ns)) return false;
      if (kind !== undefined && row.kind !== kind) return false;
      if (filter.createdFrom !== undefined && !(row.created_at >= filter.createdFrom)) return false;
      if (filter.createdBefore !== undefined && !(row.created_at < filter.createdBefore)) return false;
      if (updated) {
        const at = updated.get(row.seq, row.created_at) as number;
        if (filter.updatedFrom !== undefined && !(at >= filter.updatedFrom)) return false;
        if (filter.updatedBefore !== undefined && !(at < filter.updatedBefore)) return false;
      }
      if (filter.activeAt !== undefined && !(row.expires_at === null || row.expires_at > filter.activeAt)) return false;
      if (filter.expiredBy !== undefined && !(row.expires_at !== null && row.expires_at <= filter.expiredBy)) return false;
      if (tagsOk && !tagsOk(row.tags_ref)) return false;
      if (metaOk && !metaOk(row.meta_ref)) return false;
      return true;
    };
    if (ns) test.namespaces = ns;
    return test;
  }

  /** Sealed rows expired by `at` (sealed_expiry), in seq order, after `after`. */
  expiredSeqs(at: number, after: number): number[] {
    return (this.statements.expiredSeqs.all(at, after) as number[]).sort((a, b) => a - b);
  }

  anyExpired(at: number): boolean {
    return this.statements.anyExpired.get(at) !== undefined;
  }

  /**
   * Seals every hot row the block codec can hold exactly (a row it refuses stays hot, and so does the
   * holder of such a reference) (call inside no transaction: it takes its own): cut into runs of at most
   * `blockRows` consecutive rows that do not straddle an existing block, each encoded, decoded back
   * and compared column by column before it is inserted with its sums and keys; the hot rows go in
   * the same transaction. The search index's rows (keyed by seq) stay: its delete trigger is set
   * aside for the seal. A store with no block yet is sealed only from `firstSealRows` sealable rows on
   * (`always`: from one; the test-only `sealAfterWrites`). Returns how many rows were sealed.
   */
  seal(options: { readonly always?: boolean } = {}): number {
    if (this.columnDifference !== "") {
      throw new MemzipError(ErrorCode.STORE, `the memories table's columns are not the ones a sealed block holds (${this.columnDifference}); nothing was sealed`, {
        hint: "A column was added to memories without adding it to sealed.ts's SEALED_COLUMNS and the block codec (packed-block.ts): sealing would drop its values.",
      });
    }
    try {
      return this.sealHotRows(options.always === true);
    } catch (error) {
      // Rolled back: every row stays hot, and reads and writes go on as before.
      if (error instanceof Unpackable) return 0;
      throw error;
    }
  }

  private sealHotRows(always: boolean): number {
    const db = this.database.db;
    const sealed = this.database.write(() => {
      const hotBefore = db.prepare("SELECT count(*) FROM memories").pluck().get() as number;
      // Whether this store has a block before this seal (a short last block unsealed below still counts: review24 I3).
      const sealedBefore = this.any();
      // A short last block with hot rows after it goes back first and is sealed again with them: compacts
      // after a few writes each would otherwise leave a trail of small blocks.
      if (hotBefore > 0 && this.any()) {
        const last = this.statements.lastBlock.get() as BlockRef | undefined;
        if (last && last.n < this.blockRows && this.statements.hotAfter.get(last.last_seq) !== undefined) this.unsealAt(last.last_seq);
      }
      // The hot rows are read a page at a time (twice: first which stay hot, then the runs), so a seal holds
      // about a page and a block of rows in memory, not the whole table.
      const page = db.prepare(`SELECT ${COLUMNS.join(", ")} FROM memories WHERE seq > ? ORDER BY seq LIMIT ${SEAL_PAGE_ROWS}`);
      const hotRows = function* (): Generator<PackedRow> {
        for (let after = 0; ; ) {
          const rows = page.all(after) as PackedRow[];
          if (rows.length === 0) return;
          yield* rows;
          after = (rows[rows.length - 1] as PackedRow).seq;
        }
      };
      // Rows the block codec cannot hold exactly (not a safe integer, ...) stay hot, and so does the holder of
      // such a reference (a hot row's holder is always hot: the v2 SQL joins rely on it).
      const stay = new Set<number>();
      let hot = 0;
      for (const row of hotRows()) {
        hot++;
        if (packable(row) && row.ns < KEYED_NAMESPACES) continue;
        stay.add(row.seq);
        if (row.content_of !== null) stay.add(row.content_of);
      }
      // A store sealed by an earlier build keeps its keys in exact tables: the first seal by this build
      // moves them into runs, even when no row is left to seal.
      const legacyKeys = this.keyLayout() === "tables";
      if (hot === stay.size && !legacyKeys) return 0;
      // A store with no block yet seals once enough rows pay for the sealed tables' own pages (FIRST_SEAL_ROWS).
      if (!legacyKeys && !always && hot - stay.size < this.firstSealRows && !sealedBefore) return 0;
      // The blocks before this seal's: their keys in the runs (or the legacy tables) are exact except for the
      // blocks unsealed since (a run's entry of a seq no block of these holds is stale and goes now).
      const before = this.any() ? [...this.blocksAfter(0)] : [];
      const added = { ids: { keys: [], seqs: [] } as KeyPairs, content: { keys: [], seqs: [] } as KeyPairs };
      db.exec(SEALED_TABLES);
      const trigger = this.statements.forgetTrigger.get() as string | undefined;
      if (trigger !== undefined) db.exec("DROP TRIGGER search_forget_deleted");
      const s = this.statements;
      // A block's seq range is the seal's: a search index entry in it of no row of the block (a vector an index
      // batch stored for a memory deleted meanwhile) would make the index count the block complete while one of
      // its rows has no vector (never pending again). Such entries go with the seal.
      // (A search index of format 4 keeps its keyword rows and masks them in search_moved; format 3 deletes them.)
      const masked = trigger !== undefined && db.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'search_moved'").get() !== undefined;
      const forgetTerms = masked ? "INSERT OR REPLACE INTO search_moved (seq, at) VALUES (?, NULL)" : "DELETE FROM search_terms WHERE rowid = ?";
      const indexed = trigger === undefined ? undefined : { seqs: db.prepare("SELECT seq FROM search_vectors WHERE seq BETWEEN ? AND ?").pluck(), vector: db.prepare("DELETE FROM search_vectors WHERE seq = ?"), terms: db.prepare(forgetTerms) };
      const sealRun = (rows: PackedRow[]): void => {
        if (indexed) {
          const own = new Set(rows.map((row) => row.seq));
          for (const seq of indexed.seqs.all((rows[0] as PackedRow).seq, (rows[rows.length - 1] as PackedRow).seq) as number[]) {
            if (own.has(seq)) continue;
            indexed.vector.run(seq);
            indexed.terms.run(seq);
          }
        }
        let data: Uint8Array;
        try {
          data = encodeBlock(rows, remembering(this.context));
        } catch (error) {
          // A row the block codec cannot hold exactly (packed-block.ts names its seq): nothing is sealed this time.
          if (error instanceof MemzipError && error.details.seq !== undefined) throw new Unpackable(error);
          throw error;
        }
        const back = decodeBlock(data, remembering(this.context));
        verifyBlock(rows, back);
        const first = (rows[0] as PackedRow).seq;
        const last = (rows[rows.length - 1] as PackedRow).seq;
        const ns = rows.every((row) => row.ns === (rows[0] as PackedRow).ns) ? (rows[0] as PackedRow).ns : null;
        s.insertBlock.run(last, first, rows.length, ns, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
        const usage = new Map<string, { ns: number; codec: number; asset: number | null; n: number; original: number; envelope: number }>();
        for (const row of rows) {
          const key = `${row.ns}:${row.codec}:${row.asset}`;
          const sum = usage.get(key) ?? { ns: row.ns, codec: row.codec, asset: row.asset, n: 0, original: 0, envelope: 0 };
          sum.n++;
          sum.original += row.original_length;
          sum.envelope += row.envelope.length;
          usage.set(key, sum);
          addKeys(row, added);
          if (row.content_of !== null) s.insertRef.run(row.content_of, row.seq);
          if (row.expires_at !== null) s.insertExpiry.run(row.expires_at, row.seq, row.ns);
          s.deleteHot.run(row.seq);
        }
        for (const sum of usage.values()) s.insertUsage.run(last, sum.ns, sum.codec, sum.asset, sum.n, sum.original, sum.envelope);
      };
      // Runs in seq order, each sealed as soon as it ends (the next page is read after the seq it ended at).
      let run: PackedRow[] = [];
      let runBytes = 0;
      let previous = 0;
      const endRun = (): void => {
        if (run.length > 0) sealRun(run);
        run = [];
        runBytes = 0;
      };
      for (const row of hot === stay.size ? [] : hotRows()) {
        if (stay.has(row.seq)) {
          // A row left hot ends the run: a block's seq range never holds a hot row.
          endRun();
          continue;
        }
        // A block already sealed between the previous hot row and this one ends the run.
        const between = run.length > 0 && this.statements.blockBetween.get(previous, row.seq) !== undefined;
        if (run.length > 0 && (run.length >= this.blockRows || between || runBytes + row.envelope.length > BLOCK_BYTES)) endRun();
        run.push(row);
        runBytes += row.envelope.length;
        previous = row.seq;
      }
      endRun();
      this.rewriteRuns(before, added, legacyKeys);
      if (trigger !== undefined) db.exec(trigger);
      // Blocks were made: what this write knew of them goes.
      this.forget();
      // Rows sealed now that were hot before (not the rows of a short block sealed again).
      return hot === stay.size ? 0 : hotBefore - stay.size;
    });
    if (sealed > 0) this.generation++;
    return sealed;
  }

  /**
   * The seal's last step: each key run becomes its entries whose seq a block of `before` still holds
   * (those are exact: a sealed block never changes, blocks are only made by a seal, and the runs were
   * exact for every block at the seal before) merged with the keys of the rows sealed now; the runs are
   * written again whole. From the legacy tables (exact: the earlier build kept them so), the same, and the
   * tables go.
   */
  private rewriteRuns(before: readonly BlockRef[], added: { ids: KeyPairs; content: KeyPairs }, legacyKeys: boolean): void {
    const db = this.database.db;
    const held = (seq: number): boolean => {
      let lo = 0;
      let hi = before.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((before[mid] as BlockRef).last_seq < seq) lo = mid + 1;
        else hi = mid;
      }
      const block = before[lo];
      return block !== undefined && block.first_seq <= seq;
    };
    const kept = (pairs: Iterable<[number, number]>): KeyPairs => {
      const out: KeyPairs = { keys: [], seqs: [] };
      for (const [key, seq] of pairs) {
        if (!held(seq)) continue;
        out.keys.push(key);
        out.seqs.push(seq);
      }
      return out;
    };
    const fromRuns = (table: RunTable): KeyPairs => {
      const out: KeyPairs = { keys: [], seqs: [] };
      for (const [firstKey, data] of db.prepare(`SELECT first_key, data FROM ${table} ORDER BY first_key`).raw().all() as [number, Buffer][]) {
        const run = decodeRun(data, firstKey);
        for (let i = 0; i < run.keys.length; i++) {
          const seq = run.seqs[i] as number;
          if (!held(seq)) continue;
          out.keys.push(run.keys[i] as number);
          out.seqs.push(seq);
        }
      }
      return out;
    };
    const fromTable = function* (sql: string, key: (row: [number, number, number]) => number): Generator<[number, number]> {
      for (const row of db.prepare(sql).raw().iterate() as Iterable<[number, number, number]>) yield [key(row), row[row.length - 1] as number];
    };
    const write = (table: RunTable, old: KeyPairs, fresh: KeyPairs): void => {
      const all = mergePairs(legacyKeys ? sortPairs(old) : old, sortPairs(fresh));
      db.exec(`DELETE FROM ${table}`);
      const insert = db.prepare(`INSERT INTO ${table} (first_key, data) VALUES (?, ?)`);
      for (const [firstKey, data] of encodeRuns(all)) insert.run(firstKey, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    };
    if (legacyKeys) {
      // Read in full before the tables go (the iterators are done when `kept` returns).
      const ids = kept(fromTable("SELECT ns, id_hash, seq FROM sealed_ids", (row) => (row[0] < KEYED_NAMESPACES ? idKey(row[0], row[1]) : -1)));
      const content = kept(fromTable("SELECT checksum, seq FROM sealed_content", (row) => contentKey(row[0])));
      if (ids.keys.some((key) => key < 0)) {
        throw new MemzipError(ErrorCode.STORE, `a sealed row's namespace number is ${KEYED_NAMESPACES} or more; the keys were not moved into runs`, {
          hint: "Unseal the store (open with `seal: false` and write every sealed row) or report it with `memzip stats --json` output.",
        });
      }
      write("sealed_id_runs", ids, added.ids);
      write("sealed_content_runs", content, added.content);
      db.exec("DROP TABLE sealed_ids; DROP TABLE sealed_content;");
    } else {
      let ids: KeyPairs;
      let content: KeyPairs;
      try {
        ids = fromRuns("sealed_id_runs");
        content = fromRuns("sealed_content_runs");
      } catch (error) {
        // A damaged chunk (checksum): the runs are derived from the blocks, so they are made again from them.
        if (!(error instanceof MemzipError) || error.code !== ErrorCode.STORE) throw error;
        ({ ids, content } = this.keysOfBlocks(before));
      }
      write("sealed_id_runs", ids, added.ids);
      write("sealed_content_runs", content, added.content);
    }
  }

  /** The id and content keys of every row of these blocks (each decoded), sorted: what the runs hold when exact. */
  private keysOfBlocks(blocks: readonly BlockRef[]): { ids: KeyPairs; content: KeyPairs } {
    const ids: KeyPairs = { keys: [], seqs: [] };
    const content: KeyPairs = { keys: [], seqs: [] };
    for (const block of blocks) {
      const rows = this.decode(block);
      for (const row of rows) addKeys(row, { ids, content });
    }
    return { ids: sortPairs(ids), content: sortPairs(content) };
  }

  /** The key-run tables with a chunk that does not read back (its checksum), with the first such chunk's error. */
  damagedRuns(): { table: RunTable; error: MemzipError }[] {
    if (!this.any() || this.keyLayout() !== "runs") return [];
    const db = this.database.db;
    const damaged: { table: RunTable; error: MemzipError }[] = [];
    for (const table of ["sealed_id_runs", "sealed_content_runs"] as const) {
      try {
        for (const [firstKey, data] of db.prepare(`SELECT first_key, data FROM ${table}`).raw().all() as [number, Buffer][]) decodeRun(data, firstKey);
      } catch (error) {
        if (!(error instanceof MemzipError) || error.code !== ErrorCode.STORE) throw error;
        damaged.push({ table, error });
      }
    }
    return damaged;
  }

  /**
   * Makes the key runs again from the blocks when a chunk of them does not read back (its checksum):
   * `compact` calls it, so a damaged run costs one compact, never the rows. True when it rebuilt them.
   */
  repairRuns(): boolean {
    if (this.damagedRuns().length === 0) return false;
    const db = this.database.db;
    this.database.write(() => {
      const { ids, content } = this.keysOfBlocks([...this.blocksAfter(0)]);
      for (const [table, pairs] of [["sealed_id_runs", ids], ["sealed_content_runs", content]] as const) {
        db.exec(`DELETE FROM ${table}`);
        const insert = db.prepare(`INSERT INTO ${table} (first_key, data) VALUES (?, ?)`);
        for (const [firstKey, data] of encodeRuns(pairs)) insert.run(firstKey, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      }
    });
    this.forget();
    return true;
  }

  /**
   * Sets aside every sealed block that does not read back (its checksum, its frame), inside the caller's write
   * transaction: its bytes move to `damaged_blocks` (kept as they were, never read again), and what the store keeps
   * about its rows goes with it — usage sums, reference and expiry keys, kept history, summaries — so that the rest
   * of the store works again: a write of one of its ids stores it anew, `compact` and seals run. The key runs keep
   * the rows' keys until the next seal (a look-up checks the row a key names: there is none). The rows' texts were
   * already unreadable. A memory elsewhere that read its text from one of them (a reference) has no holder left:
   * it moves into `memories` with an empty envelope and no content key (so no write ever takes it for a holder, and
   * no later row given the holder's seq stands in for it), fails as a damaged envelope does (E_FORMAT), and is
   * repaired by writing its text again. Returns the blocks set aside, oldest first.
   */
  dropDamaged(at: number): DamagedBlock[] {
    if (!this.any()) return [];
    const db = this.database.db;
    const dropped: DamagedBlock[] = [];
    for (const block of this.blocksAfter(0)) {
      try {
        this.decode(block);
      } catch (error) {
        if (!(error instanceof MemzipError) || error.code !== ErrorCode.STORE) throw error;
        dropped.push({ firstSeq: block.first_seq, lastSeq: block.last_seq, rows: block.n, error });
      }
    }
    if (dropped.length === 0) return dropped;
    db.exec(DAMAGED_TABLE);
    const tables = new Set(db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all() as string[]);
    const keep = db.prepare(
      "INSERT INTO damaged_blocks (last_seq, first_seq, n, ns, data, error, set_aside_at) SELECT last_seq, first_seq, n, ns, data, ?, ? FROM memory_blocks WHERE last_seq = ?",
    );
    // Only rows of the block: a seq in its range that a hot row has (none should) keeps what is its, and so does a seq
    // another block holds (a block set aside because its entry's range was damaged may claim other blocks' seqs; the
    // block's own entry is deleted before these run).
    // `column` qualified by its table: inside the subqueries a bare `seq` would be the subquery's own (review of stop 63).
    const inOtherBlock = (column: string) => `EXISTS (SELECT 1 FROM memory_blocks b WHERE ${column} BETWEEN b.first_seq AND b.last_seq)`;
    const elsewhere = (column: string) => `NOT ${inOtherBlock(column)} AND NOT EXISTS (SELECT 1 FROM memories h WHERE h.seq = ${column})`;
    const inBlock = (table: string) => `${table}.seq BETWEEN ? AND ? AND ${table}.seq NOT IN (SELECT seq FROM memories WHERE seq BETWEEN ? AND ?) AND NOT ${inOtherBlock(`${table}.seq`)}`;
    const forget = ["sealed_refs", "sealed_expiry", "memory_versions", "semantic"].filter((table) => tables.has(table)).map((table) => db.prepare(`DELETE FROM ${table} WHERE ${inBlock(table)}`));
    const s = this.statements;
    for (const { firstSeq, lastSeq, error } of dropped) {
      keep.run(error.message, at, lastSeq);
      s.deleteBlock.run(lastSeq);
      s.deleteUsage.run(lastSeq);
      for (const statement of forget) statement.run(firstSeq, lastSeq, firstSeq, lastSeq);
    }
    // References to the rows set aside, sealed in other blocks (moved into memories first) or hot.
    const referencing = db
      .prepare(`SELECT seq FROM sealed_refs WHERE content_of BETWEEN ? AND ? AND ${elsewhere("sealed_refs.content_of")} UNION SELECT seq FROM memories WHERE content_of BETWEEN ? AND ? AND ${elsewhere("memories.content_of")}`)
      .pluck();
    const orphan = db.prepare(`UPDATE memories SET content_of = NULL, content_hash = NULL, envelope = x'' WHERE seq = ? AND content_of BETWEEN ? AND ? AND ${elsewhere("memories.content_of")}`);
    for (const { firstSeq, lastSeq } of dropped) {
      for (const seq of referencing.all(firstSeq, lastSeq, firstSeq, lastSeq) as number[]) {
        this.unsealAt(seq);
        orphan.run(seq, firstSeq, lastSeq);
      }
      db.prepare(`DELETE FROM sealed_refs WHERE content_of BETWEEN ? AND ? AND ${elsewhere("sealed_refs.content_of")}`).run(firstSeq, lastSeq);
    }
    // Counts kept under a block key no entry has any more (an entry whose key was damaged was set aside under it).
    db.exec("DELETE FROM memory_block_usage WHERE last_seq NOT IN (SELECT last_seq FROM memory_blocks)");
    this.cache.clear();
    this.runCache.clear();
    this.anyBlocks = undefined;
    return dropped;
  }

  /** Moves the block holding `seq` back into `memories` (inside the caller's write transaction), and the blocks of its rows' holders; false when no block holds it. */
  unsealAt(seq: number): boolean {
    const block = this.blockAt(seq);
    if (!block) return false;
    const rows = this.decode(block);
    const s = this.statements;
    s.deleteBlock.run(block.last_seq);
    s.deleteUsage.run(block.last_seq);
    for (const row of rows) {
      // The key runs keep this row's keys until the next seal (a look-up checks the row a key names).
      s.insertHot.run(...COLUMNS.map((column) => toSql(row[column])));
      if (row.content_of !== null) s.deleteRef.run(row.content_of, row.seq);
      if (row.expires_at !== null) s.deleteExpiry.run(row.expires_at, row.seq);
    }
    this.cache.clear();
    this.anyBlocks = undefined;
    // A holder in a block that cannot be read stays there: the reference reads as damaged (no hot holder), as it did
    // sealed, and a write of it (a repair, another text, a delete) replaces it without the holder.
    for (const row of rows) if (row.content_of !== null) this.unsealReadable(row.content_of);
    return true;
  }

  /** `unsealAt`, passing over a block that cannot be read (E_STORE; nothing of it moved): false then. */
  private unsealReadable(seq: number): boolean {
    return passingDamage(() => this.unsealAt(seq), false);
  }

  /**
   * Before a write to (ns, id) (inside its transaction): its row, if sealed, moves back into
   * `memories`, and so do the sealed references of the (now hot) row.
   */
  beforeWrite(ns: number, hash: number, id: string): void {
    if (!this.any()) return;
    const sealed = this.byId(ns, hash, id);
    if (sealed) this.unsealAt(sealed.seq);
    const seq = this.statements.hotSeq.get(ns, hash, id) as number | undefined;
    if (seq !== undefined) this.unsealReferencesOf(seq);
  }

  /** The sealed rows that read their text from `seq` move back into `memories`. */
  unsealReferencesOf(seq: number): void {
    for (;;) {
      const reference = this.statements.firstRef.get(seq) as number | undefined;
      if (reference === undefined) return;
      // A key row whose block is gone (a hand edit) names no row, and a reference in a block that cannot be read
      // reads nothing (nor would it with this row's envelope): its key row goes, or this loop would never end.
      if (!this.unsealReadable(reference)) this.statements.deleteRef.run(seq, reference);
    }
  }

  /** Before a put looks for a holder of its text among its namespace's hot rows: a sealed holder there moves back into `memories`. */
  beforeContentLookup(ns: number, hash: Buffer, checksum: number, originalLength: number, exceptSeq: number): void {
    if (!this.any()) return;
    const holder = this.holder(ns, hash, checksum, originalLength, exceptSeq);
    if (holder) this.unsealAt(holder.seq);
  }

  /** The next seq a new row takes: after every hot and sealed row. */
  nextSeq(): number | null {
    return !this.any() || this.statements.maxSealed.get() === null ? null : (this.statements.nextSeq.get() as number);
  }

  /** Sums of the sealed rows by codec (all namespaces). */
  usageByCodec(): { codec: string; memories: number; originalBytes: number; storedBytes: number }[] {
    return this.statements.usageByCodec.all() as { codec: string; memories: number; originalBytes: number; storedBytes: number }[];
  }

  /** Sums of a namespace's sealed rows by codec, from the per-block sums (no block decoded). */
  namespaceUsageByCodec(ns: number): { codec: string; memories: number; originalBytes: number; storedBytes: number }[] {
    return this.statements.usageByCodecNamespace.all(ns) as { codec: string; memories: number; originalBytes: number; storedBytes: number }[];
  }

  /**
   * The rows of namespace `ns` in the blocks that hold a reference (`sealed_refs`; a block of another namespace left
   * out), in seq order, with the blocks decoded: the only sealed rows whose charge the per-block sums cannot tell.
   * A block that cannot be read is skipped (not in `blocks`).
   */
  referenceBlockRows(ns: number): { rows: PackedRow[]; blocks: number[] } {
    const rows: PackedRow[] = [];
    const blocks: number[] = [];
    for (const block of this.statements.referenceBlocks.all(ns) as BlockRef[]) {
      const decoded = passingDamage(() => this.rowsOf(block), undefined);
      if (decoded === undefined) continue;
      blocks.push(block.last_seq);
      for (const row of decoded) if (row.ns === ns) rows.push(row);
    }
    return { rows, blocks };
  }

  /** How many of one block's rows each namespace holds (from its per-block sums: read without decoding the block). */
  blockNamespaces(lastSeq: number): { namespace: string; memories: number }[] {
    return (this.statements.blockNamespaces.all(lastSeq) as { ns: number; n: number }[]).map((row) => ({ namespace: this.namespaceName(row.ns), memories: row.n }));
  }

  /** One block's rows of a namespace, by codec, from its per-block sums (read without decoding the block). */
  blockUsage(lastSeq: number, ns: number): { codec: string; memories: number; originalBytes: number; storedBytes: number }[] {
    return this.statements.blockUsage.all(lastSeq, ns) as { codec: string; memories: number; originalBytes: number; storedBytes: number }[];
  }

  count(ns?: number): number {
    return (ns === undefined ? this.statements.count.get() : this.statements.countNamespace.get(ns)) as number;
  }

  /** Sealed rows using each asset (of one namespace, or all). */
  assetCounts(ns?: number): { asset: number; n: number }[] {
    return (ns === undefined ? this.statements.assetCounts.all() : this.statements.assetCountsNamespace.all(ns)) as { asset: number; n: number }[];
  }

  assetUsed(asset: number): boolean {
    return this.statements.assetUsed.get(asset) !== undefined;
  }

  /** Sealed rows with seqs in [first, last] (of these namespaces, or all): what a damaged block held. */
  countInRange(first: number, last: number, namespaces?: readonly number[]): number {
    // Block ranges never overlap: the blocks inside [first, last] are the ones whose last seq is.
    if (namespaces === undefined) return this.statements.countRange.get(first, last) as number;
    let n = 0;
    for (const ns of namespaces) n += this.statements.countRangeNamespace.get(first, last, ns) as number;
    return n;
  }

  countExpired(at: number, ns?: number): number {
    return (ns === undefined ? this.statements.countExpired.get(at) : this.statements.countExpiredNamespace.get(at, ns)) as number;
  }

  /** Of `seqs`, the ones a sealed row has (each block that may hold one decoded once). */
  heldSeqs(seqs: Iterable<number>): Set<number> {
    const held = new Set<number>();
    const blocks = new Map<number, Set<number>>();
    for (const seq of seqs) {
      const block = this.blockAt(seq);
      if (!block) continue;
      let rows = blocks.get(block.last_seq);
      if (!rows) blocks.set(block.last_seq, (rows = new Set(this.rowsOf(block).map((row) => row.seq))));
      if (rows.has(seq)) held.add(seq);
    }
    return held;
  }

  /** Removes from `values` the tags/meta value refs some sealed row uses, decoding blocks only until none is left. */
  dropUsedValues(values: Set<number>): void {
    for (const block of this.blocksAfter(0)) {
      if (values.size === 0) return;
      for (const row of this.rowsOf(block)) {
        if (row.tags_ref !== null) values.delete(row.tags_ref);
        if (row.meta_ref !== null) values.delete(row.meta_ref);
      }
    }
  }
}

/** A row the block codec refuses (the seal rolls back and leaves every row hot). */
class Unpackable extends Error {
  constructor(override readonly cause: MemzipError) {
    super(cause.message);
  }
}

function toSql(value: PackedRow[keyof PackedRow]): number | string | Buffer | null {
  return value instanceof Uint8Array ? asBuffer(value) : value;
}

function same(a: PackedRow[keyof PackedRow], b: PackedRow[keyof PackedRow]): boolean {
  if (a instanceof Uint8Array || b instanceof Uint8Array) return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.compare(asBuffer(a), asBuffer(b)) === 0;
  return a === b;
}

/**
 * Why a block's decoded rows are not the ones its row in `memory_blocks` says it holds, or undefined. A block is written
 * once, with its first and last seq, count and namespace taken from its rows: a changed seq range (a flipped bit in the
 * table's key, two blocks' data swapped) hid the rows outside it from reads by seq and id while scans, `verify` and
 * `export` went on without a word (hostile trial of stop 63).
 */
function blockMismatch(block: BlockRef, rows: readonly PackedRow[]): string | undefined {
  const first = rows[0];
  const last = rows[rows.length - 1];
  if (first === undefined || last === undefined || rows.length !== block.n) return `it holds ${rows.length} rows where its entry says ${block.n}`;
  if (first.seq !== block.first_seq || last.seq !== block.last_seq) return `it holds seqs ${first.seq}..${last.seq} where its entry says ${block.first_seq}..${block.last_seq}`;
  for (let i = 1; i < rows.length; i++) if ((rows[i] as PackedRow).seq <= (rows[i - 1] as PackedRow).seq) return `its seqs are out of order at ${(rows[i] as PackedRow).seq}`;
  if (block.ns !== null && rows.some((row) => row.ns !== block.ns)) return `it holds rows of another namespace than its entry says`;
  return undefined;
}

/** Every column of every row decoded back equals the row sealed; anything else is an error and the seal rolls back. */
function verifyBlock(rows: readonly PackedRow[], back: readonly PackedRow[]): void {
  const bad = (detail: string) =>
    new MemzipError(ErrorCode.STORE, `a sealed block did not decode to the rows sealed (${detail}); nothing was sealed`, {
      hint: "The rows stay as they were; report the failure with `memzip stats --json` output.",
    });
  if (back.length !== rows.length) throw bad(`${back.length} rows instead of ${rows.length}`);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as PackedRow;
    const other = back[i] as PackedRow;
    for (const column of COLUMNS) if (!same(row[column], other[column])) throw bad(`seq ${row.seq}, column ${column}`);
  }
}

/** The statements on a key layout (`runs`: a chunk's first key at or below a key, and its data; `tables`: the legacy look-ups). */
function prepareKeys(db: Database.Database, layout: KeyLayout) {
  const none = db.prepare("SELECT NULL WHERE 0").pluck();
  const runs = layout === "runs";
  const tables = layout === "tables";
  return {
    layout,
    idChunk: runs ? db.prepare("SELECT first_key FROM sealed_id_runs WHERE first_key <= ? ORDER BY first_key DESC LIMIT 1").pluck() : none,
    idChunkData: runs ? db.prepare("SELECT data FROM sealed_id_runs WHERE first_key = ?").pluck() : none,
    contentChunk: runs ? db.prepare("SELECT first_key FROM sealed_content_runs WHERE first_key <= ? ORDER BY first_key DESC LIMIT 1").pluck() : none,
    contentChunkData: runs ? db.prepare("SELECT data FROM sealed_content_runs WHERE first_key = ?").pluck() : none,
    idSeqs: tables ? db.prepare("SELECT seq FROM sealed_ids WHERE ns = ? AND id_hash = ?").pluck() : none,
    contentSeqs: tables ? db.prepare("SELECT seq FROM sealed_content WHERE checksum = ?").pluck() : none,
  };
}

function prepare(database: SealedHost) {
  const db = database.db;
  const p = (sql: string): Statement => db.prepare(sql);
  return {
    anyBlock: p("SELECT 1 FROM memory_blocks LIMIT 1"),
    blockData: p("SELECT data FROM memory_blocks WHERE last_seq = ?").pluck(),
    blockAt: p("SELECT last_seq, first_seq, n, ns FROM memory_blocks WHERE last_seq >= ? ORDER BY last_seq LIMIT 1"),
    lastBlock: p("SELECT last_seq, first_seq, n, ns FROM memory_blocks ORDER BY last_seq DESC LIMIT 1"),
    hotAfter: p("SELECT 1 FROM memories WHERE seq > ? LIMIT 1"),
    blockBetween: p("SELECT 1 FROM memory_blocks WHERE last_seq > ? AND last_seq < ? LIMIT 1"),
    blocksAfter: p("SELECT last_seq, first_seq, n, ns FROM memory_blocks WHERE last_seq > ? ORDER BY last_seq LIMIT 8"),
    sealedNamespaces: p("SELECT DISTINCT ns FROM memory_block_usage ORDER BY ns").pluck(),
    firstRef: p("SELECT seq FROM sealed_refs WHERE content_of = ? LIMIT 1").pluck(),
    hotSeq: p("SELECT seq FROM memories WHERE ns = ? AND id_hash = ? AND id = ?").pluck(),
    hotHolder: p("SELECT id, envelope FROM memories WHERE seq = ?"),
    assetRef: p("SELECT ref FROM assets WHERE n = ?").pluck(),
    assetId: p("SELECT id FROM assets WHERE n = ?").pluck(),
    namespaceName: p("SELECT name FROM namespaces WHERE n = ?").pluck(),
    codecName: p("SELECT name FROM codecs WHERE n = ?").pluck(),
    value: p("SELECT json FROM memory_values WHERE n = ?").pluck(),
    updatedAt: p("SELECT coalesce((SELECT max(v.replaced_at) FROM memory_versions v WHERE v.seq = ?), ?)").pluck(),
    forgetTrigger: p("SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND name = 'search_forget_deleted'").pluck(),
    insertBlock: p("INSERT INTO memory_blocks (last_seq, first_seq, n, ns, data) VALUES (?, ?, ?, ?, ?)"),
    insertUsage: p("INSERT INTO memory_block_usage (last_seq, ns, codec, asset, n, original_bytes, envelope_bytes) VALUES (?, ?, ?, ?, ?, ?, ?)"),
    insertRef: p("INSERT INTO sealed_refs (content_of, seq) VALUES (?, ?)"),
    insertExpiry: p("INSERT INTO sealed_expiry (expires_at, seq, ns) VALUES (?, ?, ?)"),
    deleteHot: p("DELETE FROM memories WHERE seq = ?"),
    insertHot: p(`INSERT INTO memories (${COLUMNS.join(", ")}) VALUES (${COLUMNS.map(() => "?").join(", ")})`),
    deleteBlock: p("DELETE FROM memory_blocks WHERE last_seq = ?"),
    deleteUsage: p("DELETE FROM memory_block_usage WHERE last_seq = ?"),
    deleteRef: p("DELETE FROM sealed_refs WHERE content_of = ? AND seq = ?"),
    deleteExpiry: p("DELETE FROM sealed_expiry WHERE expires_at = ? AND seq = ?"),
    maxSealed: p("SELECT max(last_seq) FROM memory_blocks").pluck(),
    nextSeq: p("SELECT max(coalesce((SELECT max(seq) FROM memories), 0), coalesce((SELECT max(last_seq) FROM memory_blocks), 0)) + 1").pluck(),
    usageByCodec: p(
      `SELECT c.name AS codec, sum(u.n) AS memories, sum(u.original_bytes) AS originalBytes, sum(u.envelope_bytes) AS storedBytes
       FROM memory_block_usage u JOIN codecs c ON c.n = u.codec GROUP BY c.name ORDER BY c.name`,
    ),
    usageByCodecNamespace: p(
      `SELECT c.name AS codec, sum(u.n) AS memories, sum(u.original_bytes) AS originalBytes, sum(u.envelope_bytes) AS storedBytes
       FROM memory_block_usage u JOIN codecs c ON c.n = u.codec WHERE u.ns = ? GROUP BY c.name ORDER BY c.name`,
    ),
    // Each reference's block: the first whose last seq is at or past it (one in a gap names the next block: decoded for nothing).
    referenceBlocks: p(
      `SELECT last_seq, first_seq, n, ns FROM memory_blocks
       WHERE last_seq IN (SELECT (SELECT b.last_seq FROM memory_blocks b WHERE b.last_seq >= r.seq ORDER BY b.last_seq LIMIT 1) FROM sealed_refs r)
         AND (ns IS NULL OR ns = ?) ORDER BY last_seq`,
    ),
    blockNamespaces: p("SELECT ns, sum(n) AS n FROM memory_block_usage WHERE last_seq = ? GROUP BY ns ORDER BY ns"),
    blockUsage: p(
      `SELECT c.name AS codec, sum(u.n) AS memories, sum(u.original_bytes) AS originalBytes, sum(u.envelope_bytes) AS storedBytes
       FROM memory_block_usage u JOIN codecs c ON c.n = u.codec WHERE u.last_seq = ? AND u.ns = ? GROUP BY c.name`,
    ),
    count: p("SELECT coalesce(sum(n), 0) FROM memory_block_usage").pluck(),
    countNamespace: p("SELECT coalesce(sum(n), 0) FROM memory_block_usage WHERE ns = ?").pluck(),
    assetCounts: p("SELECT asset, sum(n) AS n FROM memory_block_usage WHERE asset IS NOT NULL GROUP BY asset"),
    assetCountsNamespace: p("SELECT asset, sum(n) AS n FROM memory_block_usage WHERE asset IS NOT NULL AND ns = ? GROUP BY asset"),
    assetUsed: p("SELECT 1 FROM memory_block_usage WHERE asset = ? LIMIT 1"),
    countRange: p("SELECT coalesce(sum(n), 0) FROM memory_block_usage WHERE last_seq BETWEEN ? AND ?").pluck(),
    countRangeNamespace: p("SELECT coalesce(sum(n), 0) FROM memory_block_usage WHERE last_seq BETWEEN ? AND ? AND ns = ?").pluck(),
    countExpired: p("SELECT count(*) FROM sealed_expiry WHERE expires_at <= ?").pluck(),
    countExpiredNamespace: p("SELECT count(*) FROM sealed_expiry WHERE expires_at <= ? AND ns = ?").pluck(),
    expiredSeqs: p("SELECT seq FROM sealed_expiry WHERE expires_at <= ? AND seq > ?").pluck(),
    anyExpired: p("SELECT 1 FROM sealed_expiry WHERE expires_at <= ? LIMIT 1"),
  };
}

/**
 * The context for one block's coding, each asset's reference asked once: nearly every row of a block
 * names the same asset (a namespace's snapshot), and a query per row was most of a cold `get`'s decode.
 * Made per call, so an asset number reused after a prune can never answer with an old reference.
 */
function remembering(context: BlockContext): BlockContext {
  const refs = new Map<number, Uint8Array | undefined>();
  return {
    assetRef(asset) {
      if (!refs.has(asset)) refs.set(asset, context.assetRef(asset));
      return refs.get(asset);
    },
  };
}
