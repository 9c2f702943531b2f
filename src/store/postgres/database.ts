import { createRequire } from "node:module";
import type pg from "pg";
import { ErrorCode, MemzipError, upgradedWhileOpen } from "../../errors.js";
import { PG_MIGRATIONS } from "./migrations.js";

export interface PgOpenOptions {
  /** A missing schema is E_NOT_FOUND (nothing is created); an existing one is used as usual. */
  readOnly?: boolean;
  /**
   * How long a write transaction may sit idle between its statements before PostgreSQL ends its session (ms; default
   * 60 s, 0 off; `idle_in_transaction_session_timeout` for memzip's write and migration transactions alone). Writes take turns
   * on one lock: a process stopped inside its transaction (SIGSTOP, a paused VM, a partition) held it, and every
   * other writer of the fleet waited, until PostgreSQL noticed the connection was gone, which may be never.
   */
  writeIdleMs?: number;
}

/** The default of `writeIdleMs`: far above the few milliseconds between a write's statements, even on a busy machine. */
export const WRITE_IDLE_MS = 60_000;

/** Something that runs SQL: the pool (one statement) or a transaction's client. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** Advisory lock keys (per database): every write transaction, and schema migrations. */
export const WRITE_LOCK = 0x6d7a_7701;
const MIGRATE_LOCK = 0x6d7a_7702;

/**
 * pg, loaded when the first PostgreSQL store opens: a process on a SQLite file (every CLI command
 * there, a queued import's producer) does not pay its module loading (~0.15 s of CPU).
 */
let pgModule: typeof pg | undefined;
const loadPg = (): typeof pg => (pgModule ??= createRequire(import.meta.url)("pg") as typeof pg);

/** int8 (counts, seqs, bigint ms) as JS numbers: every value memzip stores there is below 2^53. */
const types = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === 20 || oid === 1700) return (value: string) => Number(value);
    return loadPg().types.getTypeParser(oid, format ?? "text");
  },
} as pg.CustomTypesConfig;

/** Whether `location` names a PostgreSQL server (rather than a SQLite file). */
export function isPostgresLocation(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** Connection parameters that are secrets (or name one). */
const SECRET_PARAMETER = /password|sslkey|passfile/i;

/** The connection string without its secrets (password in the authority or as a parameter). */
export function redactLocation(location: string): string {
  try {
    const url = new URL(location);
    url.password = "";
    for (const key of [...url.searchParams.keys()]) if (SECRET_PARAMETER.test(key)) url.searchParams.delete(key);
    return url.toString();
  } catch {
    return "postgres://(connection string)";
  }
}

/** Whether a connection string carries a secret that `redactLocation` takes out (one that does not parse: as if it did). */
export function carriesSecret(location: string): boolean {
  try {
    const url = new URL(location);
    return url.password !== "" || [...url.searchParams.keys()].some((key) => SECRET_PARAMETER.test(key));
  } catch {
    return true;
  }
}

/** A write transaction: the client, plus lookup ids made inside it (published to the caches after commit). */
export class PgTransaction implements Queryable {
  readonly madeNamespaces = new Map<string, number>();
  readonly madeCodecs = new Map<string, number>();
  /** Asset row numbers looked up in this transaction (no asset is deleted while it holds the write lock). */
  readonly assetNs = new Map<string, number>();

  constructor(private readonly client: pg.PoolClient) {}

  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    return this.client.query<R>(text, values);
  }
}

/**
 * One PostgreSQL store and what every aggregate shares: the pool (connects lazily), the schema
 * check that runs once before the first call (`ready`), serialised write transactions, and the
 * namespace and codec numbers the rows refer to.
 *
 * Writes take one advisory transaction lock, so they run one at a time across every process on the
 * database, as SQLite's writers do: content deduplication, hand-over on delete and the guarded asset
 * delete see a consistent store. Reads never wait for it.
 */
