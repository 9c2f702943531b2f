import Database from "better-sqlite3";
import { Checkpointer } from "./checkpointer.js";
import { accessSync, chmodSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { dirname, join } from "node:path";
import { xxh32 } from "@node-rs/xxhash";
import { removeLeftovers } from "../../core/leftovers.js";
import type { LockWaits } from "../../core/store.js";
import { MemzipError, ErrorCode, storeFailure, upgradedWhileOpen } from "../../errors.js";
import { ID_HASH_FUNCTION, MIGRATIONS, SCHEMA_V2, SCHEMA_V2_INDEXES, SEALED_LAYOUT_STEP, V2_STEP, type Migration } from "../sqlite-migrations.js";
import { ensureSearchSchema } from "./search-index.js";
import { SealedRows } from "./sealed.js";

export interface OpenOptions {
  /** Open for reading only: a missing store is E_NOT_FOUND (nothing is created), and nothing is written. */
  readOnly?: boolean;
  /** Copy the write-ahead log back into the file on a worker thread, not in the commits of this connection (`Checkpointer`; a writable SQLite file only). */
  checkpointThread?: boolean;
  /**
   * Sealed blocks (issue 11): whether `compact` and the end of an import pack the hot rows into blocks.
   * On by default; `seal: false` opts out (the rows then stay in the v2 row layout; reads and writes handle
   * sealed rows either way, so a store sealed earlier still reads and writes).
   */
  seal?: boolean;
  /** Test only: rows a block holds at most (default BLOCK_ROWS). */
  blockRows?: number;
  /** Test only: sealable rows a store's first seal waits for (default FIRST_SEAL_ROWS, at most `blockRows`). */
  firstSealRows?: number;
  /** Test only: seal every hot row after each write call (the shared suite run against sealed rows). */
  sealAfterWrites?: boolean;
  /**
   * With `readOnly`, where the account may not write the store: searches still work, indexing into a private,
   * consistent copy of the store (upgraded there to this build's schema), removed at close. Memories stay read-only.
   */
  searchable?: boolean;
}

/** Page size and auto_vacuum of new stores: chosen by measurement (docs/STORE.md). */
const PAGE_SIZE = 1024;

/** How long a call waits for another connection's write lock before it fails with E_BUSY (SQLite's `busy_timeout`). */
export const BUSY_TIMEOUT_MS = 5000;
/** The longest pause between two tries of a lock-waiting call (`waitingForLock`). */
const LOCK_PAUSE_MAX_MS = 25;

/**
 * The state of one asynchronous store call while its synchronous part runs (`waitingForLock`): whether a write
 * transaction of it committed. Until one did, a write that cannot take the lock at once throws `WriteLockBusy`.
 */
interface LockTurn {
  committed: boolean;
}

/**
 * The first write transaction of an asynchronous store call could not take the write lock at once: another connection
 * holds it. Nothing of the call was written, so `waitingForLock` runs it again after a pause, without holding the event
 * loop; `cause` is SQLite's SQLITE_BUSY, what the caller gets once the wait ran out.
 */
export class WriteLockBusy extends Error {
  constructor(override readonly cause: unknown) {
    super("the store's write lock is held by another connection");
    this.name = "WriteLockBusy";
  }
}

/** The 32-bit hash the id index holds (signed, so SQLite stores it in 4 bytes). */
export function idHash(id: string): number {
  return xxh32(Buffer.from(id, "utf8"), 0) | 0;
}

/**
 * One open store file and what every aggregate shares: the connection, the write transaction,
 * and the small lookup tables (namespace and codec numbers) the rows refer to.
 */
export class SqliteDatabase {
  private readonly namespaceIds = new Map<string, number>();
  private readonly codecIds = new Map<string, number>();
  private readonly statements;
  /** Checkpoints on a worker thread (`OpenOptions.checkpointThread`); stopped by `stopCheckpoints` before `close`. */
  checkpointer: Checkpointer | undefined;
  /** The sealed home of memories rows (blocks); every aggregate reads and unseals through this one. */
  readonly sealed: SealedRows;
  /** Whether `compact` and import ends seal the hot rows. */
  sealing = false;
  /** Whether this open wrote the schema of a new store (of several processes opening a new file at once, exactly one). */
  created = false;
  /** Test only: seal after every write call of the memories aggregate. */
  sealAfterWrites = false;
  /** Whether the open transaction is `read`'s (nothing this connection writes in it can roll back). */
  reading = false;
  /** Whether the open transaction is `write`'s; `writes` counts the starts and ends of writes. */
  writing = false;
  writes = 0;
  /** Set by `waitingForLock` while an asynchronous call's synchronous part runs (see `LockTurn`). */
  lockTurn: LockTurn | undefined;
  readonly lockWaits: LockWaits = { waiting: 0, total: 0 };
  private readonly readTransaction: (work: () => unknown) => unknown;

  constructor(
    readonly location: string,
    readonly db: Database.Database,
    readonly readOnly: boolean,
    /** A private copy of a store in a read-only folder, removed at close. */
    private readonly snapshot?: string,
    blockRows?: number,
    firstSealRows?: number,
  ) {
    this.sealed = new SealedRows(this, blockRows, firstSealRows);
    this.readTransaction = db.transaction((work: () => unknown) => {
      this.checkSchema();
      return work();
    });
    this.statements = {
      namespaceId: db.prepare("SELECT n FROM namespaces WHERE name = ?").pluck(),
      insertNamespace: db.prepare("INSERT INTO namespaces (name, created_at) VALUES (?, ?) ON CONFLICT(name) DO NOTHING"),
      codecId: db.prepare("SELECT n FROM codecs WHERE name = ?").pluck(),
      insertCodec: db.prepare("INSERT INTO codecs (name) VALUES (?) ON CONFLICT(name) DO NOTHING"),
      assetN: db.prepare("SELECT n FROM assets WHERE id = ?").pluck(),
      valueN: db.prepare("SELECT n FROM memory_values WHERE hash = ? AND json = ?").pluck(),
      insertValue: db.prepare("INSERT INTO memory_values (hash, json) VALUES (?, ?)"),
      schemaVersion: db.prepare("PRAGMA user_version").pluck(),
    };
  }

  /**
   * Runs `work` in one read transaction (a deferred BEGIN: one snapshot for every statement in it),
   * so a read of both homes of the memories rows (hot and sealed) never sees half of another
   * connection's seal or unseal. Inside a transaction already, `work` just runs in it.
   */
  read<T>(work: () => T): T {
    if (this.db.inTransaction) return work();
    this.reading = true;
    try {
      return this.readTransaction(work) as T;
    } finally {
      this.reading = false;
    }
  }

  /** Whether lookups read now may be kept past the transaction (none is open, or it is a read's). */
  get cacheable(): boolean {
    return !this.db.inTransaction || this.reading;
  }

  /** The number of a namespace; with `create`, one is made for a new name. */
  namespaceId(name: string, create: boolean): number | undefined {
    let n = this.namespaceIds.get(name);
    if (n !== undefined) return n;
    n = this.statements.namespaceId.get(name) as number | undefined;
    if (n === undefined && create) {
      this.statements.insertNamespace.run(name, Date.now());
      n = this.statements.namespaceId.get(name) as number;
    }
    // Cached only outside transactions that might roll back the row.
    if (n !== undefined && this.cacheable) this.namespaceIds.set(name, n);
    return n;
  }

  codecId(name: string): number {
    let n = this.codecIds.get(name);
    if (n !== undefined) return n;
    n = this.statements.codecId.get(name) as number | undefined;
    if (n === undefined) {
      this.statements.insertCodec.run(name);
      n = this.statements.codecId.get(name) as number;
    }
    if (this.cacheable) this.codecIds.set(name, n);
    return n;
  }

  /** The row number of an asset a memory needs (E_MISSING_ASSET when it is not stored). */
  assetN(assetId: string | null): number | null {
    if (assetId === null) return null;
    const n = this.statements.assetN.get(assetId) as number | undefined;
    if (n === undefined) {
      throw new MemzipError(ErrorCode.MISSING_ASSET, `asset ${assetId} is not in the store`, { hint: "Store the asset before the memories that need it." });
    }
    return n;
  }

  /**
   * The number of a tags or meta JSON text in `memory_values`, stored there if new (call inside the
   * write transaction; never cached, since `compact` may prune a value no memory refers to).
   */
  valueRef(json: string | null): number | null {
    if (json === null) return null;
    const hash = idHash(json);
    const n = this.statements.valueN.get(hash, json) as number | undefined;
    return n ?? Number(this.statements.insertValue.run(hash, json).lastInsertRowid);
  }

  /** Runs `work` in one write transaction (taking the write lock first, so it never has to upgrade). */
  write<T>(work: () => T): T {
    if (this.readOnly) {
      throw new MemzipError(ErrorCode.RESOURCE, `the store at ${this.location} is open read-only`, {
        hint: "The store or its folder is read-only; write from an account that may write there.",
      });
    }
    // `writes` moves at the start and the end of each write (a nested one too): what a write read is never kept past it.
    const outer = this.writing;
    // The first write of an asynchronous call tries the lock once instead of waiting for it here, on the event loop.
    const turn = this.db.inTransaction ? undefined : this.lockTurn;
    const once = turn !== undefined && !turn.committed;
    let begun = false;
    this.writes++;
    this.writing = true;
    try {
      // A fresh statement each time: a prepared `PRAGMA busy_timeout` sets the timeout when it is compiled, so one
      // prepared once would change nothing at its first run (the first write after an open would wait here again).
      if (once) this.db.pragma("busy_timeout = 0");
      const out = this.db
        .transaction(() => {
          if (once) this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
          begun = true;
          if (!outer) this.checkSchema();
          return work();
        })
        .immediate();
      if (turn) turn.committed = true;
      return out;
    } catch (error) {
      if (once && !begun) {
        this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
        if (/^SQLITE_BUSY/.test(String((error as { code?: unknown }).code))) throw new WriteLockBusy(error);
      }
      throw error;
    } finally {
      this.writing = outer;
      this.writes++;
    }
  }

  /**
   * Refuses to go on once a newer memzip has moved the store past this build's schema while this connection held it
   * open (run inside each outermost read and write transaction: the version cannot move until it ends). Without it a
   * process started before an upgrade would go on writing rows the new schema reads otherwise, and reading them as
   * the old layout did. A read-only open of an older schema (which this build reads as it is) passes.
   */
  checkSchema(): void {
    const version = this.statements.schemaVersion.get() as number;
    if (version > MIGRATIONS.length) throw upgradedWhileOpen(this.location, version, MIGRATIONS.length);
  }

  /** Stops the checkpoint thread, if any, and waits for it (before `close`: its connection goes first). */
  async stopCheckpoints(): Promise<void> {
    await this.checkpointer?.stop();
  }

  close(): void {
    // Without `stopCheckpoints` first the thread is only told to stop.
    if (this.checkpointer?.active) void this.checkpointer.stop();
    if (this.db.open) this.db.close();
    if (this.snapshot) rmSync(this.snapshot, { recursive: true, force: true });
  }
}

/**
 * Opens (creating if needed) a store file and brings its schema up to date. `:memory:` works too.
 * With `readOnly`, nothing is created or written: a missing file is E_NOT_FOUND.
 */
export function openDatabase(location: string, options: OpenOptions = {}): SqliteDatabase {
  const memory = location === ":memory:";
  let readOnly = options.readOnly === true && !memory;
  if (readOnly && !existsSync(location)) {
    throw new MemzipError(ErrorCode.NOT_FOUND, `there is no store at ${location}`, {
      hint: "Check --db / MEMZIP_DB; a store is created by the first write (`memzip add` or `memzip import`).",
      details: { path: location },
    });
  }
  if (!memory && existsSync(location)) {
    const file = statSync(location);
    if (file.isDirectory()) {
      throw new MemzipError(ErrorCode.USAGE, `${location} is a folder, not a store file`, { hint: "Name the store's file with --db / MEMZIP_DB (a path ending in .db, say), not its folder.", details: { path: location } });
    }
    // An empty file (`: > store.db`, a file made by mktemp) is no store yet: a read says so and makes none (a write makes one in it).
    if (readOnly && file.size === 0) {
      throw new MemzipError(ErrorCode.NOT_FOUND, `there is no store at ${location} (the file is empty)`, {
        hint: "Check --db / MEMZIP_DB; a store is created by the first write (`memzip add` or `memzip import`).",
        details: { path: location },
      });
    }
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
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      refuseForeign(db, location);
      registerFunctions(db);
      if (options.searchable) {
        // A search writes its index: into a copy of our own. VACUUM INTO reads the store in one read transaction,
        // so a writer of another account working meanwhile leaves a consistent copy.
        if (!snapshot) {
          snapshot = privateFolder();
          db.prepare("VACUUM INTO ?").run(join(snapshot, "store.db"));
        }
        db.close();
        db = new Database(join(snapshot, "store.db"), { fileMustExist: true });
        db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
        registerFunctions(db);
        migrate(db);
        return new SqliteDatabase(location, db, true, snapshot, options.blockRows, options.firstSealRows);
      }
      const version = db.pragma("user_version", { simple: true }) as number;
      // The steps from the sealed layout's on make nothing a read needs: a store before them reads as it is (the sealed tables come with a seal, the version clock serves writes).
      if (version !== MIGRATIONS.length && !(version >= SEALED_LAYOUT_STEP && version < MIGRATIONS.length)) {
        throw new MemzipError(ErrorCode.STORE, `the store at ${location} has schema version ${version} and cannot be upgraded read-only (this build uses ${MIGRATIONS.length})`, {
          hint: "Open it once from an account that may write there (any command, e.g. `memzip stats`, upgrades it), or use the memzip release that made it.",
        });
      }
      return new SqliteDatabase(location, db, true, snapshot, options.blockRows, options.firstSealRows);
    }
    if (!memory && !options.readOnly) mkdirSync(dirname(location), { recursive: true });
    db = new Database(location, options.readOnly ? { fileMustExist: true } : {});
    // The wait first: the first opens of a new file by several processes take turns below.
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // Before anything writes (the journal mode below is written into the file's header).
    if (!memory) refuseForeign(db, location);
    registerFunctions(db);
    // For new files only (see docs/STORE.md). On an existing file `auto_vacuum` rewrites the header page even
    // when the mode is unchanged: every read command would write a WAL frame and touch the file.
    if (db.pragma("page_count", { simple: true }) === 0) {
      db.pragma(`page_size = ${PAGE_SIZE}`);
      db.pragma("auto_vacuum = INCREMENTAL");
    }
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    const created = migrate(db);
    const database = new SqliteDatabase(location, db, false, undefined, options.blockRows, options.firstSealRows);
    database.created = created;
    database.sealed.checkColumns();
    database.sealing = options.seal !== false || options.sealAfterWrites === true;
    database.sealAfterWrites = options.sealAfterWrites === true;
    if (options.checkpointThread && !memory) database.checkpointer = new Checkpointer(location, db);
    return database;
  } catch (cause) {
    db?.close();
    if (snapshot) rmSync(snapshot, { recursive: true, force: true });
    if (cause instanceof MemzipError) throw cause;
    // A damaged store says so (and how to recover), not "check the path"; a file that is no database at all
    // (SQLITE_NOTADB: --db pointed at another file) keeps the path's hint below.
    const failure = (cause as { code?: unknown }).code === "SQLITE_NOTADB" ? undefined : storeFailure(cause, `open the store at ${location}`);
    if (failure) throw failure;
    const readOnlyCause = /readonly|read-only|unable to open/i.test((cause as Error).message);
    throw new MemzipError(readOnlyCause ? ErrorCode.RESOURCE : ErrorCode.STORE, `cannot open the store at ${location}${readOnlyCause ? " for writing" : ""}: ${(cause as Error).message}`, {
      hint: readOnlyCause
        ? "The store or its folder is read-only: read commands (get, ls, stats, export, verify) still work; write from an account that may write there."
        : "Check the path and its permissions, or point --db / MEMZIP_DB at another file.",
      cause,
    });
  }
}

