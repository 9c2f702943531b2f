import { strict as assert } from "node:assert";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { isMemzipError } from "../../src/errors.js";
import { damageEnvelope, devCorpus, tempDir } from "../helpers.js";

/**
 * A memory whose stored envelope no longer gives its text (a flipped bit on disk) is repaired by writing that text
 * again under its id: the write reads the envelope back before it calls the text "unchanged" (before, it trusted the
 * checksum the row keeps and left the damage in place, saying "unchanged").
 */
describe("writing a damaged memory's text again", () => {
  const open = (db: string) => Engine.open({ db, cache: "off", seal: false });

  it("repairs it: the write is an update, the text reads back, history holds one version, the next write is unchanged", async () => {
    using dir = tempDir();
    const db = join(dir.path, "repair.db");
    const text = "The user prefers green tea in the morning and black coffee after lunch.";
    {
      const engine = open(db);
      assert.equal((await engine.remember({ id: "k", text, namespace: "a" })).status, "stored");
      await engine.remember({ id: "other", text: "An unrelated note about the garden.", namespace: "a" });
      await engine.close();
    }
    damageEnvelope(db, "k");
    const engine = open(db);
    try {
      await assert.rejects(engine.recall("k", { namespace: "a" }), (error: unknown) => isMemzipError(error) && error.code !== undefined);
      const repaired = await engine.remember({ id: "k", text, namespace: "a" });
      assert.equal(repaired.status, "updated");
      assert.equal(await engine.recall("k", { namespace: "a" }), text);
      assert.deepEqual((await engine.history("k", "a")).map((v) => v.text), [text]);
      assert.equal((await engine.remember({ id: "k", text, namespace: "a" })).status, "unchanged");
      const report = await engine.verify("a");
      assert.deepEqual([report.checked, report.failed], [2, 0]);
    } finally {
      await engine.close();
    }
  });

  it("an import run again repairs the damaged records and leaves the others unchanged", async () => {
    using dir = tempDir();
    const db = join(dir.path, "import.db");
    const file = join(dir.path, "records.jsonl");
    const records = devCorpus()
      .slice(0, 12)
      .map(({ text }, i) => ({ id: `r${i}`, text }));
    writeFileSync(file, records.map((r) => JSON.stringify(r)).join("\n") + "\n");
    {
      const engine = open(db);
      assert.equal((await engine.importJsonl(file)).stored, records.length);
      await engine.close();
    }
    damageEnvelope(db, "r3");
    damageEnvelope(db, "r8");
    const engine = open(db);
    try {
      assert.equal((await engine.verify()).failed, 2);
      const again = await engine.importJsonl(file);
      assert.deepEqual([again.updated, again.unchanged, again.stored], [2, records.length - 2, 0]);
      for (const { id, text } of records) assert.equal(await engine.recall(id), text);
      assert.equal((await engine.verify()).failed, 0);
    } finally {
      await engine.close();
    }
  });
});
