/** Wires the engine's parts over one store: each part gets only the parts it calls. */
import type { Cache } from "../cache/cache.js";
import type { AsyncCodec } from "../codec/async-codec.js";
import type { Asset } from "../codec/codec.js";
import { baseAssetById } from "../codec/cm/base.js";
import { CodecRegistry, createCodecs } from "../codec/registry.js";
import type { Store } from "../core/store.js";
import type { ResolvedEngineOptions } from "../engine-options.js";
import { LlmCoder } from "../model/llm-coder.js";
import { createLlmCodec, createLlmMixCodec } from "../model/llm-codec.js";
import { CodecPool, type WorkerStats } from "../pipeline/codec-pool.js";
import { MemzipError, ErrorCode } from "../errors.js";
import { Metrics, type Counters } from "../pipeline/metrics.js";
import { HashedNgramEmbedder } from "../search/similarity.js";
import type { DerivedDirectory } from "../store/derived-dir.js";
import { EngineAssets } from "./assets.js";
import { Features } from "./features.js";
import { ImportExport } from "./io.js";
import { Maintenance } from "./maintenance.js";
import { ModelGate } from "./model-gate.js";
import { WritePolicy } from "./policy.js";
import { Reader } from "./reader.js";
import { Writer } from "./writer.js";

export interface Parts {
  metrics: Metrics;
  llm: LlmCoder;
  assets: EngineAssets;
  reader: Reader;
  writer: Writer;
  maintenance: Maintenance;
  io: ImportExport;
  features: Features;
  /** Per namespace, how the model fares: the skip rule's record (saved beside the store). */
  gate: ModelGate;
  /** Counters since the engine opened, with the cache's. */
  metricsSnapshot(): EngineCounters;
  /** Each running codec worker's own counters and CPU time (none before the pool started). */
  codecWorkerStats(): Promise<WorkerStats[]>;
  /** Closes everything but the store: semantic layer, search embedder, worker threads, models, the cache (unless the caller's). */
  close(): Promise<void>;
}

export type EngineCounters = Counters & {
  cacheHits: number;
  cacheMisses: number;
  cacheEvictions: number;
  cacheExpirations: number;
  /** Store calls waiting now for another connection's write lock, and all that waited (`Store.lockWaits`; 0 where none). */
  storeLockWaiting: number;
  storeLockWaits: number;
};

/**
 * `derived` is the store's own folder (`<db>.derived/`: model outcomes, model states); `modelStates`, where the
 * trained states of its assets go when that is elsewhere (a server store's: the per-user folder).
 */
export function assembleParts(
  store: Store,
  options: ResolvedEngineOptions,
  cache: Cache,
  derived: DerivedDirectory | undefined,
  extraCodecs: readonly AsyncCodec[] = [],
  modelStates: DerivedDirectory | undefined = derived,
): Parts {
  const codecs = createCodecs({ zstdLevel: options.zstdLevel });
  const metrics = new Metrics();
  const metricsSnapshot = (): EngineCounters => {
    const stats = cache.stats();
    const waits = store.lockWaits?.() ?? { waiting: 0, total: 0 };
    return {
      ...metrics.snapshot(),
      cacheHits: stats.hits,
      cacheMisses: stats.misses,
      cacheEvictions: stats.evictions,
      cacheExpirations: stats.expirations,
      storeLockWaiting: waits.waiting,
      storeLockWaits: waits.total,
    };
  };
  const embedder = new HashedNgramEmbedder();
  // `llm-mix` finds the cm snapshot its engine record names among the store's assets (with their derived states).
  // A forced `llm-mix` in a namespace without a snapshot mixes with a shipped base, which no store holds.
  const llm = new LlmCoder(store.models, options.llm, async (id) => (await assets.byId(id)) ?? baseAssetById(id));
  // Built-in codecs (the same instances the group dictionaries use), `llm`, `llm-mix`, then codecs from outside; a taken id or name is E_USAGE.
  const registry = CodecRegistry.lifting(codecs.byName.values()).register(createLlmCodec(llm)).register(createLlmMixCodec(llm));
  for (const codec of extraCodecs) registry.register(codec);
  const assets = new EngineAssets(store, options, modelStates);
  let pool: CodecPool | undefined;
  let closed = false;
  // The reader and the features call each other (a rebuilt recall needs the semantic layer, the index reads texts).
  const features: Features = new Features({
    store,
    options,
    metrics,
    embedder,
    bytesOf: (memory) => reader.bytesOf(memory),
    // An expired memory is not found here, as for every read.
    locate: async (id, namespace) => (await reader.find(id, namespace)).namespace,
  });
  const reader = new Reader({
    store,
    options,
    codecsById: codecs.byId,
    codecs: registry,
    assets,
    cache,
    semanticLayer: () => features.semanticLayer(),
    // The pool is made at the first such read (codecPool, below; none is ever made without workers).
    // A read in flight while the engine closes (its pool stopping) decodes in place, as it would without workers.
    ...(options.workers > 0
      ? {
          decodeOffThread: async (envelope: Uint8Array, candidates: readonly Asset[], limit: number) => {
            if (closed) return undefined;
            try {
              return await codecPool().decode(envelope, candidates, limit);
            } catch (error) {
              if (closed) return undefined;
              throw error;
            }
          },
        }
      : {}),
  });
  const codecPool = () => {
    // A closed engine starts no threads: one started now would keep the process alive after close.
    if (closed) throw new MemzipError(ErrorCode.USAGE, "the engine is closed", { hint: "Open a new engine (Engine.open) for more work." });
    return (pool ??= new CodecPool(options.workers, { zstdLevel: options.zstdLevel, maxTextBytes: options.maxTextBytes, cmModels: options.cmModels, ...(modelStates ? { derivedDir: modelStates.path, derivedOptions: modelStates.options } : {}) }));
  };
  const policy = new WritePolicy({
    registry,
    options,
    cache,
    metrics,
    pool: codecPool,
    decodeBytes: (envelope, assetId) => reader.decodeBytes(envelope, 0, assetId),
    assetByRef: (ref) => assets.byRef(ref),
    baseModel: () => assets.baseModel(),
  });
  const gate = new ModelGate(derived, options.skipLosingModel);
  const writer = new Writer({ store, options, codecs, metrics, policy, assets, reader, features, llm, embedder, gate, detectLanguageOffThread: (text) => codecPool().detectLanguage(text) });
  const maintenance = new Maintenance({ store, options, codecs, policy, assets, reader, writer, llm, gate, metrics, modelStates, derived });
  const io = new ImportExport({ store, options, assets, reader, writer, maintenance, metricsSnapshot, gate });
  const close = async () => {
    // The imports first: each stops as at its caller's signal, writes the batch in progress (on the codec threads,
    // which must still start) and marks its job before the store closes. Nothing starts threads after this.
    await io.close();
    closed = true;
    await maintenance.close();
    gate.save();
    await features.close();
    await pool?.close();
    pool = undefined;
    await llm.close();
    // A cache the caller passed in is the caller's to close.
    if (typeof options.cache !== "object") cache.close?.();
  };
  const codecWorkerStats = async (): Promise<WorkerStats[]> => (pool ? pool.stats() : []);
  return { metrics, llm, assets, reader, writer, maintenance, io, features, gate, metricsSnapshot, codecWorkerStats, close };
}
