import type { DerivedFolderOptions } from "../codec/derived-folder.js";
import type { Asset } from "../codec/codec.js";
import { ensureDerivedState } from "../codec/cm/prepared-snapshot.js";
import { derivedStoreOf } from "../codec/derived.js";
import { MemzipError, ErrorCode } from "../errors.js";
import { WorkerPool, type PoolSlot } from "../core/worker-pool.js";

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

/** What a codec worker reports of itself (`CodecPool.stats`). */
export interface WorkerStats {
  /** cm snapshots this worker trained from their texts: 0 when every one came from a derived state. */
  snapshotTrainings: number;
  /** CPU time of the worker's thread so far, ms (Linux; undefined elsewhere). */
  cpuMs: number | undefined;
  /** Envelopes this worker decoded for reads (`CodecPool.decode`). */
  decodes: number;
}

/** Settings every worker starts with. */
export interface CodecPoolSettings {
  zstdLevel: number;
  maxTextBytes: number;
  /** `cm` models a worker keeps loaded (the engine's `cmModels`): a server's writes to many namespaces code on the workers. */
  cmModels?: number;
  /**
   * The store's folder of derived model states (`<db>.derived/`): a worker reads a namespace
   * snapshot's trained state from there, as the main thread does, instead of training it again.
   */
  derivedDir?: string;
  /** How that folder is kept (the per-user one: private and bounded), as in the main thread. */
  derivedOptions?: DerivedFolderOptions;
}

export type WorkerRequest =
  | { type: "asset"; id: string; kind: string; bytes: Uint8Array }
  | { type: "forget"; id: string }
  | { type: "encode"; seq: number; bytes: Uint8Array; candidates: { codec: string; assetId?: string }[]; rawBelow: number }
  | { type: "language"; seq: number; text: string }
  | { type: "decode"; seq: number; envelope: Uint8Array; assetIds: string[]; maxOriginalLength: number }
  | { type: "stats"; seq: number };

export type WorkerReply =
  | { seq: number; ok: true; codec: string; assetId: string | undefined; envelope: Uint8Array; verifyFailures: string[] }
  | { seq: number; ok: true; language: string }
  | { seq: number; ok: true; stats: WorkerStats }
  | { seq: number; ok: true; decoded: Uint8Array }
  /** `code`, `hint`, `details`: a memzip error's (a decode's E_CHECKSUM, E_FORMAT), given back as it was thrown. */
  | { seq: number; ok: false; message: string; code?: string; hint?: string; details?: Record<string, unknown> };

/** Requests queued per worker beyond the one it is running, so a worker never waits on a message round trip. */
const PIPELINE_DEPTH = 2;

/**
 * Worker threads that run the classical write policy (zstd, dictionaries, the context model) and
 * language detection off the main thread, so an import uses every core and a server's event loop
 * stays free for reads. Same codecs, policy and detector as in-process; a request goes to the
 * least busy worker; assets are sent to a worker once.
 *
 * A worker costs what the main thread costs per memory: a cm snapshot's trained state is read
 * from the derived folder the main thread uses (the store's, or the per-user one of a shipped
 * base), and the main thread makes sure that state exists before the first worker gets the asset,
 * so N workers never train the same snapshot N times.
 */
export class CodecPool {
  private readonly pool: WorkerPool<WorkerReply, { assets: Set<string> }>;

  /** cm snapshots whose derived state the main thread has made sure of (by asset id). */
  private readonly prepared = new Set<string>();

  constructor(
    readonly size: number,
    settings: CodecPoolSettings,
  ) {
    this.pool = new WorkerPool({
      name: "codec worker",
      script: new URL("./codec-worker.js", import.meta.url),
      workerData: settings,
      size,
      depth: PIPELINE_DEPTH,
      initialState: () => ({ assets: new Set<string>() }),
      replyError: (reply) =>
        reply.ok
          ? undefined
          : reply.code !== undefined
            ? new MemzipError(reply.code as ErrorCode, reply.message, { ...(reply.hint === undefined ? {} : { hint: reply.hint }), ...(reply.details ? { details: reply.details } : {}) })
            : new MemzipError(ErrorCode.FORMAT, `codec worker failed: ${reply.message}`),
    });
  }

  async choose(bytes: Uint8Array, candidates: readonly PoolCandidate[], rawBelow: number): Promise<PoolChoice> {
    const slot = await this.pool.slot();
    this.send(slot, candidates.map(({ asset }) => asset));
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

  /**
   * Decodes an envelope of a pure codec on a worker thread against these assets (the reader's candidates for its
   * reference): the same bytes, or the same memzip error (E_CHECKSUM, E_FORMAT), as on the caller's thread, whose
   * event loop stays free meanwhile (a server decoding a large memory answered no other request for seconds).
   */
  async decode(envelope: Uint8Array, assets: readonly Asset[], maxOriginalLength: number): Promise<Uint8Array> {
    const slot = await this.pool.slot();
    this.send(slot, assets);
    const seq = this.pool.nextSeq();
    const request: WorkerRequest = { type: "decode", seq, envelope, assetIds: assets.map((asset) => asset.id), maxOriginalLength };
    const reply = (await this.pool.send(slot, seq, request)) as Extract<WorkerReply, { decoded: Uint8Array }>;
    return reply.decoded;
  }

  /** Sends a worker the assets it has not had yet (each prepared first: `prepare`). */
  private send(slot: PoolSlot<{ assets: Set<string> }>, assets: readonly (Asset | undefined)[]): void {
    for (const asset of assets) {
      if (asset && !slot.state.assets.has(asset.id)) {
        this.prepare(asset);
        slot.worker.postMessage({ type: "asset", id: asset.id, kind: asset.kind, bytes: asset.bytes } satisfies WorkerRequest);
        slot.state.assets.add(asset.id);
      }
    }
  }

  /** `detectLanguage(text)` (semantic/language.ts) on a worker thread: the same answer, none of its CPU on the caller's thread. */
  async detectLanguage(text: string): Promise<string> {
    const slot = await this.pool.slot();
    const seq = this.pool.nextSeq();
    const reply = (await this.pool.send(slot, seq, { type: "language", seq, text } satisfies WorkerRequest)) as Extract<WorkerReply, { language: string }>;
    return reply.language;
  }

  /**
   * Before a worker first gets a cm snapshot kept with a derived store: reads its state (or trains
   * it once, here, and writes it), so that every worker reads that state instead of training.
   */
  private prepare(asset: Asset): void {
    if (asset.kind !== "cm-snapshot" || this.prepared.has(asset.id) || derivedStoreOf(asset) === undefined) return;
    this.prepared.add(asset.id);
    try {
      ensureDerivedState(asset);
    } catch (error) {
      // A snapshot whose bytes do not load (damaged: loadSnapshot's RangeError naming it): each worker meets the same
      // error and passes the candidate over, as a write on this thread does; nothing is prepared for it here.
      if (!(error instanceof RangeError && /snapshot/i.test(error.message))) throw error;
    }
  }

  /** Each running worker's own counters (for tests and the calibration); none before the first request. */
  async stats(): Promise<WorkerStats[]> {
    return Promise.all(
      this.pool.slots.map(async (slot) => {
        const seq = this.pool.nextSeq();
        const reply = (await this.pool.send(slot, seq, { type: "stats", seq } satisfies WorkerRequest)) as Extract<WorkerReply, { stats: WorkerStats }>;
        return reply.stats;
      }),
    );
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
