import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { seededRandom } from "../../src/core/stats.js";
import type { EngineSearchOptions } from "../../src/engine/features.js";
import { devCorpus, tempDir } from "../helpers.js";

describe("search thread", () => {
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
