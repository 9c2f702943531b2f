import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import type { MemoryInput } from "../../src/pipeline/records.js";
import { tempDir } from "../helpers.js";

/** A call made as JavaScript would make it, past the types. */
const loose = <T>(value: unknown): T => value as T;

const refused = (code: string, pattern: RegExp) => (error: Error & { code?: string; hint?: string }) => {
  assert.equal(error.code, code, error.message);
  assert.match(error.message, pattern);
  assert.ok((error.hint ?? "").length > 0, "a hint");
  return true;
};

describe("the library refuses what its types rule out, typed, and stores nothing of it (trial41)", () => {
  it("remember, update, forget, recall, history, search and recode", async () => {
    using dir = tempDir();
    const engine = Engine.open({ db: join(dir.path, "store.db"), cache: "off", workers: 0 });
    try {
      await engine.remember({ id: "u", text: "kept as it was", tags: ["t"], meta: { a: 1 } });
      const bad: [string, unknown, RegExp][] = [
        ["meta an array", { meta: [1, 2] }, /"meta" must be an object/],
        ["meta a string", { meta: "hello" }, /"meta" must be an object/],
        ["meta a Date", { meta: new Date(0) }, /"meta" must be an object/],
        ["a bigint in meta", { meta: { n: 1n } }, /"meta" holds a bigint/],
        ["NaN in meta", { meta: { n: Number.NaN } }, /"meta" holds the number NaN/],
        ["a function in meta", { meta: { f: () => 1 } }, /"meta" holds a function/],
        ["a Map in meta", { meta: { m: new Map() } }, /"meta" holds a Map object/],
        ["tags a string", { tags: "abc" }, /"tags" must be an array of strings/],
        ["tags holding a number and null", { tags: [1, null] }, /"tags" must be an array of strings/],
        ["kind not a kind", { kind: "bogus" }, /"kind" must be one of/],
      ];
      for (const [what, fields, pattern] of bad) {
        await assert.rejects(engine.remember(loose<MemoryInput>({ id: "x", text: "new", ...(fields as object) })), refused("E_INVALID_INPUT", pattern), what);
        await assert.rejects(engine.update("u", loose({ text: "changed", ...(fields as object) })), refused("E_INVALID_INPUT", pattern), `update: ${what}`);
      }
      await assert.rejects(engine.update("u", loose(null)), refused("E_INVALID_INPUT", /patch is an object/));
      // Before: the update stored {"0":1} and tags [], remember stored meta a verify then failed, a bigint threw a TypeError.
      const u = await engine.memory("u");
      assert.deepEqual([await engine.recall("u"), u.tags, u.meta, u.kind], ["kept as it was", ["t"], { a: 1 }, "note"]);
      await assert.rejects(engine.memory("x"), refused("E_NOT_FOUND", /no memory/));
      assert.deepEqual(await engine.verify(), { checked: 1, failed: 0, failures: [] });

      // Arguments: an options object where a namespace goes (a RangeError from SQLite before), a namespace where options go.
      await assert.rejects(engine.forget("u", loose({ namespace: "default" })), refused("E_INVALID_INPUT", /a namespace is a string \(got object\)/));
      await assert.rejects(engine.history("u", loose({ namespace: "default" })), refused("E_INVALID_INPUT", /a namespace is a string/));
      await assert.rejects(engine.update("u", { text: "x" }, loose(7)), refused("E_INVALID_INPUT", /a namespace is a string \(got number\)/));
      await assert.rejects(engine.recall("u", loose("default")), refused("E_INVALID_INPUT", /recall's options are an object \(got string\)/));
      await assert.rejects(engine.recall(loose(42)), refused("E_INVALID_INPUT", /a memory id is a string/));
      await assert.rejects(engine.searchMemories(loose(5)), refused("E_INVALID_INPUT", /a search query is a string/));
      await assert.rejects(engine.recode("default", { codec: loose("bogus") }), refused("E_USAGE", /unknown codec "bogus"/));
      // trial56: an id that is a number threw a TypeError; a patch naming what an update cannot change answered "unchanged".
      await assert.rejects(engine.remember(loose<MemoryInput>({ id: 5, text: "x" })), refused("E_INVALID_INPUT", /an id is a string \(got number\)/));
      for (const field of ["createdAt", "id", "namespace", "tgas"]) {
        await assert.rejects(engine.update("u", loose({ [field]: "other" })), refused("E_INVALID_INPUT", new RegExp(`an update cannot change "${field}"`)), field);
      }
      // A meta value JSON cannot hold names what to give, not a __proto__ key's fix.
      await assert.rejects(engine.update("u", loose({ meta: { k: Number.POSITIVE_INFINITY } })), (error: Error & { hint?: string }) => /Infinity/.test(error.message) && /finite numbers/.test(error.hint ?? "") && !/__proto__/.test(error.hint ?? ""));
      assert.equal(await engine.recall("u"), "kept as it was");
      // Unset optional fields stay allowed, as before: an undefined meta property (JSON leaves it out), tags and kind null.
      assert.equal((await engine.remember(loose<MemoryInput>({ id: "o", text: "optional fields", meta: { source: undefined, kept: 1 }, tags: null, kind: null }))).status, "stored");
      assert.deepEqual([(await engine.memory("o")).meta, (await engine.memory("o")).tags, (await engine.memory("o")).kind], [{ kept: 1 }, [], "note"]);
      assert.equal((await engine.update("o", loose({ meta: { kept: 2, other: undefined } }))).status, "updated");
      assert.deepEqual((await engine.memory("o")).meta, { kept: 2 });
      // What JSON holds goes through: nested arrays, null, booleans, a null-prototype object.
      const plain = Object.assign(Object.create(null) as Record<string, unknown>, { x: [1, null, true, "s", { y: -0.5 }] });
      assert.equal((await engine.remember({ id: "p", text: "plain meta", meta: plain })).status, "stored");
      assert.deepEqual((await engine.memory("p")).meta, { x: [1, null, true, "s", { y: -0.5 }] });
    } finally {
      await engine.close();
    }
  });
});

describe("a filter the library cannot read is refused, never widened (trial56: createdBefore \"2020-01-01\" deleted every memory)", () => {
  it("forgetWhere, page, export, scan, recode and search refuse it typed, and delete nothing", async () => {
    using dir = tempDir();
    const engine = Engine.open({ db: join(dir.path, "store.db"), namespace: "n1", cache: "off", workers: 0 });
    try {
      await engine.rememberMany([1, 2, 3].map((i) => ({ id: `m${i}`, text: `memory ${i} of n1` })));
      await engine.remember({ id: "other", text: "n2's memory" }, { namespace: "n2" });
      const bad: [string, unknown, RegExp][] = [
        ["a date string", { createdBefore: "2020-01-01" }, /createdBefore/],
        ["a Date", { createdFrom: new Date(0) }, /createdFrom/],
        ["an object", { updatedBefore: {} }, /updatedBefore/],
        ["a fraction", { updatedFrom: 1.5 }, /updatedFrom/],
        ["namespaces a string", { namespaces: "n2" }, /namespaces/],
        ["tags a string", { tags: "abc" }, /tags/],
        ["a kind that is none", { kind: "bogus" }, /kind/],
        ["a misspelt condition", { createdBfore: 5 }, /createdBfore|unrecognized/i],
        ["meta an array", { meta: [1] }, /meta/],
      ];
      for (const [what, filter, pattern] of bad) {
        await assert.rejects(engine.forgetWhere(loose({ namespaces: ["n1"], ...(filter as object) })), refused("E_INVALID_INPUT", pattern), `forgetWhere: ${what}`);
        await assert.rejects(engine.forgetWhere(loose(filter)), refused("E_INVALID_INPUT", pattern), `forgetWhere, every namespace: ${what}`);
        await assert.rejects(engine.page(loose({ limit: 10, ...(filter as object) })), refused("E_INVALID_INPUT", pattern), `page: ${what}`);
        await assert.rejects(engine.recode("n1", loose({ filter })), refused("E_INVALID_INPUT", pattern), `recode: ${what}`);
        await assert.rejects(engine.searchMemories("memory", loose({ filter })), refused("E_INVALID_INPUT", pattern), `search: ${what}`);
        await assert.rejects(
          (async () => {
            for await (const m of engine.exportMemories(undefined, loose({ filter }))) assert.fail(`exported ${m.id} under a filter it could not read`);
          })(),
          refused("E_INVALID_INPUT", pattern),
          `export: ${what}`,
        );
        assert.throws(() => engine.scanMemories(undefined, undefined, loose(filter)), refused("E_INVALID_INPUT", pattern), `scan: ${what}`);
      }
      for (const limit of ["x", 0, -3, 1.5, undefined]) {
        await assert.rejects(engine.page(loose({ limit })), refused("E_INVALID_INPUT", /limit/), `page limit ${String(limit)}`);
      }
      // Nothing was deleted, in either namespace.
      assert.deepEqual((await engine.page({ limit: 10 })).items.map((m) => `${m.namespace}/${m.id}`).sort(), ["n1/m1", "n1/m2", "n1/m3", "n2/other"]);
      // The same conditions written as the types say work, before 1970 too.
      assert.equal((await engine.forgetWhere({ namespaces: ["n1"], createdBefore: Date.parse("1969-06-01") })).count, 0);
      assert.equal((await engine.forgetWhere({ namespaces: ["n1"], createdBefore: Date.now() + 60_000 })).count, 3);
      assert.deepEqual((await engine.page({ limit: 10 })).items.map((m) => m.id), ["other"]);
    } finally {
      await engine.close();
    }
  });
});

describe("close() and the calls made before it (trial41: a remember issued just before close was refused 'the store is closed')", () => {
  it("waits for every write and read called before it, and refuses those called after it", async () => {
    using dir = tempDir();
    const db = join(dir.path, "store.db");
    const engine = Engine.open({ db, cache: "off", workers: 0 });
    await engine.remember({ id: "first", text: "written before" });
    const writes = Array.from({ length: 50 }, (_, i) => engine.remember({ id: `w${i}`, text: `issued before close ${i}` }));
    const updated = engine.update("first", { text: "changed before close" });
    const read = engine.recall("first");
    const closing = engine.close();
    await assert.rejects(engine.remember({ id: "late", text: "after close" }), (error: Error & { code?: string }) => error.code === "E_USAGE" && /closed/.test(error.message));
    assert.deepEqual(new Set((await Promise.all(writes)).map((r) => r.status)), new Set(["stored"]));
    assert.equal((await updated).status, "updated");
    assert.ok(["written before", "changed before close"].includes(await read));
    await closing;
    const again = Engine.open({ db, cache: "off", workers: 0 });
    try {
      assert.equal((await again.stats()).memories, 51);
      assert.equal(await again.recall("first"), "changed before close");
      await assert.rejects(again.memory("late"), (error: Error & { code?: string }) => error.code === "E_NOT_FOUND");
    } finally {
      await again.close();
    }
  });
});
