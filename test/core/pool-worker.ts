/** A thread for worker-pool.test.ts: answers each request with its sequence number; "close" ends it a moment later. */
import { parentPort } from "node:worker_threads";

parentPort?.on("message", (message: { seq?: number; type?: string }) => {
  if (message.type === "close") {
    setTimeout(() => parentPort?.close(), 20);
    return;
  }
  parentPort?.postMessage({ seq: message.seq });
});
