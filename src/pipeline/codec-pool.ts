import { Worker } from "node:worker_threads";
import type { Asset } from "../codec/codec.js";
import { MemzipError, ErrorCode } from "../errors.js";

/** A classical candidate as the pool sees it: a codec name and the asset it writes with. */
export interface PoolCandidate {
  codec: string;
  asset?: Asset;
}

export interface PoolChoice {
  codec: string;
  assetId: string | undefined;
  envelope: Uint8Array;
  verifyFailures: string[];
}

export type WorkerRequest =
  | { type: "asset"; id: string; kind: string; bytes: Uint8Array }
  | { type: "forget"; id: string }
  | { type: "encode"; seq: number; bytes: Uint8Array; candidates: { codec: string; assetId?: string }[]; rawBelow: number };

export type WorkerReply =
  | { seq: number; ok: true; codec: string; assetId: string | undefined; envelope: Uint8Array; verifyFailures: string[] }
  | { seq: number; ok: false; message: string };

interface Slot {
  worker: Worker;
  /** Asset ids this worker has been sent. */
  assets: Set<string>;
  inFlight: number;
}

/** Requests queued per worker beyond the one it is running, so a worker never waits on a message round trip. */
const PIPELINE_DEPTH = 2;

/**
 * Worker threads that run the classical write policy (zstd, dictionaries, the context model) off
 * the main thread, so an import uses every core. Same codecs and policy as in-process; a request
 * goes to the least busy worker; assets are sent to a worker once.
 */
export class CodecPool {
  private readonly slots: Slot[] = [];
  private readonly pending = new Map<number, { resolve: (choice: PoolChoice) => void; reject: (error: Error) => void; slot: Slot }>();
  private readonly waiting: (() => void)[] = [];
  private nextSeq = 0;
  private closed = false;

  constructor(
    readonly size: number,
    private readonly settings: { zstdLevel: number; maxTextBytes: number },
  ) {}

  async choose(bytes: Uint8Array, candidates: readonly PoolCandidate[], rawBelow: number): Promise<PoolChoice> {
    if (this.closed) throw new MemzipError(ErrorCode.USAGE, "the codec pool is closed");
    const slot = await this.acquire();
    for (const { asset } of candidates) {
      if (asset && !slot.assets.has(asset.id)) {
        slot.worker.postMessage({ type: "asset", id: asset.id, kind: asset.kind, bytes: asset.bytes } satisfies WorkerRequest);
        slot.assets.add(asset.id);
      }
    }
    const seq = this.nextSeq++;
    slot.inFlight++;
    return new Promise<PoolChoice>((resolve, reject) => {
      this.pending.set(seq, { resolve, reject, slot });
      const request: WorkerRequest = {
        type: "encode",
        seq,
        bytes,
        candidates: candidates.map(({ codec, asset }) => (asset ? { codec, assetId: asset.id } : { codec })),
        rawBelow,
      };
      slot.worker.postMessage(request);
    });
  }

  /** Drops an asset from every worker (after it was pruned). */
  forgetAsset(id: string): void {
    for (const slot of this.slots) {
      if (slot.assets.delete(id)) slot.worker.postMessage({ type: "forget", id } satisfies WorkerRequest);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const { reject } of this.pending.values()) reject(new MemzipError(ErrorCode.USAGE, "the codec pool was closed with work in flight"));
    this.pending.clear();
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
    this.slots.length = 0;
  }

  private async acquire(): Promise<Slot> {
    for (;;) {
      if (this.slots.length < this.size) return this.spawn();
      const idlest = this.slots.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
      if (idlest.inFlight < PIPELINE_DEPTH) return idlest;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private spawn(): Slot {
    const worker = new Worker(new URL("./codec-worker.js", import.meta.url), { workerData: this.settings });
    worker.unref();
    const slot: Slot = { worker, assets: new Set(), inFlight: 0 };
    worker.on("message", (reply: WorkerReply) => {
      const entry = this.pending.get(reply.seq);
      if (!entry) return;
      this.pending.delete(reply.seq);
      slot.inFlight--;
      this.waiting.shift()?.();
      if (reply.ok) entry.resolve({ codec: reply.codec, assetId: reply.assetId, envelope: reply.envelope, verifyFailures: reply.verifyFailures });
      else entry.reject(new MemzipError(ErrorCode.FORMAT, `codec worker failed: ${reply.message}`));
    });
    worker.on("error", (error) => this.failWorker(slot, error));
    worker.on("exit", (code) => {
      if (!this.closed && code !== 0) this.failWorker(slot, new Error(`codec worker exited with code ${code}`));
    });
    this.slots.push(slot);
    return slot;
  }

  /** A crashed worker fails its own requests and is replaced on the next request. */
  private failWorker(slot: Slot, error: Error): void {
    const index = this.slots.indexOf(slot);
    if (index !== -1) this.slots.splice(index, 1);
    for (const [seq, entry] of this.pending) {
      if (entry.slot !== slot) continue;
      this.pending.delete(seq);
      entry.reject(new MemzipError(ErrorCode.FORMAT, `codec worker failed: ${error.message}`, { cause: error }));
    }
    this.waiting.shift()?.();
  }
}
