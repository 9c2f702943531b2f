import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { MemzipError, ErrorCode } from "../errors.js";
import { CACHE_DEFAULTS, type Cache, type CacheOptions, type CacheStats } from "../cache/cache.js";

/** How long a cache statement waits for another process's lock on the cache file. */
const CACHE_BUSY_TIMEOUT_MS = 100;

/**
 * The cache's disk tier: one SQLite file (WAL) that survives restarts, with the same bounds and
 * time to live as the memory tier. Least recently used entries go first.
 */
export class SqliteCache implements Cache {
  private readonly db: Database.Database;
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly counters = { hits: 0, misses: 0, evictions: 0, expirations: 0 };
  private readonly statements;
  /** A use counter, not a clock: ties between uses in the same millisecond would blur the LRU order. */
  private useSequence: number;

  constructor(path: string, options: CacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? CACHE_DEFAULTS.maxEntries;
    this.maxBytes = options.maxBytes ?? CACHE_DEFAULTS.maxBytes;
    this.ttlMs = options.ttlMs ?? CACHE_DEFAULTS.ttlMs;
    this.now = options.now ?? Date.now;
    try {
      if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
      this.db = new Database(path);
      this.db.pragma("journal_mode = WAL");
      this.db.pragma("synchronous = NORMAL");
      this.db.exec(`CREATE TABLE IF NOT EXISTS cache (
        key TEXT PRIMARY KEY, value BLOB NOT NULL, bytes INTEGER NOT NULL, expires_at INTEGER NOT NULL, used_at INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS cache_by_use ON cache(used_at);`);
      // Made (several processes opening a new file take turns, with better-sqlite3's 5 s wait). From now on a cache is
      // not worth a wait: another process holding the file's lock longer than this is a miss or a write not kept
      // (`ForgivingCache` counts it as busy), not up to 5 s on the calling thread.
      this.db.pragma(`busy_timeout = ${CACHE_BUSY_TIMEOUT_MS}`);
    } catch (cause) {
      throw new MemzipError(ErrorCode.STORE, `cannot open the cache at ${path}: ${(cause as Error).message}`, {
        hint: "Check the path and its permissions, or turn the disk cache off.",
        cause,
      });
    }
    const db = this.db;
    this.statements = {
      get: db.prepare("SELECT value, expires_at FROM cache WHERE key = ?"),
      touch: db.prepare("UPDATE cache SET used_at = ? WHERE key = ?"),
      put: db.prepare("INSERT OR REPLACE INTO cache (key, value, bytes, expires_at, used_at) VALUES (?, ?, ?, ?, ?)"),
      delete: db.prepare("DELETE FROM cache WHERE key = ?"),
      totals: db.prepare("SELECT count(*) AS entries, coalesce(sum(bytes), 0) AS bytes FROM cache"),
      oldest: db.prepare("SELECT key, bytes FROM cache ORDER BY used_at LIMIT 64"),
    };
    this.useSequence = (db.prepare("SELECT coalesce(max(used_at), 0) AS n FROM cache").get() as { n: number }).n;
  }

  get(key: string): Uint8Array | undefined {
    const row = this.statements.get.get(key) as { value: Buffer; expires_at: number } | undefined;
    if (!row) {
      this.counters.misses++;
      return undefined;
    }
    const now = this.now();
    if (row.expires_at <= now) {
      this.statements.delete.run(key);
      this.counters.expirations++;
      this.counters.misses++;
      return undefined;
    }
    this.statements.touch.run(++this.useSequence, key);
    this.counters.hits++;
    return new Uint8Array(row.value.buffer, row.value.byteOffset, row.value.length);
  }

  set(key: string, value: Uint8Array): void {
    if (value.length > this.maxBytes || this.maxEntries === 0) return;
    const now = this.now();
    this.db.transaction(() => {
      this.statements.put.run(key, Buffer.from(value), value.length, this.ttlMs > 0 ? now + this.ttlMs : Number.MAX_SAFE_INTEGER, ++this.useSequence);
      let { entries, bytes } = this.statements.totals.get() as { entries: number; bytes: number };
      while (entries > this.maxEntries || bytes > this.maxBytes) {
        const victims = this.statements.oldest.all() as { key: string; bytes: number }[];
        for (const victim of victims) {
          if (entries <= this.maxEntries && bytes <= this.maxBytes) break;
          this.statements.delete.run(victim.key);
          entries--;
          bytes -= victim.bytes;
          this.counters.evictions++;
        }
      }
    })();
  }

  delete(key: string): void {
    this.statements.delete.run(key);
  }

  clear(): void {
    this.db.exec("DELETE FROM cache");
  }

  stats(): CacheStats {
    const { entries, bytes } = this.statements.totals.get() as { entries: number; bytes: number };
    return { ...this.counters, entries, bytes };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
