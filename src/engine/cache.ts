import type { Cache } from "../cache/cache.js";
import { noCache } from "../cache/cache.js";
import { MemoryLruCache } from "../cache/memory-lru.js";
import { RedisCache, redisPrefixFor } from "../cache/redis.js";
import { isRedisUrl } from "../core/vocabulary.js";
import { SharedTierCache } from "../cache/shared-tier.js";
import { TieredCache } from "../cache/tiered.js";
import { ForgivingCache } from "../cache/forgiving.js";
import type { ResolvedEngineOptions } from "../engine-options.js";
import { SqliteCache } from "../store/sqlite-cache.js";

/**
 * The cache the options ask for, bounded as the profile says; the disk tier sits beside the store
 * file; a `redis://` cache is the in-process LRU in front of Redis, its keys prefixed by the
 * store's location (`redisPrefixFor`), so stores sharing one Redis never read each other's entries.
 */
export function cacheFor(options: ResolvedEngineOptions, dbPath: string): Cache {
  const { cache } = options;
  const limits = options.profile.cache;
  if (typeof cache === "object") return cache;
  if (cache === "off" || limits.maxEntries === 0) return noCache;
  const memory = new MemoryLruCache({ maxEntries: limits.maxEntries, maxBytes: limits.maxBytes, ttlMs: limits.ttlMs });
  if (isRedisUrl(cache)) return new SharedTierCache(memory, new RedisCache(cache, { prefix: redisPrefixFor(dbPath), ttlMs: limits.ttlMs, maxEntryBytes: Math.min(1 << 20, limits.maxBytes) }));
  // A server store (postgres://) has no folder for a disk tier.
  if (cache === "memory" || dbPath === ":memory:" || dbPath.includes("://")) return memory;
  const path = `${dbPath}.cache`;
  const disk = new ForgivingCache(
    () => new SqliteCache(path, { maxEntries: limits.maxEntries, maxBytes: limits.maxBytes * 4, ttlMs: limits.ttlMs }),
    (error) =>
      process.emitWarning(`the disk cache ${path} is not used by this process (${(error as Error).message}); memzip goes on without it. Delete the file to have it made again, or set the cache to "memory".`, {
        code: "MEMZIP_CACHE",
      }),
  );
  return new TieredCache(memory, disk);
}