export class PgDatabase {
  readonly pool: pg.Pool;
  readonly location: string;
  private readonly namespaceIds = new Map<string, number>();
  private readonly codecIds = new Map<string, number>();
  private readying: Promise<void> | undefined;
  private closed = false;

  constructor(
    connectionString: string,
    private readonly options: PgOpenOptions = {},
  ) {
    const idle = options.writeIdleMs;
    if (idle !== undefined && !(Number.isInteger(idle) && idle >= 0 && idle <= 2_147_483_647)) {
      throw new MemzipError(ErrorCode.USAGE, `writeIdleMs must be a whole number of milliseconds from 0 (off) to 2147483647, got ${String(idle)}`, { hint: "Pass writeIdleMs as milliseconds, e.g. 60000." });
    }
    this.location = redactLocation(connectionString);
    // pg parses the string when it first connects: a malformed one ("…:notaport/…") was an untyped TypeError there
    // (exit 70, "internal error"), after a server had started. A client made and dropped parses it now (no socket).
    try {
      new (loadPg().Client)({ connectionString });
    } catch (cause) {
      throw new MemzipError(ErrorCode.USAGE, `the PostgreSQL connection string ${this.location} cannot be read: ${cause instanceof Error ? cause.message : String(cause)}`, {
        hint: "Check --db / MEMZIP_DB / the config's db: postgres://USER:PASSWORD@HOST:PORT/DATABASE (a port is a number; percent-encode special characters of the password).",
        details: { location: this.location },
      });
    }
    // allowExitOnIdle: idle connections do not keep the process alive. A script that forgot `close()` lingered until
    // the idle timeout (10 s), where one on SQLite ends at once; a server or a worker is kept alive by its own sockets.
    this.pool = new (loadPg().Pool)({ connectionString, types, max: 8, idleTimeoutMillis: 10_000, connectionTimeoutMillis: 30_000, allowExitOnIdle: true });
    // An idle client losing its server is reported on the pool; the next call reconnects (or fails with a typed error).
    this.pool.on("error", () => undefined);
    // A client checked out for a transaction (write, migrate) that loses its server (pg_terminate_backend, a restart, a
    // failover) emits "error" too, and with no listener that ended the process. The transaction's next query fails
    // instead (a typed E_STORE); the client is dropped at release.
    this.pool.on("connect", (client) => client.on("error", () => undefined));
  }

  /** Inside a write or migration transaction: its session ends if it idles longer than `writeIdleMs` (see there). */
  private async limitIdle(client: pg.PoolClient): Promise<void> {
    const ms = this.options.writeIdleMs ?? WRITE_IDLE_MS;
    // 0 turns the limit off, as PostgreSQL's own setting does.
    if (ms === 0) return;
    await client.query(`SET LOCAL idle_in_transaction_session_timeout = ${ms}`);
  }

  /** Resolves once the schema is current (migrated at the first call; a failure is retried by the next call). */
  ready(): Promise<void> {
    if (this.closed) return Promise.reject(new MemzipError(ErrorCode.STORE, `the store at ${this.location} is closed`, { hint: "Open the store again." }));
    this.readying ??= this.migrate().catch((error: unknown) => {
      this.readying = undefined;
      throw pgError(error, this.location);
    });
    return this.readying;
  }

