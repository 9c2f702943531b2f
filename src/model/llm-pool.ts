import type { Asset } from "../codec/codec.js";
import { MemzipError, ErrorCode, type ErrorCode as ErrorCodeType } from "../errors.js";
import type { EngineRecord } from "../core/store.js";
import type { LlmEncoding } from "./llm-core.js";
import type { LlamaRuntimeOptions } from "./llama.js";
import { WorkerPool } from "../core/worker-pool.js";
import { nativeLockBuffer, releaseNativeLockOf } from "./native-lock.js";

/** What the pool reads of `LlmOptions`, spelled out: llm-coder.ts imports this file, so this file does not import it. */
type LlmPoolOptions = LlamaRuntimeOptions & { topK: number; windowTokens: number; carryTokens: number; workers: number };

export type LlmWorkerRequest =
  | {
      type: "encode";
      seq: number;
      path: string;
      fingerprint: string;
      text: string;
      original: Uint8Array;
      budgetBytes: number;
      prefix?: { id: string; kind: string; bytes: Uint8Array };
    }
  | { type: "abort"; seq: number }
  | { type: "close" };

export type LlmWorkerReply =
  | { seq: number; ok: true; encoding: LlmEncoding | null; engine: EngineRecord; verifyFailed: boolean }
  | { seq: number; ok: false; message: string; code?: ErrorCodeType; hint?: string };

export interface LlmJob {
  path: string;
  fingerprint: string;
  text: string;
  original: Uint8Array;
  budgetBytes: number;
  prefix: Asset | undefined;
}

/**
 * Worker threads that each load the model and code memories with it. On a CPU, node-llama-cpp's
 * per-token JavaScript keeps one thread busy whatever the number of contexts, so the pool spreads
 * that work over threads; `contexts` are divided among them. Every envelope is decoded again in the
 * worker before it is returned (`verified`), and one that fails comes back as `null` with `verifyFailed`.
 */
export class LlmWorkerPool {
  private readonly pool: WorkerPool<LlmWorkerReply, null>;

  constructor(options: LlmPoolOptions) {
    const perWorker = Math.max(1, Math.ceil(options.contexts / options.workers));
    const { gpu, threads, gpuLayers, topK, windowTokens, carryTokens } = options;
    this.pool = new WorkerPool({
      name: "model worker",
      script: new URL("./llm-worker.js", import.meta.url),
      workerData: { runtime: { gpu, threads, gpuLayers, contexts: perWorker }, coding: { topK, windowTokens, carryTokens }, nativeLock: nativeLockBuffer() },
      size: options.workers,
      depth: perWorker,
      initialState: () => null,
      // A thread that ended in the middle of a load (terminated, crashed) does not keep the others waiting.
      onExit: releaseNativeLockOf,
      stopInTurn: true,
      // The worker's error as it was thrown there, its fix included (a model that does not load said none; trial44).
      replyError: (reply) => (reply.ok ? undefined : new MemzipError(reply.code ?? ErrorCode.FORMAT, reply.message, reply.hint ? { hint: reply.hint } : {})),
    });
  }

  async encode(job: LlmJob, signal?: AbortSignal): Promise<{ encoding: LlmEncoding | null; engine: EngineRecord; verifyFailed: boolean }> {
    const slot = await this.pool.slot();
    const seq = this.pool.nextSeq();
    const onAbort = () => slot.worker.postMessage({ type: "abort", seq } satisfies LlmWorkerRequest);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const request: LlmWorkerRequest = {
        type: "encode",
        seq,
        path: job.path,
        fingerprint: job.fingerprint,
        text: job.text,
        original: job.original,
        budgetBytes: job.budgetBytes,
        ...(job.prefix ? { prefix: { id: job.prefix.id, kind: job.prefix.kind, bytes: job.prefix.bytes } } : {}),
      };
      return (await this.pool.send(slot, seq, request)) as Extract<LlmWorkerReply, { ok: true }>;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Asks every worker to finish and dispose its model, and waits for the threads to end on their
   * own: stopping a thread while node-llama-cpp has native work pending would abort the process.
   * A thread still there after `graceMs` (something native kept it alive) is terminated. The
   * threads end one after another: a thread's end frees the addon's per-thread state (its log
   * callback among it), which another thread's dispose would otherwise meet half freed.
   */
  close(graceMs = 30_000): Promise<void> {
    return this.pool.close(
      (slot) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => void slot.worker.terminate(), graceMs);
          timer.unref();
          slot.worker.once("exit", () => {
            clearTimeout(timer);
            resolve();
          });
          // Keep this process alive until the thread has let go of the model.
          slot.worker.ref();
          slot.worker.postMessage({ type: "close" } satisfies LlmWorkerRequest);
        }),
    );
  }
}
