import { strict as assert } from "node:assert";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { MAX_REJECTIONS_LISTED } from "../../src/pipeline/batch-import.js";
import { tempDir } from "../helpers.js";

describe("an import of many bad lines (trial56: each rejection was kept, ~450 bytes a line, so an upload could exhaust a server's memory)", () => {
  it("lists the first rejections and counts them all, per namespace too", async () => {
    using dir = tempDir();
    const file = join(dir.path, "mostly-bad.jsonl");
    const bad = MAX_REJECTIONS_LISTED + 500;
    const lines = [JSON.stringify({ id: "good-1", text: "a good memory" })];
    for (let i = 0; i < bad; i++) lines.push(i % 2 === 0 ? "x" : JSON.stringify({ text: "", namespace: "other" }));
    lines.push(JSON.stringify({ id: "good-2", text: "another good memory" }));
    writeFileSync(file, `${lines.join("\n")}\n`);
    const engine = Engine.open({ db: join(dir.path, "store.db"), cache: "off", workers: 0 });
    try {
      const report = await engine.importJsonl(file);
      assert.equal(report.read, bad + 2);
      assert.equal(report.stored, 2);
      assert.equal(report.rejectedCount, bad);
      assert.equal(report.rejected.length, MAX_REJECTIONS_LISTED, "the list is bounded");
      assert.deepEqual(report.rejected.slice(0, 2).map((r) => r.where), ["line 2", "line 3"], "the first ones, in input order");
      assert.deepEqual(report.rejectedByNamespace, { other: bad / 2 }, "every rejection counted for the namespace it named");
      assert.deepEqual(report.rejectedNamespaces, { other: bad / 2 }, "a namespace only rejected records named: nothing stored there");
      assert.equal(await engine.recall("good-2"), "another good memory");
    } finally {
      await engine.close();
    }
  });
});