  /** One statement on the pool, after `ready`. */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]> {
    await this.ready();
    try {
      return (await this.pool.query<R>(text, values)).rows;
    } catch (error) {
      throw pgError(error, this.location);
    }
  }

  /** Runs `work` in one transaction holding the store's write lock. */
  async write<T>(work: (tx: PgTransaction) => Promise<T>): Promise<T> {
    await this.ready();
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw pgError(error, this.location);
    }
    const tx = new PgTransaction(client);
    let broken: Error | undefined;
    // Why the server ended the session, when it did (25P03: this transaction idled past writeIdleMs): the next query
    // fails only with "not queryable".
    let ended: Error | undefined;
    const onError = (error: Error) => (ended ??= error);
    client.on("error", onError);
    try {
      await client.query("BEGIN");
      await this.limitIdle(client);
      await client.query("SELECT pg_advisory_xact_lock($1)", [WRITE_LOCK]);
      // Read after the lock (a statement of its own, so its snapshot is taken after the wait): a newer memzip's
      // migration takes the same lock, so this write runs wholly before or wholly after it.
      const version = Number((await client.query<{ v: number }>("SELECT coalesce(max(version), 0) AS v FROM memzip_schema")).rows[0]?.v ?? 0);
      if (version > PG_MIGRATIONS.length) throw upgradedWhileOpen(this.location, version, PG_MIGRATIONS.length);
      const out = await work(tx);
      await client.query("COMMIT");
      for (const [name, n] of tx.madeNamespaces) this.namespaceIds.set(name, n);
      for (const [name, n] of tx.madeCodecs) this.codecIds.set(name, n);
      return out;
    } catch (error) {
      await client.query("ROLLBACK").catch((rollback: unknown) => (broken = rollback as Error));
      throw pgError((ended as { code?: unknown } | undefined)?.code === "25P03" ? ended : error, this.location);
    } finally {
      client.off("error", onError);
      client.release(broken);
    }
  }

  /** The number of a namespace; inside a transaction (unless `create` is false), one is made for a new name. */
  async namespaceId(name: string, tx?: PgTransaction, create = tx !== undefined): Promise<number | undefined> {
    const known = this.namespaceIds.get(name) ?? tx?.madeNamespaces.get(name);
    if (known !== undefined) return known;
    const sql = "SELECT n FROM namespaces WHERE name = $1";
    const n = (tx ? (await tx.query<{ n: number }>(sql, [name])).rows : await this.query<{ n: number }>(sql, [name]))[0]?.n;
    if (n !== undefined) {
      // Committed already (the row was found), so it may be cached: namespaces are never deleted.
      this.namespaceIds.set(name, n);
      return n;
    }
    if (!tx || !create) return undefined;
    const made = (await tx.query<{ n: number }>("INSERT INTO namespaces (name, created_at) VALUES ($1, $2) RETURNING n", [name, Date.now()])).rows[0] as { n: number };
    tx.madeNamespaces.set(name, made.n);
    return made.n;
  }

  async codecId(name: string, tx: PgTransaction): Promise<number> {
    const known = this.codecIds.get(name) ?? tx.madeCodecs.get(name);
    if (known !== undefined) return known;
    let rows = (await tx.query<{ n: number }>("SELECT n FROM codecs WHERE name = $1", [name])).rows;
    if (rows.length > 0) {
      this.codecIds.set(name, (rows[0] as { n: number }).n);
      return (rows[0] as { n: number }).n;
    }
    rows = (await tx.query<{ n: number }>("INSERT INTO codecs (name) VALUES ($1) RETURNING n", [name])).rows;
    tx.madeCodecs.set(name, (rows[0] as { n: number }).n);
    return (rows[0] as { n: number }).n;
  }

  /** The row number of an asset a memory needs (E_MISSING_ASSET when it is not stored). */
  async assetN(assetId: string | null, tx: PgTransaction): Promise<number | null> {
    if (assetId === null) return null;
    const known = tx.assetNs.get(assetId);
    if (known !== undefined) return known;
    const row = (await tx.query<{ n: number }>("SELECT n FROM assets WHERE id = $1", [assetId])).rows[0];
    if (!row) throw new MemzipError(ErrorCode.MISSING_ASSET, `asset ${assetId} is not in the store`, { hint: "Store the asset before the memories that need it." });
    tx.assetNs.set(assetId, row.n);
    return row.n;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.readying?.catch(() => undefined);
    await this.pool.end();
  }

  /** Brings the schema up to date, one step a transaction, each under the migration lock. */
  private async migrate(): Promise<void> {
    const latest = PG_MIGRATIONS.length;
    const present = (await this.pool.query<{ present: boolean }>("SELECT to_regclass('memzip_schema') IS NOT NULL AS present")).rows[0]?.present === true;
    if (this.options.readOnly && !present) {
      throw new MemzipError(ErrorCode.NOT_FOUND, `there is no store at ${this.location}`, {
        hint: "Check --db / MEMZIP_DB; a store is created by the first write (`memzip add` or `memzip import`).",
        details: { location: this.location },
      });
    }
    // A store already at this build's schema opens with reads alone: no lock, no CREATE (a role granted only the
    // tables' rights opens it; CREATE TABLE IF NOT EXISTS checks the right to create even when the table is there).
    if (present) {
      const version = Number((await this.pool.query<{ v: number }>("SELECT coalesce(max(version), 0) AS v FROM memzip_schema")).rows[0]?.v ?? 0);
      if (version > latest) throw newerSchema(version, latest);
      if (version === latest) return;
    }
    for (;;) {
      const client = await this.pool.connect();
      let broken: Error | undefined;
      try {
        await client.query("BEGIN");
        await this.limitIdle(client);
        await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATE_LOCK]);
        await client.query("CREATE TABLE IF NOT EXISTS memzip_schema (version integer PRIMARY KEY, applied_at bigint NOT NULL)");
        const version = Number((await client.query<{ v: number }>("SELECT coalesce(max(version), 0) AS v FROM memzip_schema")).rows[0]?.v ?? 0);
        if (version > latest) throw newerSchema(version, latest);
        if (version === latest) {
          await client.query("COMMIT");
          return;
        }
        // Writes in flight finish first, and every later one reads the new version: a process of an older build (this
        // one and later) still running refuses to write past it.
        await client.query("SELECT pg_advisory_xact_lock($1)", [WRITE_LOCK]);
        await client.query(PG_MIGRATIONS[version] as string);
        await client.query("INSERT INTO memzip_schema (version, applied_at) VALUES ($1, $2)", [version + 1, Date.now()]);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK").catch((rollback: unknown) => (broken = rollback as Error));
        throw error;
      } finally {
        client.release(broken);
      }
    }
  }
}

