import { strict as assert } from "node:assert";
import { once } from "node:events";
import { describe, it } from "node:test";
import { Worker } from "node:worker_threads";
import { nativeLockBuffer, nativeLockHolder, releaseNativeLockOf, withNativeLock } from "../../src/model/native-lock.js";
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

  it("is freed by the pool when the thread holding it ends, and only then", async () => {
    const worker = start("hold", new SharedArrayBuffer(4));
    const threadId = worker.threadId;
    await once(worker, "message");
    assert.equal(nativeLockHolder(), threadId);
    await worker.terminate();
    // Ended, it still holds the cell until its pool says so; another thread's id frees nothing.
    assert.equal(nativeLockHolder(), threadId);
    releaseNativeLockOf(threadId + 1000);
    assert.equal(nativeLockHolder(), threadId);
    releaseNativeLockOf(threadId);
    assert.equal(nativeLockHolder(), undefined);
    assert.equal(await withNativeLock(() => Promise.resolve("taken")), "taken");
  });
});
