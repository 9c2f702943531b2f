/**
 * Which store a queue and a cache key name (trial of stop 62): the same file path on two hosts is two stores, and so is
 * a connection string that reaches the process's own host; a chunk queued for one store file and taken by a worker of
 * another is refused, and nothing of it is written.
 */
import { strict as assert } from "node:assert";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { storeIdentity } from "../../src/core/store-identity.js";
import { Engine } from "../../src/engine.js";
import { enqueueImport, openImportQueue } from "../../src/fleet/queue.js";
import { startFleetWorker } from "../../src/fleet/worker.js";
import { tempDir } from "../helpers.js";
import { redisSkip, startRedis } from "../services/redis.js";

describe("store identity", () => {
  it("qualifies a file path, and a connection string to this host, by the host name; a shared server's string is the same everywhere", () => {
    assert.notEqual(storeIdentity("/data/m.db", "a"), storeIdentity("/data/m.db", "b"));
    for (const url of ["postgres://memzip@localhost/memzip", "postgres://memzip@127.0.0.1:5432/memzip", "postgresql://memzip@[::1]/memzip", "postgres:///memzip?host=/var/run/postgresql", "postgres://memzip@db/memzip?host=localhost"]) {
      assert.notEqual(storeIdentity(url, "a"), storeIdentity(url, "b"), url);
    }
    for (const url of ["postgres://memzip@db.internal:5432/memzip", "postgres://memzip@10.0.0.7/memzip"]) {
      assert.equal(storeIdentity(url, "a"), storeIdentity(url, "b"), url);
    }
    assert.equal(storeIdentity("m.db", "a"), storeIdentity(join(process.cwd(), "m.db"), "a"), "a relative path is its absolute one");
  });

  it("a worker refuses a chunk queued for another store file, and writes nothing of it", { skip: redisSkip(), timeout: 60_000 }, async () => {
    using dir = tempDir();
    await using redis = await startRedis({ evictionPolicy: "noeviction" });
    mkdirSync(join(dir.path, "a"));
    mkdirSync(join(dir.path, "b"));
    const storeA = join(dir.path, "a", "m.db");
    const storeB = join(dir.path, "b", "m.db");
    const a = Engine.open({ db: storeA, workers: 0, cache: "off" });
    const b = Engine.open({ db: storeB, workers: 0, cache: "off" });
    await a.remember({ id: "seed", text: "store A exists" });
    const worker = startFleetWorker(b, { queue: redis.url, name: "b-worker" });
    // A's chunks on B's queue: what two hosts of one name with the same path, sharing one Redis, came to.
    const producer = openImportQueue(redis.url, storeB);
    try {
      await worker.ready();
      const handle = await enqueueImport([{ id: "x", text: "meant for store A" }], { queue: redis.url, location: storeA, importId: "misrouted", producer });
      try {
        await assert.rejects(handle.wait(), (error: Error) => /queued for another store file/.test(error.message));
      } finally {
        await handle.close();
      }
      assert.equal((await b.list()).length, 0, "nothing was written into store B");
      assert.deepEqual((await a.list()).map((m) => m.id), ["seed"]);
    } finally {
      await producer.close();
      await worker.close();
      await a.close();
      await b.close();
    }
  });
});
