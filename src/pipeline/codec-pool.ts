import type { Asset } from "../codec/codec.js";
import { MemzipError, ErrorCode } from "../errors.js";
import { WorkerPool } from "../core/worker-pool.js";

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
  | { type: "encode"; seq: number; bytes: Uint8Array; candidates: { codec: string; assetId?: string }[]; rawBelow: number }
  | { type: "language"; seq: number; text: string };

export type WorkerReply =
  | { seq: number; ok: true; codec: string; assetId: string | undefined; envelope: Uint8Array; verifyFailures: string[] }
  | { seq: number; ok: true; language: string }
  | { seq: number; ok: false; message: string };

/** Requests queued per worker beyond the one it is running, so a worker never waits on a message round trip. */
const PIPELINE_DEPTH = 2;

/**
 * Worker threads that run the classical write policy (zstd, dictionaries, the context model) and
 * language detection off the main thread, so an import uses every core and a server's event loop
 * stays free for reads. Same codecs, policy and detector as in-process; a request goes to the
 * least busy worker; assets are sent to a worker once.
 */
export class CodecPool {
  private readonly pool: WorkerPool<WorkerReply, { assets: Set<string> }>;

  constructor(
    readonly size: number,
    settings: { zstdLevel: number; maxTextBytes: number },
  ) {
    this.pool = new WorkerPool({
      name: "codec worker",
      script: new URL("./codec-worker.js", import.meta.url),
      workerData: settings,
      size,
      depth: PIPELINE_DEPTH,
      initialState: () => ({ assets: new Set<string>() }),
      replyError: (reply) => (reply.ok ? undefined : new MemzipError(ErrorCode.FORMAT, `codec worker failed: ${reply.message}`)),
    });
  }

  async choose(bytes: Uint8Array, candidates: readonly PoolCandidate[], rawBelow: number): Promise<PoolChoice> {
    const slot = await this.pool.slot();
    for (const { asset } of candidates) {
      if (asset && !slot.state.assets.has(asset.id)) {
        slot.worker.postMessage({ type: "asset", id: asset.id, kind: asset.kind, bytes: asset.bytes } satisfies WorkerRequest);
        slot.state.assets.add(asset.id);
      }
    }
    const seq = this.pool.nextSeq();
    const request: WorkerRequest = {
      type: "encode",
      seq,
      bytes,
      candidates: candidates.map(({ codec, asset }) => (asset ? { codec, assetId: asset.id } : { codec })),
      rawBelow,
    };
    const reply = (await this.pool.send(slot, seq, request)) as Extract<WorkerReply, { codec: string }>;
    return { codec: reply.codec, assetId: reply.assetId, envelope: reply.envelope, verifyFailures: reply.verifyFailures };
  }

  /** `detectLanguage(text)` (semantic/language.ts) on a worker thread: the same answer, none of its CPU on the caller's thread. */
  async detectLanguage(text: string): Promise<string> {
    const slot = await this.pool.slot();
    const seq = this.pool.nextSeq();
    const reply = (await this.pool.send(slot, seq, { type: "language", seq, text } satisfies WorkerRequest)) as Extract<WorkerReply, { language: string }>;
    return reply.language;
  }

  /** Drops an asset from every worker (after it was pruned). */
  forgetAsset(id: string): void {
    for (const slot of this.pool.slots) {
      if (slot.state.assets.delete(id)) slot.worker.postMessage({ type: "forget", id } satisfies WorkerRequest);
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
