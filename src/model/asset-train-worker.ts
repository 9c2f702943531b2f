/**
 * A one-job thread for `asset-train-thread.ts`: trains a cm snapshot from its texts, or derives a
 * saved snapshot's model state into the store's derived folder. Either takes seconds of CPU per MB
 * of text, which the caller's event loop (a server's) would otherwise spend blocked.
 */
import { parentPort, workerData } from "node:worker_threads";
import { ensureDerivedState } from "../codec/cm/prepared-snapshot.js";
import { attachDerivedStore } from "../codec/derived.js";
import { DerivedFolder } from "../codec/derived-folder.js";
import { MemzipError } from "../errors.js";
import { ASSET_TRAINERS } from "./asset-trainers.js";
import type { TrainJob, TrainReply } from "./asset-train-thread.js";

function run(job: TrainJob): Uint8Array | undefined {
  if (job.type === "train") {
    const samples: Uint8Array[] = [];
    let at = 0;
    for (const length of job.lengths) {
      samples.push(job.texts.subarray(at, at + length));
      at += length;
    }
    return ASSET_TRAINERS["cm-snapshot"](samples, job.options);
  }
  const store = new DerivedFolder(() => job.derivedDir, job.derivedOptions);
  ensureDerivedState(attachDerivedStore({ id: job.id, kind: "cm-snapshot", bytes: job.bytes }, store));
  return undefined;
}

let reply: TrainReply;
try {
  const bytes = run(workerData as TrainJob);
  reply = bytes ? { ok: true, bytes } : { ok: true };
} catch (error) {
  const typed = error instanceof MemzipError ? error.toJSON() : undefined;
  reply = { ok: false, name: error instanceof Error ? error.name : "Error", message: error instanceof Error ? error.message : String(error), ...(typed ? { typed } : {}) };
}
parentPort?.postMessage(reply, reply.ok && reply.bytes ? [reply.bytes.buffer as ArrayBuffer] : []);
