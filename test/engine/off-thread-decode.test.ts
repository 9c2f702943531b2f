import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import type { Asset } from "../../src/codec/codec.js";
import { preparedSnapshot, snapshotTrainings } from "../../src/codec/cm/prepared-snapshot.js";
import { Engine } from "../../src/engine.js";
import { openStore } from "../../src/store/open.js";
import { OFF_THREAD_DECODE_BYTES } from "../../src/engine/reader.js";
import { devCorpus, storeOf, tempDir, unsealFile } from "../helpers.js";

/** Envelopes decoded by the engine's codec workers so far. */
async function workerDecodes(engine: Engine): Promise<number> {
  return (await engine.codecWorkerStats()).reduce((sum, worker) => sum + worker.decodes, 0);
}

/**
 * Through `writer` (closed after): 110 of `texts` (the snapshot trains on them), then one more coded with it ("later"),
 * everything coded on the writer's worker (offload), so this thread never loads the model. The later text and the snapshot.
 * The writer runs with `cmBase` off: with it, no snapshot of these dev texts would be used (the shipped base learned from them).
 */
async function withColdModel(writer: Engine, texts: readonly string[]): Promise<{ text: string; snapshot: Asset }> {
  const text = `${texts[115] as string} and one more line that the snapshot has not seen`;
  let snapshot: Asset | undefined;
  try {
    await writer.rememberMany(texts.slice(0, 110).map((t, i) => ({ id: `t${i}`, text: t })), { offload: true });
    await writer.finishImport();
    assert.equal((await writer.remember({ id: "later", text }, { offload: true })).codec, "cm");
    const id = await storeOf(writer).assets.active("default", "cm-snapshot");
    snapshot = id === undefined ? undefined : await storeOf(writer).assets.get(id);
  } finally {
    await writer.close();
  }
  assert.ok(snapshot);
  assert.notEqual(preparedSnapshot.peek(snapshot)?.modelLoaded, true, "the model is not loaded on this thread yet");
  return { text, snapshot };
}

