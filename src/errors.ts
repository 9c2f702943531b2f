/** Stable error codes. The CLI maps them to exit codes in one place (`cli/exit-codes.ts`). */
export const ErrorCode = {
  /** The envelope is malformed: wrong magic, bad header, truncated, trailing garbage. */
  FORMAT: "E_FORMAT",
  /** The envelope names a format version this build does not read. */
  VERSION: "E_VERSION",
  /** The envelope names a codec this build does not know. */
  UNKNOWN_CODEC: "E_UNKNOWN_CODEC",
  /** Decoding produced bytes whose checksum differs from the one recorded at write time. */
  CHECKSUM: "E_CHECKSUM",
  /** A dictionary or model snapshot the payload depends on is not in the store. */
  MISSING_ASSET: "E_MISSING_ASSET",
  /** The model file an `llm` payload was written with is not registered or not on disk. */
  MISSING_MODEL: "E_MISSING_MODEL",
  /** An `llm` payload written by another inference engine (version, backend, CPU kernels) did not decode here. */
  ENGINE_MISMATCH: "E_ENGINE_MISMATCH",
  /** Input text refused at the boundary: invalid UTF-8, lone surrogate, empty, too large. */
  INVALID_INPUT: "E_INVALID_INPUT",
  /** No memory with that id. */
  NOT_FOUND: "E_NOT_FOUND",
  /** A configuration value or command-line flag is wrong. */
  USAGE: "E_USAGE",
  /** The store file cannot be opened or has an unknown schema. */
  STORE: "E_STORE",
  /** A codec could not prove its own output decodes back to the original. */
  VERIFY: "E_VERIFY",
  /** A tool the operation needs (the zstd CLI for dictionary training) is missing. */
  DEPENDENCY: "E_DEPENDENCY",
  /** The operation was cancelled by the caller (Ctrl-C, AbortSignal). */
  ABORTED: "E_ABORTED",
  /** A model or backend call ran past its deadline (`itemTimeoutMs`). */
  TIMEOUT: "E_TIMEOUT",
  /** A backend could not be reached or answered with a server error (transient: retried). */
  BACKEND_UNAVAILABLE: "E_BACKEND_UNAVAILABLE",
  /** A backend refused the request (4xx) or answered something that breaks the contract (not retried). */
  BACKEND_REJECTED: "E_BACKEND_REJECTED",
  /** The machine ran out of a resource a write needs: disk full, file-size limit, read-only file or folder. */
  RESOURCE: "E_RESOURCE",
  /** Another live process is doing it now (an import job it runs): wait for it, or try again once it stopped. */
  BUSY: "E_BUSY",
  /** Another writer changed (or created) the memory between this write's planning and its commit: nothing was written; write it again. */
  CONFLICT: "E_CONFLICT",
  /** A conditional write's tag (HTTP If-Match, MCP `ifMatch`) is not the memory's now: someone changed it since it was read; nothing was written. */
  PRECONDITION: "E_PRECONDITION",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface MemzipErrorOptions {
  /** What the user can do about it, in one sentence. */
  hint?: string;
  cause?: unknown;
  /** Machine-readable context: ids, fingerprints, offsets. */
  details?: Record<string, unknown>;
}

/** The one error type memzip throws on purpose; `code` is stable, `message` is for people. */
export class MemzipError extends Error {
  override readonly name = "MemzipError";
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: MemzipErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.details = options.details ?? {};
  }

  toJSON(): { code: ErrorCode; message: string; hint?: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, ...(this.hint ? { hint: this.hint } : {}), details: this.details };
  }
}

export function isMemzipError(error: unknown, code?: ErrorCode): error is MemzipError {
  return error instanceof MemzipError && (code === undefined || error.code === code);
}

/** Errors of the store or the process, not of one memory: a read of many memories that meets one fails as a whole. */
const STORE_WIDE: ReadonlySet<ErrorCode> = new Set([ErrorCode.STORE, ErrorCode.RESOURCE, ErrorCode.BUSY, ErrorCode.ABORTED, ErrorCode.USAGE]);

/**
 * Whether reading one memory's text failed for that memory alone (its model, runtime or asset
 * missing here, its payload damaged), so a read of many (search, previews) can go on without it.
 */
export function isOneMemoryError(error: unknown): error is MemzipError {
  return error instanceof MemzipError && !STORE_WIDE.has(error.code);
}

/** SQLite result codes and errno names that mean "out of space or not writable", not a bug. */
const RESOURCE_CAUSES: Record<string, string> = {
  SQLITE_FULL: "the disk is full",
  SQLITE_IOERR: "a disk read or write failed",
  SQLITE_READONLY: "the store is read-only",
  SQLITE_CANTOPEN: "the store file cannot be opened for writing",
  ENOSPC: "the disk is full",
  EDQUOT: "the disk quota is used up",
  EFBIG: "the file-size limit was reached",
  EROFS: "the file system is read-only",
  EACCES: "permission denied",
};

/**
 * A SQLite or file-system error that means the machine ran out of room or cannot write
 * (SQLITE_FULL, SQLITE_IOERR_*, SQLITE_READONLY_*, ENOSPC, EFBIG, EROFS, ...) as an
 * `E_RESOURCE` MemzipError; `undefined` for anything else (a bug, a usage error), which callers rethrow.
 */
