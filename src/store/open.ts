import type { Store } from "../core/store.js";
import { SqliteStore, type OpenOptions } from "./sqlite/index.js";

export type { OpenOptions } from "./sqlite/index.js";

/**
 * Opens the store at `location` behind the asynchronous contract. Today every location is a
 * SQLite file (or `:memory:`): the native SQLite store in `store/sqlite/`.
 */
export function openStore(location: string, options: OpenOptions = {}): Store {
  return SqliteStore.open(location, options);
}
