/**
 * Asset training off the caller's thread. Training a cm snapshot codes its texts with the model
 * (about 1 s per MB) and writes the model state it trained (the snapshot's derived state; a second
 * pass decoded the new snapshot to make it before stop 65), and a zstd dictionary runs the zstd CLI
 * for about as long. On the event loop that is a server deaf to every other tenant for as long,
 * and an import whose progress and Ctrl-C stall. Here a cm job runs on a thread of its own (one per job: it ends with the job), zstd as a child process awaited
 * asynchronously; an abort ends either at once.
 */
import { randomBytes } from "node:crypto";
import { Worker } from "node:worker_threads";
import { stateFileName } from "../codec/cm/derived-state.js";
import { concat } from "../codec/cm/snapshot.js";
import { removeDerivedFile, removeTaggedTemporaries, removeTaggedTemporary, type DerivedFolderOptions } from "../codec/derived-folder.js";
import { MemzipError, ErrorCode } from "../errors.js";
import type { AssetTrainingOptions, TrainableAssetKind } from "./asset-trainers.js";
import { trainZstdDictionaryAsync } from "./zstd-dictionary.js";

/** A job for `asset-train-worker.ts`. */
export type TrainJob =
  | { type: "train"; texts: Uint8Array; lengths: number[]; options: AssetTrainingOptions; derive?: DeriveInto }
  | { type: "derive"; id: string; bytes: Uint8Array; derivedDir: string; derivedOptions: DerivedFolderOptions };

/** A message a training thread posts before its reply: the name of the state file it is about to write. */
export interface TrainNote {
  stateOf: string;
}

export type TrainReply =
  | { ok: true; bytes?: Uint8Array }
  | { ok: false; name: string; message: string; typed?: { code: ErrorCode; message: string; hint?: string; details: Record<string, unknown> } };

/** Where a training thread writes the model state of the snapshot it trained (a store's derived folder). */
export interface DeriveInto {
  derivedDir: string;
  derivedOptions: DerivedFolderOptions;
}

/**
 * Trains an asset of `kind` on `samples` (oldest first) without blocking this thread; `signal` stops the training.
 * With `derive`, a cm snapshot's thread also writes the model state it trained into that folder, as
 * `deriveSnapshotStateOffThread` would after decoding the snapshot again (a second pass as long as the training); a
 * state that cannot be written is left to the snapshot's first use.
 */
export async function trainAssetOffThread(kind: TrainableAssetKind, samples: readonly Uint8Array[], options: AssetTrainingOptions, signal?: AbortSignal, derive?: DeriveInto): Promise<Uint8Array> {
  if (kind === "zstd-dictionary") return trainZstdDictionaryAsync(samples, options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }, signal);
  const texts = concat(samples);
  const temporaryTag = randomBytes(4).toString("hex");
  const into = derive && { derivedDir: derive.derivedDir, derivedOptions: { ...derive.derivedOptions, temporaryTag } };
  let stateOf: string | undefined;
  try {
    const job: TrainJob = { type: "train", texts, lengths: samples.map((sample) => sample.length), options, ...(into ? { derive: into } : {}) };
    const reply = await runJob(job, [texts.buffer as ArrayBuffer], signal, (note) => (stateOf = note.stateOf));
    if (!reply.bytes) throw new Error("the training thread answered no snapshot");
    return reply.bytes;
  } catch (error) {
    // The thread has exited without handing over its snapshot (stopped, or failed): nothing will use the state it wrote
    // or began (both hold the texts). Its temporary is found by its tag, its state by the name it announced first (a
    // thread stopped between the rename and its reply). A state of the same snapshot saved before is made again on use.
    if (into) {
      removeTaggedTemporaries(into.derivedDir, temporaryTag);
      if (stateOf !== undefined) removeDerivedFile(into.derivedDir, stateFileName(stateOf));
    }
    throw error;
  }
}

/**
 * Decodes a saved cm snapshot once on a thread of its own and writes its model state into
 * `derivedDir` (as its first use would, on the thread that uses it): the codecs then read the
 * state (tens of milliseconds) instead of training. A state that cannot be written costs only
 * that training later. `signal` stops the thread; what it had begun to write is removed, and the
 * call resolves: the state is derived data, made again on the snapshot's first use.
 */
export async function deriveSnapshotStateOffThread(asset: { id: string; bytes: Uint8Array }, derivedDir: string, derivedOptions: DerivedFolderOptions, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return;
  // The thread's temporary file is named by this tag, so that the one it leaves is removed and no other writer's.
  const temporaryTag = randomBytes(4).toString("hex");
  try {
    await runJob({ type: "derive", id: asset.id, bytes: asset.bytes, derivedDir, derivedOptions: { ...derivedOptions, temporaryTag } }, [], signal);
  } catch (error) {
    if (!signal?.aborted) throw error;
    // The thread has exited (runJob settles on its exit): a temporary file it left holds the snapshot's texts.
    removeTaggedTemporary(derivedDir, stateFileName(asset.id), temporaryTag);
  }
}

/** Runs one job on a new thread and resolves when the thread has exited, so that nothing of it outlives the call. */
function runJob(job: TrainJob, transfer: ArrayBuffer[], signal?: AbortSignal, onNote?: (note: TrainNote) => void): Promise<Extract<TrainReply, { ok: true }>> {
  signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./asset-train-worker.js", import.meta.url), { workerData: job, transferList: transfer });
    let reply: TrainReply | undefined;
    let failure: Error | undefined;
    const stop = () => void worker.terminate();
    signal?.addEventListener("abort", stop, { once: true });
    worker.on("message", (message: TrainReply | TrainNote) => {
      if ("stateOf" in message) onNote?.(message);
      else reply = message;
    });
    worker.once("error", (error) => {
      failure = error;
    });
    worker.once("exit", (code) => {
      signal?.removeEventListener("abort", stop);
      // A job that finished before the abort stopped it is answered (a snapshot whose state the thread wrote: the
      // caller, which sees the abort next, can remove that state); one it stopped is not.
      if (reply?.ok) resolve(reply);
      else if (signal?.aborted) reject(signal.reason);
      else if (reply) reject(replyError(reply));
      else reject(new MemzipError(ErrorCode.RESOURCE, `the training thread ended (exit ${code}) without an answer${failure ? `: ${failure.message}` : ""}`, {
        hint: "Train again; if it ends the same way, the machine may lack the memory a model needs (tens of MB, and the texts): train on fewer memories (a smaller maxBytes) or free some.",
        ...(failure ? { cause: failure } : {}),
      }));
    });
  });
}

/** The worker's error as the caller would have seen it thrown on its own thread: a MemzipError keeps its code, hint and details. */
function replyError(reply: Extract<TrainReply, { ok: false }>): Error {
  if (reply.typed) return new MemzipError(reply.typed.code, reply.typed.message, { ...(reply.typed.hint ? { hint: reply.typed.hint } : {}), details: reply.typed.details });
  return reply.name === "RangeError" ? new RangeError(reply.message) : new Error(reply.message);
}