export function resourceError(error: unknown, what = "write"): MemzipError | undefined {
  if (error instanceof MemzipError) return error.code === ErrorCode.RESOURCE ? error : undefined;
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string") return undefined;
  const base = code.startsWith("SQLITE_") ? (Object.keys(RESOURCE_CAUSES).find((k) => code === k || code.startsWith(`${k}_`)) ?? "") : code;
  const cause = RESOURCE_CAUSES[base];
  if (!cause) return undefined;
  const readOnly = base === "SQLITE_READONLY" || base === "EROFS" || base === "EACCES" || base === "SQLITE_CANTOPEN";
  // Node's own messages begin with the code ("ENOSPC: no space left on device, write"); SQLite's do not.
  const said = error.message.startsWith(`${code}:`) ? error.message : `${code}: ${error.message}`;
  return new MemzipError(ErrorCode.RESOURCE, `cannot ${what}: ${cause} (${said})`, {
    hint: readOnly
      ? "Make the store file and its folder writable (check permissions and mount options), or point --db at a writable path."
      : "Free disk space or raise the file-size limit (ulimit -f, quota), then run the command again; what was already committed stays.",
    cause: error,
    details: { cause: code },
  });
}

/**
 * A SQLite error that means the store file itself is damaged (SQLITE_CORRUPT*, SQLITE_NOTADB) as an
 * `E_STORE` MemzipError; `undefined` for anything else.
 */
export function damagedStoreError(error: unknown): MemzipError | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  // A schema whose SQL a flipped bit changed (a trigger naming `new.req`) compiles no more: SQLITE_ERROR "no such column"
  // when a statement is prepared (trial43: every command crashed with a stack trace). memzip's own statements name only
  // what its schema holds, so on a store that opened such an error means damage, not a bug of the caller's.
  const schemaDamaged = code === "SQLITE_ERROR" && /^no such (column|table|function): /.test(error.message);
  if (typeof code !== "string" || !(code === "SQLITE_NOTADB" || code.startsWith("SQLITE_CORRUPT") || schemaDamaged)) return undefined;
  // The keyword index (memzip's only virtual table, `search_terms`) is derived data: rebuilt, not restored (trial44).
  if (code === "SQLITE_CORRUPT_VTAB" || /\bsearch_(terms|vectors|vector_blocks|meta|moved)\b/.test(error.message)) return damagedSearchIndex(`${code}: ${error.message}`, error);
  return new MemzipError(ErrorCode.STORE, `the store file is damaged (${code}: ${error.message})`, {
    hint: schemaDamaged
      ? "Restore the store from a backup: its schema (the SQL of its tables and triggers) is damaged, so no memzip command can read it; `sqlite3 FILE .recover` may save its rows."
      : "Restore the store from a backup; `memzip export --skip-bad --out FILE` saves every memory that can still be read.",
    cause: error,
    details: { cause: code },
  });
}

/**
 * SQLite's "another connection holds the lock" (SQLITE_BUSY*, SQLITE_LOCKED*), met once the store's
 * wait for it ran out, as an `E_BUSY` MemzipError; `undefined` for anything else. Nothing of the
 * failed statement was written; what was committed before it stays.
 */
export function busyStoreError(error: unknown): MemzipError | undefined {
  if (error instanceof MemzipError) return error.code === ErrorCode.BUSY ? error : undefined;
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string" || !/^SQLITE_(BUSY|LOCKED)(_|$)/.test(code)) return undefined;
  return new MemzipError(ErrorCode.BUSY, `the store is locked: another connection kept its write lock past this one's wait (${code}: ${error.message})`, {
    hint: "Another process is writing to the store (a long import, `memzip compact`, a backup, an sqlite3 shell with an open transaction): run the command again when it is done; what was committed stays.",
    cause: error,
    details: { cause: code },
  });
}

/**
 * A SQLite or file-system error as the typed error it means — a damaged file (`E_STORE`), no room or not writable
 * (`E_RESOURCE`), another writer's lock (`E_BUSY`) — or `undefined` for anything else (the three sets of codes are disjoint).
 */
export function storeFailure(error: unknown, what?: string): MemzipError | undefined {
  return damagedStoreError(error) ?? resourceError(error, what) ?? busyStoreError(error);
}

/** The search index's tables are damaged: derived data, rebuilt by `search --reindex`; the memories are not affected. */
export function damagedSearchIndex(why: string, cause?: unknown): MemzipError {
  return new MemzipError(ErrorCode.STORE, `the search index is damaged (${why})`, {
    hint: "The search index is derived from the memories: rebuild it with `memzip search QUERY --reindex` (library: `(await engine.searchIndex()).clear()`); `memzip verify` checks the memories themselves.",
    ...(cause === undefined ? {} : { cause }),
    details: { cause: "search-index" },
  });
}

/** A store a newer memzip upgraded while this process had it open (SQLite and PostgreSQL say the same). */
export function upgradedWhileOpen(location: string, version: number, latest: number): MemzipError {
  return new MemzipError(ErrorCode.STORE, `the store at ${location} was upgraded to schema version ${version} by a newer memzip while this process had it open (this build knows up to ${latest}); nothing was read or written`, {
    hint: "Stop this process and start it again with the memzip release that upgraded the store (every memzip process on a store should run one release).",
    details: { location, schemaVersion: version, knownUpTo: latest },
  });
}
