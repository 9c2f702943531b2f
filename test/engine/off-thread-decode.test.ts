import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { Engine } from "../../src/engine.js";
import { OFF_THREAD_DECODE_BYTES } from "../../src/engine/reader.js";
import { devCorpus, tempDir, unsealFile } from "../helpers.js";

/** Envelopes decoded by the engine's codec workers so far. */
async function workerDecodes(engine: Engine): Promise<number> {
  return (await engine.codecWorkerStats()).reduce((sum, worker) => sum + worker.decodes, 0);
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
});
