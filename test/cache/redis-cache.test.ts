import { strict as assert } from "node:assert";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { MemoryLruCache } from "../../src/cache/memory-lru.js";
import { RedisCache, redisPrefixFor } from "../../src/cache/redis.js";
import { SharedTierCache } from "../../src/cache/shared-tier.js";
import { Engine } from "../../src/engine.js";
import { devCorpus, spawnBounded, tempDir } from "../helpers.js";
import { redisSkip, startRedis, type RedisService } from "../services/redis.js";
import { bytes, cacheSuite, waitFor } from "./cache-suite.js";

const skip = redisSkip();
let redis: RedisService | undefined;
let raw: Redis | undefined;
const dir = tempDir();

before(async () => {
  if (skip) return;
  redis = await startRedis();
  raw = new Redis(redis.url);
  raw.on("error", () => undefined); // the outage test stops the server under it
});

after(async () => {
  raw?.disconnect();
  await redis?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

const url = () => (redis as RedisService).url;
const keysUnder = async (prefix: string) => (await (raw as Redis).keys(`${prefix}*`)).length;
let suiteStores = 0;
/**
 * The tier's default command timeout (250 ms) makes a reply that comes later a miss, by design: a
 * loaded test machine that stalls a moment would turn the suite's exact hit counts into chance.
 * The suite's caches wait 10 s; timeouts themselves are tested with the outage below.
 */
const PATIENT_MS = 10_000;

if (skip) {
  it("redis cache tier", { skip }, () => undefined);

} else {
  cacheSuite("redis", (options) => new RedisCache(url(), { prefix: `memzip-test:${++suiteStores}:`, commandTimeoutMs: PATIENT_MS, maxEntryBytes: options.maxBytes, ttlMs: options.ttlMs }), { lru: false, clock: "real" });

  describe("redis tier and engine", () => {
    /**
     * The tier `cache: URL` gives a store at `path` (the in-process LRU before Redis, keys under the store's prefix), but
     * waiting PATIENT_MS for a reply where the engine's waits 250 ms: a loaded machine's stall must not turn an exact
     * hit count into a miss, nor count a failure once Redis is back. The caller closes it (an engine leaves a cache it
     * was given open).
     */
    const patientTier = (path: string) => {
      const redisTier = new RedisCache(url(), { prefix: redisPrefixFor(path), commandTimeoutMs: PATIENT_MS });
      return { cache: new SharedTierCache(new MemoryLruCache(), redisTier), close: () => redisTier.close() };
    };

    it("two stores sharing one Redis never read each other's entries", async () => {
      const pathA = join(dir.path, "a.db");
      const pathB = join(dir.path, "b.db");
      const prefixA = redisPrefixFor(pathA);
      assert.notEqual(prefixA, redisPrefixFor(pathB));
      const a = new RedisCache(url(), { prefix: prefixA, commandTimeoutMs: PATIENT_MS });
      const b = new RedisCache(url(), { prefix: redisPrefixFor(pathB), commandTimeoutMs: PATIENT_MS });
      await a.set("same-key", bytes(4, 1));
      assert.equal(await b.get("same-key"), undefined);
      await b.set("same-key", bytes(4, 2));
      assert.deepEqual([...((await a.get("same-key")) ?? [])], [1, 1, 1, 1]);
      await a.clear();
      assert.deepEqual([...((await b.get("same-key")) ?? [])], [2, 2, 2, 2], "clearing one store's entries leaves the other's");
      await a.close();
      await b.close();

      // Through the engine: the same texts in two stores; B's recalls never hit what A put in Redis,
      // while a second process of A (a fresh in-process tier) finds all of them there.
      const records = devCorpus().slice(0, 30).map(({ id, text }) => ({ id, text }));
      const engineA = Engine.open({ db: pathA, cache: url(), autoTrainAfter: 0 });
      await engineA.rememberMany(records);
      for (const { id } of records) await engineA.recall(id);
      await waitFor(async () => (await keysUnder(prefixA)) >= records.length, "A's decoded texts in Redis");
      await engineA.close();
      {
        // A's second process, reading the keys A's engine wrote under its store's prefix.
        const tier = patientTier(pathA);
        try {
          await using again = Engine.open({ db: pathA, cache: tier.cache, autoTrainAfter: 0 });
          const before = again.cacheStats();
          for (const { id, text } of records) assert.equal(await again.recall(id), text);
          assert.equal(again.cacheStats().hits - before.hits, records.length, "every recall of A's second process hit Redis");
        } finally {
          await tier.close();
        }
      }
      await using engineB = Engine.open({ db: pathB, cache: url(), autoTrainAfter: 0 });
      await engineB.rememberMany(records);
      const before = engineB.cacheStats();
      for (const { id, text } of records) assert.equal(await engineB.recall(id), text);
      assert.equal(engineB.cacheStats().hits - before.hits, 0, "B found none of A's entries");
    });

    it("keeps working when Redis stops, counts the failures, and uses Redis again when it is back", async () => {
      const service = redis as RedisService;
      const path = join(dir.path, "outage.db");
      const prefix = redisPrefixFor(path);
      const records = devCorpus().slice(100, 160).map(({ id, text }) => ({ id, text }));
      const tier = patientTier(path);
      try {
        await using engine = Engine.open({ db: path, cache: tier.cache, autoTrainAfter: 0 });
        await engine.rememberMany(records.slice(0, 20));
        for (const { id, text } of records.slice(0, 20)) assert.equal(await engine.recall(id), text);
        assert.equal(engine.cacheStats().failures, 0);

        await service.stop();
        await engine.rememberMany(records.slice(20, 40));
        for (const { id, text } of records.slice(0, 40)) assert.equal(await engine.recall(id), text, "exact while Redis is down");
        await waitFor(() => (engine.cacheStats().failures ?? 0) > 0, "failures counted");
        const failuresWhileDown = engine.cacheStats().failures ?? 0;

        await service.start();
        let next = 40;
        // Recovery: the client reconnects by itself; each poll writes one new memory, whose envelope reaches Redis once it is back.
        await waitFor(async () => {
          if (next < records.length) await engine.rememberMany(records.slice(next, ++next));
          return (await keysUnder(prefix)) > 0;
        }, "writes to reach Redis again", 30_000);
        const failuresAfter = engine.cacheStats().failures ?? 0;
        for (const { id, text } of records.slice(0, next)) assert.equal(await engine.recall(id), text);
        assert.ok(failuresAfter >= failuresWhileDown);
        assert.equal(engine.cacheStats().failures, failuresAfter, "no failures once Redis is back");
      } finally {
        await tier.close();
      }
    });
  });
}

it("closed before its first connection is up, it lets the process exit (the connect wait's timer is cleared)", async () => {
  // A server that takes connections and never answers: the cache is neither ready nor failed when it closes.
  const silent = createServer(() => undefined);
  await new Promise<void>((done) => silent.listen(0, "127.0.0.1", done));
  try {
    const port = (silent.address() as { port: number }).port;
    const module = fileURLToPath(new URL("../../src/cache/redis.js", import.meta.url));
    // A 60 s command timeout makes the connect wait 240 s: without the fix the child outlives its 60 s bound.
    const script = `const { RedisCache } = await import(${JSON.stringify(module)}); const cache = new RedisCache("redis://127.0.0.1:${port}", { prefix: "t:", commandTimeoutMs: 60000 }); await cache.close();`;
    const child = spawnBounded(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
    assert.equal(child.status, 0, child.stderr);
  } finally {
    await new Promise((done) => silent.close(done));
  }
});
