import type { Cache, CacheStats } from "./cache.js";

/**
 * A fast tier in front of a slower one (memory before disk): reads fall through and promote,
 * writes go to both. Stats are the front tier's hits plus the back tier's, so a hit anywhere counts once.
 */
export class TieredCache implements Cache {
  constructor(
    private readonly front: Cache,
    private readonly back: Cache,
  ) {}

  get(key: string): Uint8Array | undefined {
    const near = this.front.get(key);
    if (near) return near;
    const far = this.back.get(key);
    if (far) this.front.set(key, far);
    return far;
  }

  set(key: string, value: Uint8Array): void {
    this.front.set(key, value);
    this.back.set(key, value);
  }

  delete(key: string): void {
    this.front.delete(key);
    this.back.delete(key);
  }

  clear(): void {
    this.front.clear();
    this.back.clear();
  }

  close(): void {
    this.front.close?.();
    this.back.close?.();
  }

  stats(): CacheStats {
    const front = this.front.stats();
    const back = this.back.stats();
    return {
      hits: front.hits + back.hits,
      misses: back.misses,
      evictions: front.evictions + back.evictions,
      expirations: front.expirations + back.expirations,
      entries: back.entries,
      bytes: back.bytes,
      ...(back.failures === undefined ? {} : { failures: back.failures }),
    };
  }
}
