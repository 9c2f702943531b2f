import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { seededRandom } from "../../src/core/stats.js";
import type { EngineSearchOptions } from "../../src/engine/features.js";
import { mergeDeltas } from "../../src/engine/pushed-changes.js";
import { SearchThread, type SearchReply } from "../../src/engine/search-thread.js";
import type { WorkerPool } from "../../src/core/worker-pool.js";
import { SearchIndex } from "../../src/search/search.js";
import { HashedNgramEmbedder } from "../../src/search/similarity.js";
import { SqliteStore } from "../../src/store/sqlite/index.js";
import { devCorpus, tempDir } from "../helpers.js";

/** Memory texts and query words drawn from the dev corpus with a seeded random. */
function fixtures(seed: number) {
  const random = seededRandom(seed);
  const corpus = devCorpus().map((r) => r.text);
  const words = corpus.join(" ").split(/\s+/).filter((w) => /^[A-Za-z]{4,}$/.test(w));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const text = () => {
    const source = pick(corpus);
    const from = Math.floor(random() * Math.max(1, source.length - 300));
    return `${source.slice(from, from + 60 + Math.floor(random() * 300))} ${pick(words)}`;
  };
  return { random, words, pick, text };
}

const VARIANTS: EngineSearchOptions[] = [
  { limit: 10 },
  { limit: 5, mode: "vector", minSimilarity: 0 },
  { limit: 5, mode: "keyword", namespace: "b" },
  { limit: 8, namespaces: ["a"] },
  { limit: 10, filter: { tags: ["red"] } },
];

