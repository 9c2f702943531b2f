import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { openStore } from "../../src/store/open.js";
import type { SearchHit } from "../../src/search/search.js";
import { devCorpus, storeOf, tempDir } from "../helpers.js";

/** Queries of words the memories hold (a few words of some records) and a few that few or none hold. */
const QUERIES = [...[3, 17, 42, 77, 101, 150].map((i) => (devCorpus()[i]?.text ?? "").split(/\s+/).filter(Boolean).slice(2, 6).join(" ")), "database migration rollback", "scheduling priority", "用户"];

async function hits(engine: Engine): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const query of QUERIES) {
    for (const mode of ["hybrid", "keyword", "vector"] as const) {
      for (const namespaces of [["alpha", "beta"], ["beta"]]) {
        const found: SearchHit[] = await engine.searchMemories(query, { mode, limit: 8, namespaces });
        out.push([query, mode, found.map((h) => [h.namespace, h.id, h.score, h.similarity, h.vectorRank, h.keywordRank])]);
      }
    }
  }
  return out;
}

describe("search over sealed memories", () => {
  it("gives the same vector and keyword hits sealed as unsealed: an index built before the seal, after it, and after deletes", async () => {
    await using dir = tempDir();
    const records = devCorpus()
      .slice(0, 160)
      .map((r, i) => ({ id: `m${i}`, text: r.text, namespace: i % 4 === 0 ? "beta" : "alpha", tags: i % 2 ? ["odd"] : [] }));
    const open = (name: string, seal: boolean) =>
      Engine.create({ store: openStore(join(dir.path, name), seal ? { seal: true, blockRows: 16 } : { seal: false }), cache: "off", autoTrainAfter: 1_000_000 });
    const plain = open("plain.db", false);
    const early = open("early.db", true); // indexed while hot, then sealed
    const late = open("late.db", true); // sealed, then indexed
    try {
      for (const engine of [plain, early, late]) await engine.rememberMany(records);
      const expected = await hits(plain);
      assert.ok(expected.filter((e) => (e as [string, string, unknown[]])[2].length > 0).length >= 20, "most searches find something");
      assert.deepEqual(await hits(early), expected);
      // A memory written after the index settled and sealed before the next search is still indexed by it.
      const extra = { id: "extra", text: QUERIES.join(". "), namespace: "beta" };
      for (const engine of [plain, early, late]) await engine.remember(extra);
      const withExtra = await hits(plain);
      assert.notDeepEqual(withExtra, expected);
      const statsBefore = await early.stats();
      assert.equal(await storeOf(early).seal?.(), records.length + 1);
      assert.equal(await storeOf(late).seal?.(), records.length + 1);
      assert.deepEqual(await hits(early), withExtra, "the index built before the seal, read after it");
      assert.deepEqual(await hits(late), withExtra, "the index built over sealed rows");
      const statsAfter = await early.stats();
      assert.deepEqual([statsAfter.storedBytes, statsAfter.envelopeBytes, statsAfter.memories, statsAfter.originalBytes], [statsBefore.storedBytes, statsBefore.envelopeBytes, statsBefore.memories, statsBefore.originalBytes]);
      // Deleting and rewriting sealed memories drops them from both rankings, as in the unsealed store.
      const top = (await plain.searchMemories(QUERIES[0] as string, { limit: 3, namespaces: ["alpha", "beta"] })).map((h) => h);
      assert.ok(top.length > 0);
      const edited = ["m5", "m6", "m7"].find((id) => !top.slice(0, 2).some((h) => h.id === id)) as string;
      for (const engine of [plain, early, late]) {
        for (const hit of top.slice(0, 2)) await engine.forget(hit.id, hit.namespace);
        await engine.update(edited, { text: "deploy on friday after the database migration rollback" }, "alpha");
      }
      const afterDeletes = await hits(plain);
      assert.deepEqual(await hits(early), afterDeletes);
      assert.deepEqual(await hits(late), afterDeletes);
      // A fresh process over the sealed file: the same hits.
      await early.close();
      const reopened = Engine.open({ db: join(dir.path, "early.db"), cache: "off", autoTrainAfter: 1_000_000 });
      try {
        assert.deepEqual(await hits(reopened), afterDeletes);
      } finally {
        await reopened.close();
      }
      // compact seals what the writes unsealed; the file is then smaller than the unsealed store's.
      await late.compact();
      await plain.compact();
      assert.deepEqual(await hits(late), afterDeletes);
      const [p, l] = [await plain.stats(), await late.stats()];
      assert.deepEqual([l.storedBytes, l.envelopeBytes, l.memories], [p.storedBytes, p.envelopeBytes, p.memories]);
      assert.ok(l.fileBytes < p.fileBytes, `sealed file ${l.fileBytes} < plain file ${p.fileBytes}`);
    } finally {
      await plain.close();
      await early.close();
      await late.close();
    }
  });
});
