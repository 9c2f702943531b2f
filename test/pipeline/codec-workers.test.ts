import { strict as assert } from "node:assert";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { snapshotTrainings } from "../../src/codec/cm/prepared-snapshot.js";
import { Engine } from "../../src/engine.js";
import { devCorpus, tempDir } from "../helpers.js";
import { POSTGRES_MISSING, postgresBin, startPostgres } from "../services/postgres.js";

/**
 * The store at `db` gets 300 dev records and a cm snapshot trained from them with no workers; then an
 * engine with two codec workers writes 40 more. That engine (the caller closes it), its records and results.
 */
async function snapshotThenWorkers(db: string) {
  const corpus = devCorpus();
  {
    await using engine = Engine.open({ db, cmBase: false, workers: 0, autoTrainAfter: 0, cache: "off" });
    await engine.rememberMany(corpus.slice(0, 300).map(({ text }, i) => ({ id: `t${i}`, text })));
    await engine.trainAsset("cm-snapshot");
  }
  const engine = Engine.open({ db, cmBase: false, workers: 2, concurrency: 4, autoTrainAfter: 0, cache: "off" });
  const records = corpus.slice(300, 340).map(({ text }, i) => ({ id: `w${i}`, text }));
  try {
    return { engine, records, results: await engine.rememberMany(records) };
  } catch (error) {
    await engine.close(); // its workers would keep the test process alive
    throw error;
  }
}

/**
 * A memory coded on a codec worker must cost what it costs on the main thread: a worker reads a
 * cm snapshot's trained state like the main thread does, instead of training the snapshot again
 * (once per worker, on every engine), and N workers never train one snapshot N times.
 */
describe("codec workers read trained cm states", () => {
  it("a cold shipped base is trained once, by the main thread, and every worker reads its state", async () => {
    using dir = tempDir();
    // Before anything in this process loads the base: its state is cold in this cache folder.
    const previous = process.env.MEMZIP_CACHE_DIR;
    process.env.MEMZIP_CACHE_DIR = join(dir.path, "cache");
    try {
      const before = snapshotTrainings();
      await using engine = Engine.open({ db: join(dir.path, "young.db"), cmBase: true, workers: 2, concurrency: 4, autoTrainAfter: 0, cache: "off" });
      const records = devCorpus().slice(0, 24).map(({ text }, i) => ({ id: `n${i}`, text }));
      const results = await engine.rememberMany(records);
      assert.ok(results.some((r) => r.codec === "cm"), "the young namespace coded with the base");
      const workers = await engine.codecWorkerStats();
      assert.equal(workers.length, 2, "both workers coded");
      assert.deepEqual(
        workers.map((w) => w.snapshotTrainings),
        [0, 0],
        "no worker trained the base",
      );
      assert.equal(snapshotTrainings() - before, 1, "the main thread trained it once");
      assert.ok(readdirSync(join(dir.path, "cache", "derived")).some((name) => name.endsWith(".state")), "and kept its state for the workers");
      for (const { id, text } of records) assert.equal(await engine.recall(id), text);
    } finally {
      if (previous === undefined) delete process.env.MEMZIP_CACHE_DIR;
      else process.env.MEMZIP_CACHE_DIR = previous;
    }
  });

  it("a namespace's snapshot is read by every worker from the store's derived folder", async () => {
    using dir = tempDir();
    const db = join(dir.path, "s.db");
    const written = await snapshotThenWorkers(db);
    await using engine = written.engine;
    const { records, results } = written;
    assert.ok(results.some((r) => r.codec === "cm" || r.codec === "cm-ref"), "the workers coded with the snapshot");
    const workers = await engine.codecWorkerStats();
    assert.equal(workers.length, 2);
    assert.deepEqual(
      workers.map((w) => w.snapshotTrainings),
      [0, 0],
      "no worker trained the snapshot again",
    );
    assert.ok(
      readdirSync(`${db}.derived`).some((name) => name.endsWith(".state")),
      "the main thread made sure of the snapshot's state beside the store before the workers got it",
    );
    for (const { id, text } of records) assert.equal(await engine.recall(id), text);
  });

  it("a server store's snapshot is read by every worker from the per-user folder (nothing is beside a postgres:// store)", { skip: postgresBin() === undefined && process.env.CI === undefined ? POSTGRES_MISSING : false }, async () => {
    using dir = tempDir();
    const previous = process.env.MEMZIP_CACHE_DIR;
    process.env.MEMZIP_CACHE_DIR = join(dir.path, "cache");
    const server = await startPostgres();
    assert.ok(server, POSTGRES_MISSING);
    try {
      const db = await server.createDatabase("workers");
      const written = await snapshotThenWorkers(db);
      await using engine = written.engine;
      const { records, results } = written;
      assert.ok(results.some((r) => r.codec === "cm" || r.codec === "cm-ref"), "the workers coded with the snapshot");
      const workers = await engine.codecWorkerStats();
      assert.equal(workers.length, 2);
      assert.deepEqual(
        workers.map((w) => w.snapshotTrainings),
        [0, 0],
        "no worker trained the snapshot again",
      );
      assert.ok(
        readdirSync(join(dir.path, "cache", "derived")).some((name) => name.endsWith(".state")),
        "the main thread kept the snapshot's state in the per-user folder before the workers got it",
      );
      assert.equal(engine.derived, undefined, "and the store has no folder of its own");
      // A state holds its snapshot's training texts: the per-user folder is the user's alone (review24 I1).
      const folder = join(dir.path, "cache", "derived");
      assert.equal(statSync(folder).mode & 0o777, 0o700);
      for (const name of readdirSync(folder).filter((n) => n.endsWith(".state"))) assert.equal(statSync(join(folder, name)).mode & 0o777, 0o600);
      for (const { id, text } of records) assert.equal(await engine.recall(id), text);
    } finally {
      await server.stop();
      if (previous === undefined) delete process.env.MEMZIP_CACHE_DIR;
      else process.env.MEMZIP_CACHE_DIR = previous;
    }
  });
});
