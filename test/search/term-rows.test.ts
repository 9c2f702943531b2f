import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { Engine } from "../../src/engine.js";
import { memoryKey } from "../../src/core/store.js";
import { seededRandom } from "../../src/core/stats.js";
import { searchTerms } from "../../src/search/search.js";
import { TermRows } from "../../src/search/term-rows.js";
import { devCorpus, storeOf, tempDir } from "../helpers.js";

describe("keyword rows held in memory", () => {
  it("follow seeded adds, rewrites and deletes exactly as FTS5 answers them, English and Chinese", async () => {
    const random = seededRandom(23);
    const corpus = devCorpus().map((r) => r.text);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const text = () => {
      const source = pick(corpus);
      const from = Math.floor(random() * Math.max(1, source.length - 200));
      return source.slice(from, from + 40 + Math.floor(random() * 200));
    };
    const all = corpus.flatMap((t) => searchTerms(t, true));
    const han = all.filter((t) => /\p{Script=Han}/u.test(t));
    const latin = all.filter((t) => /^[a-z]{4,}$/.test(t));
    // Common and rare terms, words and Han characters; one no memory holds until it is written.
    const probes = [...new Set([pick(latin), pick(latin), pick(latin), "that", "with", pick(han), pick(han), "的", "zqxjvbw"])].filter((t) => t !== "warm");
    await using dir = tempDir();
    const db = join(dir.path, "term-rows.db");
    await using engine = Engine.open({ db, cache: "off", codecs: ["raw"] });
    const live = new Map<string, { namespace: string; text: string }>();
    let next = 0;
    const write = async (id: string, namespace: string) => {
      const body = random() < 0.05 ? `${text()} zqxjvbw` : text();
      await engine.remember({ id, namespace, text: body });
      live.set(id, { namespace, text: body });
    };
    for (let i = 0; i < 80; i++) await write(`m${next++}`, pick(["a", "b"]));
    await engine.searchMemories("warm", { limit: 1 });
    const index = await engine.searchIndex();
    for (let round = 0; round < 8; round++) {
      for (let op = 0; op < 25; op++) {
        const roll = random();
        const ids = [...live.keys()];
        if (roll < 0.5) await write(`m${next++}`, pick(["a", "b"]));
        else if (roll < 0.7) {
          const id = pick(ids);
          await engine.forget(id, live.get(id)?.namespace);
          live.delete(id);
        } else {
          const id = pick(ids);
          await write(id, live.get(id)?.namespace as string);
        }
      }
      // A search indexes the writes and brings the held rows up to date.
      await engine.searchMemories("warm", { limit: 3 });
      const connection = new Database(db, { readonly: true });
      // The keyword index's answer as the store gives it (format 4: FTS5's rowids less masked rows, relocated ones as their
      // seqs), from the engine's own store (a second store's open would count as another connection's write).
      const view = storeOf(engine);
      try {
        const keyOf = new Map((connection.prepare("SELECT m.seq, m.id, n.name FROM memories m JOIN namespaces n ON n.n = m.ns").raw().all() as [number, string, string][]).map(([seq, id, ns]) => [seq, memoryKey(ns, id)]));
        for (const term of probes) {
          const fts = (await view.search.matching(term)).map((seq) => keyOf.get(seq) as string).sort();
          const truth = [...live].filter(([, m]) => searchTerms(m.text, true).includes(term)).map(([id, m]) => memoryKey(m.namespace, id)).sort();
          const { keys, held } = await index.termMatches(term);
          assert.deepEqual(fts, truth, `round ${round}, "${term}": FTS5 holds the live memories' terms`);
          assert.deepEqual(keys, fts, `round ${round}, "${term}": held rows equal FTS5's answer`);
          // After the first look-up a term's rows are followed through the writes, not read again.
          assert.equal(held, round > 0, `round ${round}, "${term}": held`);
        }
      } finally {
        connection.close();
      }
    }
    assert.ok(index.heldTermRows().terms >= probes.length);
  });

  it("evicts the terms used longest ago past its bound, and appends to held lists only", () => {
    const rows = new TermRows(10);
    rows.set("a", Int32Array.of(1, 2, 3));
    rows.set("b", Int32Array.of(4, 5, 6, 7));
    assert.deepEqual([...(rows.get("a") ?? [])], [1, 2, 3]);
    rows.set("c", Int32Array.of(8, 9, 10, 11));
    assert.equal(rows.get("b"), undefined, "b was used longest ago");
    assert.deepEqual([...(rows.get("c") ?? [])], [8, 9, 10, 11]);
    rows.add(12, ["a", "b", "c"]);
    assert.equal(rows.get("b"), undefined, "a term not held gains no list");
    assert.deepEqual([...(rows.get("a") ?? [])], [1, 2, 3, 12]);
    assert.deepEqual([...(rows.get("c") ?? [])], [8, 9, 10, 11, 12]);
    assert.equal(rows.entries, 9);
    rows.set("huge", new Int32Array(11));
    assert.equal(rows.get("huge"), undefined, "a list over the whole bound is not held");
    rows.clear();
    assert.equal(rows.entries, 0);
    assert.equal(rows.get("a"), undefined);
  });
});