describe("search thread", () => {
  it("merges pushed deltas in order: a delete after an add leaves nothing, a later vector wins", () => {
    const v = (n: number) => new Uint8Array([n]);
    const merged = mergeDeltas([
      { changed: [5, 7], vectors: { seqs: [5, 7], ids: ["x", "y"], namespaces: ["a", "a"], vectors: [v(1), v(2)] } },
      { changed: [5], vectors: { seqs: [], ids: [], namespaces: [], vectors: [] } },
      { changed: [7, 9], vectors: { seqs: [7, 9], ids: ["y", "z"], namespaces: ["a", "b"], vectors: [v(3), v(4)] } },
    ]);
    assert.deepEqual(merged.changed, [5, 7, 9]);
    assert.deepEqual(merged.vectors, { seqs: [7, 9], ids: ["y", "z"], namespaces: ["a", "b"], vectors: [v(3), v(4)] });
    // Added again after its delete: alive with the last vector.
    const again = mergeDeltas([
      { changed: [5], vectors: { seqs: [], ids: [], namespaces: [], vectors: [] } },
      { changed: [5], vectors: { seqs: [5], ids: ["x"], namespaces: ["a"], vectors: [v(6)] } },
    ]);
    assert.deepEqual(again.vectors.vectors, [v(6)]);
  });

  it("follows the main connection's writes pushed with each search (adds, rewrites, deletes, expiry) with exactly the in-process hits", async () => {
    const { random, words, pick, text } = fixtures(29);
    let now = 1_000_000;
    const clock = () => now;
    using dir = tempDir();
    const db = join(dir.path, "pushed.db");
    const threaded = Engine.open({ db, cache: "off", codecs: ["raw"], clock, searchThread: true });
    const local = Engine.open({ db, cache: "off", codecs: ["raw"], clock });
    try {
      const write = async (engine: Engine, i: number) => {
        await engine.remember({ id: `m${i}`, namespace: pick(["a", "b"]), text: text(), tags: random() < 0.3 ? ["red"] : [], ...(random() < 0.1 ? { expiresAt: now + 1000 + Math.floor(random() * 4000) } : {}) });
      };
      for (let i = 0; i < 300; i++) await write(threaded, i);
      const compare = async (round: string) => {
        for (let q = 0; q < 6; q++) {
          const query = Array.from({ length: 1 + (q % 3) }, () => pick(words)).join(" ");
          for (const options of VARIANTS) {
            const expected = await local.searchMemories(query, options);
            const got = await threaded.searchMemories(query, options);
            assert.deepEqual(got, expected, `${round}: "${query}" ${JSON.stringify(options)}`);
          }
        }
      };
      await compare("first");
      let next = 300;
      for (let round = 0; round < 6; round++) {
        // The threaded engine writes itself between searches: new memories, rewrites, deletes, a delete then an add of the same id.
        for (let i = 0; i < 25; i++) {
          const roll = random();
          if (roll < 0.25) await threaded.forget(`m${Math.floor(random() * next)}`, undefined).catch(() => undefined);
          else if (roll < 0.5) await write(threaded, Math.floor(random() * next));
          else await write(threaded, next++);
        }
        const gone = `m${Math.floor(random() * next)}`;
        await threaded.forget(gone, undefined).catch(() => undefined);
        await write(threaded, Number(gone.slice(1)));
        // One round's writes come from another connection: the main connection cannot tell what changed, the thread reloads.
        if (round === 3) {
          for (let i = 0; i < 5; i++) await write(local, next++);
        }
        now += 1500; // some memories expire
        await compare(`round ${round}`);
      }
      // Concurrent searches on the threaded engine after writes: each delta is posted once, in order.
      for (let i = 0; i < 20; i++) await write(threaded, next++);
      const queries = Array.from({ length: 12 }, (_, q) => Array.from({ length: 1 + (q % 3) }, () => pick(words)).join(" "));
      const together = await Promise.all(queries.map((query) => threaded.searchMemories(query, { limit: 10 })));
      for (const [q, query] of queries.entries()) assert.deepEqual(together[q], await local.searchMemories(query, { limit: 10 }), `concurrent: "${query}"`);
    } finally {
      await threaded.close();
      await local.close();
    }
    await assert.rejects(threaded.searchMemories("anything", { limit: 3 }));
  });

  it("a crashed thread fails only its own search; the next search starts a new thread that loads the index again", async () => {
    const { random, words, pick, text } = fixtures(31);
    using dir = tempDir();
    const db = join(dir.path, "crash.db");
    const engine = Engine.open({ db, cache: "off", codecs: ["raw"] });
    const store = SqliteStore.open(db);
    try {
      for (let i = 0; i < 120; i++) await engine.remember({ id: `m${i}`, namespace: pick(["a", "b"]), text: text(), tags: random() < 0.3 ? ["red"] : [] });
      await engine.searchMemories("warm", { limit: 1 }); // indexes every memory
      const index = new SearchIndex(store.search, new HashedNgramEmbedder(256), () => Promise.reject(new Error("indexes nothing")), { vectors: "ternary" });
      const key = index.key;
      const keyed = new SearchThread({ path: db, dimensions: 256, vectors: "ternary" }, store.search, key);
      try {
        const query = `${pick(words)} ${pick(words)}`;
        assert.deepEqual(await keyed.search(query, { limit: 10 }), await index.search(query, { limit: 10 }));
        // The thread dies between searches (its pool sees it exit with code 1).
        const pool = (keyed as unknown as { pool: WorkerPool<SearchReply, unknown> }).pool;
        assert.equal(await pool.slots[0]?.worker.terminate(), 1);
        assert.equal(pool.slots.length, 0);
        // A request that cannot be posted (it does not clone) fails alone; its delta is not lost (the next request reloads).
        await assert.rejects(keyed.search(query, { limit: (() => 10) as unknown as number }));
        // Writes while no thread runs: the new thread loads the index from its own connection.
        for (let i = 120; i < 140; i++) await engine.remember({ id: `m${i}`, namespace: "a", text: text() });
        await engine.forget("m3", undefined).catch(() => undefined);
        await engine.searchMemories("warm", { limit: 1 });
        for (let q = 0; q < 5; q++) {
          const again = `${pick(words)} ${pick(words)}`;
          assert.deepEqual(await keyed.search(again, { limit: 10 }), await index.search(again, { limit: 10 }), again);
        }
      } finally {
        await keyed.close();
      }
      await assert.rejects(keyed.search("anything", { limit: 3 }));
    } finally {
      await store.close();
      await engine.close();
    }
  });

  it("ranks on a worker thread exactly as in-process, follows later writes, and starts nothing after close", async () => {
    const random = seededRandom(23);
    const corpus = devCorpus().map((r) => r.text);
    const words = corpus.join(" ").split(/\s+/).filter((w) => /^[A-Za-z]{4,}$/.test(w));
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const text = () => {
      const source = pick(corpus);
      const from = Math.floor(random() * Math.max(1, source.length - 300));
      return `${source.slice(from, from + 60 + Math.floor(random() * 300))} ${pick(words)}`;
    };
    let now = 1_000_000;
    const clock = () => now;
    using dir = tempDir();
    const db = join(dir.path, "thread.db");
    const local = Engine.open({ db, cache: "off", codecs: ["raw"], clock });
    const threaded = Engine.open({ db, cache: "off", codecs: ["raw"], clock, searchThread: true });
    try {
      const write = async (i: number) => {
        await local.remember({ id: `m${i}`, namespace: pick(["a", "b"]), text: text(), tags: random() < 0.3 ? ["red"] : [], ...(random() < 0.1 ? { expiresAt: now + 1000 } : {}) });
      };
      for (let i = 0; i < 400; i++) await write(i);
      // Some memories expire: both must leave them out (the expiry set crosses to the thread).
      now += 2000;
      const compare = async (round: string) => {
        for (let q = 0; q < 12; q++) {
          const query = Array.from({ length: 1 + (q % 3) }, () => pick(words)).join(" ");
          const variants: EngineSearchOptions[] = [
            { limit: 10 },
            { limit: 5, mode: "vector", minSimilarity: 0 },
            { limit: 5, mode: "keyword", namespace: "b" },
            { limit: 8, namespaces: ["a"] },
            { limit: 10, filter: { tags: ["red"] } },
          ];
          for (const options of variants) {
            const expected = await local.searchMemories(query, options);
            const got = await threaded.searchMemories(query, options);
            assert.deepEqual(got, expected, `${round}: "${query}" ${JSON.stringify(options)}`);
          }
        }
      };
      await compare("first");
      // Rewrites, deletes and new memories: the thread's index follows the store's change log.
      for (let i = 0; i < 120; i++) {
        const roll = random();
        if (roll < 0.3) await local.forget(`m${Math.floor(random() * 400)}`, undefined).catch(() => undefined);
        else await write(roll < 0.6 ? 400 + i : Math.floor(random() * 400));
      }
      await compare("after writes");
      const hits = await threaded.searchMemories(pick(words), { limit: 3 });
      assert.ok(hits.length > 0);
      await assert.rejects(threaded.searchMemories("", {}), (error: Error & { code?: string }) => error.code === "E_USAGE");
    } finally {
      await threaded.close();
      await local.close();
    }
    // A closed engine starts no thread: its search fails rather than running.
    await assert.rejects(threaded.searchMemories("anything", { limit: 3 }));
  });
});

