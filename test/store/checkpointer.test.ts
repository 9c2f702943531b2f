import { strict as assert } from "node:assert";
import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { openDatabase } from "../../src/store/sqlite/database.js";
import { tempDir } from "../helpers.js";

/** Fills the log with `rows` rows of 600 bytes each, one transaction each (as single writes commit). */
function fill(db: Database.Database, rows: number, from = 0): void {
  db.exec("CREATE TABLE IF NOT EXISTS filler (n INTEGER PRIMARY KEY, payload BLOB)");
  const insert = db.prepare("INSERT INTO filler (n, payload) VALUES (?, ?)");
  for (let i = from; i < from + rows; i++) insert.run(i, Buffer.alloc(600, i % 251));
}

describe("checkpoint thread", () => {
  it("leaves checkpoints to its thread, which copies the whole log back when asked; stopped with the store", async () => {
    using dir = tempDir();
    const path = join(dir.path, "store.db");
    const database = openDatabase(path, { checkpointThread: true });
    try {
      assert.equal(database.db.pragma("wal_autocheckpoint", { simple: true }), 0, "the writer's connection checkpoints nothing itself");
      fill(database.db, 3000);
      const done = await database.checkpointer?.now();
      assert.ok(done && done.log >= 0, JSON.stringify(done));
      assert.equal(done.checkpointed, done.log, "every frame copied back");
      // What it copied is in the store file itself: a fresh connection without the log reads it.
      await database.stopCheckpoints();
      assert.equal(database.checkpointer?.active, false);
      await assert.rejects(database.checkpointer?.now() ?? Promise.resolve(), /stopped/);
      assert.equal(database.db.pragma("wal_autocheckpoint", { simple: true }), 1000, "a stopped thread hands checkpoints back");
    } finally {
      database.close();
    }
    const reader = new Database(path, { readonly: true });
    try {
      assert.equal(reader.prepare("SELECT count(*) FROM filler").pluck().get(), 3000);
    } finally {
      reader.close();
    }
  });

  it("a thread that dies hands checkpoints back to the writer's connection; an engine's close stops it", async () => {
    using dir = tempDir();
    const path = join(dir.path, "crash.db");
    const database = openDatabase(path, { checkpointThread: true });
    try {
      const checkpointer = database.checkpointer;
      assert.ok(checkpointer);
      const worker = (checkpointer as unknown as { worker: Worker }).worker;
      await worker.terminate();
      await checkpointer.stop(); // resolves once its exit was seen
      assert.equal(checkpointer.active, false);
      assert.equal(database.db.pragma("wal_autocheckpoint", { simple: true }), 1000);
      fill(database.db, 100); // writes go on
    } finally {
      database.close();
    }
    // Through the engine option: the thread runs while the engine is open and is stopped (awaited) by close.
    const engine = Engine.open({ db: join(dir.path, "engine.db"), codecs: ["raw"], cache: "off", checkpointThread: true });
    const inner = (engine as unknown as { store: { database: { checkpointer?: { active: boolean } } } }).store.database;
    await engine.remember({ id: "a", text: "kept across the checkpoint thread" });
    assert.equal(inner.checkpointer?.active, true);
    await engine.close();
    assert.equal(inner.checkpointer?.active, false);
  });
});
