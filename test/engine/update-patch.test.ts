/**
 * `engine.update`'s meta patch as a library caller writes it: an `undefined` value (an unset optional field) changes
 * nothing, as in `remember`, where it deleted the key; `meta: null` is a typed E_INVALID_INPUT, where it was a TypeError.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { mergePatch } from "../../src/engine/merge-patch.js";
import { ErrorCode, isMemzipError } from "../../src/errors.js";
import { tempDir } from "../helpers.js";

describe("engine.update's meta patch", () => {
  it("an undefined value leaves its key as it is, at any depth; null removes it", async () => {
    using dir = tempDir();
    const engine = Engine.open({ db: join(dir.path, "patch.db"), cache: "off", workers: 0 });
    try {
      await engine.remember({ id: "a", text: "hello", meta: { owner: "li", prio: 2, nested: { x: 1, y: 2 }, gone: true } });
      await engine.update("a", { meta: { prio: 3, owner: undefined, nested: { y: undefined, z: 3 }, gone: null } });
      assert.deepEqual((await engine.memory("a")).meta, { owner: "li", prio: 3, nested: { x: 1, y: 2, z: 3 } });
      assert.equal(await engine.recall("a"), "hello");
    } finally {
      await engine.close();
    }
  });

  it("meta: null is E_INVALID_INPUT naming how to remove keys, and nothing changes", async () => {
    using dir = tempDir();
    const engine = Engine.open({ db: join(dir.path, "patch-null.db"), cache: "off", workers: 0 });
    try {
      await engine.remember({ id: "a", text: "hello", meta: { owner: "li" } });
      await assert.rejects(
        engine.update("a", { meta: null as unknown as Record<string, unknown> }),
        (error: unknown) => isMemzipError(error, ErrorCode.INVALID_INPUT) && /null/.test(error.message) && /owner: null/.test(error.hint ?? ""),
      );
      assert.deepEqual((await engine.memory("a")).meta, { owner: "li" });
    } finally {
      await engine.close();
    }
  });

  it("mergePatch skips undefined values and changes neither argument", () => {
    const target = { a: 1, b: { c: 2 } };
    const patch = { a: undefined, b: { c: undefined, d: null }, e: 5 };
    assert.deepEqual(mergePatch(target, patch), { a: 1, b: { c: 2 }, e: 5 });
    assert.deepEqual(target, { a: 1, b: { c: 2 } });
    assert.deepEqual(patch, { a: undefined, b: { c: undefined, d: null }, e: 5 });
  });
});
