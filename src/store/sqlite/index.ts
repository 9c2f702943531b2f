import { existsSync, statSync } from "node:fs";
import type { AssetRepository, DamagedMemories, JobRepository, KeyRepository, LockWaits, MemoryRepository, ModelRepository, SearchIndexStore, StorageUsage, Store } from "../../core/store.js";
import { ErrorCode, MemzipError } from "../../errors.js";
import { SqliteAssets } from "./assets.js";
import { openDatabase, typedError, waitingForLock, withTypedErrors, type OpenOptions, type SqliteDatabase } from "./database.js";
import { SqliteJobs } from "./jobs.js";
import { SqliteKeys } from "./keys.js";
import { SqliteMemories } from "./memories.js";
import { SqliteModels } from "./models.js";
import { SqliteSearchIndex } from "./search-index.js";

export type { OpenOptions } from "./database.js";
export { SEARCH_FORMAT } from "./search-index.js";

/**
 * The embedded default store: one SQLite file in WAL mode (better-sqlite3), behind the
 * asynchronous contract. Every write call is one transaction, so a kill -9 leaves whole batches or
 * nothing. Calls run on the calling thread; long reads (`memories.scan`) go page by page and let
 * the event loop run between pages.
 */
export class SqliteStore implements Store {
  readonly memories: MemoryRepository;
  readonly assets: AssetRepository;
  readonly models: ModelRepository;
  readonly jobs: JobRepository;
  readonly search: SearchIndexStore;
  readonly keys: KeyRepository;

  private readonly searchIndex: SqliteSearchIndex;

  private constructor(private readonly database: SqliteDatabase) {
    // Each aggregate is wrapped once: SQLite's damaged-file and resource errors become typed errors.
    this.memories = withTypedErrors(new SqliteMemories(database), database);
    this.assets = withTypedErrors(new SqliteAssets(database), database);
    this.models = withTypedErrors(new SqliteModels(database), database);
    this.jobs = withTypedErrors(new SqliteJobs(database), database);
    this.searchIndex = new SqliteSearchIndex(
      database.db,
      database.sealed,
      (work) => database.read(work),
      () => database.checkSchema(),
      // A read-only open's index is written into its private copy (`searchable`), which no other connection locks.
      (work) => (database.readOnly ? database.db.transaction(work).immediate() : database.write(work)),
    );
    this.search = withTypedErrors(this.searchIndex, database);
    this.keys = withTypedErrors(new SqliteKeys(database), database);
  }

  /**
   * Opens (creating if needed) a store file and brings its schema up to date; `:memory:` works too.
   * With `readOnly`, nothing is created or written: a missing file is E_NOT_FOUND.
   */
  static open(location: string, options: OpenOptions = {}): SqliteStore {
    const database = openDatabase(location, options);
    try {
      return new SqliteStore(database);
    } catch (error) {
      database.close();
      throw typedError(error);
    }
  }

  get created(): boolean {
    return this.database.created;
  }

  get location(): string {
    return this.database.location;
  }

  get readOnly(): boolean {
    return this.database.readOnly;
  }

  async usage(): Promise<StorageUsage> {
    return this.guard(() => {
      const db = this.database.db;
      const pages = db.pragma("page_count", { simple: true }) as number;
      const pageSize = db.pragma("page_size", { simple: true }) as number;
      let fileBytes = pages * pageSize;
      const location = this.database.location;
      if (location !== ":memory:") {
        fileBytes = statSync(location).size;
        if (existsSync(`${location}-wal`)) fileBytes += statSync(`${location}-wal`).size;
      }
      const names = db
        .prepare("SELECT name FROM sqlite_schema WHERE name LIKE 'search\\_%' ESCAPE '\\' OR name LIKE 'sqlite\\_autoindex\\_search\\_%' ESCAPE '\\'")
        .pluck()
        .all() as string[];
      const size = db.prepare("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = ?").pluck();
      const indexBytes = names.reduce((sum, name) => sum + (size.get(name) as number), 0);
      return { fileBytes, indexBytes };
    });
  }

