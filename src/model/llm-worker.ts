/**
 * Worker-thread side of the model pool: loads the GGUF once per thread (its own node-llama-cpp
 * contexts), encodes a memory with the `llm` codec, and decodes the envelope again before
 * answering, so what comes back is proven. Same code and settings as the main thread.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { Asset, AssetKind } from "../codec/codec.js";
import { checksum32 } from "../codec/checksum.js";
import { openEnvelope } from "../codec/envelope.js";
import { MemzipError } from "../errors.js";
import { LlamaTokenModel, disposeLlamaRuntimes, type LlamaRuntimeOptions } from "./llama.js";
import { codingSettings, decodeLoaded, encodeLoaded, engineRecordFor, matches } from "./llm-core.js";
import type { LlmWorkerReply, LlmWorkerRequest } from "./llm-pool.js";
import { adoptNativeLock } from "./native-lock.js";

const { runtime, coding, nativeLock } = workerData as { runtime: LlamaRuntimeOptions; coding: { topK: number; windowTokens: number; carryTokens: number }; nativeLock: SharedArrayBuffer };
// Loads and frees here take turns with every other thread's (src/model/native-lock.ts).
adoptNativeLock(nativeLock);
const models = new Map<string, Promise<LlamaTokenModel>>();
const aborts = new Map<number, AbortController>();

function load(path: string): Promise<LlamaTokenModel> {
  let model = models.get(path);
  if (!model) {
    model = LlamaTokenModel.load(path, runtime);
    models.set(path, model);
    model.catch(() => models.delete(path));
  }
  return model;
}

async function encode(request: Extract<LlmWorkerRequest, { type: "encode" }>): Promise<LlmWorkerReply> {
  const controller = new AbortController();
  aborts.set(request.seq, controller);
  try {
    const llama = await load(request.path);
    const prefix: Asset | undefined = request.prefix && { id: request.prefix.id, kind: request.prefix.kind as AssetKind, bytes: new Uint8Array(request.prefix.bytes) };
    const settings = codingSettings(llama, coding, prefix);
    const engine = engineRecordFor(llama, settings);
    const original = new Uint8Array(request.original);
    const encoding = await encodeLoaded(llama, request.text, original, { modelFingerprint: request.fingerprint, engineId: engine.id, prefix }, settings, request.budgetBytes, controller.signal);
    if (!encoding) return { seq: request.seq, ok: true, encoding: null, engine, verifyFailed: false };
    // Verify-on-write, here: a fresh sequence decodes the payload back before it leaves the thread.
    const opened = openEnvelope(encoding.envelope, original.length);
    const decoded = await decodeLoaded(llama, opened.payload, original.length, settings).catch(() => undefined);
    const proven = decoded !== undefined && matches(decoded, original.length, checksum32(original)) && Buffer.from(decoded).equals(original);
    return proven
      ? { seq: request.seq, ok: true, encoding: { ...encoding, verified: true }, engine, verifyFailed: false }
      : { seq: request.seq, ok: true, encoding: null, engine, verifyFailed: true };
  } catch (error) {
    const code = error instanceof MemzipError ? error.code : undefined;
    const hint = error instanceof MemzipError ? error.hint : undefined;
    return { seq: request.seq, ok: false, message: (error as Error).message, ...(code ? { code } : {}), ...(hint ? { hint } : {}) };
  } finally {
    aborts.delete(request.seq);
  }
}

const inFlight = new Set<Promise<unknown>>();

/**
 * Stops cleanly: the pool asks, work in flight finishes (aborted work stops between tokens), the
 * models and the runtime are disposed, and the thread ends on its own once nothing is pending.
 * `process.exit()` here would stop the thread while node-llama-cpp may still have native work
 * queued, whose completion in a stopping thread aborts the whole process (seen: SIGABRT from
 * `Napi::AsyncWorker::OnAsyncWorkComplete`, about 1 run in 50 with 4 threads).
 */
async function shutdown(): Promise<void> {
  for (const controller of aborts.values()) controller.abort();
  await Promise.allSettled([...inFlight]);
  for (const model of models.values()) await (await model.catch(() => undefined))?.dispose();
  models.clear();
  await disposeLlamaRuntimes();
  parentPort?.close();
}

parentPort?.on("message", (request: LlmWorkerRequest) => {
  if (request.type === "abort") {
    aborts.get(request.seq)?.abort();
    return;
  }
  if (request.type === "close") {
    void shutdown();
    return;
  }
  const work = encode(request).then((reply) => parentPort?.postMessage(reply));
  inFlight.add(work);
  void work.finally(() => inFlight.delete(work));
});
