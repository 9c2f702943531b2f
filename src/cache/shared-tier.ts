import type { AsyncCache, Cache, CacheStats } from "./cache.js";

/**
 * The in-process LRU in front of a shared tier (Redis). `get` is the synchronous in-process read
 * (callers that cannot wait); `load` falls through to the shared tier and promotes what it finds.
 * Writes land in the front tier at once and go to the shared tier in the background: a slow or
 * absent Redis never holds up a write or a recall (its failures are counted, not thrown).
 */
export class SharedTierCache implements Cache {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly front: Cache,
    private readonly back: AsyncCache,
  ) {}

  get(key: string): Uint8Array | undefined {
    return this.front.get(key);
  }

  async load(key: string): Promise<Uint8Array | undefined> {
    const near = this.front.get(key);
    if (near) return near;
    const far = await this.back.get(key);
    if (far) this.front.set(key, far);
    return far;
  }

  set(key: string, value: Uint8Array): void {
    this.front.set(key, value);
    this.track(this.back.set(key, value.slice()));
  }

  delete(key: string): void {
    this.front.delete(key);
    this.track(this.back.delete(key));
  }

  clear(): void {
    this.front.clear();
    this.track(this.back.clear());
  }

  /** Resolves when every background write so far has reached the shared tier (or failed). */
  async settled(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }

  close(): void {
    this.front.close?.();
    void this.settled().then(() => this.back.close?.());
  }

  /** Hits in either tier count once (a front miss the shared tier answers is a hit); failures are the shared tier's; size is the front tier's. */
  stats(): CacheStats {
    const front = this.front.stats();
    const back = this.back.stats();
    return {
      hits: front.hits + back.hits,
      misses: front.misses - back.hits,
      evictions: front.evictions + back.evictions,
      expirations: front.expirations + back.expirations,
      entries: front.entries,
      bytes: front.bytes,
      failures: back.failures ?? 0,
    };
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }
}
