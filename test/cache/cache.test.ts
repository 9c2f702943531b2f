import { strict as assert } from "node:assert";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { MemoryLruCache } from "../../src/cache/memory-lru.js";
import { TieredCache } from "../../src/cache/tiered.js";
import { ForgivingCache } from "../../src/cache/forgiving.js";
import type { Cache } from "../../src/cache/cache.js";
import { Engine } from "../../src/engine.js";
import { openStore } from "../../src/store/open.js";
import { createRleCodec } from "../codec/fixtures/rle-codec.js";
import { SqliteCache } from "../../src/store/sqlite-cache.js";
import { devCorpus, tempDir, storeOf } from "../helpers.js";
import { bytes, cacheSuite } from "./cache-suite.js";

cacheSuite("memory", (options) => new MemoryLruCache(options));
cacheSuite("sqlite", (options) => new SqliteCache(":memory:", options));

describe("disk tier and engine", () => {
  it("the disk tier survives a restart and refills the memory tier", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "cache.db");
    const disk = new SqliteCache(path);
    disk.set("k", bytes(5, 9));
    disk.close();
    const reopened = new SqliteCache(path);
    const memory = new MemoryLruCache();
    const tiered = new TieredCache(memory, reopened);
    assert.deepEqual([...(tiered.get("k") ?? [])], [9, 9, 9, 9, 9]);
    assert.ok(memory.get("k"), "promoted to the memory tier");
    await reopened.close();
  });

  it('an engine with cache "disk" finds recalls cached by an earlier process run', async () => {
    await using dir = tempDir();
    const db = join(dir.path, "store.db");
    const records = devCorpus().slice(0, 20).map(({ id, text }) => ({ id, text }));
    {
      await using engine = Engine.open({ db, cache: "disk", autoTrainAfter: 0 });
      await engine.rememberMany(records);
      for (const { id } of records) await engine.recall(id);
    }
    await using engine = Engine.open({ db, cache: "disk", autoTrainAfter: 0 });
    const before = engine.cacheStats();
    for (const { id, text } of records) assert.equal(await engine.recall(id), text);
    assert.equal(engine.cacheStats().hits - before.hits, records.length, "every recall hit the disk tier");
  });

  it("a repeated text in one batch is coded once: the copy reuses the proven envelope from the cache", async () => {
    await using engine = Engine.open({ db: ":memory:", workers: 0 });
    const text = (devCorpus()[3] as { text: string }).text;
    const hits = engine.cacheStats().hits;
    const [first, second] = await engine.rememberMany([
      { id: "first", text },
      { id: "second", text },
    ]);
    assert.equal(engine.cacheStats().hits, hits + 1);
    assert.ok(first && !first.deduplicated && first.storedBytes > 0);
    assert.ok(second?.deduplicated && second.storedBytes === 0, "the copy is stored as a reference");
    assert.deepEqual((await storeOf(engine).memories.get("default", "second"))?.envelope, (await storeOf(engine).memories.get("default", "first"))?.envelope);
    assert.equal(await engine.recall("second"), text);
  });

  it("a damaged envelope in the disk cache is proven again before a write uses it: dropped, the text coded afresh, nothing lost (trial44)", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "store.db");
    const text = (devCorpus()[5] as { text: string }).text;
    {
      await using engine = Engine.open({ db, cache: "disk", autoTrainAfter: 0, workers: 0 });
      await engine.remember({ id: "c", namespace: "c", text });
    }
    // One flipped bit in the cached envelope (a bad sector, another process's bug).
    const cacheFile = new Database(`${db}.cache`);
    try {
      const row = cacheFile.prepare("SELECT key, value FROM cache WHERE key LIKE 'envelope:%'").get() as { key: string; value: Buffer };
      const value = Buffer.from(row.value);
      value[value.length - 3] = (value[value.length - 3] as number) ^ 4;
      cacheFile.prepare("UPDATE cache SET value = ? WHERE key = ?").run(value, row.key);
    } finally {
      cacheFile.close();
    }
    await using engine = Engine.open({ db, cache: "disk", autoTrainAfter: 0, workers: 0 });
    // Before: "stored", no verify failure, and the memory could never be read (E_CHECKSUM).
    const written = await engine.remember({ id: "d", namespace: "d", text });
    assert.equal(written.status, "stored");
    assert.equal(await engine.recall("d", { namespace: "d" }), text);
    const report = await engine.verify();
    assert.deepEqual([report.checked, report.failed], [2, 0]);
    // The next write of the text reuses the good envelope the first one cached.
    const again = await engine.remember({ id: "e", namespace: "e", text });
    assert.equal(await engine.recall("e", { namespace: "e" }), text);
    assert.ok(again.storedBytes > 0 && again.storedBytes < Buffer.byteLength(text));
  });

  it("an envelope this process proved is not decoded again on a hit; other bytes under its key are (review of trial44's fix)", async () => {
    using dir = tempDir();
    const rle = createRleCodec();
    const inner = new MemoryLruCache();
    // A tier whose entries another process may rewrite: `tamper` flips a bit in what it hands back.
    let tamper = false;
    const cache: Cache = {
      get: (key) => {
        const value = inner.get(key)?.slice();
        if (value && tamper) value[value.length - 1] = (value[value.length - 1] as number) ^ 1;
        return value;
      },
      set: (key, value) => inner.set(key, value),
      delete: (key) => inner.delete(key),
      clear: () => inner.clear(),
      stats: () => inner.stats(),
    };
    const engine = Engine.create({ store: openStore(join(dir.path, "store.db")), extraCodecs: [rle], cache, workers: 0, autoTrainAfter: 0 });
    try {
      const runs = `${"a".repeat(1500)}${"b".repeat(700)}`;
      assert.equal((await engine.remember({ id: "r", namespace: "x", text: runs })).codec, "test-rle");
      assert.deepEqual([rle.calls.encode, rle.calls.decode], [1, 1], "coded once and proven once");
      for (const namespace of ["y", "z"]) assert.equal((await engine.remember({ id: "r", namespace, text: runs })).codec, "test-rle");
      assert.deepEqual([rle.calls.encode, rle.calls.decode], [1, 1], "the hits were the bytes this process proved: not decoded again");
      tamper = true;
      const written = await engine.remember({ id: "r", namespace: "w", text: runs });
      assert.equal(written.codec, "test-rle");
      assert.equal(rle.calls.encode, 2, "the changed entry was proven, failed, and the text coded afresh");
      tamper = false;
      for (const namespace of ["x", "y", "z", "w"]) assert.equal(await engine.recall("r", { namespace }), runs);
      assert.equal((await engine.verify()).failed, 0);
    } finally {
      await engine.close();
    }
  });

  it("a disk cache file that is not a database is left alone with a warning: writes and reads go on (trial44: every add failed, exit 8)", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "store.db");
    writeFileSync(`${db}.cache`, Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 131 + 7) & 0xff)));
    const warned = new Promise<Error>((resolve) => process.once("warning", resolve));
    const text = (devCorpus()[6] as { text: string }).text;
    await using engine = Engine.open({ db, cache: "disk", autoTrainAfter: 0, workers: 0 });
    assert.equal((await engine.remember({ id: "a", text })).status, "stored");
    assert.equal(await engine.recall("a"), text);
    assert.equal(engine.cacheStats().failures, 1);
    const warning = await warned;
    assert.match(warning.message, /the disk cache .*store\.db\.cache is not used by this process .*Delete the file/);
  });

  it("a disk tier another process holds locked a moment is a miss, not dropped, and no warning (review of trial44's fix)", () => {
    let locked = true;
    const inner = new MemoryLruCache();
    const flaky = {
      ...inner,
      get: (key: string) => {
        if (locked) throw Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" });
        return inner.get(key);
      },
      set: (key: string, value: Uint8Array) => inner.set(key, value),
      delete: (key: string) => inner.delete(key),
      clear: () => inner.clear(),
      stats: () => inner.stats(),
    };
    const warnings: unknown[] = [];
    const tier = new ForgivingCache(() => flaky, (error) => warnings.push(error));
    tier.set("k", bytes(3, 1));
    assert.equal(tier.get("k"), undefined);
    locked = false;
    assert.deepEqual([...(tier.get("k") ?? [])], [1, 1, 1], "the tier is still used");
    assert.deepEqual(warnings, []);
    assert.equal(tier.stats().failures, 1);
  });

  it("hot recalls hit the decoded-text cache and still return the exact text", async () => {
    await using engine = Engine.open({ db: ":memory:" });
    const records = devCorpus().slice(0, 50).map(({ id, text }) => ({ id, text }));
    await engine.rememberMany(records);
    const before = engine.cacheStats();
    for (const record of records) assert.equal(await engine.recall(record.id), record.text);
    for (const record of records) assert.equal(await engine.recall(record.id), record.text);
    const after = engine.cacheStats();
    assert.deepEqual({ hits: after.hits - before.hits, misses: after.misses - before.misses }, { hits: 50, misses: 50 });
    await using uncached = Engine.open({ db: ":memory:", cache: "off" });
    await uncached.rememberMany(records);
    await uncached.recall(records[0]?.id as string);
    assert.equal(uncached.cacheStats().hits, 0);
  });
});
