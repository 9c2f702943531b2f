import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import type { MemoryInput } from "../../src/pipeline/records.js";
import { tempDir } from "../helpers.js";

/**
 * Hostile trial of stop 63: keyword search counted its words over the whole store, so a tenant's
 * results told it which words other namespaces hold (a rare word there made a common query word
 * count as droppable here). A search limited to some namespaces must answer exactly as it would on
 * a store holding only their memories.
 */
const own: MemoryInput[] = [
  { id: "cat", namespace: "a", text: "the cat sat on the mat" },
  { id: "note", namespace: "a", text: "my own note kestrelx" },
  { id: "plan", namespace: "a", text: "the plan for the payroll review is ready" },
  { id: "tea", namespace: "a", text: "green tea with the team on friday" },
];
const others: MemoryInput[] = [
  ...Array.from({ length: 600 }, (_, i): MemoryInput => ({ id: `p${i}`, namespace: "pub", text: `the filler note number ${i}` })),
  { id: "secret", namespace: "b", text: "payroll merger codename bluefalcon with acmecorp" },
];
const queries = ["kestrelx bluefalcon the", "kestrelx greenfalcon the", "kestrelx acmecorp the", "payroll the", "bluefalcon the cat", "the", "note the"];

/** The answers to `queries`; `later`: searched an hour after the memories were written. */
async function answers(db: string, memories: MemoryInput[], options: { namespace?: string; namespaces?: string[]; filter?: { tags: string[] } }, later = false): Promise<unknown[]> {
  let shift = 0;
  const engine = Engine.open({ db, cache: "off", codecs: ["raw"], workers: 0, clock: () => Date.now() + shift });
  try {
    await engine.rememberMany(memories);
    if (later) shift = 3_600_000;
    const out: unknown[] = [];
    for (const query of queries) {
      for (const mode of ["keyword", "hybrid"] as const) out.push({ query, mode, hits: await engine.searchMemories(query, { ...options, mode, limit: 10 }) });
    }
    return out;
  } finally {
    await engine.close();
  }
}

describe("search statistics stay within the namespaces searched", () => {
  it("answers a search of one namespace as on a store holding only that namespace", async () => {
    using dir = tempDir();
    const shared = await answers(join(dir.path, "shared.db"), [...others.slice(0, 300), ...own, ...others.slice(300)], { namespace: "a" });
    const alone = await answers(join(dir.path, "alone.db"), own, { namespace: "a" });
    assert.deepEqual(shared, alone);
    // The common word is not dropped for a rare word that only another namespace holds: "the" still finds "cat".
    const first = shared[0] as { hits: { id: string }[] };
    assert.deepEqual(first.hits.map((hit) => hit.id).sort(), ["cat", "note", "plan", "tea"]);
  });

  it("answers a search of several namespaces as on a store holding only those", async () => {
    using dir = tempDir();
    const theirs = others.filter((m) => m.namespace === "b");
    const shared = await answers(join(dir.path, "shared.db"), [...own, ...others], { namespaces: ["a", "b"] });
    const alone = await answers(join(dir.path, "alone.db"), [...own, ...theirs], { namespaces: ["a", "b"] });
    assert.deepEqual(shared, alone);
  });

  it("answers a filtered search as on a store holding only the memories the filter admits, and leaves expired ones out of the counts", async () => {
    using dir = tempDir();
    const kept = own.map((m) => ({ ...m, tags: ["keep"] }));
    // The same words under another tag, and memories that expired before the search (its clock is an hour on).
    const now = Date.now();
    const hidden: MemoryInput[] = [
      ...others.slice(0, 600).map((m) => ({ ...m, namespace: "a", id: `o${m.id}` })),
      { id: "gone", namespace: "a", text: "payroll merger codename bluefalcon the", tags: ["keep"], expiresAt: now + 60_000 },
    ];
    const filtered = await answers(join(dir.path, "filtered.db"), [...hidden.slice(0, 300), ...kept, ...hidden.slice(300)], { namespace: "a", filter: { tags: ["keep"] } }, true);
    const alone = await answers(join(dir.path, "alone.db"), kept, { namespace: "a", filter: { tags: ["keep"] } }, true);
    assert.deepEqual(filtered, alone);
    const expired = await answers(join(dir.path, "expired.db"), [...kept, hidden[hidden.length - 1] as MemoryInput], { namespace: "a" }, true);
    const without = await answers(join(dir.path, "without.db"), kept, { namespace: "a" }, true);
    assert.deepEqual(expired, without);
  });
});
