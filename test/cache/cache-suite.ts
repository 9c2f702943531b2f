import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import type { AsyncCache, Cache } from "../../src/cache/cache.js";

export const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

export interface SuiteOptions {
  maxEntries: number;
  maxBytes: number;
  ttlMs: number;
  now: () => number;
}

/**
 * What a tier can promise: an in-process tier evicts in exact LRU order within its entry and byte
 * bounds and follows the test's clock; a shared tier (Redis) bounds each value (the server's
 * `maxmemory` bounds the total) and expires on the server's clock.
 */
export interface CacheTraits {
  lru: boolean;
  clock: "fake" | "real";
}

/** Waits for `condition` (polled), failing after `timeoutMs`: a bound, not a synchronisation by sleep. */
export async function waitFor(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 25));
  }
}

/** The shared suite every cache tier runs, synchronous (`Cache`) or not (`AsyncCache`): every call is awaited. */
export function cacheSuite(name: string, make: (options: SuiteOptions) => Cache | AsyncCache, traits: CacheTraits = { lru: true, clock: "fake" }): void {
  describe(`${name} cache`, () => {
    it("keeps exact bytes, overwrites, deletes, clears and counts hits and misses", async () => {
      const cache = make({ maxEntries: 100, maxBytes: 1000, ttlMs: 0, now: () => 0 });
      await cache.set("a", bytes(3, 7));
      assert.deepEqual([...((await cache.get("a")) ?? [])], [7, 7, 7]);
      await cache.set("a", bytes(2, 8));
      assert.deepEqual([...((await cache.get("a")) ?? [])], [8, 8]);
      assert.equal(await cache.get("missing"), undefined);
      await cache.delete("a");
      assert.equal(await cache.get("a"), undefined);
      await cache.set("b", bytes(1));
      await cache.clear();
      assert.equal(await cache.get("b"), undefined);
      const { hits, misses } = cache.stats();
      assert.deepEqual({ hits, misses }, { hits: 2, misses: 3 });
      await cache.close?.();
    });

    if (traits.lru) {
      it("evicts the least recently used entry past the entry bound and counts hits and misses", async () => {
        const cache = make({ maxEntries: 2, maxBytes: 1000, ttlMs: 0, now: () => 0 });
        await cache.set("a", bytes(1));
        await cache.set("b", bytes(1));
        assert.ok(await cache.get("a"));
        await cache.set("c", bytes(1));
        assert.equal(await cache.get("b"), undefined);
        assert.ok((await cache.get("a")) && (await cache.get("c")));
        assert.deepEqual({ ...cache.stats() }, { hits: 3, misses: 1, evictions: 1, expirations: 0, entries: 2, bytes: 2 });
        await cache.close?.();
      });

      it("keeps within the byte bound", async () => {
        const cache = make({ maxEntries: 100, maxBytes: 10, ttlMs: 0, now: () => 0 });
        await cache.set("a", bytes(4));
        await cache.set("b", bytes(4));
        await cache.set("c", bytes(4));
        assert.equal(await cache.get("a"), undefined);
        assert.ok(cache.stats().bytes <= 10);
        await cache.close?.();
      });
    }

    it("refuses a value larger than its bound", async () => {
      const cache = make({ maxEntries: 100, maxBytes: 10, ttlMs: 0, now: () => 0 });
      await cache.set("huge", bytes(11));
      assert.equal(await cache.get("huge"), undefined);
      await cache.set("fits", bytes(10, 3));
      assert.equal((await cache.get("fits"))?.length, 10);
      await cache.close?.();
    });

    if (traits.clock === "fake") {
      it("expires entries after their time to live", async () => {
        let now = 1000;
        const cache = make({ maxEntries: 10, maxBytes: 100, ttlMs: 50, now: () => now });
        await cache.set("a", bytes(3, 7));
        now += 49;
        assert.deepEqual([...((await cache.get("a")) ?? [])], [7, 7, 7]);
        now += 1;
        assert.equal(await cache.get("a"), undefined);
        assert.equal(cache.stats().expirations, 1);
        await cache.close?.();
      });
    } else {
      it("expires entries after their time to live (on the server's clock)", async () => {
        const cache = make({ maxEntries: 10, maxBytes: 100, ttlMs: 100, now: Date.now });
        const long = make({ maxEntries: 10, maxBytes: 100, ttlMs: 60 * 60 * 1000, now: Date.now });
        await cache.set("short", bytes(3, 7));
        await long.set("long", bytes(3, 9));
        await waitFor(async () => (await cache.get("short")) === undefined, "the short-lived entry to expire");
        assert.deepEqual([...((await long.get("long")) ?? [])], [9, 9, 9], "an entry within its TTL stays");
        await cache.close?.();
        await long.close?.();
      });
    }
  });
}
