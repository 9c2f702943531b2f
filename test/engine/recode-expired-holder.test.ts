import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { storeOf, tempDir } from "../helpers.js";

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);
const TEXT = Array.from({ length: 12 }, (_, i) => `Step ${i + 1}: rotate the staging keys, then re-run the ledger export and check the totals again.`).join("\n");

describe("recode and compact with an expired content holder", () => {
  it("a live memory reading an expired memory's text is recoded, and compact hands the text to it exactly", async () => {
    using dir = tempDir();
    const clock = { now: T0 };
    const engine = Engine.open({ db: join(dir.path, "holder.db"), cache: "off", workers: 0, clock: () => clock.now });
    try {
      await engine.remember({ id: "first", text: TEXT, expiresAt: T0 + DAY }, { codec: "raw" });
      await engine.remember({ id: "second", text: TEXT });
      const store = storeOf(engine);
      const before = await store.memories.get("default", "second");
      assert.deepEqual([before?.contentOf, before?.codec], ["first", "raw"], "the second memory reads the first one's raw envelope");

      clock.now = T0 + 2 * DAY; // "first" has expired; "second" is live
      const report = await engine.recode("default");
      assert.deepEqual([report.checked, report.recoded], [1, 1], JSON.stringify(report));
      const recoded = await store.memories.get("default", "second");
      assert.notEqual(recoded?.codec, "raw");
      assert.ok((recoded?.envelope.length ?? Infinity) < TEXT.length);
      assert.equal(await engine.recall("second"), TEXT);

      const compacted = await engine.compact();
      assert.equal(compacted.expired, 1);
      assert.equal(await store.memories.get("default", "first"), undefined, "the expired holder is gone");
      const after = await store.memories.get("default", "second");
      assert.deepEqual([after?.contentOf, after?.codec], [null, recoded?.codec], "the live memory holds the recoded envelope now");
      assert.equal(await engine.recall("second"), TEXT);
      const verified = await engine.verify();
      assert.deepEqual([verified.checked, verified.failed], [1, 0]);
    } finally {
      await engine.close();
    }
  });
});
