import { strict as assert } from "node:assert";
import { once } from "node:events";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Worker } from "node:worker_threads";
import { LlmWorkerPool } from "../../src/model/llm-pool.js";
import { nativeLockBuffer, nativeLockHolder, nativeLockWaiters, releaseNativeLockOf, withNativeLock } from "../../src/model/native-lock.js";
import { SHARED } from "../helpers.js";
import { ENTRIES, INSIDE, OVERLAPS, contend } from "./native-lock-contend.js";

const WORKER = new URL("./native-lock-worker.js", import.meta.url);

function start(mode: "contend" | "hold", counters: SharedArrayBuffer, rounds = 0): Worker {
  return new Worker(WORKER, { workerData: { lock: nativeLockBuffer(), counters, rounds, mode } });
}

describe("the node-llama-cpp lock shared by every thread", () => {
  it("lets one holder in at a time, across worker threads and the tasks of one thread", async () => {
    const counters = new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT);
    const view = new Int32Array(counters);
    const rounds = 25;
    const workers = [start("contend", counters, rounds), start("contend", counters, rounds), start("contend", counters, rounds)];
    try {
      // Two tasks of the main thread contend beside the three threads.
      await Promise.all([contend(view, rounds), contend(view, rounds), ...workers.map((w) => once(w, "message"))]);
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
    assert.equal(Atomics.load(view, ENTRIES), 5 * rounds);
    assert.equal(Atomics.load(view, OVERLAPS), 0, "two holders were inside the lock at once");
    assert.equal(Atomics.load(view, INSIDE), 0);
    assert.equal(nativeLockHolder(), undefined);
  });

  it("is given back when the work inside throws", async () => {
    await assert.rejects(withNativeLock(() => Promise.reject(new Error("the load failed"))), /the load failed/);
    assert.equal(nativeLockHolder(), undefined);
    assert.equal(await withNativeLock(() => Promise.resolve("next")), "next");
  });

  it("refuses a call from inside its own work instead of waiting for itself", async () => {
    await assert.rejects(
      withNativeLock(() => withNativeLock(() => Promise.resolve("inner"))),
      /not re-entrant/,
    );
    assert.equal(nativeLockHolder(), undefined);
  });

  it("is taken by the model threads too: a model thread waits while the main thread holds it, then codes", async () => {
    const pool = new LlmWorkerPool({ gpu: false, threads: 1, gpuLayers: 0, contexts: 1, topK: 64, windowTokens: 0, carryTokens: 0, workers: 1 });
    const text = "Once upon a time, there was a little girl who liked to play in the park.";
    let release: () => void = () => undefined;
    const held = withNativeLock(() => new Promise<void>((done) => (release = done)));
    let settled = false;
    const coded = pool.encode({ path: join(SHARED, "models", "stories260K.gguf"), fingerprint: "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d", text, original: Buffer.from(text), budgetBytes: Infinity, prefix: undefined });
    void coded.finally(() => (settled = true)).catch(() => undefined);
    try {
      // The thread's first load waits on the main thread's lock (a bound only ends a hang).
      for (let waited = 0; nativeLockWaiters() === 0; waited += 10) {
        assert.ok(waited < 120_000, "the model thread never waited for the lock");
        await sleep(10);
      }
      assert.equal(settled, false);
    } finally {
      release();
      await held;
    }
    const { encoding } = await coded;
    assert.ok(encoding?.verified, "the memory was coded and proven once the lock was free");
    await pool.close();
    assert.equal(nativeLockHolder(), undefined);
    assert.equal(nativeLockWaiters(), 0);
  });

  it("is freed by the pool when the thread holding it ends, and only then", async () => {
    const worker = start("hold", new SharedArrayBuffer(4));
    const threadId = worker.threadId;
    await once(worker, "message");
    assert.equal(nativeLockHolder(), threadId);
    assert.equal(await worker.terminate(), 1, "terminated in the middle of its work");
    // Ended, it still holds the cell until its pool says so; another thread's id frees nothing.
    assert.equal(nativeLockHolder(), threadId);
    releaseNativeLockOf(threadId + 1000);
    assert.equal(nativeLockHolder(), threadId);
    releaseNativeLockOf(threadId);
    assert.equal(nativeLockHolder(), undefined);
    assert.equal(await withNativeLock(() => Promise.resolve("taken")), "taken");
  });
});
