import { strict as assert } from "node:assert";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import Database from "better-sqlite3";
import { Engine } from "../../src/engine.js";
import { ErrorCode, MemzipError } from "../../src/errors.js";
import { CLI, spawnBounded, tempDir } from "../helpers.js";

/**
 * A store whose write lock another connection holds (an sqlite3 shell with an open transaction, a
 * backup, another process's long write) for longer than memzip's wait. Reads go on beside it; a
 * write fails with E_BUSY (exit 13) naming the cause and writes nothing, not an "internal error"
 * (exit 70, a stack trace) nor a wrong "check the path"; an import keeps its committed batches and
 * is finished by a rerun. The lock is held by a connection of this process, taken before the write
 * and released after it, so nothing here depends on timing.
 */
describe("a store locked by another writer", () => {
  const ENV = { ...process.env, MEMZIP_CACHE_DIR: "", MEMZIP_DB: "", MEMZIP_CONFIG: "" };
  const cli = (args: string[], input = "") => spawnBounded(process.execPath, [CLI, ...args], { env: ENV, encoding: "utf8", input });
  /** Holds the store's write lock (BEGIN IMMEDIATE) until the returned function is called. */
  const lock = (db: string): (() => void) => {
    const holder = new Database(db);
    holder.exec("BEGIN IMMEDIATE");
    return () => {
      holder.exec("COMMIT");
      holder.close();
    };
  };

  it("reads go on; a write is E_BUSY, exit 13, and stores nothing; after the lock the same write succeeds", () => {
    using dir = tempDir();
    const db = join(dir.path, "locked.db");
    assert.equal(cli(["add", "-", "--id", "a", "--db", db], "the user prefers green tea").status, 0);
    const release = lock(db);
    try {
      const got = cli(["get", "a", "--db", db]);
      assert.equal(got.status, 0, got.stderr);
      assert.equal(got.stdout.trim(), "the user prefers green tea");
      const listed = cli(["ls", "--db", db, "--json"]);
      assert.equal(listed.status, 0, listed.stderr);
      assert.match(listed.stdout, /"a"/);
      const stats = cli(["stats", "--db", db]);
      assert.equal(stats.status, 0, stats.stderr);

      const added = cli(["add", "-", "--id", "b", "--db", db, "--json"], "written while locked");
      assert.equal(added.status, 13, added.stderr);
      const error = (JSON.parse(added.stdout) as { error: { code: string; message: string; hint: string } }).error;
      assert.equal(error.code, "E_BUSY");
      assert.match(error.message, /locked/);
      assert.match(error.hint, /run the command again/);
      assert.doesNotMatch(added.stderr, /internal error|at .*\.js:\d+/);
    } finally {
      release();
    }
    assert.equal(cli(["get", "b", "--db", db]).status, 4, "the refused write stored nothing");
    assert.equal(cli(["add", "-", "--id", "b", "--db", db], "written after the lock").status, 0);
    assert.equal(cli(["get", "b", "--db", db]).stdout.trim(), "written after the lock");
  });

  it("a write that finds the lock held waits for it without holding the event loop; reads answer meanwhile; it stores once the lock is free", async () => {
    using dir = tempDir();
    const db = join(dir.path, "wait.db");
    const first = Engine.open({ db, cache: "off" });
    await first.remember({ id: "before", text: "stored before the lock" });
    await first.close();
    // A fresh open whose first write finds the lock held (the review's case: the wait was set up only from the second).
    const engine = Engine.open({ db, cache: "off" });
    let release: (() => void) | undefined;
    try {
      release = lock(db);
      let settled = false;
      const waiting = engine.remember({ id: "during", text: "sent while another connection holds the lock" }).finally(() => {
        settled = true;
      });
      // SQLite's own wait (busy_timeout) would hold this thread until the write failed, 5 s later: nothing below would
      // run before `settled`. Here the write's call returns and waits between tries, and the engine counts it waiting.
      while (!settled && engine.metricsSnapshot().storeLockWaiting === 0) await delay(1);
      assert.equal(settled, false, "the write settled before it was seen waiting: it waited on the event loop");
      assert.equal(engine.metricsSnapshot().storeLockWaiting, 1);
      assert.equal(await engine.recall("before"), "stored before the lock");
      assert.equal(settled, false, "the lock is still held: the write is still waiting");
      release();
      release = undefined;
      const result = await waiting;
      assert.equal(result.id, "during");
      assert.equal(await engine.recall("during"), "sent while another connection holds the lock");
      assert.deepEqual([engine.metricsSnapshot().storeLockWaiting, engine.metricsSnapshot().storeLockWaits], [0, 1]);
    } finally {
      release?.();
      await engine.close();
    }
  });

  it("an import locked out after its first batch fails with E_BUSY naming its job; a rerun stores every record once", async () => {
    using dir = tempDir();
    const db = join(dir.path, "import.db");
    const file = join(dir.path, "notes.jsonl");
    const texts = Array.from({ length: 24 }, (_, i) => `note ${i}: the agent learned fact number ${i * 7} about the user's garden.`);
    writeFileSync(file, texts.map((text, i) => JSON.stringify({ id: `n${i}`, text })).join("\n") + "\n");
    const engine = Engine.open({ db, cache: "off" });
    let release: (() => void) | undefined;
    try {
      const failed = await engine
        .importJsonl(file, {
          batchSize: 8,
          onProgress: () => {
            release ??= lock(db);
          },
        })
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      assert.ok(failed instanceof MemzipError, `expected a typed error, got ${String(failed)}`);
      assert.equal(failed.code, ErrorCode.BUSY);
      const jobId = failed.details.jobId;
      assert.equal(typeof jobId, "string");
      assert.match(failed.message, new RegExp(`import job ${String(jobId)} stopped after its last committed batch`));
      assert.match(failed.hint ?? "", /Run the import again/);
      // The first batch was committed before the lock was taken: it is there while the lock still is.
      const listed = cli(["ls", "--db", db, "--json"]);
      assert.equal(listed.status, 0, listed.stderr);
      assert.equal((JSON.parse(listed.stdout) as { count: number }).count, 8);
      release?.();
      release = undefined;
      const again = await engine.importJsonl(file);
      assert.equal(again.stored, 16);
      assert.equal(again.unchanged, 8);
      for (const [i, text] of texts.entries()) assert.equal(await engine.recall(`n${i}`), text);
    } finally {
      release?.();
      await engine.close();
    }
  });

  it("an import locked out while it ends (training) says every line is stored; its resume trains and recodes", async () => {
    using dir = tempDir();
    const db = join(dir.path, "ending.db");
    const file = join(dir.path, "notes.jsonl");
    const texts = Array.from({ length: 24 }, (_, i) => `note ${i}: the agent learned fact number ${i * 7} about the user's garden, watered on day ${i}.`);
    writeFileSync(file, texts.map((text, i) => JSON.stringify({ id: `n${i}`, text })).join("\n") + "\n");
    const engine = Engine.open({ db, cache: "off", autoTrainAfter: 10 });
    let release: (() => void) | undefined;
    try {
      const failed = await engine
        .importJsonl(file, {
          batchSize: 8,
          onFinishStep: () => {
            release ??= lock(db);
          },
        })
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      assert.ok(release, "the import reached its ending");
      assert.ok(failed instanceof MemzipError, `expected a typed error, got ${String(failed)}`);
      assert.equal(failed.code, ErrorCode.BUSY);
      const jobId = String(failed.details.jobId);
      assert.match(failed.message, new RegExp(`import job ${jobId} had committed every line of its file \\(stored, or rejected\\) and stopped while it ended`));
      assert.equal(failed.details.readAll, true);
      // The lock also kept the job's row from being marked failed: the resume waits for it to go stale.
      assert.match(failed.hint ?? "", new RegExp(`--resume ${jobId}\` finishes it once \`memzip jobs\` shows it stale`));
      release?.();
      release = undefined;
      const again = await engine.importJsonl(file);
      assert.equal(again.stored, 0);
      assert.equal(again.unchanged, texts.length);
      assert.ok(again.trained !== undefined, "nothing was saved before the lock: the rerun's ending trains");
      for (const [i, text] of texts.entries()) assert.equal(await engine.recall(`n${i}`), text);
      assert.equal((await engine.verify()).failed, 0);
    } finally {
      release?.();
      await engine.close();
    }
  });
});