/**
 * Refuses an SQLite file that another program made: tables but no memzip schema version, or a version but not
 * memzip's tables. Opening it (even for `ls`) switched it to WAL and created memzip's tables beside its own.
 */
const MEMZIP_TABLES = ["assets", "namespaces", "active_assets", "memories"];

function refuseForeign(db: Database.Database, location: string): void {
  const version = db.pragma("user_version", { simple: true }) as number;
  const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite!_%' ESCAPE '!' ORDER BY rowid").pluck().all() as string[];
  // memzip's first schema already had these four (and every later one keeps them): a lone "memories" table is another tool's.
  const ours = MEMZIP_TABLES.every((table) => tables.includes(table));
  if (version === 0 ? tables.length === 0 : ours) return;
  if (ours) {
    // memzip's tables with a schema version of 0: the file's header is damaged, not another program's.
    throw new MemzipError(ErrorCode.STORE, `the store at ${location} is damaged: it has memzip's tables but schema version 0 in its header`, {
      hint: "Restore the store from a backup, or export what still reads (`memzip export --skip-bad` from a copy) into a new store.",
      details: { path: location, userVersion: version },
    });
  }
  const shown = `${tables.slice(0, 5).join(", ")}${tables.length > 5 ? ", …" : ""}`;
  throw new MemzipError(ErrorCode.STORE, `${location} is an SQLite database that is not a memzip store (${tables.length === 0 ? "no tables" : `its tables: ${shown}`}; schema version ${version}); it was left as it is`, {
    hint: "Point --db / MEMZIP_DB at a memzip store, or at a path where none exists yet to create one.",
    details: { path: location, tables: tables.slice(0, 20), userVersion: version },
  });
}

