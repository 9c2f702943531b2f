import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { storeOf } from "../helpers.js";

describe("compact and a namespace's priming text", () => {
  it("keeps an active priming text that no memory uses yet; a replaced one goes (trial44: compact removed it and later llm writes went unprimed)", async () => {
    const engine = Engine.open({ db: ":memory:", cache: "off", workers: 0 });
    try {
      const first = await engine.setPrimingText("glossary: kubernetes, atlas migration", "q");
      await engine.compact();
      assert.equal(await storeOf(engine).assets.isActive(first.id), true);
      assert.ok(await storeOf(engine).assets.get(first.id), "the priming text is still stored");
      // Primed again: the earlier text is no namespace's any more, and no memory needs it.
      const second = await engine.setPrimingText("glossary: postgres, redis", "q");
      const report = await engine.compact();
      assert.deepEqual(report.removed.map((r) => r.id), [first.id]);
      assert.ok(await storeOf(engine).assets.get(second.id));
    } finally {
      await engine.close();
    }
  });
});
