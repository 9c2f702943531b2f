/**
 * A queue is named after the store's path, so two machines with the same path on one Redis share it (trial of stop 62:
 * one machine's import was written into the other's store). A chunk carries its store file's device and inode, and a
 * worker of another file refuses it: nothing of it is written.
 */
import { strict as assert } from "node:assert";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { enqueueImport, openImportQueue } from "../../src/fleet/queue.js";
import { startFleetWorker } from "../../src/fleet/worker.js";
import { tempDir } from "../helpers.js";
import { redisSkip, startRedis } from "../services/redis.js";

describe("a queued chunk and the store file it was queued for", () => {
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
