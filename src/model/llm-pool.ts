import { Worker } from "node:worker_threads";
import type { Asset } from "../codec/codec.js";
import { MemzipError, ErrorCode, type ErrorCode as ErrorCodeType } from "../errors.js";
import type { EngineRecord } from "../store/types.js";
import type { LlmEncoding } from "./llm-core.js";
import type { LlmOptions } from "./llm-coder.js";

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
  | { seq: number; ok: false; message: string; code?: ErrorCodeType };

interface Slot {
  worker: Worker;
  inFlight: number;
}

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
  private readonly slots: Slot[] = [];
  private readonly pending = new Map<number, { resolve: (reply: Extract<LlmWorkerReply, { ok: true }>) => void; reject: (error: Error) => void; slot: Slot }>();
  private readonly waiting: (() => void)[] = [];
  private readonly perWorker: number;
  private nextSeq = 0;
  private closed = false;

  constructor(private readonly options: LlmOptions) {
    this.perWorker = Math.max(1, Math.ceil(options.contexts / options.workers));
  }

  async encode(job: LlmJob, signal?: AbortSignal): Promise<{ encoding: LlmEncoding | null; engine: EngineRecord; verifyFailed: boolean }> {
    if (this.closed) throw new MemzipError(ErrorCode.USAGE, "the model worker pool is closed");
    const slot = await this.acquire();
    const seq = this.nextSeq++;
    slot.inFlight++;
    const onAbort = () => slot.worker.postMessage({ type: "abort", seq } satisfies LlmWorkerRequest);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      return await new Promise((resolve, reject) => {
        this.pending.set(seq, { resolve, reject, slot });
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
        slot.worker.postMessage(request);
      });
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Asks every worker to finish and dispose its model, and waits for the threads to end. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.slots.map(
        (slot) =>
          new Promise<void>((resolve) => {
            slot.worker.once("exit", () => resolve());
            // Keep this process alive until the thread has let go of the model.
            slot.worker.ref();
            slot.worker.postMessage({ type: "close" } satisfies LlmWorkerRequest);
          }),
      ),
    );
    for (const { reject } of this.pending.values()) reject(new MemzipError(ErrorCode.USAGE, "the model worker pool was closed with work in flight"));
    this.pending.clear();
    this.slots.length = 0;
  }

  private async acquire(): Promise<Slot> {
    for (;;) {
      if (this.slots.length < this.options.workers) return this.spawn();
      const idlest = this.slots.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
      if (idlest.inFlight < this.perWorker) return idlest;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private spawn(): Slot {
    const { gpu, threads, gpuLayers, topK, windowTokens, carryTokens } = this.options;
    const worker = new Worker(new URL("./llm-worker.js", import.meta.url), {
      workerData: { runtime: { gpu, threads, gpuLayers, contexts: this.perWorker }, coding: { topK, windowTokens, carryTokens } },
    });
    worker.unref();
    const slot: Slot = { worker, inFlight: 0 };
    worker.on("message", (reply: LlmWorkerReply) => {
      const entry = this.pending.get(reply.seq);
      if (!entry) return;
      this.pending.delete(reply.seq);
      slot.inFlight--;
      this.waiting.shift()?.();
      if (reply.ok) entry.resolve(reply);
      else entry.reject(new MemzipError(reply.code ?? ErrorCode.FORMAT, reply.message));
    });
    worker.on("error", (error) => this.fail(slot, error));
    worker.on("exit", (code) => {
      if (!this.closed && code !== 0) this.fail(slot, new Error(`model worker exited with code ${code}`));
    });
    this.slots.push(slot);
    return slot;
  }

  private fail(slot: Slot, error: Error): void {
    const index = this.slots.indexOf(slot);
    if (index !== -1) this.slots.splice(index, 1);
    for (const [seq, entry] of this.pending) {
      if (entry.slot !== slot) continue;
      this.pending.delete(seq);
      entry.reject(new MemzipError(ErrorCode.FORMAT, `model worker failed: ${error.message}`, { cause: error }));
    }
    this.waiting.shift()?.();
  }
}
