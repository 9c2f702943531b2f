import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { devCorpus, storeOf, tempDir } from "../helpers.js";

/**
 * Two writers on one store file (two engines, as two processes importing at once would be): B codes a
 * batch with the namespace's snapshot; before B commits, A's import ends — it trains a newer snapshot,
 * recodes the namespace with it and prunes the old one, which no committed memory needs any more.
 * B's commit must still land, every text exact (race29: the import failed with E_MISSING_ASSET).
 */
describe("a commit whose asset another writer pruned", () => {
  it("codes the batch again with the namespace's assets as they are now, and stores every text exactly", async () => {
    using dir = tempDir();
    const db = join(dir.path, "pruned.db");
    const records = devCorpus().map(({ id, text }) => ({ id, text }));
    // cmBase off here and below: with it, no snapshot of these dev texts would be used (the shipped base learned from them).
    const a = Engine.open({ db, cache: "off", autoTrainAfter: 200, cmBase: false });
    const b = Engine.open({ db, cache: "off", autoTrainAfter: 200, cmBase: false });
    try {
      await a.rememberMany(records.slice(0, 300));
      assert.ok(await a.finishImport(), "A's first import trains the namespace");
      const first = (await a.assetUsage()).find((u) => u.kind === "cm-snapshot");
      assert.ok(first, "a cm snapshot after the first import");

      const writer = await b.writer({}, 10);
      const batch = records.slice(1000, 1010);
      const plans = [];
      for (const input of batch) plans.push(await writer.plan(input));
      assert.ok(plans.some((p) => p.row?.assetId === first.id), "B coded with the first snapshot");

      await a.rememberMany(records.slice(300, 700));
      await a.trainAsset("cm-snapshot");
      await a.recode();
      const pruned = await a.pruneAssets({ unusedActive: true });
      assert.ok(pruned.some((p) => p.id === first.id), "A pruned the snapshot B coded with");

      const results = await writer.commit(plans);
      assert.deepEqual(results.map((r) => r.status), batch.map(() => "stored"));
      assert.equal(b.metricsSnapshot().replanned, batch.length);
      for (const { id, text } of batch) assert.equal(await b.recall(id), text);
      const report = await b.verify();
      assert.equal(report.failed, 0);
      assert.equal(report.checked, 710);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("a recode whose new snapshot another writer prunes mid-way stops and leaves every memory as it was (race37)", async () => {
    using dir = tempDir();
    const db = join(dir.path, "pruned-recode.db");
    const records = devCorpus().map(({ id, text }) => ({ id, text })).slice(0, 300);
    const a = Engine.open({ db, cache: "off", autoTrainAfter: 0, cmBase: false });
    const b = Engine.open({ db, cache: "off", autoTrainAfter: 0, cmBase: false });
    try {
      await a.rememberMany(records);
      const before = new Map((await a.list({ limit: 1000 })).map((m) => [m.id, m.codec]));
      const trained = await a.trainAsset("cm-snapshot");
      let prune: Promise<boolean> | undefined;
      const report = await a.recode(undefined, {}, () => {
        // Another process's prune, after this recode coded its first memory with the snapshot and before its first
        // write (no row uses the snapshot yet). The SQLite store deletes synchronously: it lands before that write.
        prune ??= storeOf(b).assets.delete(trained.id);
      });
      assert.equal(await prune, true, "the snapshot was pruned during the recode");
      assert.equal(report.recoded, 0);
      assert.ok(report.skipped > 0, `${report.skipped} skipped`);
      const after = await a.list({ limit: 1000 });
      assert.equal(after.length, records.length);
      for (const memory of after) assert.equal(memory.codec, before.get(memory.id), `${memory.id} keeps its envelope`);
      for (const { id, text } of records) assert.equal(await b.recall(id), text);
      assert.equal((await b.verify()).failed, 0);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
