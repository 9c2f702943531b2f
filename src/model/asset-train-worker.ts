/**
 * A one-job thread for `asset-train-thread.ts`: trains a cm snapshot from its texts (and writes the
 * model state it trained into the store's derived folder, where asked), or derives a saved
 * snapshot's model state there. Either takes seconds of CPU per MB
 * of text, which the caller's event loop (a server's) would otherwise spend blocked.
 */
import { createHash } from "node:crypto";
import { parentPort, workerData } from "node:worker_threads";
import { writeDerivedSnapshot } from "../codec/cm/derived-state.js";
import { ensureDerivedState } from "../codec/cm/prepared-snapshot.js";
import { attachDerivedStore } from "../codec/derived.js";
import { DerivedFolder } from "../codec/derived-folder.js";
import { MemzipError } from "../errors.js";
import { ASSET_TRAINERS, trainCmSnapshot } from "./asset-trainers.js";
import type { TrainJob, TrainNote, TrainReply } from "./asset-train-thread.js";

function run(job: TrainJob): Uint8Array | undefined {
  if (job.type === "train") {
    const samples: Uint8Array[] = [];
    let at = 0;
    for (const length of job.lengths) {
      samples.push(job.texts.subarray(at, at + length));
      at += length;
    }
    const into = job.derive;
    if (!into) return ASSET_TRAINERS["cm-snapshot"](samples, job.options);
    const { bytes, loaded } = trainCmSnapshot(samples, job.options);
    try {
      // The state loading these bytes would give (trainSnapshot), written now: no second pass over the texts.
      const id = createHash("sha256").update(bytes).digest("hex");
      // Named before it is written: a caller that never gets the bytes (this thread stopped) removes it by that name.
      parentPort?.postMessage({ stateOf: id } satisfies TrainNote);
      writeDerivedSnapshot(new DerivedFolder(() => into.derivedDir, into.derivedOptions), { id, kind: "cm-snapshot", bytes }, loaded);
    } catch {
      // Derived data: the snapshot's first use makes it.
    }
    return bytes;
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
