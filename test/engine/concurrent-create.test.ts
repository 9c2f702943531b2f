import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";

describe("two writes of one new memory planned before either commits", () => {
  it("of the same text: the second is unchanged, the first's creation time kept (it answered updated, with the later creation time; sent at once, E_CONFLICT); of another text: it replaces the first, kept in history", async () => {
    let now = Date.parse("2026-12-06T09:00:00Z");
    const engine = Engine.open({ db: ":memory:", cache: "off", workers: 0, clock: () => now });
    try {
      // The same text with no id (its id comes from the text), as a client retrying after a timeout sends it.
      const first = await engine.writer();
      const second = await engine.writer();
      const a = await first.plan({ text: "the deploy moved to Thursday" });
      now += 1000;
      const b = await second.plan({ text: "the deploy moved to Thursday" });
      assert.equal(a.result.id, b.result.id);
      assert.equal((await first.commit([a]))[0]?.status, "stored");
      const [again] = await second.commit([b]);
      assert.deepEqual([again?.status, again?.storedBytes], ["unchanged", 0]);
      const stored = await engine.memory(a.result.id);
      assert.equal(stored.createdAt, Date.parse("2026-12-06T09:00:00Z"));
      assert.equal((await engine.history(a.result.id)).length, 1);

      // One id, two texts: the later write replaces the earlier, which its history keeps (as before: nothing acknowledged is lost).
      const c = await (await engine.writer()).plan({ id: "x", text: "first text" });
      const dWriter = await engine.writer();
      const d = await dWriter.plan({ id: "x", text: "second text" });
      await (await engine.writer()).commit([c]);
      assert.equal((await dWriter.commit([d]))[0]?.status, "updated");
      assert.equal(await engine.recall("x"), "second text");
      assert.deepEqual((await engine.history("x")).map((v) => v.text), ["first text", "second text"]);
    } finally {
      await engine.close();
    }
  });
});
