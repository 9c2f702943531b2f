import type { Store } from "../core/store.js";
import { PostgresStore, carriesSecret, isPostgresLocation, redactLocation } from "./postgres/index.js";
import { SqliteStore, type OpenOptions } from "./sqlite/index.js";

export type { OpenOptions } from "./sqlite/index.js";
export { isPostgresLocation, redactLocation } from "./postgres/index.js";

/**
 * Opens the store at `location` behind the asynchronous contract: a `postgres://` or
 * `postgresql://` connection string is the PostgreSQL store (`store/postgres/`; it connects at the
 * first call, so opening stays synchronous); anything else is a SQLite file (or `:memory:`).
 */
export function openStore(location: string, options: OpenOptions = {}): Store {
  if (isPostgresLocation(location)) return PostgresStore.open(location, options);
  return SqliteStore.open(location, options);
}

/** Whether a store location is a file on this machine (a SQLite file, not `:memory:` or a server). */
export function isLocalStoreFile(location: string): boolean {
  return location !== ":memory:" && !isPostgresLocation(location);
}

/**
 * A store's location as a command memzip prints to be pasted (a resume line) names it: never a PostgreSQL password
 * (docs/SCALE.md). `secret` says whether one was left out (the pasted command then takes it from PGPASSWORD or ~/.pgpass).
 */
export function printableLocation(location: string): { location: string; secret: boolean } {
  if (isPostgresLocation(location) && carriesSecret(location)) return { location: redactLocation(location), secret: true };
  return { location, secret: false };
}