describe("a large memory is decoded on a codec worker", () => {
  it("the same text (and the same damage errors, so a write of it still repairs it) as on the caller's thread, which a server's other requests share", async () => {
    using dir = tempDir();
    const db = join(dir.path, "a.db");
    const corpus = devCorpus();
    let big = "";
    for (let i = 0; Buffer.byteLength(big) < OFF_THREAD_DECODE_BYTES * 2; i++) big += `${corpus[i % corpus.length]?.text ?? ""}\n`;
    const small = corpus[0]?.text ?? "";
    const writer = Engine.open({ db, cache: "off", workers: 0 });
    try {
      await writer.remember({ id: "big", text: big });
      await writer.remember({ id: "small", text: small });
    } finally {
      await writer.close();
    }

    const reader = Engine.open({ db, cache: "off", workers: 1 });
    try {
      assert.equal(await reader.recall("small"), small);
      assert.deepEqual(await reader.codecWorkerStats(), [], "a small memory decodes in place: no worker started");
      assert.equal(await reader.recall("big"), big);
      assert.equal(await workerDecodes(reader), 1);
    } finally {
      await reader.close();
    }
    // Without workers, in place: the same text.
    const inPlace = Engine.open({ db, cache: "off", workers: 0 });
    try {
      assert.equal(await inPlace.recall("big"), big);
      assert.deepEqual(await inPlace.codecWorkerStats(), []);
    } finally {
      await inPlace.close();
    }

    // One byte of the large envelope flipped: the worker's error is the reader's (its code, and the repair hint).
    unsealFile(db);
    const sql = new Database(db);
    const envelope = Buffer.from(sql.prepare("SELECT envelope FROM memories WHERE id = 'big'").pluck().get() as Buffer);
    envelope[envelope.length >> 1] = (envelope[envelope.length >> 1] as number) ^ 0x20;
    sql.prepare("UPDATE memories SET envelope = ? WHERE id = 'big'").run(envelope);
    sql.close();
    const damaged = Engine.open({ db, cache: "off", workers: 1 });
    try {
      await assert.rejects(damaged.recall("big"), (error: Error & { code?: string; hint?: string }) => (error.code === "E_CHECKSUM" || error.code === "E_FORMAT") && /Write its text again/.test(error.hint ?? ""));
      const verified = await damaged.verify();
      assert.deepEqual(verified.failures.map((f) => [f.id, f.repairable]), [["big", true]]);
      const repaired = await damaged.remember({ id: "big", text: big });
      assert.deepEqual([repaired.status, repaired.repaired], ["updated", true]);
      assert.equal(await damaged.recall("big"), big);
      assert.ok((await workerDecodes(damaged)) >= 1);
    } finally {
      await damaged.close();
    }
  });

  it("with modelLoadThread, a read whose cm model the caller's thread has not loaded decodes on a worker, which loads it; a model loaded here already decodes in place", async () => {
    using dir = tempDir();
    const path = join(dir.path, "cold.db");
    // Texts of this test alone: a snapshot no other test of this process has loaded.
    const texts = devCorpus()
      .slice(300, 420)
      .map(({ text }, i) => `${text} (cold read ${i})`);
    // No model states beside the store (openStore alone): every load trains the snapshot, and snapshotTrainings counts it.
    const { text } = await withColdModel(Engine.create({ store: openStore(path), cache: "off", workers: 1, autoTrainAfter: 100, cmBase: false }), texts);
    const reads = async (modelLoadThread: boolean): Promise<{ here: number; onWorkers: number }> => {
      const engine = Engine.create({ store: openStore(path), cache: "off", workers: 1, modelLoadThread });
      try {
        const before = snapshotTrainings();
        for (let i = 0; i < 3; i++) assert.equal(await engine.recall("later"), text);
        return { here: snapshotTrainings() - before, onWorkers: await workerDecodes(engine) };
      } finally {
        await engine.close();
      }
    };
    assert.deepEqual(await reads(true), { here: 0, onWorkers: 3 }, "loaded and decoded on the worker");
    assert.deepEqual(await reads(false), { here: 1, onWorkers: 0 }, "without modelLoadThread: loaded here, in place");
    assert.deepEqual(await reads(true), { here: 0, onWorkers: 0 }, "a model loaded on this thread decodes in place");
  });

  it("without it, a cold read loads its cm model a slice at a time: the event loop turns meanwhile, and the text is exact", async () => {
    using dir = tempDir();
    const db = join(dir.path, "sliced.db");
    const texts = devCorpus()
      .slice(500, 620)
      .map(({ text }, i) => `${text} (sliced load ${i})`);
    // Model states beside the store (Engine.open with a file): the reader loads the model from one.
    const { text, snapshot } = await withColdModel(Engine.open({ db, cache: "off", workers: 1, autoTrainAfter: 100, cmBase: false }), texts);
    const reader = Engine.open({ db, cache: "off", workers: 1 });
    try {
      const turns = async (read: () => Promise<string>): Promise<number> => {
        let count = 0;
        let done = false;
        const turn = () => {
          count++;
          if (!done) setImmediate(turn);
        };
        setImmediate(turn);
        const recalled = await read();
        done = true;
        assert.equal(recalled, text);
        return count;
      };
      const before = snapshotTrainings();
      const cold = await turns(() => reader.recall("later"));
      assert.equal(snapshotTrainings(), before, "read from the model state, not trained");
      assert.equal(preparedSnapshot.peek(snapshot)?.modelLoaded, true);
      assert.ok(cold >= 4, `the load took ${cold} turns of the event loop (in one go: none)`);
      assert.equal(await workerDecodes(reader), 0, "on this thread");
    } finally {
      await reader.close();
    }
  });

  it("an idle pool does not keep the process alive: a script that never closes its engine ends after an off-thread decode", async () => {
    using dir = tempDir();
    const script = [
      `import { Engine } from ${JSON.stringify(new URL("../../src/index.js", import.meta.url).href)};`,
      `const engine = Engine.open({ db: ${JSON.stringify(join(dir.path, "open.db"))} });`,
      `const text = "a long memory, decoded on a codec worker. ".repeat(${Math.ceil((2 * OFF_THREAD_DECODE_BYTES) / 42)});`,
      "const { id } = await engine.remember({ text }, { offload: true });",
      "console.log((await engine.recall(id)) === text);",
    ].join("\n");
    // A file, not -e: the workers would inherit --input-type, which they refuse.
    const file = join(dir.path, "never-closes.mjs");
    writeFileSync(file, script);
    // Before: the codec worker, unref'd before its "message" listener refs its port again, kept the process running for ever.
    const child = spawnSync(process.execPath, [file], { encoding: "utf8", timeout: 120_000 });
    assert.equal(child.signal, null, `still running after 120 s (killed): ${child.stderr}`);
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), "true");
  });
});
