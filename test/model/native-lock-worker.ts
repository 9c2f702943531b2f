/** A thread for native-lock.test.ts: takes the parent's lock, then contends for it or holds it for good. */
import { parentPort, workerData } from "node:worker_threads";
import { adoptNativeLock, withNativeLock } from "../../src/model/native-lock.js";
import { contend } from "./native-lock-contend.js";

const { lock, counters, rounds, mode } = workerData as { lock: SharedArrayBuffer; counters: SharedArrayBuffer; rounds: number; mode: "contend" | "hold" };
adoptNativeLock(lock);
if (mode === "hold") {
  // Kept alive, so the thread ends only when it is terminated, in the middle of its work.
  setInterval(() => undefined, 60_000);
  void withNativeLock(() => {
    parentPort?.postMessage("held");
    return new Promise<never>(() => undefined);
  });
} else {
  await contend(new Int32Array(counters), rounds);
  parentPort?.postMessage("done");
}
