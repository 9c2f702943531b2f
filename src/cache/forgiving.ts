import type { Cache, CacheStats } from "./cache.js";

const NOTHING: CacheStats = { hits: 0, misses: 0, evictions: 0, expirations: 0, entries: 0, bytes: 0 };

/**
 * A cache tier whose failures are counted, not thrown: a cache is derived data, and a damaged, unreadable or read-only
 * cache file must not fail the writes and reads it only speeds up (trial44: random bytes in `<db>.cache`, or the file
 * made read-only, failed every `add` with exit 8, the second naming the store as read-only). The tier is opened by
 * `open`; after its first failure (opening included) it is left alone for the life of the process, and `onFailure`
 * is told once (the process's warning). A file another process holds locked a moment is a miss, not a failure of the tier.
 */
export class ForgivingCache implements Cache {
  private inner: Cache | undefined;
  private failures = 0;
  /** Operations that met the file locked by another process (counted as failures; the tier stays). */
  private busy = 0;

  constructor(
    open: () => Cache,
    private readonly onFailure: (error: unknown) => void,
  ) {
    try {
      this.inner = open();
    } catch (error) {
      this.fail(error);
    }
  }

  get(key: string): Uint8Array | undefined {
    return this.attempt((cache) => cache.get(key), undefined);
  }

  set(key: string, value: Uint8Array): void {
    this.attempt((cache) => cache.set(key, value), undefined);
  }

  delete(key: string): void {
    this.attempt((cache) => cache.delete(key), undefined);
  }

  clear(): void {
    this.attempt((cache) => cache.clear(), undefined);
  }

  stats(): CacheStats {
    const stats = this.attempt((cache) => cache.stats(), NOTHING);
    return { ...stats, failures: (stats.failures ?? 0) + this.failures + this.busy };
  }

  close(): void {
    try {
      this.inner?.close?.();
    } catch {
      // Closing a broken file: nothing of it is needed any more.
    }
  }

  private attempt<T>(work: (cache: Cache) => T, otherwise: T): T {
    if (!this.inner) return otherwise;
    try {
      return work(this.inner);
    } catch (error) {
      // Another process holding the file a moment (SQLITE_BUSY / LOCKED) is a miss, not a broken tier.
      const code = (error as { code?: unknown }).code;
      if (typeof code === "string" && /^SQLITE_(BUSY|LOCKED)/.test(code)) {
        this.busy++;
        return otherwise;
      }
      this.fail(error);
      return otherwise;
    }
  }

  private fail(error: unknown): void {
    this.failures++;
    if (this.inner) this.close();
    this.inner = undefined;
    if (this.failures === 1) this.onFailure(error);
  }
}
