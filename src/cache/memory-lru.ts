import { CACHE_DEFAULTS, type Cache, type CacheOptions, type CacheStats } from "./cache.js";

interface Entry {
  value: Uint8Array;
  expiresAt: number;
}

/**
 * An in-process LRU with a time to live and bounds in entries and bytes. A Map keeps insertion
 * order, so re-inserting on every hit makes its first key the least recently used.
 */
export class MemoryLruCache implements Cache {
  private readonly entries = new Map<string, Entry>();
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private bytes = 0;
  private readonly counters = { hits: 0, misses: 0, evictions: 0, expirations: 0 };

  constructor(options: CacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? CACHE_DEFAULTS.maxEntries;
    this.maxBytes = options.maxBytes ?? CACHE_DEFAULTS.maxBytes;
    this.ttlMs = options.ttlMs ?? CACHE_DEFAULTS.ttlMs;
    this.now = options.now ?? Date.now;
  }

  get(key: string): Uint8Array | undefined {
    const entry = this.entries.get(key);
    if (!entry) {
      this.counters.misses++;
      return undefined;
    }
    if (entry.expiresAt <= this.now()) {
      this.remove(key, entry);
      this.counters.expirations++;
      this.counters.misses++;
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.counters.hits++;
    return entry.value;
  }

  set(key: string, value: Uint8Array): void {
    const previous = this.entries.get(key);
    if (previous) this.remove(key, previous);
    if (value.length > this.maxBytes || this.maxEntries === 0) return;
    this.entries.set(key, { value, expiresAt: this.ttlMs > 0 ? this.now() + this.ttlMs : Number.POSITIVE_INFINITY });
    this.bytes += value.length;
    for (const [oldest, entry] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.bytes <= this.maxBytes) break;
      this.remove(oldest, entry);
      this.counters.evictions++;
    }
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (entry) this.remove(key, entry);
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  stats(): CacheStats {
    return { ...this.counters, entries: this.entries.size, bytes: this.bytes };
  }

  private remove(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.bytes -= entry.value.length;
  }
}
