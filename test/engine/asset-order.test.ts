import { strict as assert } from "node:assert";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { snapshotTrainings } from "../../src/codec/cm/prepared-snapshot.js";
import { Engine } from "../../src/engine.js";
import { openStore } from "../../src/store/open.js";
import { damageBlock, devCorpus, tempDir } from "../helpers.js";

/**
 * A process kept two `cm` models loaded (now `cmModels`; this test keeps two). Reads in seq order over a store whose namespaces interleave (an import of
 * several tenants, a restore) met a different snapshot at nearly every memory, and loaded a model each time: a server's
 * first search over 50,000 memories of five namespaces held it for hours, a whole-store export for as long. Bulk reads
 * decode grouped by asset (`inAssetOrder`). This engine keeps no model states beside the store, so each load trains
 * the snapshot again and `snapshotTrainings` counts the loads.
 */
describe("bulk reads over interleaved namespaces load each cm model once", () => {
  it("an export, a verify, a search's first indexing and a batch of texts each load every namespace's snapshot at most once", async () => {
    using dir = tempDir();
    const namespaces = ["n0", "n1", "n2"];
    const records = devCorpus()
      .slice(0, 750)
      .map((record, i) => ({ id: `r${i}`, namespace: namespaces[i % 3] as string, text: record.text }));
    const file = join(dir.path, "three.jsonl");
    writeFileSync(file, records.map((record) => JSON.stringify(record)).join("\n") + "\n");
    // cmModels 2 (what every process kept before the setting): with more, reads in seq order would not show the loads.
    const engine = Engine.create({ store: openStore(join(dir.path, "store.db")), cache: "off", workers: 0, autoTrainAfter: 200, cmModels: 2 });
    try {
      await engine.importJsonl(file);
      for (const namespace of namespaces) {
        const stats = await engine.stats(namespace);
        assert.ok(Object.keys(stats.byCodec).some((codec) => codec.startsWith("cm")), `${namespace} is coded with its own cm snapshot: ${JSON.stringify(stats.byCodec)}`);
      }
      const exact = new Map(records.map((record) => [`${record.namespace}/${record.id}`, record.text]));

      let before = snapshotTrainings();
      let exported = 0;
      for await (const memory of engine.exportMemories()) {
        assert.equal(memory.text, exact.get(`${memory.namespace}/${memory.id}`));
        exported++;
      }
      assert.equal(exported, records.length);
      assert.ok(snapshotTrainings() - before <= namespaces.length, `the export loaded ${snapshotTrainings() - before} models for ${namespaces.length} snapshots`);

      before = snapshotTrainings();
      const verified = await engine.verify();
      assert.deepEqual([verified.checked, verified.failed], [records.length, 0]);
      // Verify checks several memories at once (the profile's contexts): at the edge between two snapshots' memories
      // the checks in flight may ask for both, so each snapshot may load twice a window; never once a memory.
      assert.ok(snapshotTrainings() - before <= 2 * namespaces.length, `verify loaded ${snapshotTrainings() - before} models`);

      before = snapshotTrainings();
      const refs = records.slice(0, 300).map(({ id, namespace }) => ({ id, namespace }));
      assert.deepEqual(await engine.texts(refs), records.slice(0, 300).map((record) => record.text));
      assert.ok(snapshotTrainings() - before <= namespaces.length, `texts loaded ${snapshotTrainings() - before} models`);

      before = snapshotTrainings();
      const hits = await engine.searchMemories(records[7]?.text.slice(0, 80) as string, { limit: 5 });
      assert.ok(hits.some((hit) => hit.id === "r7"), JSON.stringify(hits.map((hit) => hit.id)));
      assert.ok(snapshotTrainings() - before <= namespaces.length, `the search's indexing loaded ${snapshotTrainings() - before} models`);
    } finally {
      await engine.close();
    }
  });

  it("an export read a window at a time still gives every memory before a damaged block (without onBad) and reports the block in its place (with)", async () => {
    using dir = tempDir();
    const path = join(dir.path, "damaged.db");
    const store = openStore(path, { seal: true, blockRows: 64 });
    const writer = Engine.create({ store, cache: "off", workers: 0, codecs: ["raw"], autoTrainAfter: 0, seal: true });
    try {
      await writer.rememberMany(Array.from({ length: 3000 }, (_, i) => ({ id: `m${i}`, text: `memory number ${i} of a long export` })));
      assert.ok((await store.seal?.()) ?? 0 > 0);
    } finally {
      await writer.close();
    }
    // The eleventh block (seqs 641-704).
    damageBlock(path, 704);
    const engine = Engine.open({ db: path, cache: "off", workers: 0 });
    try {
      const given: string[] = [];
      await assert.rejects(
        (async () => {
          for await (const memory of engine.exportMemories()) given.push(memory.id);
        })(),
        { code: "E_STORE" },
      );
      // The memories before it, in order, as many as the store's scan reads ahead of it (512 one by one, before the
      // windows; a window held them back until it was full: none were given).
      assert.ok(given.length >= 512, `${given.length} given`);
      assert.deepEqual(given, Array.from({ length: given.length }, (_, i) => `m${i}`));
      const order: string[] = [];
      for await (const memory of engine.exportMemories(undefined, { onBad: (failure) => order.push(`bad:${failure.memories ?? 1}`) })) order.push(memory.id);
      assert.equal(order.indexOf("bad:64"), given.length, "the damaged block is reported where the export without onBad stopped");
      const readable = Array.from({ length: 3000 }, (_, i) => i).filter((i) => i < 640 || i >= 704).map((i) => `m${i}`);
      assert.deepEqual(order.filter((entry) => entry !== "bad:64"), readable);
    } finally {
      await engine.close();
    }
  });
});
