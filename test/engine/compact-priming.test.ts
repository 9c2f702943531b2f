import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { ACTIVE_ASSET_GRACE_MS } from "../../src/engine/assets.js";
import { SAMPLE, storeOf } from "../helpers.js";
import { readFileSync } from "node:fs";

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

  it("keeps a trained asset no memory uses yet for the grace period: the recode after its training still finds it (a compact beside `model train` removed the snapshot just trained)", async () => {
    let now = Date.parse("2026-12-06T08:00:00Z");
    const engine = Engine.open({ db: ":memory:", cache: "off", workers: 0, cmBase: false, autoTrainAfter: 100_000, clock: () => now });
    try {
      const records = readFileSync(SAMPLE, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { id: string; text: string });
      await engine.rememberMany(records.map((r) => ({ id: r.id, text: r.text })));
      const trained = await engine.trainAsset("cm-snapshot");
      // Another process's compact, between the training and its recode: the snapshot stays.
      assert.deepEqual((await engine.compact()).removed, []);
      now += ACTIVE_ASSET_GRACE_MS - 1;
      assert.deepEqual((await engine.compact()).removed, []);
      const recoded = await engine.recode("default");
      assert.ok(recoded.recoded > 0, JSON.stringify(recoded));
      const users = (await storeOf(engine).assets.usage()).find((u) => u.id === trained.id)?.memories ?? 0;
      assert.ok(users > 0, "memories are coded with the snapshot");

      // A newer snapshot no memory takes (no recode follows): past the grace period it is removed, the used one stays.
      const unused = await engine.trainAsset("cm-snapshot", "default", { maxBytes: 4000, force: true });
      assert.notEqual(unused.id, trained.id);
      assert.deepEqual((await engine.compact()).removed, []);
      now += ACTIVE_ASSET_GRACE_MS;
      assert.deepEqual((await engine.compact()).removed.map((r) => r.id), [unused.id]);
      assert.ok(await storeOf(engine).assets.get(trained.id));
    } finally {
      await engine.close();
    }
  });
});
