import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { startFleetWorker } from "../../src/fleet/worker.js";
import { languageDetectorLoaded } from "../../src/semantic/language.js";
import { tempDir } from "../helpers.js";
import { redisSkip, startRedis } from "../services/redis.js";

const skip = redisSkip();

describe("fleet worker start", { skip }, () => {
  // tinyld costs ~0.6 s of CPU to load; a worker that loaded it at its first non-English record paid
  // that inside the first chunk, once per worker process (BENCHMARKS.md, bench:fleet, fleet7).
  it("loads the language detector before it says it is ready", { timeout: 60_000 }, async () => {
    assert.equal(languageDetectorLoaded(), false, "nothing in this test file has loaded tinyld before the worker starts");
    using dir = tempDir();
    await using redis = await startRedis({ evictionPolicy: "noeviction" });
    const engine = Engine.open({ db: join(dir.path, "warm.db"), workers: 0 });
    try {
      const worker = startFleetWorker(engine, { queue: redis.url, name: "warm" });
      try {
        await worker.ready();
        assert.equal(languageDetectorLoaded(), true);
      } finally {
        await worker.close();
      }
    } finally {
      await engine.close();
    }
  });
});
