import { createHash, randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { xxh64 } from "@node-rs/xxhash";
import type { Cache, CacheStats } from "./cache/cache.js";
import { noCache } from "./cache/cache.js";
import { MemoryLruCache } from "./cache/memory-lru.js";
import { TieredCache } from "./cache/tiered.js";
import { SqliteCache } from "./store/sqlite-cache.js";
import { MemzipError, ErrorCode, resourceError } from "./errors.js";
import type { Asset, AssetKind, Codec } from "./codec/codec.js";
import { checksum32 } from "./codec/checksum.js";
import { openEnvelope } from "./codec/envelope.js";
import { LLM_CODEC_ID } from "./codec/llm.js";
import { assetRef } from "./codec/codec.js";
import { decodeEnvelope, encodeEnvelope } from "./codec/envelope-codec.js";
import type { Candidate } from "./codec/policy.js";
import { createCodecs } from "./codec/registry.js";
import { decodeStoredText, textToBytes } from "./codec/text.js";
import { defaultDbPath } from "./config/paths.js";
import { resolveEngineOptions, type EngineOptions, type ResolvedEngineOptions, type WriteCodecName } from "./engine-options.js";
import { storeStats, type StoreStats } from "./engine-stats.js";
import { ASSET_TRAINERS, type AssetTrainingOptions, type TrainableAssetKind } from "./model/asset-trainers.js";
import { LlamaEmbedder } from "./model/llama-embedder.js";
import { LlmCoder } from "./model/llm-coder.js";
import { CodecPool } from "./pipeline/codec-pool.js";
import { forEachConcurrent, mapConcurrent } from "./pipeline/concurrency.js";
import { Metrics, type Counters } from "./pipeline/metrics.js";
import { SearchIndex, type IndexProgress, type SearchHit, type SearchOptions } from "./pipeline/search.js";
import { groupBySimilarity, HashedNgramEmbedder } from "./pipeline/similarity.js";
import type { ExportedMemory } from "./pipeline/arrow.js";
import { importRecords, type ImportOptions, type ImportProgress, type ImportReport, type SourceItem } from "./pipeline/batch-import.js";
import { maxLineBytesFor, readJsonlRecords } from "./pipeline/jsonl.js";
import { sweepTrainingLeftovers } from "./model/zstd-dictionary.js";
import { damagedColumns } from "./store/damage.js";
import { metaProblem, type MemoryInput } from "./pipeline/records.js";
import { SqliteStore } from "./store/sqlite.js";
import { memoryKey } from "./store/types.js";
import type { EnvelopeUpdate, ImportJob, ListQuery, MemoryStore, MemorySummary, RegisteredModel, StoredAsset, StoredMemory, StoredSemantic } from "./store/types.js";
import { DerivedDirectory } from "./store/derived-dir.js";
import { attachDerivedStore } from "./codec/derived.js";
import type { SemanticRecord } from "./codec/semantic.js";
import type { CostReport } from "./model/costs.js";
import type { ModelRouter } from "./model/router.js";
import { detectLanguage } from "./model/language.js";
import { SemanticLayer, type SemanticStatus } from "./pipeline/semantic.js";
import { WritePolicy } from "./engine/policy.js";

export interface RememberOptions {
  namespace?: string;
  /** Force one codec (the write is still verified; raw is the fallback if it cannot prove itself). */
  codec?: WriteCodecName;
  /** The model for `llm` (name, fingerprint or GGUF path); defaults to the engine's `model` option. */
  model?: string;
}

export interface RememberResult {
  id: string;
  namespace: string;
  codec: string;
  originalBytes: number;
  storedBytes: number;
  /** `unchanged` when the same id already held the same text. */
  status: "stored" | "updated" | "unchanged";
  /** Codecs whose smaller envelope failed the decode check and were passed over. */
  verifyFailures: string[];
  /** The exact text was already stored: this memory references it and adds no envelope bytes. */
  deduplicated?: boolean;
  /** Coded against a dictionary shared with similar memories of its batch. */
  grouped?: boolean;
  /** Summary and entities: written (`on`), not configured (`off`), or every backend failed (`skipped`; the text is stored exactly all the same). */
  semantic: SemanticStatus;
  /** The `llm` envelope was coded conditioned on the memory's summary (stored as an asset it needs). */
  residual?: boolean;
}

/** One memory encoded and verified, not yet written. */
export interface PlannedWrite {
  result: RememberResult;
  /** What to write; none when the memory is unchanged. */
  row?: StoredMemory;
  /**
   * For an unchanged memory: the row as the plan saw it. Written anyway at commit when an earlier
   * record with the same id (in this batch, or a batch committed since) changed it: the last one wins.
   */
  unchangedRow?: StoredMemory;
  /** The text's bytes, for grouping at commit. */
  bytes?: Uint8Array;
  /** A summary the envelope may have been conditioned on: stored at commit if the row's envelope needs it. */
  newAsset?: StoredAsset;
}

/** See `Engine.writer`. */
export interface MemoryWriter {
  /** Memories worth planning at once. */
  concurrency: number;
  plan(input: MemoryInput): Promise<PlannedWrite>;
  commit(plans: readonly PlannedWrite[]): Promise<RememberResult[]>;
}

/** A memory an export skipped (`--skip-bad`): its id and why it could not be read back exactly. */
export interface ExportFailure {
  id: string;
  code: string;
  message: string;
}

export interface ExportOptions {
  /** Called for each memory that cannot be read back exactly; without it such a memory stops the export. */
  onBad?: (failure: ExportFailure) => void;
}

export interface VerifyReport {
  checked: number;
  failed: number;
  failures: { id: string; code: string; message: string }[];
}

export interface RecodeReport {
  checked: number;
  recoded: number;
  bytesBefore: number;
  bytesAfter: number;
  /** Memories another writer changed or deleted while recode ran: left as that writer left them. */
  skipped: number;
}

export interface ProgressEvent {
  done: number;
  total?: number;
  originalBytes: number;
  storedBytes: number;
}

export interface EngineImportOptions extends ImportOptions {
  namespace?: string;
  codec?: WriteCodecName;
  model?: string;
  /** Continue the import job with this id where its last committed batch ended (JSONL only). */
  resume?: string;
}

export interface EngineImportReport extends ImportReport {
  namespace: string;
  /** The job that tracks a JSONL import's progress (`memzip jobs`, `--resume`). */
  jobId?: string;
  /** Set when the import passed `autoTrainAfter` and assets were trained, then applied by a recode. */
  trained?: { assets: TrainedAsset[]; recode: RecodeReport; pruned: { id: string; kind: AssetKind; bytes: number }[] };
}

export interface TrainedAsset {
  id: string;
  kind: AssetKind;
  bytes: number;
  samples: number;
  trainMs: number;
}

/**
 * The facade the CLI, the server and library users call. It wires codecs, assets and the store,
 * and owns the write rule: encode, decode again, compare, then commit.
 */
export class Engine {
  readonly store: MemoryStore;
  readonly options: ResolvedEngineOptions;
  /** Writes and reads `llm` envelopes (models load on first use). */
  readonly llm: LlmCoder;
  private readonly codecs: ReturnType<typeof createCodecs>;
  private readonly assetCache = new Map<string, Asset>();
  /** Summary assets of planned writes not committed yet, by reference. */
  private readonly pendingAssets = new Map<string, Asset>();
  /** Decoded texts by envelope content and proven envelopes by text and codec setup, so repeats skip the model. */
  private readonly textCache: Cache;

  private readonly metrics = new Metrics();
  /** Worker threads for the classical codecs, started on the first batch write that can use them. */
  private pool: CodecPool | undefined;
  private readonly embedder = new HashedNgramEmbedder();
  private readonly policy: WritePolicy;

  /** Derived model state beside the store file (`<db>.derived/`); none for an in-memory store. */
  readonly derived: DerivedDirectory | undefined;

  private constructor(store: MemoryStore, options: ResolvedEngineOptions, cache: Cache, derived?: DerivedDirectory) {
    this.store = store;
    this.derived = derived;
    this.options = options;
    this.llm = new LlmCoder(store, options.llm);
    this.codecs = createCodecs({ zstdLevel: options.zstdLevel });
    this.textCache = cache;
    this.policy = new WritePolicy({
      codecs: this.codecs,
      options,
      cache,
      metrics: this.metrics,
      llm: this.llm,
      pool: () => (this.pool ??= new CodecPool(this.options.workers, { zstdLevel: this.options.zstdLevel, maxTextBytes: this.options.maxTextBytes })),
      decodeClassical: (envelope) => this.decodeClassical(envelope),
      decodeBytes: (envelope) => this.decodeBytes(envelope),
      assetByRef: async (ref) => this.assetByRef(ref),
    });
  }

  /** With `readOnly`, the store is opened for reading: nothing is created or written (a missing store is E_NOT_FOUND). */
  static open(options: EngineOptions & { readOnly?: boolean } = {}): Engine {
    const { db, readOnly, ...rest } = options;
    const resolved = resolveEngineOptions(rest);
    const path = db ?? defaultDbPath();
    if (readOnly !== true) sweepTrainingLeftovers(); // plaintext samples a killed training left behind
    const store = SqliteStore.open(path, { readOnly: readOnly === true });
    // A read-only engine writes nothing beside the store, not even a disk cache.
    const cache = cacheFor(readOnly === true && resolved.cache === "disk" ? { ...resolved, cache: "memory" } : resolved, path);
    // Derived model state is a best-effort cache beside an existing store (read-only commands use it too).
    return new Engine(store, resolved, cache, path === ":memory:" ? undefined : new DerivedDirectory(path));
  }

  async remember(input: MemoryInput, options: RememberOptions = {}): Promise<RememberResult> {
    const [result] = await this.rememberMany([input], options);
    return result as RememberResult;
  }

  /**
   * Stores several memories in one transaction; all or none are written. Up to `concurrency`
   * memories are coded at once (classical codecs on the worker pool, the model in `llm.contexts`
   * contexts); similar memories of the batch are grouped to share a dictionary.
   */
  async rememberMany(inputs: readonly MemoryInput[], options: RememberOptions = {}): Promise<RememberResult[]> {
    const writer = await this.writer(options, inputs.length);
    const plans = await mapConcurrent(inputs, writer.concurrency, (input) => writer.plan(input));
    return writer.commit(plans);
  }

  /**
   * A write session for batch work: `plan` encodes and verifies one memory (nothing is written),
   * `commit` writes planned memories in one transaction, after grouping similar ones. The import
   * pipeline plans many memories concurrently and commits them in input order.
   */
  async writer(options: RememberOptions = {}, expected = Infinity): Promise<MemoryWriter> {
    const model = await this.writeModel(options);
    const candidatesByNamespace = new Map<string, Candidate[]>();
    const usePool = this.options.workers > 0 && expected > 1;
    // Concurrency pays where work waits: worker threads, a model, or semantic backends.
    const concurrency = Math.max(1, usePool || model || this.options.semantic ? this.options.concurrency : 1);
    const plan = async (input: MemoryInput): Promise<PlannedWrite> => {
      const namespace = input.namespace ?? options.namespace ?? this.options.namespace;
      const bytes = textToBytes(input.text, this.options.maxTextBytes);
      const metaRefused = input.meta === undefined ? undefined : metaProblem(input.meta);
      if (metaRefused) throw new MemzipError(ErrorCode.INVALID_INPUT, metaRefused, { hint: "Flatten the record's meta or store the large part as the text of its own memory." });
      const id = input.id ?? contentId(namespace, bytes);
      let candidates = candidatesByNamespace.get(namespace);
      if (!candidates) candidatesByNamespace.set(namespace, (candidates = this.candidatesFor(namespace, options.codec)));
      const sum = checksum32(bytes);
      const hash = contentHash(bytes);
      const before = this.store.fingerprints(namespace, [id]).get(id);
      const metadata = { id, namespace, kind: input.kind ?? "note", tags: input.tags ?? [], meta: input.meta ?? {} };
      if (before && before.checksum === sum && before.originalLength === bytes.length) {
        // Same text: keep the proven envelope; only metadata can have changed.
        const stored = this.store.getMemory(namespace, id) as StoredMemory;
        const updated = { ...stored, ...metadata, language: stored.language ?? detectLanguage(input.text), createdAt: input.createdAt ?? stored.createdAt };
        const result = { id, namespace, codec: stored.codec, originalBytes: bytes.length, storedBytes: 0, verifyFailures: [], semantic: semanticOf(this.store.getSemantic(namespace, id)) };
        if (sameMetadata(stored, updated) && !damagedColumns(stored)) return { result: { ...result, codec: "", status: "unchanged" }, unchangedRow: updated };
        return { result: { ...result, storedBytes: stored.envelope.length, status: "updated" }, row: updated };
      }
      const status = before ? "updated" : "stored";
      const language = detectLanguage(input.text);
      const row = { ...metadata, language, createdAt: input.createdAt ?? Date.now(), originalLength: bytes.length, checksum: sum, contentHash: hash };
      const described = await this.describe(input.text, metadata.kind, language);
      const semantic = described.status === "on" ? { semantic: described.record } : {};
      const holder = this.store.findContent(hash, sum, bytes.length);
      // The short content hash is checked against the bytes: a holder is used only if it decodes to this very text.
      if (holder && !(holder.namespace === namespace && holder.id === id) && (await this.decodesTo(holder.envelope, bytes))) {
        // The exact text is already stored: this memory becomes a reference to it (the store resolves it at commit).
        return {
          result: { id, namespace, codec: holder.codec, originalBytes: bytes.length, storedBytes: 0, status, verifyFailures: [], deduplicated: true, semantic: described.status },
          row: { ...row, ...semantic, codec: holder.codec, envelope: new Uint8Array(0), assetId: null },
        };
      }
      const residualMode = this.options.semantic?.residual ?? false;
      const summaryPrefix = model && described.status === "on" && residualMode ? this.summaryPrefix(described.record.summary, namespace) : undefined;
      const namespacePrefix = this.activeAssetOf(namespace, "llm-prefix");
      // `residual: true` also tries the namespace's own priming and keeps the smaller; "always" codes with the summary.
      const prefixes = summaryPrefix ? (residualMode === "always" ? [summaryPrefix] : [summaryPrefix, namespacePrefix]) : [namespacePrefix];
      const choice = await this.policy.choose(bytes, candidates, model && { model, prefixes }, options.codec === "llm", usePool);
      const residual = summaryPrefix !== undefined && choice.asset?.id === summaryPrefix.id;
      return {
        result: { id, namespace, codec: choice.codec, originalBytes: bytes.length, storedBytes: choice.envelope.length, status, verifyFailures: choice.verifyFailures, semantic: described.status, ...(residual ? { residual: true } : {}) },
        row: { ...row, ...semantic, codec: choice.codec, envelope: choice.envelope, assetId: choice.asset?.id ?? null },
        bytes,
        ...(summaryPrefix ? { newAsset: summaryPrefix } : {}),
      };
    };
    const commit = async (planned: readonly PlannedWrite[]): Promise<RememberResult[]> => {
      const plans = lastRecordWins(planned, (namespace, id) => this.store.getMemory(namespace, id));
      if (options.codec === undefined) await this.groupSimilar(plans);
      const rows = plans.flatMap((p) => (p.row ? [p.row] : []));
      // Summaries that envelopes were conditioned on become assets before the memories that need them.
      for (const p of plans) {
        if (!p.newAsset) continue;
        if (p.row?.assetId === p.newAsset.id) this.store.putAsset(p.newAsset);
        this.pendingAssets.delete(Buffer.from(assetRef(p.newAsset)).toString("hex"));
      }
      let references = new Set<string>();
      try {
        if (rows.length > 0) references = this.store.putMemories(rows);
      } catch (error) {
        throw resourceError(error, "write to the store") ?? error;
      }
      return plans.map(({ result }) => {
        const final = references.has(memoryKey(result.namespace, result.id)) ? { ...result, storedBytes: 0, deduplicated: true } : result;
        this.count(final);
        return final;
      });
    };
    return { concurrency, plan, commit };
  }

  /** Counters since the engine opened, with the cache's. */
  metricsSnapshot(): Counters & { cacheHits: number; cacheMisses: number; cacheEvictions: number; cacheExpirations: number } {
    const cache = this.textCache.stats();
    return { ...this.metrics.snapshot(), cacheHits: cache.hits, cacheMisses: cache.misses, cacheEvictions: cache.evictions, cacheExpirations: cache.expirations };
  }

  private count(result: RememberResult): void {
    this.metrics.add(result.status === "stored" ? "memoriesStored" : result.status === "updated" ? "memoriesUpdated" : "memoriesUnchanged");
    if (result.status === "unchanged") return;
    this.metrics.add("originalBytes", result.originalBytes);
    this.metrics.add("storedBytes", result.storedBytes);
    this.metrics.add("verifyFailures", result.verifyFailures.length);
    if (result.deduplicated) this.metrics.add("deduplicated");
    if (result.codec === "llm") this.metrics.add("llmWins");
  }

  /**
   * Near-similar memories of one batch (cosine ≥ `similarityThreshold` on hashed n-gram
   * embeddings, found through LSH buckets) share context: the group's first text becomes a raw
   * zstd dictionary (an asset) that every member is coded against. The group is kept only when
   * its members' savings exceed the dictionary's own bytes, and each member only where it gains.
   */
  private async groupSimilar(plans: readonly PlannedWrite[]): Promise<void> {
    if (this.options.similarityThreshold >= 1) return;
    const seen = new Set<string>();
    const open = plans.filter((p) => {
      if (!p.bytes || !p.row?.contentHash || p.row.codec === "llm" || p.bytes.length < GROUP_MIN_BYTES) return false;
      // A second copy of a text is stored as a reference; it must not count towards a group's savings.
      const key = Buffer.from(p.row.contentHash).toString("hex");
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    if (open.length < 2) return;
    const zstdDict = this.codecs.byName.get("zstd-dict") as Codec;
    const vectors = await this.embedder.embed(open.map((p) => decodeStoredText(p.bytes as Uint8Array)));
    const { groups } = groupBySimilarity(vectors, this.options.similarityThreshold);
    const members = new Map<number, PlannedWrite[]>();
    groups.forEach((group, i) => members.set(group, [...(members.get(group) ?? []), open[i] as PlannedWrite]));
    for (const group of members.values()) {
      if (group.length < 2) continue;
      const anchor = group[0] as PlannedWrite;
      const dictionary = anchor.bytes as Uint8Array;
      const asset: StoredAsset = { id: sha256Hex(dictionary), kind: "zstd-dictionary", bytes: dictionary, namespace: anchor.result.namespace, createdAt: Date.now(), meta: { group: true, members: group.length } };
      if (this.store.getAsset(asset.id)) continue;
      // Upper bound before any coding: every member shrinking to a bare envelope header still has to pay for the dictionary.
      const bound = group.reduce((sum, plan) => sum + ((plan.row as StoredMemory).envelope.length - GROUP_ENVELOPE_FLOOR), 0);
      if (bound <= dictionary.length) continue;
      const ref = Buffer.from(assetRef(asset));
      const resolve = (wanted: Uint8Array) => (ref.equals(wanted) ? asset : this.assetByRef(wanted));
      const rewrites: { plan: PlannedWrite; envelope: Uint8Array }[] = [];
      let saved = -dictionary.length;
      for (const plan of group) {
        const bytes = plan.bytes as Uint8Array;
        const envelope = encodeEnvelope(zstdDict, bytes, asset);
        const row = plan.row as StoredMemory;
        if (!envelope || envelope.length >= row.envelope.length) continue;
        const proven = (() => {
          try {
            return Buffer.from(decodeEnvelope(envelope, this.codecs.byId, resolve, this.options.maxTextBytes)).equals(bytes);
          } catch {
            return false;
          }
        })();
        if (!proven) continue;
        saved += row.envelope.length - envelope.length;
        rewrites.push({ plan, envelope });
      }
      if (saved <= 0 || rewrites.length < 2) continue;
      this.store.putAsset(asset);
      this.metrics.add("groupDictionaries");
      for (const { plan, envelope } of rewrites) {
        plan.row = { ...(plan.row as StoredMemory), codec: "zstd-dict", envelope, assetId: asset.id };
        plan.result = { ...plan.result, codec: "zstd-dict", storedBytes: envelope.length, grouped: true };
        this.metrics.add("grouped");
      }
    }
  }

  /**
   * The exact original text (`mode: "exact"`, the default); or its stored summary (`"summary"`);
   * or a text a model writes back out from the summary and entities (`"rebuilt"`: lossy, never
   * the original). The last two need semantic features (`E_NOT_FOUND` says when a memory has none).
   */
  async recall(id: string, options: { mode?: RecallMode; namespace?: string } = {}): Promise<string> {
    const mode = options.mode ?? "exact";
    const namespace = this.locate(id, options.namespace);
    if (mode === "exact") return decodeStoredText(await this.recallBytes(id, namespace));
    const semantic = this.store.getSemantic(namespace, id);
    if (!semantic) {
      throw new MemzipError(ErrorCode.NOT_FOUND, `memory "${id}" has no summary: semantic features were off or skipped when it was written`, {
        hint: "Configure semantic backends and write it again, or recall it exactly (the default mode).",
        details: { id },
      });
    }
    if (mode === "summary") return semantic.summary;
    const layer = await this.semanticLayer();
    if (!layer) throw new MemzipError(ErrorCode.USAGE, "rebuilding a memory needs a semantic backend", { hint: "Configure `semantic.backends`." });
    return layer.rebuild({ ...semantic, entities: semantic.entities as SemanticRecord["entities"] }, await this.languageOf(id));
  }

  /**
   * A memory's language: the one detected when it was written, or (for memories written before
   * languages were kept) detected from its text now.
   */
  async languageOf(id: string, namespace?: string): Promise<string> {
    const ns = this.locate(id, namespace);
    const memory = this.store.getMemory(ns, id);
    if (!memory) throw notFound(id, ns);
    return memory.language ?? detectLanguage(await this.recall(id, { namespace: ns }));
  }

  private searchLoading: Promise<SearchIndex> | undefined;
  private searchEmbedder: LlamaEmbedder | undefined;

  /**
   * The store's search index over the configured embedder (`searchEmbedder`, else `ngram-256`);
   * memories are indexed on demand. The embedding model loads on first use.
   */
  searchIndex(): Promise<SearchIndex> {
    this.searchLoading ??= (async () => {
      const path = this.options.searchEmbedder;
      if (path) this.searchEmbedder = await LlamaEmbedder.load(path, { gpu: this.options.llm.gpu, threads: this.options.llm.threads });
      return new SearchIndex(
        this.store,
        this.searchEmbedder ?? this.embedder,
        async (id, namespace) => {
          const semantic = this.store.getSemantic(namespace, id);
          const text = await this.recall(id, { namespace });
          return semantic ? { text, summary: semantic.summary, entities: semantic.entities.map((e) => e.text) } : { text };
        },
        { vectors: this.options.searchVectors },
      );
    })();
    this.searchLoading.catch(() => (this.searchLoading = undefined));
    return this.searchLoading;
  }

  /**
   * Memories matching `query`: embedding similarity over summaries and entities (or texts) fused
   * with keyword search. Indexes what is not indexed yet first (`onIndex` reports that progress).
   */
  async searchMemories(query: string, options: SearchOptions & { onIndex?: (progress: IndexProgress) => void } = {}): Promise<SearchHit[]> {
    const index = await this.searchIndex();
    await index.refresh(options.onIndex);
    return index.search(query, options);
  }

  /** Memories most like the memory `id`, by embedding similarity. */
  async relatedMemories(id: string, options: Omit<SearchOptions, "mode"> & { onIndex?: (progress: IndexProgress) => void } = {}): Promise<SearchHit[]> {
    const namespace = this.locate(id, options.namespace);
    const index = await this.searchIndex();
    await index.refresh(options.onIndex);
    return index.related(id, namespace, options);
  }

  /** A memory's summary and entities, if semantic features wrote them. */
  semanticOf(id: string, namespace?: string): StoredSemantic | undefined {
    return this.store.getSemantic(this.locate(id, namespace), id);
  }

  /** A memory's row (metadata and envelope). */
  memory(id: string, namespace?: string): StoredMemory {
    return this.store.getMemory(this.locate(id, namespace), id) as StoredMemory;
  }

  /**
   * The namespace of memory `id`: the one given (the memory must be there), else the only
   * namespace holding that id. An id held by several namespaces needs one (E_USAGE names them).
   */
  locate(id: string, namespace?: string): string {
    if (namespace !== undefined) {
      if (!this.store.fingerprints(namespace, [id]).has(id)) throw notFound(id, namespace);
      return namespace;
    }
    const holders = this.store.namespacesOf(id);
    if (holders.length === 0) throw notFound(id);
    if (holders.length > 1) {
      throw new MemzipError(ErrorCode.USAGE, `memory "${id}" exists in several namespaces: ${holders.join(", ")}`, {
        hint: `Name one with --namespace (-n), e.g. -n ${holders[0] as string}.`,
        details: { id, namespaces: holders },
      });
    }
    return holders[0] as string;
  }

  /** Model usage and what it cost, per backend, with the local run's savings against the cloud price. */
  async semanticCosts(): Promise<CostReport | undefined> {
    const layer = await this.semanticLayer();
    return layer?.costs(this.metrics.snapshot().memoriesStored + this.metrics.snapshot().memoriesUpdated);
  }

  /** Router counters (calls, failures, fallbacks, circuit states) when semantic features are configured. */
  async semanticStats(): Promise<
    { fallbacks: number; skipped: number; described: number; json: SemanticLayer["json"]; backends: ReturnType<ModelRouter["stats"]>; events: ModelRouter["events"] } | undefined
  > {
    const layer = await this.semanticLayer();
    if (!layer) return undefined;
    return { fallbacks: layer.router.fallbacks, skipped: layer.skipped, described: layer.described, json: { ...layer.json }, backends: layer.router.stats(), events: layer.router.events };
  }

  private semanticLoading: Promise<SemanticLayer> | undefined;

  private semanticLayer(): Promise<SemanticLayer | undefined> {
    const options = this.options.semantic;
    if (!options) return Promise.resolve(undefined);
    this.semanticLoading ??= SemanticLayer.create(options, { retries: this.options.profile.retries, rateLimit: this.options.profile.rateLimit });
    return this.semanticLoading;
  }

  private async describe(text: string, kind: string, language: string): Promise<{ status: "on"; record: SemanticRecord } | { status: "off" | "skipped"; reason?: string }> {
    const layer = await this.semanticLayer();
    if (!layer) return { status: "off" };
    const described = await layer.describe(text, kind, language);
    this.metrics.add(described.status === "on" ? "semanticOn" : "semanticSkipped");
    return described;
  }

  async recallBytes(id: string, namespace?: string): Promise<Uint8Array> {
    const memory = this.store.getMemory(this.locate(id, namespace), id);
    if (!memory) throw notFound(id, namespace);
    const key = envelopeKey(memory.envelope);
    const cached = this.textCache.get(key);
    try {
      if (cached) return checkDecoded(memory, cached.slice());
      const bytes = checkDecoded(memory, await this.decodeBytes(memory.envelope, memory.originalLength));
      this.textCache.set(key, bytes.slice());
      return bytes;
    } catch (error) {
      if (error instanceof MemzipError) error.details.id = id;
      throw error;
    }
  }

  /** Hits, misses and size of the engine's cache (recalled texts and chosen envelopes). */
  cacheStats(): CacheStats {
    return this.textCache.stats();
  }

  /** Deletes a memory; an asset it was the last user of (and that no namespace writes with) goes too. */
  forget(id: string, namespace?: string): void {
    const where = this.locate(id, namespace);
    const assetId = this.store.getMemory(where, id)?.assetId ?? null;
    if (!this.store.deleteMemory(where, id)) throw notFound(id, where);
    if (assetId !== null && !this.store.isActiveAsset(assetId) && this.store.deleteAsset(assetId)) this.assetCache.clear();
  }

  list(query: ListQuery = {}): MemorySummary[] {
    return this.store.listMemories(query);
  }

  /**
   * Prunes every asset no memory needs (also ones a namespace writes with), moves the write-ahead
   * log into the file and rebuilds the file without free pages.
   */
  compact(): { removed: { id: string; kind: AssetKind; bytes: number }[]; fileBytesBefore: number; fileBytesAfter: number } {
    const fileBytesBefore = this.store.diskUsage().fileBytes;
    const removed = this.pruneAssets({ unusedActive: true });
    this.store.compact();
    return { removed, fileBytesBefore, fileBytesAfter: this.store.diskUsage().fileBytes };
  }

  /** Sizes per codec and in total, with the assets the memories need counted apart and in. */
  stats(namespace?: string): StoreStats & { derivedBytes: number } {
    // Derived model state beside the store (whole store, any namespace): rebuildable, so never counted in the sizes.
    return { ...storeStats(this.store, namespace), derivedBytes: this.derived?.bytes() ?? 0 };
  }

  /** Decodes every memory and checks it against its checksum; never throws for a bad record. */
  async verify(namespace?: string, onProgress?: (event: ProgressEvent) => void): Promise<VerifyReport> {
    const report: VerifyReport = { checked: 0, failed: 0, failures: [] };
    const total = this.store.countMemories(namespace);
    let originalBytes = 0;
    let storedBytes = 0;
    await forEachConcurrent(this.store.iterateMemories(namespace), this.options.llm.contexts, async (memory) => {
      report.checked++;
      originalBytes += memory.originalLength;
      storedBytes += memory.envelope.length;
      try {
        checkedRow(memory);
        checkDecoded(memory, await this.decodeBytes(memory.envelope, memory.originalLength));
      } catch (error) {
        report.failed++;
        const typed = error instanceof MemzipError ? error : new MemzipError(ErrorCode.FORMAT, String(error));
        report.failures.push({ id: printableId(memory.id), code: typed.code, message: typed.message });
      }
      onProgress?.({ done: report.checked, total, originalBytes, storedBytes });
    });
    return report;
  }

  /**
   * Trains an asset (a zstd dictionary, a context-model snapshot) on the namespace's memories
   * and makes it the one new writes use. Older payloads keep naming the asset they were written with.
   */
  async trainAsset(kind: TrainableAssetKind, namespace: string = this.options.namespace, options: AssetTrainingOptions = {}): Promise<TrainedAsset> {
    // The newest memories up to a byte budget, so training a namespace of millions stays bounded.
    const budget = Math.max(options.maxBytes ?? 0, TRAINING_SAMPLE_BYTES);
    let samples: Uint8Array[] = [];
    let first = 0;
    let sampleBytes = 0;
    let memories = 0;
    for (const memory of this.store.iterateMemories(namespace)) {
      if (memory.contentOf) continue;
      const bytes = await this.decodeBytes(memory.envelope);
      samples.push(bytes);
      sampleBytes += bytes.length;
      memories++;
      while (sampleBytes > budget && first < samples.length - 1) sampleBytes -= (samples[first++] as Uint8Array).length;
      if (first > 4096 && first > samples.length / 2) {
        samples = samples.slice(first);
        first = 0;
      }
    }
    const started = performance.now();
    const bytes = ASSET_TRAINERS[kind](samples.slice(first), options);
    const trainMs = performance.now() - started;
    const asset = this.saveAsset(kind, namespace, bytes, { samples: memories });
    return { id: asset.id, kind: asset.kind, bytes: bytes.length, samples: memories, trainMs };
  }

  /** Shorthand for `trainAsset("zstd-dictionary", …)`. */
  trainDictionary(namespace: string = this.options.namespace, maxBytes?: number): Promise<TrainedAsset> {
    return this.trainAsset("zstd-dictionary", namespace, maxBytes === undefined ? {} : { maxBytes });
  }

  /**
   * Re-encodes a namespace with the current policy (or one forced codec). A new envelope replaces
   * the old one when it is smaller, when the codec is forced, or when the old one needs an asset
   * the namespace no longer writes with — so superseded assets fall out of use and can be pruned.
   * Every new envelope is verified first.
   */
  async recode(namespace: string = this.options.namespace, options: RecodeOptions = {}, onProgress?: (event: ProgressEvent) => void): Promise<RecodeReport> {
    const codec = options.codec;
    const model = await this.writeModel(options);
    const candidates = this.candidatesFor(namespace, codec);
    const prefix = this.activeAssetOf(namespace, "llm-prefix");
    const current = new Set([...candidates.flatMap((c) => (c.asset ? [c.asset.id] : [])), ...(model && prefix ? [prefix.id] : [])]);
    const report: RecodeReport = { checked: 0, recoded: 0, bytesBefore: 0, bytesAfter: 0, skipped: 0 };
    const total = this.store.countMemories(namespace);
    let batch: EnvelopeUpdate[] = [];
    // Compare-and-set: a memory rewritten or deleted since it was read keeps what the other writer left.
    const flush = () => {
      if (batch.length) {
        const lost = batch.length - this.store.replaceEnvelopes(batch);
        report.skipped += lost;
        report.recoded -= lost;
      }
      batch = [];
    };
    await forEachConcurrent(this.store.iterateMemories(namespace), model ? this.options.llm.contexts : 1, async (memory) => {
      // A reference shares its holder's envelope: recoding the holder recodes both.
      if (memory.contentOf) return;
      const bytes = await this.decodeBytes(memory.envelope, memory.originalLength);
      // A memory coded against its summary may stay so (when that is still the smallest).
      const own = memory.assetId ? this.assetById(memory.assetId) : undefined;
      const summary = own?.kind === "llm-prefix" && own.meta.summary === true ? own : undefined;
      const choice = await this.policy.choose(bytes, candidates, model && { model, prefixes: summary ? [prefix, summary] : [prefix] }, codec === "llm");
      report.checked++;
      report.bytesBefore += memory.envelope.length;
      // A shared group dictionary or a memory's own summary is not superseded by training: the memory stays unless something smaller comes.
      const superseded = memory.assetId !== null && !current.has(memory.assetId) && own?.meta.group !== true && !summary;
      const better =
        codec !== undefined
          ? choice.codec !== memory.codec || choice.envelope.length !== memory.envelope.length
          : superseded || choice.envelope.length < memory.envelope.length;
      if (better) {
        report.recoded++;
        batch.push({ namespace: memory.namespace, id: memory.id, version: memory.version ?? 0, codec: choice.codec, envelope: choice.envelope, assetId: choice.asset?.id ?? null });
        if (batch.length >= this.options.batchSize) flush();
      }
      report.bytesAfter += better ? choice.envelope.length : memory.envelope.length;
      onProgress?.({ done: report.checked, total, originalBytes: 0, storedBytes: report.bytesAfter });
    });
    flush();
    return report;
  }

  /** Streams a JSONL file into the store in transactions; re-running it skips what is already stored. */
  async importJsonl(path: string, options: EngineImportOptions = {}): Promise<EngineImportReport> {
    const job = this.startJob(path, options);
    const from = { position: job.position, line: job.line };
    const maxLineBytes = maxLineBytesFor(this.options.maxTextBytes);
    async function* source(): AsyncGenerator<SourceItem> {
      for await (const item of readJsonlRecords(path, options.signal, from, { maxLineBytes })) {
        const at = { where: `line ${item.line}`, position: item.bytesRead, line: item.line };
        yield item.ok ? { ok: true, record: item.record, ...at } : { ok: false, error: item.error, ...at };
      }
    }
    try {
      const report = await this.importFrom(source(), { ...options, namespace: job.namespace }, job.id);
      this.store.updateJob(job.id, { status: report.aborted ? "interrupted" : "done" });
      return { ...report, jobId: job.id };
    } catch (error) {
      try {
        this.store.updateJob(job.id, { status: "failed" });
      } catch {
        // The store cannot take even this (disk full): the import's own error says more.
      }
      throw resourceError(error, "write to the store") ?? error;
    }
  }

  /** Import jobs, newest first. */
  jobs(limit?: number): ImportJob[] {
    return this.store.listJobs(limit);
  }

  /** Imports an Arrow IPC file with a `text` column (and optional id, kind, tags, meta, created_at). */
  async importArrow(bytes: Uint8Array, options: EngineImportOptions = {}): Promise<EngineImportReport> {
    // apache-arrow takes ~0.4 s to load: only Arrow imports and exports pay for it.
    const { memoriesFromArrow } = await import("./pipeline/arrow.js");
    async function* source(): AsyncGenerator<SourceItem> {
      let position = 0;
      for (const item of memoriesFromArrow(bytes)) {
        position++;
        yield "record" in item ? { ok: true, ...item, position, line: position } : { ok: false, ...item, position, line: position };
      }
    }
    return this.importFrom(source(), options);
  }

  /**
   * Every memory with its exact text and its checksum, in insertion order. A memory that cannot
   * be read back exactly stops the export with its typed error, or, with `onBad`, is reported
   * there and skipped so that every readable memory is still exported.
   */
  async *exportMemories(namespace?: string, options: ExportOptions = {}): AsyncGenerator<ExportedMemory> {
    for (const memory of this.store.iterateMemories(namespace)) {
      let exported: ExportedMemory;
      try {
        const id = checkedRow(memory);
        const { kind, tags, meta, createdAt } = memory;
        const text = decodeStoredText(checkDecoded(memory, await this.decodeBytes(memory.envelope, memory.originalLength)));
        exported = { id, namespace: memory.namespace, kind, tags, meta, createdAt, text, checksum: memory.checksum };
      } catch (error) {
        if (!options.onBad || !(error instanceof MemzipError)) throw error;
        options.onBad({ id: printableId(memory.id), code: error.code, message: error.message });
        continue;
      }
      yield exported;
    }
  }

  /** Every memory as one JSON line (without the newline), in insertion order; `importJsonl` reads them back. */
  async *exportJsonl(namespace?: string, options: ExportOptions = {}): AsyncGenerator<string> {
    for await (const memory of this.exportMemories(namespace, options)) yield JSON.stringify(memory);
  }

  async exportArrow(namespace?: string, options: ExportOptions = {}): Promise<Uint8Array> {
    const memories: ExportedMemory[] = [];
    for await (const memory of this.exportMemories(namespace, options)) memories.push(memory);
    const { memoriesToArrow } = await import("./pipeline/arrow.js");
    return memoriesToArrow(memories);
  }

  /** Decodes an envelope with this store's codecs, assets and models. */
  /**
   * Decodes an envelope with this store's codecs, assets and models. `storedLength`, the length the
   * store recorded for it, raises the size limit: whatever was written (under any limit) reads back.
   */
  async decodeBytes(envelope: Uint8Array, storedLength = 0): Promise<Uint8Array> {
    const limit = readLimit(this.options.maxTextBytes, storedLength);
    const opened = openEnvelope(envelope, limit);
    if (opened.codecId === LLM_CODEC_ID) return this.llm.decode(opened, (ref) => this.assetByRef(ref));
    return this.decodeClassical(envelope, limit);
  }

  /** Whether an envelope decodes to exactly `bytes` (false for any failure). */
  private async decodesTo(envelope: Uint8Array, bytes: Uint8Array): Promise<boolean> {
    try {
      return Buffer.from(await this.decodeBytes(envelope, bytes.length)).equals(bytes);
    } catch {
      return false;
    }
  }

  /** Registers a GGUF model file in the store (or renames / relocates one already known). */
  async addModel(path: string, name?: string): Promise<RegisteredModel> {
    const model = await this.llm.resolveModel(path);
    if (name === undefined || name === model.name) return model;
    const renamed = { ...model, name };
    this.store.putModel(renamed);
    return renamed;
  }

  async close(): Promise<void> {
    if (this.semanticLoading) await (await this.semanticLoading.catch(() => undefined))?.close();
    await this.pool?.close();
    this.pool = undefined;
    await this.llm.close();
    if (this.searchLoading) await this.searchLoading.catch(() => undefined);
    await this.searchEmbedder?.close();
    // A cache the caller passed in is the caller's to close.
    if (typeof this.options.cache !== "object") this.textCache.close?.();
    this.store.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** A new job for a JSONL file, or the one `options.resume` names, checked against the file as it is now. */
  private startJob(path: string, options: EngineImportOptions): ImportJob {
    const source = resolve(path);
    let stat: { size: number; mtimeMs: number };
    try {
      stat = statSync(source);
    } catch (cause) {
      throw new MemzipError(ErrorCode.USAGE, `cannot read ${path}: ${(cause as Error).message}`, { hint: "Check the file path.", cause });
    }
    const fingerprint = { sourceSize: stat.size, sourceMtime: Math.floor(stat.mtimeMs) };
    if (options.resume !== undefined) {
      const job = this.store.getJob(options.resume);
      if (!job) throw new MemzipError(ErrorCode.NOT_FOUND, `no import job "${options.resume}"`, { hint: "List jobs with `memzip jobs`." });
      if (job.source !== source || job.sourceSize !== fingerprint.sourceSize || job.sourceMtime !== fingerprint.sourceMtime) {
        throw new MemzipError(ErrorCode.USAGE, `job ${job.id} read ${job.source} as it was; that file is not the same now`, {
          hint: "Run the import again without --resume: memories already stored are recognised and skipped.",
          details: { job: job.id },
        });
      }
      this.store.updateJob(job.id, { status: "running" });
      return job;
    }
    const now = Date.now();
    const job: ImportJob = {
      id: `job-${now.toString(36)}-${randomBytes(3).toString("hex")}`,
      kind: "jsonl",
      source,
      ...fingerprint,
      namespace: options.namespace ?? this.options.namespace,
      status: "running",
      position: 0,
      line: 0,
      startedAt: now,
      updatedAt: now,
    };
    this.store.createJob(job);
    return job;
  }

  private async importFrom(source: AsyncIterable<SourceItem>, options: EngineImportOptions, jobId?: string): Promise<EngineImportReport> {
    const namespace = options.namespace ?? this.options.namespace;
    const write: RememberOptions = { namespace, ...(options.codec ? { codec: options.codec } : {}), ...(options.model ? { model: options.model } : {}) };
    const writer = await this.writer(write);
    const withCheckpoint = {
      ...writer,
      checkpoint: (position: number, line: number) => {
        if (jobId) this.store.updateJob(jobId, { position, line });
      },
    };
    const onProgress = options.onProgress && ((progress: ImportProgress) => options.onProgress?.({ ...progress, metrics: this.metricsSnapshot() }));
    const imported = await importRecords(withCheckpoint, source, options.batchSize ?? this.options.batchSize, { ...options, ...(onProgress ? { onProgress } : {}) });
    const report: EngineImportReport = { namespace, ...imported };
    const threshold = this.options.autoTrainAfter;
    if (!report.aborted && threshold > 0 && this.store.countMemories(namespace) >= threshold) {
      const assets: TrainedAsset[] = [];
      for (const kind of this.assetKindsToTrain(namespace)) assets.push(await this.trainAsset(kind, namespace));
      if (assets.length > 0) {
        report.trained = { assets, recode: await this.recode(namespace, write), pruned: this.pruneAssets({ namespace, unusedActive: true }) };
        // Recoding rewrote most rows smaller and pruning freed asset pages: the file is rebuilt without the
        // free space (O(file), once per doubling of the namespace, cheaper than the recode before it).
        if (report.trained.recode.recoded > 0 || report.trained.pruned.length > 0) this.store.compact();
      }
    }
    return report;
  }

  /**
   * Asset kinds the configured codecs need that the namespace lacks, or whose active asset learned
   * from less than half of the memories the namespace now holds (it has outgrown it).
   */
  assetKindsToTrain(namespace: string = this.options.namespace): TrainableAssetKind[] {
    const kinds = new Set<TrainableAssetKind>();
    const memories = this.store.countMemories(namespace);
    for (const name of this.options.codecs) {
      const needs = this.codecs.byName.get(name)?.requires as TrainableAssetKind | undefined;
      if (!needs) continue;
      // Kept after the asset is pruned for losing to another codec: it is not retrained until the namespace outgrows it.
      const learnedFrom = this.store.assetLearnedFrom(namespace, needs);
      if (learnedFrom * RETRAIN_GROWTH <= memories) kinds.add(needs);
    }
    return [...kinds];
  }

  /**
   * Deletes assets (of one kind, trained for one namespace, if given) that no memory needs and no
   * namespace writes with; with `unusedActive`, also those a namespace writes with that no memory
   * needs (they lost to another codec on every memory; the namespace stops writing with them).
   */
  pruneAssets(filter: { kind?: AssetKind; namespace?: string; unusedActive?: boolean } = {}): { id: string; kind: AssetKind; bytes: number }[] {
    const removed: { id: string; kind: AssetKind; bytes: number }[] = [];
    for (const usage of this.store.assetUsage()) {
      if (usage.memories > 0 || (!filter.unusedActive && this.store.isActiveAsset(usage.id))) continue;
      if ((filter.kind !== undefined && usage.kind !== filter.kind) || (filter.namespace !== undefined && usage.namespace !== filter.namespace)) continue;
      // The store checks again, in the same transaction as the delete: a memory written meanwhile keeps its asset.
      if (this.store.deleteAsset(usage.id)) {
        this.derived?.removeFor(usage.id);
        removed.push({ id: usage.id, kind: usage.kind, bytes: usage.size });
      }
    }
    this.assetCache.clear();
    return removed;
  }

  private saveAsset(kind: AssetKind, namespace: string, bytes: Uint8Array, meta: Record<string, unknown>): StoredAsset {
    const asset: StoredAsset = { id: sha256Hex(bytes), kind, bytes, namespace, createdAt: Date.now(), meta };
    this.store.putAsset(asset);
    this.store.setActiveAsset(namespace, kind, asset.id);
    return asset;
  }

  /** The write candidates of a namespace: the policy's, with the namespace's active assets resolved. */
  private candidatesFor(namespace: string, forced?: WriteCodecName): Candidate[] {
    const active = new Map<AssetKind, Asset>();
    for (const kind of this.policy.requiredKinds(forced)) {
      const asset = this.activeAssetOf(namespace, kind);
      if (asset) active.set(kind, asset);
    }
    return this.policy.candidates(namespace, active, forced);
  }

  private activeAssetOf(namespace: string, kind: AssetKind): StoredAsset | undefined {
    const assetId = this.store.activeAsset(namespace, kind);
    return assetId === undefined ? undefined : this.withDerived(this.store.getAsset(assetId));
  }

  /**
   * Sets the text every `llm` memory of the namespace is conditioned on from now on (stored once,
   * as an asset; its last tokens, up to a quarter of the window, are fed before each memory).
   */
  setPrimingText(text: string, namespace: string = this.options.namespace): StoredAsset {
    return this.saveAsset("llm-prefix", namespace, textToBytes(text, this.options.maxTextBytes), {});
  }

  /**
   * A memory's summary as an `llm-prefix` asset (not stored until a memory's envelope needs it),
   * known to this engine's asset look-up until commit so that verification can decode against it.
   */
  private summaryPrefix(summary: string, namespace: string): StoredAsset {
    const bytes = textToBytes(`${summary}\n`, this.options.maxTextBytes);
    const asset: StoredAsset = { id: sha256Hex(bytes), kind: "llm-prefix", bytes, namespace, createdAt: Date.now(), meta: { summary: true } };
    this.pendingAssets.set(Buffer.from(assetRef(asset)).toString("hex"), asset);
    return asset;
  }

  /** The model new writes use: the caller's, else the engine's; none when neither names one. */
  private async writeModel(options: { codec?: WriteCodecName; model?: string }): Promise<RegisteredModel | undefined> {
    const name = options.model || this.options.model;
    if (!name) {
      if (options.codec === "llm") {
        throw new MemzipError(ErrorCode.USAGE, "the llm codec needs a model", { hint: "Pass --model NAME|PATH, set MEMZIP_MODEL, or register one with `memzip models add`." });
      }
      return undefined;
    }
    return this.llm.resolveModel(name);
  }

  private decodeClassical(envelope: Uint8Array, limit = this.options.maxTextBytes): Uint8Array {
    return decodeEnvelope(envelope, this.codecs.byId, (ref) => this.assetByRef(ref), limit);
  }

  /** Lets codecs keep what they derive from a stored asset (a trained model's state) beside the store. */
  private withDerived<T extends Asset>(asset: T | undefined): T | undefined {
    return asset && attachDerivedStore(asset, this.derived);
  }

  private assetById(id: string): StoredAsset | undefined {
    let asset = this.assetCache.get(`id:${id}`);
    if (asset === undefined) {
      asset = this.withDerived(this.store.getAsset(id));
      if (asset) this.assetCache.set(`id:${id}`, asset);
    }
    return asset as StoredAsset | undefined;
  }

  private assetByRef(ref: Uint8Array): Asset | undefined {
    const key = Buffer.from(ref).toString("hex");
    let asset = this.assetCache.get(key) ?? this.pendingAssets.get(key);
    if (asset === undefined) {
      asset = this.withDerived(this.store.getAssetByRef(ref));
      if (asset) this.assetCache.set(key, asset);
    }
    return asset;
  }
}

export interface RecodeOptions {
  /** Force this codec (`--to`); every memory is rewritten with it where it proves itself. */
  codec?: WriteCodecName;
  /** The model for `llm`; defaults to the engine's. */
  model?: string;
}

function notFound(id: string, namespace?: string): MemzipError {
  return new MemzipError(ErrorCode.NOT_FOUND, `no memory with id "${id}"${namespace === undefined ? "" : ` in namespace "${namespace}"`}`, {
    hint: "List ids with `memzip ls` (with -n NS for one namespace).",
    details: namespace === undefined ? { id } : { id, namespace },
  });
}

/** The size limit for reading a memory: the configured one, or more when the store holds a longer text (written under a higher limit). */
function readLimit(configured: number, storedLength: number): number {
  return Math.max(configured, storedLength);
}

/** Text handed to an asset trainer at most, newest memories first (zstd suggests ~100x a 110 KB dictionary). */
const TRAINING_SAMPLE_BYTES = 12 << 20;

/** An import retrains a namespace's asset once the namespace holds this many times the memories it learned from. */
const RETRAIN_GROWTH = 2;

/** A cache key that names an envelope's content: the envelope fixes the text once its assets are fixed. */
function envelopeKey(envelope: Uint8Array): string {
  return `text:${xxh64(envelope).toString(16)}:${envelope.length}`;
}

/**
 * Plans in input order, made so that the last record of an id wins. Plans are made concurrently
 * against the store as it was, so a record found "unchanged" may follow one with the same id that
 * changes it (earlier in this batch, or in a batch committed after the plan was made): such a
 * record writes back the row it saw. A later "stored" of an id already written here is an update.
 */
function lastRecordWins(plans: readonly PlannedWrite[], current: (namespace: string, id: string) => StoredMemory | undefined): PlannedWrite[] {
  const written = new Set<string>();
  return plans.map((plan) => {
    const { id: memoryId, namespace } = plan.result;
    const id = memoryKey(namespace, memoryId);
    let resolved = plan;
    if (!plan.row && plan.unchangedRow) {
      const now = written.has(id) ? undefined : current(namespace, memoryId);
      const kept = plan.unchangedRow;
      if (!now || now.checksum !== kept.checksum || now.originalLength !== kept.originalLength || !sameMetadata(now, kept)) {
        resolved = { ...plan, row: kept, result: { ...plan.result, codec: kept.codec, storedBytes: kept.envelope.length, status: "updated" } };
      }
    } else if (plan.row && written.has(id) && plan.result.status === "stored") {
      resolved = { ...plan, result: { ...plan.result, status: "updated" } };
    }
    if (resolved.row) written.add(id);
    return resolved;
  });
}

function sameMetadata(a: StoredMemory, b: StoredMemory): boolean {
  const key = (m: StoredMemory) => JSON.stringify([m.namespace, m.kind, m.tags, m.meta, m.createdAt]);
  return key(a) === key(b);
}

/** The cache the options ask for, bounded as the profile says; the disk tier sits beside the store file. */
function cacheFor(options: ResolvedEngineOptions, dbPath: string): Cache {
  const { cache } = options;
  const limits = options.profile.cache;
  if (typeof cache === "object") return cache;
  if (cache === "off" || limits.maxEntries === 0) return noCache;
  const memory = new MemoryLruCache({ maxEntries: limits.maxEntries, maxBytes: limits.maxBytes, ttlMs: limits.ttlMs });
  if (cache === "memory" || dbPath === ":memory:") return memory;
  return new TieredCache(memory, new SqliteCache(`${dbPath}.cache`, { maxEntries: limits.maxEntries, maxBytes: limits.maxBytes * 4, ttlMs: limits.ttlMs }));
}

export type RecallMode = "exact" | "summary" | "rebuilt";

function semanticOf(stored: StoredSemantic | undefined): SemanticStatus {
  return stored ? "on" : "off";
}

/** Memories shorter than this are not worth a shared dictionary. */
const GROUP_MIN_BYTES = 64;

/** Fewest bytes a zstd-dict envelope can take (header, checksum, asset reference, a minimal frame). */
const GROUP_ENVELOPE_FLOOR = 12;

/**
 * Binds a decoded text to its row: its length, XXH32 and (where the row has one) content hash must
 * be the row's. An envelope copied into another row decodes cleanly but fails here (E_CHECKSUM).
 */
function checkDecoded(memory: StoredMemory, bytes: Uint8Array): Uint8Array {
  const fail = (what: string): never => {
    throw new MemzipError(ErrorCode.CHECKSUM, `memory "${memory.id}": decoded text differs from the ${what} recorded in its row`, {
      hint: "The row holds another memory's payload or was damaged: restore this memory from an export or backup (`memzip verify` lists every such row).",
      details: { id: memory.id },
    });
  };
  if (bytes.length !== memory.originalLength) fail("length");
  if (checksum32(bytes) !== memory.checksum) fail("checksum");
  const hash = memory.contentHash;
  if (hash && hash.length > 0 && !Buffer.from(contentHash(bytes)).subarray(0, hash.length).equals(hash)) fail("content hash");
  return bytes;
}

/** A row's id, checked with its metadata columns: a damaged row can hold a blob for its id or JSON that does not parse. */
function checkedRow(memory: StoredMemory): string {
  const hint = "Restore the store from a backup, or export with --skip-bad to keep every readable memory.";
  if (typeof memory.id !== "string") throw new MemzipError(ErrorCode.FORMAT, `a row's id is damaged (${printableId(memory.id)})`, { hint });
  const damaged = damagedColumns(memory);
  if (damaged) {
    throw new MemzipError(ErrorCode.FORMAT, `memory "${memory.id}": its ${damaged.join(" and ")} column${damaged.length > 1 ? "s are" : " is"} damaged`, {
      hint: "Import the memory again with its metadata (the text is intact if `memzip get` prints it), or restore from a backup.",
      details: { id: memory.id, columns: damaged },
    });
  }
  return memory.id;
}

/** An id fit for a report, whatever the row holds. */
function printableId(id: unknown): string {
  if (typeof id === "string") return id;
  if (id instanceof Uint8Array) return `blob:${Buffer.from(id).toString("hex").slice(0, 64)}`;
  return `${typeof id}:${String(id)}`;
}

/** The store's content address of a text: 16 bytes of its sha256. */
function contentHash(bytes: Uint8Array): Uint8Array {
  return createHash("sha256").update(bytes).digest().subarray(0, 16);
}

function contentId(namespace: string, bytes: Uint8Array): string {
  return `m-${createHash("sha256").update(namespace).update("\0").update(bytes).digest("hex").slice(0, 20)}`;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