  async compact(): Promise<void> {
    await this.guardedWrites(() => {
      if (this.database.readOnly) this.database.write(() => undefined);
      const db = this.database.db;
      if (this.database.sealing) this.database.sealed.seal();
      // A damaged key-run chunk (derived data) is made again from the blocks.
      if (!this.database.readOnly) this.database.sealed.repairRuns();
      // The newly sealed blocks' search vectors, packed per block (issue 11; only where the file has a search index).
      if (!this.database.readOnly && this.database.sealed.any()) this.searchIndex.packVectors();
      // Masked keyword rows (search index format 4) are deleted before the VACUUM.
      if (!this.database.readOnly) this.searchIndex.reclaim({ optimize: true });
      // Tags and meta values no memory refers to any longer (rewrites and deletes leave them), sealed rows' refs kept.
      this.database.write(() => {
        // The values no hot row uses; of those, the ones no sealed row uses either go (blocks decoded only while
        // some candidate is not yet found in one: none when every value is a hot row's, as in a store without tags).
        const candidates = new Set(
          db
            .prepare(
              `SELECT n FROM memory_values WHERE n NOT IN
                (SELECT tags_ref FROM memories WHERE tags_ref IS NOT NULL UNION SELECT meta_ref FROM memories WHERE meta_ref IS NOT NULL)`,
            )
            .pluck()
            .all() as number[],
        );
        if (candidates.size > 0 && this.database.sealed.any()) this.database.sealed.dropUsedValues(candidates);
        const drop = db.prepare("DELETE FROM memory_values WHERE n = ?");
        for (const n of candidates) drop.run(n);
      });
      db.pragma("wal_checkpoint(TRUNCATE)");
      db.exec("VACUUM");
      db.pragma("wal_checkpoint(TRUNCATE)");
    });
  }

  /**
   * Packs the hot rows into sealed blocks when this store seals (`OpenOptions.seal`, on by default); how many
   * rows it sealed. The pages the rows leave go back to the file system (`incremental_vacuum`: O(pages freed),
   * not a rewrite of the file as `compact`'s VACUUM), and the write-ahead log is checkpointed and truncated.
   */
  async seal(): Promise<number> {
    return this.guardedWrites(() => {
      if (!this.database.sealing || this.database.readOnly) return 0;
      const sealed = this.database.sealed.seal();
      if (sealed > 0) {
        this.database.db.pragma("incremental_vacuum");
        // The sealed pages into the file and the log emptied, so the file on disk an import reports is the file.
        this.database.db.pragma("wal_checkpoint(TRUNCATE)");
      }
      return sealed;
    });
  }

  async dropDamaged(): Promise<DamagedMemories[]> {
    return this.guardedWrites(() =>
      this.database.write(() => {
        const dropped = this.database.sealed.dropDamaged(Date.now());
        // The search index is derived: rebuilt by the next search, so no entry of a set-aside memory outlives it.
        if (dropped.length > 0) this.searchIndex.forgetAll();
        return dropped.map(({ firstSeq, lastSeq, rows, error }) => ({ where: `sealed block of seqs ${firstSeq}..${lastSeq}`, memories: rows, error }));
      }),
    );
  }

  async damagedIndexes(): Promise<{ where: string; error: MemzipError }[]> {
    return this.database.read(() =>
      this.database.sealed.damagedRuns().map(({ table, error }) => ({
        where: `sealed key runs (${table})`,
        error: new MemzipError(ErrorCode.STORE, `the sealed key runs of ${table === "sealed_id_runs" ? "ids" : "texts"} do not read back (${error.message}): reads and writes of the keys they hold fail`, {
          hint: "`memzip compact` makes them again from the sealed blocks; no memory is lost.",
          cause: error,
        }),
      })),
    );
  }

  lockWaits(): LockWaits {
    return { ...this.database.lockWaits };
  }

  async close(): Promise<void> {
    await this.database.stopCheckpoints();
    this.database.close();
  }

  /** `guard` for work that writes: its first write waits for another connection's lock without holding the event loop, as every aggregate's call does. */
  private async guardedWrites<T>(work: () => T): Promise<T> {
    return waitingForLock(this.database, async () => this.guard(work));
  }

  private guard<T>(work: () => T): T {
    try {
      return work();
    } catch (error) {
      throw typedError(error);
    }
  }
}