function registerFunctions(db: Database.Database): void {
  db.function(ID_HASH_FUNCTION, { deterministic: true }, (id: unknown) => idHash(String(id)));
}

function newerStore(version: number, latest: number): MemzipError {
  return new MemzipError(ErrorCode.STORE, `the store has schema version ${version}; this build knows up to ${latest}`, {
    hint: "Upgrade memzip to open this store.",
  });
}

/**
 * Brings the schema up to date in one IMMEDIATE transaction that re-reads user_version inside,
 * so several processes opening a new file at once take turns and only the first one migrates.
 */
function migrate(db: Database.Database): boolean {
  const latest = MIGRATIONS.length;
  // A store already up to date takes no write lock to open: a command opening it beside a long write
  // (an import's batch, a compact) waits for nothing until it writes itself.
  if (db.pragma("user_version", { simple: true }) === latest) {
    // The search schema's repair runs in a transaction of its own: a newer memzip that upgraded the store since the
    // read above is refused there, before this build drops a search table that memzip made.
    ensureSearchSchema(db, () => {
      const version = db.pragma("user_version", { simple: true }) as number;
      if (version > latest) throw newerStore(version, latest);
    });
    return false;
  }
  return db.transaction(() => {
    const version = db.pragma("user_version", { simple: true }) as number;
    if (version > latest) throw newerStore(version, latest);
    if (version === 0) {
      // A new store starts at schema v2 directly (with the jobs, models and engines tables of v1).
      db.exec(SCHEMA_V2);
      db.exec(SCHEMA_V2_INDEXES);
      db.exec(MIGRATIONS[1] as string);
      db.exec(MIGRATIONS[2] as string);
      for (const step of MIGRATIONS.slice(V2_STEP + 1)) {
        if (typeof step === "string") db.exec(step);
        else step(db);
      }
    } else {
      for (let v = version; v < latest; v++) {
        const step = MIGRATIONS[v] as Migration;
        if (typeof step === "string") db.exec(step);
        else step(db);
      }
    }
    if (version !== latest) db.pragma(`user_version = ${latest}`);
    ensureSearchSchema(db);
    return version === 0;
  }).immediate();
}

