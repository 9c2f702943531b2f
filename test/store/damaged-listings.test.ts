import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import type { MemoryPage } from "../../src/core/store.js";
import type { Engine } from "../../src/engine.js";
import { countUnreadable } from "../../src/search/search.js";
import { storeWithDamagedBlock as damagedStore, tempDir } from "../helpers.js";

/** Every page of a walk with `skipDamaged`, `limit` at a time. */
async function walk(engine: Engine, limit: number, filter: { namespaces?: string[]; tags?: string[] } = {}): Promise<MemoryPage[]> {
  const pages: MemoryPage[] = [];
  let cursor: string | undefined;
  do {
    const page = await engine.page({ ...filter, limit, ...(cursor === undefined ? {} : { cursor }) }, { skipDamaged: true });
    pages.push(page);
    cursor = page.next ?? undefined;
  } while (cursor !== undefined);
  return pages;
}

describe("listings beside a damaged sealed block", () => {
  it("a page told to skip damage lists every other memory and names the block once in a walk, at any page size; without it the page fails E_STORE", async () => {
    using dir = tempDir();
    const { engine } = await damagedStore(dir.path, false);
    try {
      await assert.rejects(engine.page({ limit: 50 }), (error: Error & { code?: string }) => error.code === "E_STORE" && /seqs 5\.\.8/.test(error.message));
      const readable = ["a0", "a1", "a2", "a3", "a6", "a7", "a8", "a9", "a12", "a13"];
      for (const limit of [1, 2, 3, 4, 5, 50]) {
        const pages = await walk(engine, limit);
        assert.deepEqual(pages.flatMap((p) => p.items.map((m) => m.id)), readable, `limit ${limit}`);
        const named = pages.flatMap((p) => p.damaged ?? []);
        assert.deepEqual(named.map((d) => [d.where, d.memories, d.error.code]), [["sealed block of seqs 5..8", 4, "E_STORE"]], `limit ${limit}`);
      }
      // Of one namespace: its memories in the block; a namespace with none there is not told of it.
      const b = await walk(engine, 10, { namespaces: ["b"] });
      assert.deepEqual([b.flatMap((p) => p.items.map((m) => m.id)), b.flatMap((p) => (p.damaged ?? []).map((d) => d.memories))], [[], [2]]);
      const a = await walk(engine, 10, { namespaces: ["a"], tags: ["t"] });
      assert.deepEqual([a.flatMap((p) => p.items.map((m) => m.id)), a.flatMap((p) => (p.damaged ?? []).map((d) => d.memories))], [readable, [2]]);
      await engine.remember({ id: "c0", text: "elsewhere" }, { namespace: "c" });
      assert.deepEqual((await walk(engine, 10, { namespaces: ["c"] })).map((p) => [p.items.map((m) => m.id), p.next, p.damaged]), [[["c0"], null, undefined]]);
      // The offset list passes over it too.
      assert.deepEqual((await engine.list({ namespace: "a" }, { skipDamaged: true })).map((m) => m.id), readable);
      await assert.rejects(engine.list({ namespace: "a" }), (error: Error & { code?: string }) => error.code === "E_STORE");
      // A namespace's figures count the block's memories from its per-block sums, as the whole store's do.
      const all = await engine.stats();
      const [sa, sb, sc] = [await engine.stats("a"), await engine.stats("b"), await engine.stats("c")];
      assert.deepEqual([sa.memories, sb.memories, sc.memories, all.memories], [12, 2, 1, 15]);
      assert.equal(sa.originalBytes + sb.originalBytes + sc.originalBytes, all.originalBytes);
      assert.equal(sa.envelopeBytes + sb.envelopeBytes + sc.envelopeBytes, all.envelopeBytes);
      // Work that must meet every match is not stopped by a block with none of its namespaces' memories in it.
      assert.deepEqual((await engine.page({ namespaces: ["c"], limit: 5 })).items.map((m) => m.id), ["c0"]);
      assert.equal((await engine.forgetWhere({ namespaces: ["c"], kind: "note" })).count, 1);
      // Forgetting by a filter still refuses: it must meet every match.
      await assert.rejects(engine.forgetWhere({ tags: ["t"] }), (error: Error & { code?: string }) => error.code === "E_STORE");
      assert.equal((await walk(engine, 50)).flatMap((p) => p.items).length, 10);
    } finally {
      await engine.close();
    }
  });

  it("search with a filter, and with an expired memory in the block, answers from every other memory (the filter's admitted keys and the expired ones are read past the block)", async () => {
    using dir = tempDir();
    const { engine } = await damagedStore(dir.path, false, false, true);
    try {
      const readable = ["a0", "a1", "a12", "a13", "a2", "a3", "a6", "a7", "a8", "a9"];
      assert.deepEqual((await engine.searchMemories("quick fox", { limit: 20 })).map((h) => h.id).sort(), readable);
      assert.deepEqual((await engine.searchMemories("quick fox", { limit: 20, filter: { tags: ["t"] } })).map((h) => h.id).sort(), readable);
      assert.deepEqual((await engine.searchMemories("quick fox", { limit: 20, namespaces: ["a"], filter: { kind: "note" } })).map((h) => h.id).sort(), readable);
      assert.deepEqual((await engine.relatedMemories("a0", { limit: 20, filter: { tags: ["t"] } })).map((h) => h.id).sort(), readable.filter((id) => id !== "a0"));
      // The expired one's page passes the block too (and names it once); the walk without skipping still fails.
      const expired = await engine.page({ namespaces: ["b"], expiredBy: Date.UTC(2026, 0, 2), limit: 10 }, { skipDamaged: true });
      assert.deepEqual([expired.items, (expired.damaged ?? []).map((d) => d.memories)], [[], [2]]);
      await assert.rejects(engine.page({ namespaces: ["b"], expiredBy: Date.UTC(2026, 0, 2), limit: 10 }), (error: Error & { code?: string }) => error.code === "E_STORE");
    } finally {
      await engine.close();
    }
  });

  for (const [searchFirst, thread] of [[false, false], [true, false], [true, true]]) {
    it(`search answers from every other memory and counts the block's as unsearchable (index made ${searchFirst ? "before" : "after"} the damage${thread ? ", searched on the search thread" : ""}); setting it aside clears them`, async () => {
      using dir = tempDir();
      const { engine } = await damagedStore(dir.path, searchFirst === true, thread === true);
      try {
        const hits = await engine.searchMemories("quick fox", { limit: 20 });
        assert.deepEqual(hits.map((h) => h.id).sort(), ["a0", "a1", "a12", "a13", "a2", "a3", "a6", "a7", "a8", "a9"]);
        const left = await engine.unsearchable();
        assert.deepEqual(
          left.map((m) => [m.namespace, m.id, m.memories, m.code]),
          [
            ["a", "(2 memories in the sealed block of seqs 5..8)", 2, "E_STORE"],
            ["b", "(2 memories in the sealed block of seqs 5..8)", 2, "E_STORE"],
          ],
        );
        assert.equal(countUnreadable(await engine.unsearchable({ namespaces: ["a", "b"] })), 4);
        assert.equal(countUnreadable(await engine.unsearchable({ namespace: "b" })), 2);
        assert.deepEqual(await engine.searchMemories("quick fox", { namespaces: ["b"] }), []);
        const report = await engine.setAsideDamaged();
        assert.equal(report.memories, 4);
        // Gone from the count at once, before any search (the thread's last answer named them).
        assert.deepEqual(await engine.unsearchable(), []);
        assert.equal((await engine.searchMemories("quick fox", { limit: 20 })).length, 10);
        assert.deepEqual(await engine.unsearchable(), []);
      } finally {
        await engine.close();
      }
    });
  }
});
