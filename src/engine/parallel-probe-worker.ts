/**
 * The calibration's parallel probe (`measureParallelism`): a fixed integer computation per
 * message, the same on every thread, so threads that run together can be timed against one alone.
 */
import { parentPort } from "node:worker_threads";

parentPort?.on("message", (n: number) => {
  let x = 1;
  for (let i = 0; i < n; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
  parentPort?.postMessage(x);
});