function newerSchema(version: number, latest: number): MemzipError {
  return new MemzipError(ErrorCode.STORE, `the store has schema version ${version}; this build knows up to ${latest}`, { hint: "Upgrade memzip to open this store." });
}

/** PostgreSQL error classes that mean "out of room": disk full, out of memory, too many connections. */
const RESOURCE_STATES: Record<string, string> = {
  "53100": "the database server's disk is full",
  "53200": "the database server is out of memory",
  "53300": "the database server has too many connections",
  "53400": "a configured limit of the database server was reached",
};

/** Connection exceptions (class 08) that mean the connection is gone or was refused; not 08P01, a protocol violation. */
const CONNECTION_STATES = new Set(["08000", "08001", "08003", "08004", "08006"]);

/** A value PostgreSQL cannot take: U+0000 in text or JSON (22P05, 22021), a lone surrogate's escape in JSON (22P02, "type json"). */
const unstorable = (code: string, message: string): boolean => code === "22P05" || code === "22021" || (code === "22P02" && /type json/i.test(message));

/**
 * A pg or network error as a typed MemzipError: cannot connect or authenticate → E_STORE with a hint
 * naming the fix; disk full or too many connections → E_RESOURCE; a MemzipError passes through.
 */
export function pgError(error: unknown, location: string): unknown {
  if (error instanceof MemzipError || !(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  const message = error.message;
  if (typeof code === "string" && (code.startsWith("57P") || CONNECTION_STATES.has(code))) {
    // 57P01–57P05: the server is shutting down, restarting, or ended this connection; 08xxx: the connection failed.
    return new MemzipError(ErrorCode.STORE, `PostgreSQL at ${location} ended or refused the connection: ${message} (${code})`, {
      hint: "The server is restarting, failing over, or an administrator ended the session: run the command again once it answers (a write whose commit was cut off may have landed: read it back first).",
      cause: error,
      details: { location, cause: code },
    });
  }
  if (code === "25P03") {
    // Only a transaction that was idle (the process sent nothing, not even COMMIT) is ended this way: nothing of it landed.
    return new MemzipError(ErrorCode.STORE, `PostgreSQL at ${location} ended this write: its transaction sat idle longer than memzip allows (${message}), so other writers could go on; nothing of it was committed`, {
      hint: "This process stalled inside the write (stopped, swapped out, its network cut): run the command again.",
      cause: error,
      details: { location, cause: code },
    });
  }
  if (typeof code === "string" && unstorable(code, message)) {
    return new MemzipError(ErrorCode.INVALID_INPUT, `PostgreSQL at ${location} cannot take a value of this request: ${message} (${code})`, {
      hint: "A tag, meta or filter string holds U+0000 or half of a surrogate pair, which PostgreSQL's text and JSON cannot hold (or a stored value is not JSON): remove it from the request.",
      cause: error,
      details: { location, cause: code },
    });
  }
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EHOSTUNREACH" || code === "ETIMEDOUT" || code === "ECONNRESET" || /timeout exceeded when trying to connect|Connection terminated|not queryable/i.test(message)) {
    return new MemzipError(ErrorCode.STORE, `cannot reach PostgreSQL at ${location}: ${message}`, {
      hint: "Check that the server is running and the host and port in --db / MEMZIP_DB (postgres://user:password@host:port/database) are right.",
      cause: error,
      details: { location, cause: code ?? "connection" },
    });
  }
  // The client's TLS step (no SQLSTATE: pg's own message, or Node's TLS codes such as SELF_SIGNED_CERT_IN_CHAIN).
  if (/does not support SSL|SSL connection|certificate/i.test(message) && !(typeof code === "string" && /^[0-9A-Z]{5}$/.test(code))) {
    return new MemzipError(ErrorCode.STORE, `cannot open an SSL connection to PostgreSQL at ${location}: ${message}`, {
      hint: "The server does not offer SSL (or its certificate is not trusted): enable ssl on the server, or connect without it (leave sslmode out of --db / MEMZIP_DB, or sslmode=disable) on a network you trust.",
      cause: error,
      details: { location, cause: "ssl" },
    });
  }
  if (code === "28P01" || code === "28000") {
    return new MemzipError(ErrorCode.STORE, `PostgreSQL at ${location} refused the login: ${message}`, {
      hint: "Check the user and password in the connection string (or PGPASSWORD / ~/.pgpass) and the server's pg_hba.conf.",
      cause: error,
      details: { location, cause: code },
    });
  }
  if (code === "3D000") {
    return new MemzipError(ErrorCode.STORE, `PostgreSQL at ${location}: ${message}`, {
      hint: "Create the database first (`createdb NAME`, or CREATE DATABASE as an administrator); memzip creates its tables inside it.",
      cause: error,
      details: { location, cause: code },
    });
  }
  if (code === "42501") {
    return new MemzipError(ErrorCode.RESOURCE, `PostgreSQL at ${location} denied access: ${message}`, {
      hint: "Grant the connecting role CREATE on the database (first open) and SELECT/INSERT/UPDATE/DELETE on memzip's tables.",
      cause: error,
      details: { location, cause: code },
    });
  }
  if (typeof code === "string" && RESOURCE_STATES[code]) {
    return new MemzipError(ErrorCode.RESOURCE, `cannot use the store at ${location}: ${RESOURCE_STATES[code]} (${code}: ${message})`, {
      hint: "Free disk space on the database server (or raise its limits), then run the command again; what was already committed stays.",
      cause: error,
      details: { location, cause: code },
    });
  }
  return error;
}
