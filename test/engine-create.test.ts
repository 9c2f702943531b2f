import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { Engine } from "../src/engine.js";
import { isMemzipError } from "../src/errors.js";
import { openStore } from "../src/store/open.js";

describe("Engine.create over a store the caller opened", () => {
  it("writes, reads, lists, counts and forgets through the facade only, and closes the store", async () => {
    const store = openStore(":memory:");
    const engine = Engine.create({ store, cache: "off", autoTrainAfter: 0 });
    assert.equal(engine.location, ":memory:");
    const text = "The Atlas migration is due on Friday; Alice owns the rollback plan. ".repeat(4);
    const written = await engine.remember({ id: "atlas", text, tags: ["ops"] }, { namespace: "work" });
    assert.equal(written.status, "stored");
    assert.equal(await engine.recall("atlas"), text);
    assert.equal(await engine.recall("atlas", { namespace: "work" }), text);
    assert.equal((await engine.memory("atlas", "work")).tags[0], "ops");
    // With a namespace given, a missing memory is E_NOT_FOUND naming that namespace.
    await assert.rejects(engine.recall("atlas", { namespace: "home" }), (e) => isMemzipError(e, "E_NOT_FOUND") && /namespace "home"/.test(e.message));
    assert.deepEqual((await engine.list({ namespace: "work" })).map((m) => m.id), ["atlas"]);
    assert.equal((await engine.stats()).memories, 1);
    assert.equal((await store.memories.count()), 1, "the engine wrote to the store it was given");
    await engine.forget("atlas", "work");
    assert.equal((await engine.stats()).memories, 0);
    await assert.rejects(engine.forget("atlas", "work"), (e) => isMemzipError(e, "E_NOT_FOUND"));
    await engine.close();
    await assert.rejects(store.memories.count(), "closing the engine closes its store");
  });
});
