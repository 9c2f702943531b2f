/** Counters every cache keeps; the same numbers feed progress lines and, later, /metrics. */
export interface CacheStats {
  hits: number;
  misses: number;
  /** Entries dropped to stay within the entry or byte bound. */
  evictions: number;
  /** Entries dropped because their time to live had passed. */
  expirations: number;
  entries: number;
  bytes: number;
  /** Operations a shared tier (Redis) could not complete; the caller carried on without it. Only tiers that can fail report it. */
  failures?: number;
}

/** A bounded key-value cache of byte strings (decoded texts, encoded envelopes). */
export interface Cache {
  get(key: string): Uint8Array | undefined;
  set(key: string, value: Uint8Array): void;
  delete(key: string): void;
  clear(): void;
  stats(): CacheStats;
  /** Releases files the cache holds open (a disk tier). */
  close?(): void;
  /**
   * A read that may wait for a shared tier behind the in-process one (Redis). Callers that can
   * await (the reader's recall) use it when present; `get` stays the synchronous in-process read.
   */
  load?(key: string): Promise<Uint8Array | undefined>;
}

/**
 * A cache whose every operation may wait on the network (the Redis tier). It never throws for an
 * unreachable server: a read misses, a write is dropped, and `stats().failures` counts both.
 */
export interface AsyncCache {
  get(key: string): Promise<Uint8Array | undefined>;
  set(key: string, value: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
  /** Drops this cache's entries only (a shared server may hold other stores' entries). */
  clear(): Promise<void>;
  stats(): CacheStats;
  close?(): Promise<void>;
}

export interface CacheOptions {
  /** Most entries kept. Defaults to `50000` (the local profile's figure). */
  maxEntries?: number;
  /** Most value bytes kept. Defaults to 256 MiB. */
  maxBytes?: number;
  /** Milliseconds an entry lives after it is written; `0` keeps entries until evicted. Defaults to 2 hours. */
  ttlMs?: number;
  /** The clock, for tests. Defaults to `Date.now`. */
  now?: () => number;
}

export const CACHE_DEFAULTS = { maxEntries: 50_000, maxBytes: 256 << 20, ttlMs: 2 * 60 * 60 * 1000 } as const satisfies CacheOptions;

/** A cache that keeps nothing, for callers that want caching off without a branch. */
export const noCache: Cache = {
  get: () => undefined,
  set: () => undefined,
  delete: () => undefined,
  clear: () => undefined,
  stats: () => ({ hits: 0, misses: 0, evictions: 0, expirations: 0, entries: 0, bytes: 0 }),
};