describe("search warming", () => {
  it("reads the most common terms' rows ahead (the store lists them by frequency, within the bound) and changes no answer, on the thread or in process, with searches during the warming and writes after it", async () => {
    const { random, words, pick, text } = fixtures(37);
    using dir = tempDir();
    const db = join(dir.path, "warm.db");
    const writer = Engine.open({ db, cache: "off", codecs: ["raw"] });
    const store = SqliteStore.open(db);
    let threaded: Engine | undefined;
    let local: Engine | undefined;
    try {
      for (let i = 0; i < 400; i++) await writer.remember({ id: `m${i}`, namespace: pick(["a", "b"]), text: text(), tags: random() < 0.3 ? ["red"] : [] });
      await writer.searchMemories("warm", { limit: 1 }); // indexes every memory
      // The store's list: most memories first, each held by at least minDocs, within maxEntries rows in all.
      const listed = await store.search.frequentTerms?.(20, 5000);
      assert.ok(listed && listed.length > 5, `terms listed: ${String(listed?.length)}`);
      const docs = await Promise.all(listed.map((term) => store.search.documentFrequency(term)));
      assert.ok(docs.every((d, i) => d >= 20 && (i === 0 || d <= (docs[i - 1] as number))), JSON.stringify(docs));
      assert.ok(docs.reduce((a, b) => a + b, 0) <= 5000);
      assert.deepEqual(await store.search.frequentTerms?.(1_000_000, 5000), []);

      // In process: a warmed index answers as a cold one, term rows included.
      const cold = new SearchIndex(store.search, new HashedNgramEmbedder(256), () => Promise.reject(new Error("indexes nothing")), { vectors: "ternary" });
      const warmed = new SearchIndex(store.search, new HashedNgramEmbedder(256), () => Promise.reject(new Error("indexes nothing")), { vectors: "ternary" });
      const report = await warmed.warm({ minDocs: 20, maxEntries: 5000 });
      assert.equal(report.vectors, 400);
      assert.equal(report.terms, listed.length);
      assert.equal(report.rows, docs.reduce((a, b) => a + b, 0));
      const queries = [...listed.slice(0, 8).map((term, q) => `${term} ${pick(words)}${q % 2 ? ` ${listed[q + 1] ?? ""}` : ""}`), ...Array.from({ length: 8 }, () => `${pick(words)} ${pick(words)}`)];
      for (const query of queries) {
        for (const options of VARIANTS.filter((v) => v.filter === undefined)) {
          assert.deepEqual(await warmed.search(query, options), await cold.search(query, options), `${query} ${JSON.stringify(options)}`);
        }
      }

      // On the search thread: searches posted while it warms, then writes through the threaded engine followed into the warmed lists.
      threaded = Engine.open({ db, cache: "off", codecs: ["raw"], searchThread: true });
      local = Engine.open({ db, cache: "off", codecs: ["raw"] });
      const warming = threaded.warmSearch({ minDocs: 20, maxEntries: 5000 });
      const during = await Promise.all(queries.map((query) => threaded?.searchMemories(query, { limit: 10 })));
      const threadReport = await warming;
      assert.equal(threadReport?.terms, listed.length);
      for (const [q, query] of queries.entries()) assert.deepEqual(during[q], await local.searchMemories(query, { limit: 10 }), `during warming: "${query}"`);
      for (let i = 400; i < 460; i++) await threaded.remember({ id: `m${i}`, namespace: pick(["a", "b"]), text: `${text()} ${pick(listed)}` });
      for (let i = 0; i < 10; i++) await threaded.forget(`m${Math.floor(random() * 400)}`, undefined).catch(() => undefined);
      for (const query of queries) {
        for (const options of VARIANTS) assert.deepEqual(await threaded.searchMemories(query, options), await local.searchMemories(query, options), `after writes: "${query}" ${JSON.stringify(options)}`);
      }
    } finally {
      await threaded?.close();
      await local?.close();
      await writer.close();
      await store.close();
    }
  });
});
