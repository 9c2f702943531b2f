import type { Cache } from "../cache/cache.js";
import { noCache } from "../cache/cache.js";
import { MemoryLruCache } from "../cache/memory-lru.js";
import { TieredCache } from "../cache/tiered.js";
import type { ResolvedEngineOptions } from "../engine-options.js";
import { SqliteCache } from "../store/sqlite-cache.js";

/** The cache the options ask for, bounded as the profile says; the disk tier sits beside the store file. */
export function cacheFor(options: ResolvedEngineOptions, dbPath: string): Cache {
  const { cache } = options;
  const limits = options.profile.cache;
  if (typeof cache === "object") return cache;
  if (cache === "off" || limits.maxEntries === 0) return noCache;
  const memory = new MemoryLruCache({ maxEntries: limits.maxEntries, maxBytes: limits.maxBytes, ttlMs: limits.ttlMs });
  if (cache === "memory" || dbPath === ":memory:") return memory;
  return new TieredCache(memory, new SqliteCache(`${dbPath}.cache`, { maxEntries: limits.maxEntries, maxBytes: limits.maxBytes * 4, ttlMs: limits.ttlMs }));
}

