/**
 * A library caller's search and related options are checked as the types say (stop 62's trial): a bad limit, mode,
 * floor or namespace is E_INVALID_INPUT, and namespaces in the filter are refused, where they were ignored (every
 * namespace's hits) or applied only with another filter.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { EngineSearchOptions } from "../../src/engine/features.js";
import { Engine } from "../../src/engine.js";
import { ErrorCode, isMemzipError } from "../../src/errors.js";
import { tempDir } from "../helpers.js";

const invalid = (pattern: RegExp) => (error: unknown) => isMemzipError(error, ErrorCode.INVALID_INPUT) && pattern.test(error.message) && (error.hint ?? "") !== "";

describe("search options from a library caller", () => {
  it("refuses what the types rule out, and answers what they allow", async () => {
    using dir = tempDir();
    const engine = Engine.open({ db: join(dir.path, "search-options.db"), cache: "off", workers: 0 });
    try {
      for (const [namespace, n] of [["corp", 3], ["zh", 3]] as const) {
        for (let i = 0; i < n; i++) await engine.remember({ id: `${namespace}-${i}`, namespace, text: `perl script number ${i} for ${namespace}`, kind: "note" });
      }
      const bad = (options: unknown) => options as EngineSearchOptions;
      await assert.rejects(engine.searchMemories("perl", bad({ filter: { namespaces: ["zh"] } })), invalid(/filter takes no namespaces/));
      await assert.rejects(engine.searchMemories("perl", bad({ namespace: "corp", filter: { namespaces: ["zh"], kind: "note" } })), invalid(/filter takes no namespaces/));
      await assert.rejects(engine.relatedMemories("zh-0", bad({ filter: { namespaces: ["corp"] } })), invalid(/filter takes no namespaces/));
      await assert.rejects(engine.searchMemories("perl", { limit: -1 }), invalid(/limit -1/));
      await assert.rejects(engine.searchMemories("perl", { limit: 1.5 }), invalid(/limit 1.5/));
      await assert.rejects(engine.searchMemories("perl", bad({ limit: "5" })), invalid(/limit 5/));
      await assert.rejects(engine.searchMemories("perl", bad({ mode: "keywords" })), invalid(/mode "keywords"/));
      await assert.rejects(engine.searchMemories("perl", { minSimilarity: Number.NaN }), invalid(/minSimilarity NaN/));
      await assert.rejects(engine.searchMemories("perl", { minSimilarity: 2 }), invalid(/minSimilarity 2/));
      await assert.rejects(engine.searchMemories("perl", bad({ namespace: 42 })), invalid(/namespace is a number/));
      await assert.rejects(engine.searchMemories("perl", bad({ namespaces: "zh" })), invalid(/namespaces is not a list/));

      // What the types allow still answers: namespaces as an option scope the hits.
      const scoped = await engine.searchMemories("perl", { namespaces: ["zh"], filter: { kind: "note" }, limit: 10 });
      assert.equal(scoped.length, 3);
      assert.ok(scoped.every((hit) => hit.namespace === "zh"));
      assert.equal((await engine.searchMemories("perl", { limit: 2, mode: "keyword" })).length, 2);
    } finally {
      await engine.close();
    }
  });
});