/** SQLite's "the file is damaged", out-of-room or not-writable and "locked by another writer" errors as typed errors (E_STORE, E_RESOURCE, E_BUSY). */
export function typedError(error: unknown): unknown {
  if (error instanceof TypeError && error.message === "The database connection is not open") {
    // better-sqlite3's answer to a call after close (a library caller's engine.close() before its last call).
    return new MemzipError(ErrorCode.USAGE, "the store is closed", { hint: "Open a new engine (Engine.open) for more work.", cause: error });
  }
  return storeFailure(error, "use the store") ?? error;
}

/**
 * An aggregate as callers see it: every method's failure (thrown or rejected) passes through
 * `typedError`, so a damaged file never surfaces as an untyped SqliteError. Wraps once, at
 * construction; methods returning neither a promise nor an iterator's values pass through as is
 * (`scan` types its own errors, since it runs after the call returns). Given the aggregate's `database`, its
 * asynchronous methods also wait for another connection's write lock without holding the event loop (`waitingForLock`).
 */
export function withTypedErrors<T extends object>(target: T, database?: SqliteDatabase): T {
  const wrapped: Record<string, unknown> = {};
  const prototype = Object.getPrototypeOf(target) as object;
  for (const [name, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(prototype))) {
    // Methods only (a getter is not called here: it may prepare statements lazily).
    const method: unknown = descriptor.value;
    if (name === "constructor" || typeof method !== "function") continue;
    if (database && method instanceof AsyncFunction) {
      const call = method as (...a: unknown[]) => Promise<unknown>;
      wrapped[name] = (...args: unknown[]) => waitingForLock(database, () => call.apply(target, args)).catch((error: unknown) => Promise.reject(typedError(error)));
      continue;
    }
    wrapped[name] = (...args: unknown[]) => {
      try {
        const out: unknown = (method as (...a: unknown[]) => unknown).apply(target, args);
        return out instanceof Promise ? out.catch((error: unknown) => Promise.reject(typedError(error))) : out;
      } catch (error) {
        throw typedError(error);
      }
    };
  }
  return wrapped as T;
}

