import { strict as assert } from "node:assert";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { snapshotTrainings } from "../../src/codec/cm/prepared-snapshot.js";
import { Engine } from "../../src/engine.js";
import { openStore } from "../../src/store/open.js";
import { devCorpus, tempDir } from "../helpers.js";

/**
 * A process kept two `cm` models loaded. A server of three tenants or more, each with its own snapshot, met another
 * snapshot at nearly every read and loaded its model first: 0.2 s a recall from the derived state instead of ~2 ms
 * (BENCHMARKS.md, "Reads across namespaces"). An engine keeps `cmModels` loaded while it is open. These engines keep no
 * model states beside the store, so each load trains the snapshot again and `snapshotTrainings` counts the loads.
 */
describe("reads across namespaces keep each namespace's cm model loaded (cmModels)", () => {
  it("alternating recalls and offloaded writes over three namespaces load a model nearly every time with 2, and each model once with 3", async () => {
    using dir = tempDir();
    const namespaces = ["n0", "n1", "n2"];
    const corpus = devCorpus();
    const file = join(dir.path, "three.jsonl");
    const trained = corpus.slice(0, 180).map((record, i) => ({ id: `r${i}`, namespace: namespaces[i % 3] as string, text: record.text }));
    writeFileSync(file, trained.map((record) => JSON.stringify(record)).join("\n") + "\n");
    const path = join(dir.path, "store.db");
    // 60 memories a namespace trains its snapshot (autoTrainAfter 50); the memories written after it are coded with it.
    // cmBase off: with it, no snapshot of these dev texts would be used (the shipped base learned from them).
    const writer = Engine.create({ store: openStore(path), cache: "off", workers: 0, autoTrainAfter: 50, cmBase: false });
    const coded: { id: string; namespace: string; text: string }[] = [];
    try {
      await writer.importJsonl(file);
      for (const [i, record] of corpus.slice(180, 240).entries()) {
        const namespace = namespaces[i % 3] as string;
        const result = await writer.remember({ id: `later${i}`, text: record.text }, { namespace });
        if (result.codec === "cm") coded.push({ id: result.id, namespace, text: record.text });
      }
    } finally {
      await writer.close();
    }
    const rotation = [0, 1, 2].flatMap((round) =>
      namespaces.map((namespace) => {
        const memory = coded.filter((m) => m.namespace === namespace)[round];
        assert.ok(memory, `${namespace} has a ${round + 1}th memory coded with its own cm snapshot`);
        return memory;
      }),
    );
    const recallAll = async (cmModels: number, memories = rotation): Promise<number> => {
      const engine = Engine.create({ store: openStore(path), cache: "off", workers: 0, cmModels });
      try {
        const before = snapshotTrainings();
        for (const memory of memories) assert.equal(await engine.recall(memory.id, { namespace: memory.namespace }), memory.text);
        return snapshotTrainings() - before;
      } finally {
        await engine.close();
      }
    };
    // Two kept, three in turn: each read finds its model dropped (the first two may still be loaded from the writes).
    const withTwo = await recallAll(2);
    assert.ok(withTwo >= rotation.length - 2, `cmModels 2: ${withTwo} loads for ${rotation.length} recalls`);
    const withThree = await recallAll(3);
    assert.ok(withThree <= namespaces.length, `cmModels 3: ${withThree} loads for ${rotation.length} recalls`);
    // Its close gave the models past the default back: of n0, n1, n2 (n0 least recently read) two stay loaded, so the
    // next engine reads n1 and n2 without a load and loads n0 again.
    const afterClose = await recallAll(3, [rotation[1], rotation[2], rotation[0]] as typeof rotation);
    assert.equal(afterClose, 1, "the model an engine's close let go is loaded again; the two the default keeps are not");

    // A server's writes code on the codec workers (`offload`), which keep `cmModels` too.
    // New texts each time (a text already stored in its namespace is kept once: no coding).
    const writeAll = async (cmModels: number, from: number): Promise<{ loads: number; codecs: string[] }> => {
      const engine = Engine.create({ store: openStore(path), cache: "off", workers: 1, cmModels });
      try {
        const codecs: string[] = [];
        for (const [i, record] of corpus.slice(from, from + 9).entries()) {
          const result = await engine.remember({ id: `w${from + i}`, text: record.text }, { namespace: namespaces[i % 3] as string, offload: true });
          codecs.push(result.codec);
        }
        const stats = await engine.codecWorkerStats();
        return { loads: stats.reduce((sum, worker) => sum + worker.snapshotTrainings, 0), codecs };
      } finally {
        await engine.close();
      }
    };
    const writesWithTwo = await writeAll(2, 240);
    assert.ok(writesWithTwo.codecs.filter((codec) => codec === "cm").length >= 6, writesWithTwo.codecs.join(" "));
    assert.ok(writesWithTwo.loads >= 7, `a worker keeping 2: ${writesWithTwo.loads} loads for 9 writes in turn over 3 namespaces (${writesWithTwo.codecs.join(" ")})`);
    const writesWithThree = await writeAll(3, 249);
    assert.ok(writesWithThree.codecs.filter((codec) => codec === "cm").length >= 6, writesWithThree.codecs.join(" "));
    assert.ok(writesWithThree.loads <= namespaces.length, `a worker keeping 3: ${writesWithThree.loads} loads for 9 writes`);
  });
});
