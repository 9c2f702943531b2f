import { strict as assert } from "node:assert";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { readJsonlRecords } from "../../src/pipeline/jsonl.js";
import { collect, tempDir, storeOf } from "../helpers.js";

describe("issue 12: JSONL lines over the limit", () => {
  it("are skipped to the next newline and reported by line, with exact resume positions, without stopping the file", async () => {
    await using dir = tempDir();
    const file = join(dir.path, "long.jsonl");
    const lines = [
      JSON.stringify({ id: "a", text: "first" }),
      JSON.stringify({ id: "huge", text: "x".repeat(5 << 20) }),
      JSON.stringify({ id: "b", text: "second" }),
      "", // an empty line is not a record
      JSON.stringify({ id: "tail", text: "y".repeat(3 << 20) }), // the last line, without a newline
    ];
    writeFileSync(file, lines.join("\n"));
    const items = await collect(readJsonlRecords(file, undefined, undefined, { maxLineBytes: 1 << 20 }));
    assert.deepEqual(
      items.map((i) => [i.line, i.ok ? i.record.id : i.error.code]),
      [
        [1, "a"],
        [2, "E_INVALID_INPUT"],
        [3, "b"],
        [5, "E_INVALID_INPUT"],
      ],
    );
    const failed = items.filter((i) => !i.ok).map((i) => (i.ok ? "" : i.error.message));
    assert.match(failed[0] as string, /line 2: \d+ bytes, over the line limit of 1048576/);
    const ends = lines.map((_, i) => lines.slice(0, i + 1).join("\n").length + 1);
    assert.deepEqual(items.map((i) => i.bytesRead), [ends[0], ends[1], ends[2], ends[4]! - 1]);

    // Resuming after line 2 reads line 3 on.
    const resumed = await collect(readJsonlRecords(file, undefined, { position: ends[1]!, line: 2 }, { maxLineBytes: 1 << 20 }));
    assert.deepEqual(resumed.map((i) => [i.line, i.ok]), [[3, true], [5, false]]);
  });
});

describe("issue 12: meta limits at the library boundary", () => {
  it("remember refuses meta nested past the limit with E_INVALID_INPUT instead of overflowing the stack", async () => {
    await using engine = Engine.open({ db: ":memory:", autoTrainAfter: 0 });
    let meta: Record<string, unknown> = {};
    for (let i = 0; i < 100_000; i++) meta = { x: meta };
    await assert.rejects(() => engine.remember({ id: "deep", text: "deep", meta }), (e: unknown) => (e as { code?: string }).code === "E_INVALID_INPUT");
    assert.equal((await engine.remember({ id: "ok", text: "fine", meta: { a: { b: [1, 2, { c: 3 }] } } })).status, "stored");
  });
});

describe("issue 12: duplicate ids in one file", () => {
  it("the last line wins, on a fresh store and where the id is stored, within a batch and across batches", async () => {
    await using dir = tempDir();
    const file = join(dir.path, "dupes.jsonl");
    const write = (records: object[]) => writeFileSync(file, `${records.map((r) => JSON.stringify(r)).join("\n")}\n`);
    for (const batchSize of [1, 2, 32]) {
      await using engine = Engine.open({ db: join(dir.path, `d${batchSize}.db`), autoTrainAfter: 0 });
      write([{ id: "x", text: "one" }, { id: "y", text: "filler" }, { id: "x", text: "two" }]);
      const fresh = await engine.importJsonl(file, { batchSize });
      assert.equal(await engine.recall("x"), "two", `fresh store, batch ${batchSize}`);
      // The first x is read and skipped (finding 1 of newcomer9): only the last line of an id is written.
      assert.deepEqual([fresh.read, fresh.stored, fresh.updated, fresh.superseded], [3, 2, 0, 1]);
      assert.equal((await engine.history("x")).length, 1, "no history from a line the same file replaces");

      // The same file again changes nothing: no update, no history.
      const again = await engine.importJsonl(file, { batchSize });
      assert.equal(await engine.recall("x"), "two", `re-import, batch ${batchSize}`);
      assert.deepEqual([again.stored, again.updated, again.unchanged, again.superseded], [0, 0, 2, 1]);
      assert.equal((await engine.history("x")).length, 1, "a re-import adds no history");
      write([{ id: "x", text: "three" }, { id: "y", text: "filler" }, { id: "x", text: "two" }]);
      const changed = await engine.importJsonl(file, { batchSize });
      assert.equal(await engine.recall("x"), "two", `stored id, batch ${batchSize}`);
      assert.equal(changed.unchanged, 2); // y, and x's last line
      assert.equal(changed.updated, 0);
      // The last line differs from the stored text: written once, whatever the earlier lines.
      write([{ id: "x", text: "four" }, { id: "x", text: "five" }, { id: "z", text: "x in another namespace", namespace: "other" }, { id: "x", text: "six" }]);
      const later = await engine.importJsonl(file, { batchSize });
      assert.deepEqual([later.stored, later.updated, later.superseded], [1, 1, 2]);
      assert.equal(await engine.recall("x", { namespace: "default" }), "six");
      assert.deepEqual((await engine.history("x", "default")).sort((a, b) => a.version - b.version).map((v) => v.text), ["two", "six"]);

      // Same text, metadata changed and changed back: the last line's metadata wins.
      write([{ id: "x", text: "two", tags: ["late"] }, { id: "x", text: "two" }]);
      await engine.importJsonl(file, { batchSize });
      assert.deepEqual((await storeOf(engine).memories.get("default", "x"))?.tags, [], `metadata, batch ${batchSize}`);
      assert.equal((await engine.verify()).failed, 0);
    }
  });

  it("a later line a write refuses (empty text, a lone surrogate, a text over the limit, a bad tag) replaces no earlier line", async () => {
    await using dir = tempDir();
    const file = join(dir.path, "refused-later.jsonl");
    await using engine = Engine.open({ db: join(dir.path, "refused.db"), autoTrainAfter: 0, maxTextBytes: 64 });
    await engine.remember({ id: "kept", text: "old kept" });
    // JSON.stringify writes a lone surrogate as the escape \ud800, as a hostile file would.
    const lines = [
      { id: "empty", text: "good empty" },
      { id: "kept", text: "good kept" },
      { id: "lone", text: "good lone" },
      { id: "long", text: "good long" },
      { id: "tagged", text: "good tagged" },
      { id: "empty", text: "" },
      { id: "kept", text: "" },
      { id: "lone", text: "bad \ud800" },
      { id: "long", text: "x".repeat(65) },
      { id: "tagged", text: "bad tagged", tags: [42] },
    ];
    writeFileSync(file, `${lines.map((r) => JSON.stringify(r)).join("\n")}\n`);
    for (const batchSize of [1, 32]) {
      const report = await engine.importJsonl(file, { batchSize });
      assert.equal(report.rejected.length, 5, `batch ${batchSize}: ${JSON.stringify(report.rejected)}`);
      assert.equal(report.superseded, 0, `batch ${batchSize}: no line is replaced by a refused one`);
      for (const id of ["empty", "kept", "lone", "long", "tagged"]) assert.equal(await engine.recall(id), `good ${id}`, `batch ${batchSize}: ${id}`);
    }
  });
});