const AsyncFunction = (async () => undefined).constructor;

/**
 * Runs an asynchronous store call so that a write lock another connection holds is waited for between tries, with the
 * event loop free meanwhile (SQLite's own wait, `busy_timeout`, sleeps on the calling thread: in a server, every
 * request would wait with it). The call's synchronous part runs with a `LockTurn`: its first write transaction tries
 * the lock once and, finding it held, fails with `WriteLockBusy` before anything of the call was written; the call
 * then runs again after a pause (1, 2, 4 … 25 ms), for up to `BUSY_TIMEOUT_MS` in all, after which the caller gets
 * SQLite's SQLITE_BUSY (E_BUSY once typed), as after SQLite's own wait. Writes after the first commit, and writes
 * after the call's first `await`, wait as SQLite does. A call made inside another's synchronous part runs in that
 * one's turn. The lock can still be taken by another process between a try and the write that follows it in the same
 * synchronous step; that write then waits in SQLite's handler, as every write did before.
 */
export async function waitingForLock<T>(database: SqliteDatabase, call: () => Promise<T>): Promise<T> {
  if (database.lockTurn) return call();
  const deadline = performance.now() + BUSY_TIMEOUT_MS;
  let waiting = false;
  try {
    for (let pause = 1; ; pause = Math.min(pause * 2, LOCK_PAUSE_MAX_MS)) {
      const turn: LockTurn = { committed: false };
      let pending: Promise<T>;
      database.lockTurn = turn;
      try {
        pending = call();
      } finally {
        database.lockTurn = undefined;
      }
      try {
        return await pending;
      } catch (error) {
        if (!(error instanceof WriteLockBusy)) throw error;
        // A call of this turn that began later and committed (made inside it, awaited after): not run twice.
        if (turn.committed || performance.now() >= deadline) throw error.cause;
      }
      if (!waiting) {
        waiting = true;
        database.lockWaits.waiting++;
        database.lockWaits.total++;
      }
      await sleep(Math.max(1, Math.min(pause, deadline - performance.now())));
    }
  } finally {
    if (waiting) database.lockWaits.waiting--;
  }
}

/** Copies a store file (and its -wal, if any) into a new private folder; returns the folder. */
function privateCopy(location: string): string {
  const folder = privateFolder();
  try {
    // Ours to write (a `searchable` open indexes into it): copyFileSync keeps a 0444 store's mode.
    copyFileSync(location, join(folder, "store.db"));
    chmodSync(join(folder, "store.db"), 0o600);
    if (existsSync(`${location}-wal`)) {
      copyFileSync(`${location}-wal`, join(folder, "store.db-wal"));
      chmodSync(join(folder, "store.db-wal"), 0o600);
    }
    return folder;
  } catch (error) {
    rmSync(folder, { recursive: true, force: true });
    throw error;
  }
}

const PRIVATE_COPY_PREFIX = "memzip-readonly-";

/**
 * A new folder for a private copy, named with this process's id; first removes the copies of processes that are gone
 * (a search interrupted by Ctrl-C or kill -9 cannot remove its own, a whole store each).
 */
function privateFolder(): string {
  removeLeftovers(PRIVATE_COPY_PREFIX);
  return mkdtempSync(join(tmpdir(), `${PRIVATE_COPY_PREFIX}${process.pid}-`));
}


function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
