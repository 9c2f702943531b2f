import type { Cache, CacheStats } from "./cache/cache.js";
import { existsSync } from "node:fs";
import { checkLibraryFilter } from "./core/filter.js";
import { defaultDbPath } from "./core/paths.js";
import { ErrorCode, isMemzipError, MemzipError } from "./errors.js";
import { SEARCH_MODES, WRITE_CODEC_NAMES } from "./core/vocabulary.js";
import { MEMORY_KINDS, type AssetUsage, type KeyRepository, type ListQuery, type MemoryFilter, type MemoryPage, type MemorySummary, type PageOptions, type PageQuery, type RegisteredModel, type Store, type StoredAsset, type StoredMemory, type StoredSemantic } from "./core/store.js";
import { checkOptionKeys, ENGINE_OPTION_KEYS, resolveEngineOptions, type EngineOptions, type ResolvedEngineOptions } from "./engine-options.js";
import { storeStats, type StoreStats } from "./engine-stats.js";
import { cacheFor } from "./engine/cache.js";
import { forgetWhere } from "./engine/forget-where.js";
import { readHistory } from "./engine/history.js";
import { KeyService } from "./engine/keys.js";
import type { EngineSearchOptions, SemanticStats } from "./engine/features.js";
import { assembleParts, type EngineCounters, type Parts } from "./engine/parts.js";
import type * as T from "./engine/types.js";
import type { AssetTrainingOptions, TrainableAssetKind } from "./model/asset-trainers.js";
import type { CostReport } from "./model/costs.js";
import type { LlmCoder } from "./model/llm-coder.js";
import { sweepTrainingLeftovers } from "./model/zstd-dictionary.js";
import type { ExportedMemory } from "./pipeline/arrow.js";
import { mapConcurrent } from "./core/concurrency.js";
import { checkMemoryRef, tagsProblem, type MemoryInput } from "./pipeline/records.js";
import type { WorkerStats } from "./pipeline/codec-pool.js";
import type { SearchHit, SearchIndex, SearchWarmLimits, SearchWarmReport, UnreadableMemory } from "./search/search.js";
import { DerivedDirectory } from "./store/derived-dir.js";
import type { ModelOutcomes } from "./engine/model-gate.js";
import { isLocalStoreFile, openStore } from "./store/open.js";
import { shippedAssets } from "./codec/cm/base.js";
import { holdLoadedSnapshots } from "./codec/cm/prepared-snapshot.js";

export type * from "./engine/types.js";
export type { EngineSearchOptions, SemanticStats } from "./engine/features.js";
export { memoryTag, sha256Hex } from "./engine/rows.js";
export { JOB_STALE_AFTER_MS, noteNamespace } from "./engine/io.js";
export { KEY_PREFIX, KeyService, allows, inScope, type KeyScope, type NewKey } from "./engine/keys.js";

/**
 * The facade the CLI, the server and library users call. It wires codecs, assets and the store
 * into parts (`src/engine/`), and delegates: writer, reader, maintenance, import/export, features.
 */
export class Engine {
  readonly options: ResolvedEngineOptions;
  /** Writes and reads `llm` envelopes (models load on first use). */
  readonly llm: LlmCoder;
  /** Derived model state beside the store file (`<db>.derived/`); none for an in-memory store. */
  readonly derived: DerivedDirectory | undefined;
  /** API keys of the HTTP and MCP front ends (hashes in the store). */
  readonly keys: KeyService;
  private readonly store: Store;
  private readonly parts: Parts;

  /** Opened `readOnly`: every call that writes memories, assets, models, jobs or keys is refused (`writing`). */
  private readonly readOnly: boolean;

  private constructor(store: Store, options: ResolvedEngineOptions, cache: Cache, derived?: DerivedDirectory, extraCodecs: T.EngineParts["extraCodecs"] = [], modelStates: DerivedDirectory | undefined = derived, readOnly = false) {
    this.readOnly = readOnly;
    this.store = store;
    this.derived = derived;
    this.options = options;
    this.parts = assembleParts(store, options, cache, derived, extraCodecs, modelStates);
    this.llm = this.parts.llm;
    this.keys = new KeyService(readOnly ? refusingKeyWrites(store.keys) : store.keys);
    this.releaseModels = holdLoadedSnapshots(options.cmModels);
  }

  /** Gives back this engine's hold on loaded `cm` models (`cmModels`) at close. */
  private readonly releaseModels: () => void;

  /**
   * The store at `db`: a SQLite file (default path) or a `postgres://` URL. With `readOnly`, nothing is
   * created (a missing store is E_NOT_FOUND) and every call that writes memories, assets, models, jobs or keys is
   * refused with E_USAGE (a SQLite file this account may write is still opened for writing underneath: its search
   * index, derived data, is kept up to date there). With `mustExist`, a missing store is E_NOT_FOUND
   * too (nothing is created, no folder, no file), and an existing one opens for writing as usual. With `readOnly` and
   * `searchable`, searches of a SQLite store this account may not write index a private copy of it (removed at close).
   */
  static open(options: EngineOptions & { readOnly?: boolean; mustExist?: boolean; searchable?: boolean } = {}): Engine {
    checkOptionKeys(options, [...ENGINE_OPTION_KEYS, "readOnly", "mustExist", "searchable"]);
    const { db, readOnly, mustExist, searchable, ...rest } = options;
    const resolved = resolveEngineOptions(rest);
    const path = db ?? defaultDbPath();
    // A server store (postgres://) has no folder beside it: no disk cache tier, no derived directory of its own.
    const local = isLocalStoreFile(path);
    if (mustExist === true && local && !existsSync(path)) throw missingStore(path);
    if (readOnly !== true) sweepTrainingLeftovers(); // plaintext samples a killed training left behind
    // A PostgreSQL store opened `readOnly` refuses a missing schema and uses an existing one as usual: `mustExist` there.
    const store = openStore(path, { readOnly: readOnly === true || (mustExist === true && !local), checkpointThread: readOnly !== true && resolved.checkpointThread, seal: resolved.seal, ...(searchable === true ? { searchable } : {}) });
    // A read-only engine writes nothing beside the store, not even a disk cache.
    const cache = cacheFor(readOnly === true && resolved.cache === "disk" ? { ...resolved, cache: "memory" } : resolved, local ? path : store.location);
    // Derived model state is a best-effort cache beside an existing store (read-only commands use it too); a server
    // store's trained model states go to the per-user folder instead, so its processes and codec workers read them
    // rather than each training every snapshot again (review23 C4).
    // A writable SQLite file opened `readOnly` is opened for writing underneath (its search index and WAL are kept up to
    // date there): the engine itself refuses every write call.
    if (local) return new Engine(store, resolved, cache, new DerivedDirectory(path), [], undefined, readOnly === true);
    return new Engine(store, resolved, cache, undefined, [], DerivedDirectory.forServerStore(), readOnly === true);
  }

  /** An engine over any `Store` implementation; the engine closes the store when it closes. */
  static create(parts: T.EngineParts): Engine {
    checkOptionKeys(parts, [...ENGINE_OPTION_KEYS.filter((key) => key !== "db"), "store", "derived", "extraCodecs"]);
    const { store, derived, extraCodecs, ...rest } = parts;
    const resolved = resolveEngineOptions(rest);
    const cache = typeof resolved.cache === "object" ? resolved.cache : cacheFor(resolved.cache === "disk" ? { ...resolved, cache: "memory" } : resolved, store.location);
    return new Engine(store, resolved, cache, derived, extraCodecs);
  }

  /** True when opening this engine made its store (a new file: `memzip` says so on stderr). */
  get createdStore(): boolean {
    return this.store.created === true;
  }

  /** Where the store lives (a path, or a connection string without its secrets). */
  get location(): string {
    return this.store.location;
  }

  async remember(input: MemoryInput, options: T.RememberOptions = {}): Promise<T.RememberResult> {
    const [result] = await this.rememberMany([input], options);
    return result as T.RememberResult;
  }

  /** Stores several memories in one transaction; all or none are written (see `writer`). */
  rememberMany(inputs: readonly MemoryInput[], options: T.RememberOptions = {}): Promise<T.RememberResult[]> {
    return this.tracked(async () => {
      for (const input of inputs) checkInputFields(input);
      const writer = await this.writer(options, inputs.length);
      const plans = await mapConcurrent(inputs, writer.concurrency, (input) => writer.plan(input));
      return writer.commit(plans);
    });
  }

  /** A write session: `plan` encodes and verifies one memory, `commit` writes planned ones in one transaction. */
  writer(options: T.RememberOptions = {}, expected = Infinity): Promise<T.MemoryWriter> {
    return this.writing("remember", () => this.parts.writer.writer(options, expected));
  }

  /**
   * Each running codec worker's own counters: cm snapshots it trained (0 when it read their derived
   * states) and its thread's CPU time (Linux). Empty before the first write on workers. For the
   * calibration and tests; not a stable interface.
   */
  codecWorkerStats(): Promise<WorkerStats[]> {
    return this.parts.codecWorkerStats();
  }

  /** Counters since the engine opened, with the cache's. */
  metricsSnapshot(): EngineCounters {
    return this.parts.metricsSnapshot();
  }

  recall(id: string, options: { mode?: T.RecallMode; namespace?: string } = {}): Promise<string> {
    // recall(id, "ns") would read every namespace: its options are an object.
    if (typeof options !== "object" || options === null) {
      return Promise.reject(new MemzipError(ErrorCode.INVALID_INPUT, `recall's options are an object (got ${options === null ? "null" : typeof options})`, { hint: 'Pass the namespace as recall(id, { namespace: "…" }).' }));
    }
    return this.tracked(() => checked(() => this.parts.reader.recall(id, options), id, options.namespace));
  }

  /** The exact text of a memory row read by `memory` (one read in all, where `memory` then `recall` make two). */
  textOf(memory: StoredMemory): Promise<string> {
    return this.parts.reader.textOf(memory);
  }

  /**
   * The exact texts of several memories in one batch read (search previews): undefined for one that
   * is missing or expired (where `recall` is E_NOT_FOUND); any other failure fails the call.
   */
  texts(refs: readonly { id: string; namespace: string }[]): Promise<(string | undefined)[]> {
    return this.parts.reader.texts(refs);
  }

  recallBytes(id: string, namespace?: string): Promise<Uint8Array> {
    return checked(() => this.parts.reader.recallBytes(id, namespace), id, namespace);
  }

  languageOf(id: string, namespace?: string): Promise<string> {
    return checked(() => this.parts.reader.languageOf(id, namespace), id, namespace);
  }

  /** A memory's row (metadata and envelope): one read when the namespace is given. */
  memory(id: string, namespace?: string): Promise<StoredMemory> {
    return checked(() => this.parts.reader.find(id, namespace), id, namespace);
  }

  locate(id: string, namespace?: string): Promise<string> {
    return checked(() => this.parts.reader.locate(id, namespace), id, namespace);
  }

  /** A memory's summary and entities, if semantic features wrote them. */
  semanticOf(id: string, namespace?: string): Promise<StoredSemantic | undefined> {
    return checked(() => this.parts.reader.semanticOf(id, namespace), id, namespace);
  }

  /** Decodes an envelope with this store's codecs, assets and models. */
  decodeBytes(envelope: Uint8Array, storedLength = 0): Promise<Uint8Array> {
    return this.parts.reader.decodeBytes(envelope, storedLength);
  }

  cacheStats(): CacheStats {
    return this.parts.reader.cacheStats();
  }

  /**
   * Changes a memory's text, kind, tags, meta or expiry (patch semantics; meta as a JSON merge patch,
   * RFC 7396; see `MemoryPatch`); creation time stays. `offload`: code a new text on the worker threads.
   * `ifMatch`: write only while the memory's tag (`memoryTag`) is this one, else `E_PRECONDITION`.
   */
  update(id: string, patch: T.MemoryPatch, namespace?: string, options?: T.UpdateOptions): Promise<T.RememberResult> {
    return this.writing("update", () => this.tracked(() => checked(() => this.parts.writer.update(id, patch, namespace, options), id, namespace)));
  }

  /** Every version of a memory, oldest first, each exact; the last is the current text. */
  history(id: string, namespace?: string): Promise<T.MemoryVersion[]> {
    return checked(() => readHistory(this.store, this.parts.reader, id, namespace), id, namespace);
  }

  /**
   * Deletes a memory and its history; an asset it was the last user of (and that no namespace writes with) goes too.
   * `ifMatch`: only while the memory's tag (`memoryTag`) is this one, else `E_PRECONDITION`, nothing deleted.
   */
  forget(id: string, namespace?: string, options?: { ifMatch?: string }): Promise<void> {
    return this.writing("forget", () => this.tracked(() => checked(() => this.parts.writer.forget(id, namespace, options), id, namespace)));
  }

  /** Deletes every memory the filter matches (an empty filter only with `all`); `dryRun` counts only. */
  forgetWhere(filter: MemoryFilter, options: T.ForgetWhereOptions = {}): Promise<T.ForgetWhereReport> {
    return after(
      () => checkLibraryFilter(filter ?? {}, "forgetWhere filter"),
      () => {
        const run = () => this.tracked(() => forgetWhere(this.store, this.parts.assets, { ...filter, activeAt: this.options.clock() }, options));
        // A dry run only counts: a read-only engine answers it.
        return options?.dryRun === true ? run() : this.writing("forgetWhere", run);
      },
    );
  }

  /** Memories by offset (expired ones left out; prefer `page`). */
  async list(query: ListQuery = {}, options: PageOptions = {}): Promise<MemorySummary[]> {
    checkListQuery(query);
    return (await this.store.memories.list(query, options)).filter((m) => !this.parts.reader.expired(m));
  }

  /**
   * Filtered memories in insertion order, a page at a time (pass the page's `next` back as `cursor`); expired ones are
   * left out. With `skipDamaged`, memories that cannot be read are passed over and named in the page's `damaged`.
   */
  page(query: PageQuery, options: PageOptions = {}): Promise<MemoryPage> {
    return after(
      () => checkPageQuery(query),
      () => this.store.memories.page({ ...query, activeAt: this.options.clock() }, options),
    );
  }

  /** The namespaces that hold memories. */
  namespaces(): Promise<string[]> {
    return this.store.memories.namespaces();
  }

  /** Every memory (of one namespace) with its envelope, in insertion order. */
  scanMemories(namespace?: string, signal?: AbortSignal, filter: Omit<MemoryFilter, "namespaces"> = {}): AsyncIterable<StoredMemory> {
    checkLibraryFilter(filter, "scan filter");
    const active = { ...filter, activeAt: this.options.clock() };
    return this.closable(this.store.memories.scan({ ...(namespace === undefined ? {} : { namespace }), filter: active, ...(signal ? { signal } : {}) }));
  }

  /** Sizes per codec and in total, with the assets the memories need counted apart and in. */
  async stats(namespace?: string): Promise<StoreStats & { derivedBytes: number; modelOutcomes?: ModelOutcomes[] } & Partial<T.ShippedBaseStats>> {
    // Derived model state beside the store (whole store, any namespace): rebuildable, so never counted in the sizes.
    const stored = { ...(await storeStats(this.store, namespace, this.options.clock())), derivedBytes: this.derived?.bytes() ?? 0 };
    // The base models `cm` codes with (cmBase) and the memories coded with one (a `cm` row naming no
    // stored asset): in the package, never in the store nor in its sizes. Listed while cmBase is on or
    // while any memory needs a base.
    const baseCodedByNamespace = await this.store.memories.countWithoutAsset("cm", namespace);
    const baseCodedMemories = baseCodedByNamespace.reduce((sum, n) => sum + n.memories, 0);
    const stats = this.options.cmBase || baseCodedMemories > 0 ? { ...stored, shippedAssets: shippedAssets(), baseCodedMemories, baseCodedByNamespace } : stored;
    // How the model fared per namespace and text class (tries, wins, memories skipped): present once a model was tried.
    const outcomes = this.parts.gate.outcomes(namespace);
    return outcomes.length > 0 ? { ...stats, modelOutcomes: outcomes } : stats;
  }

  /** Bytes of each asset with the memories (of the namespace, or all) that use it. */
  assetUsage(namespace?: string): Promise<AssetUsage[]> {
    return this.store.assets.usage(namespace);
  }

  /** The registered models. */
  models(): Promise<RegisteredModel[]> {
    return this.store.models.list();
  }

  /** Registers a GGUF model file in the store (or renames / relocates one already known). */
  addModel(path: string, name?: string): Promise<RegisteredModel> {
    return this.writing("addModel", () => this.parts.maintenance.addModel(path, name));
  }

  /**
   * Forgets a registered model (by name or fingerprint); its file stays where it is. Refused
   * (E_USAGE, naming how many memories of which namespaces) while memories are coded with it,
   * unless `force`: they then fail with E_MISSING_MODEL until the same file is added again.
   */
  removeModel(nameOrFingerprint: string, options: { force?: boolean; signal?: AbortSignal } = {}): Promise<T.RemovedModel> {
    return this.writing("removeModel", () => this.parts.maintenance.removeModel(nameOrFingerprint, options));
  }

  setPrimingText(text: string, namespace: string = this.options.namespace): Promise<StoredAsset> {
    return this.writing("setPrimingText", () => this.parts.assets.setPrimingText(text, namespace));
  }

  pruneAssets(filter: T.PruneFilter = {}): Promise<T.RemovedAsset[]> {
    return this.writing("pruneAssets", () => this.parts.assets.prune(filter));
  }

  compact(): Promise<T.CompactReport> {
    return this.writing("compact", () => this.parts.maintenance.compact());
  }

  verify(namespace?: string, onProgress?: (event: T.ProgressEvent) => void, signal?: AbortSignal): Promise<T.VerifyReport> {
    return this.parts.maintenance.verify(namespace, onProgress, signal);
  }

  /**
   * Sets aside every part of the store that cannot be read at all (a damaged sealed block of a SQLite store: its
   * bytes are kept apart in the file, never read again), so that the rest of the store works again — its ids can be
   * written anew (import an export or backup that holds them), `compact` runs. Their memories were unreadable
   * already; `verify` lists them first. A store without such parts (PostgreSQL) has nothing to set aside.
   */
  async setAsideDamaged(): Promise<T.SetAsideReport> {
    const report = await this.writing("setAsideDamaged", () => this.parts.maintenance.setAsideDamaged());
    // What the search thread's last search passed over is gone with them (told again by its next search, if still there).
    this.parts.features.forgetDamage();
    return report;
  }

  trainAsset(kind: TrainableAssetKind, namespace: string = this.options.namespace, options: AssetTrainingOptions = {}, signal?: AbortSignal): Promise<T.TrainedAsset> {
    return this.writing("trainAsset", () => this.parts.maintenance.trainAsset(kind, namespace, options, signal));
  }

  /** Shorthand for `trainAsset("zstd-dictionary", …)`. */
  trainDictionary(namespace: string = this.options.namespace, maxBytes?: number): Promise<T.TrainedAsset> {
    return this.trainAsset("zstd-dictionary", namespace, maxBytes === undefined ? {} : { maxBytes });
  }

  recode(namespace: string = this.options.namespace, options: T.RecodeOptions = {}, onProgress?: (event: T.ProgressEvent) => void): Promise<T.RecodeReport> {
    if (options.codec !== undefined && !(WRITE_CODEC_NAMES as readonly unknown[]).includes(options.codec)) {
      return Promise.reject(new MemzipError(ErrorCode.USAGE, `unknown codec ${JSON.stringify(options.codec)} to recode to`, { hint: `Pick one of ${WRITE_CODEC_NAMES.join(", ")}, or leave codec out to recode with the current policy.` }));
    }
    return after(
      () => checkLibraryFilter(options.filter, "recode filter"),
      () => this.writing("recode", () => this.parts.maintenance.recode(namespace, options, onProgress)),
    );
  }

  assetKindsToTrain(namespace: string = this.options.namespace): Promise<TrainableAssetKind[]> {
    return this.parts.maintenance.assetKindsToTrain(namespace);
  }

  importJsonl(path: string, options: T.EngineImportOptions = {}): Promise<T.EngineImportReport> {
    return this.writing("importJsonl", () => this.parts.io.importJsonl(path, options));
  }

  importArrow(bytes: Uint8Array | ArrayBuffer, options: T.EngineImportOptions = {}): Promise<T.EngineImportReport> {
    return this.writing("importArrow", () => this.parts.io.importArrow(bytes, options));
  }

  /** How an import ends (a queued one too, once, by whoever enqueued it): auto-training and recoding when the rules say so. */
  finishImport(namespace = this.options.namespace, options: T.FinishImportsOptions = {}): Promise<T.EngineImportReport["trained"]> {
    return this.writing("finishImport", () => this.parts.io.finishImport(namespace, options));
  }

  /**
   * `finishImport` in each of `namespaces` (a restore that wrote to several), the store compacted
   * once: the namespaces that trained. `options.signal` stops it between steps (`E_ABORTED`, the step in `details.step`).
   */
  finishImports(namespaces: readonly string[], options: T.FinishImportsOptions = {}): Promise<Map<string, T.ImportTraining>> {
    return this.writing("finishImports", () => this.parts.io.finishImports(namespaces, options));
  }

  /**
   * How an import into `own` ends, local or queued: `named` counts the records written for each
   * namespace they named (`noteNamespace`), `rejected` the rejections; `finishImports` in `own` and
   * every other namespace written to, and the report's namespace fields. A stop by the signal is
   * reported in `interrupted`.
   */
  endImport(own: string, named: ReadonlyMap<string, number>, rejected: readonly { namespace?: string }[] = [], options: T.FinishImportsOptions = {}): Promise<T.ImportEnding> {
    return this.writing("endImport", () => this.parts.io.endImport(own, named, rejected, options));
  }

  /** Import jobs, newest first. */
  jobs(limit?: number): Promise<T.ImportJobView[]> {
    return this.parts.io.jobs(limit);
  }

  /** Marks a running import job "interrupted" (its process is stopping at once): `--resume` continues it from its last committed batch. */
  interruptJob(jobId: string): Promise<void> {
    return this.writing("interruptJob", () => this.parts.io.interruptJob(jobId));
  }

  exportMemories(namespace?: string, options: T.ExportOptions = {}): AsyncGenerator<ExportedMemory> {
    return this.closable(this.parts.io.exportMemories(namespace, options));
  }

  exportJsonl(namespace?: string, options: T.ExportOptions = {}): AsyncGenerator<string> {
    return this.closable(this.parts.io.exportJsonl(namespace, options));
  }

  exportArrow(namespace?: string, options: T.ExportOptions = {}): Promise<Uint8Array> {
    return this.tracked(() => this.parts.io.exportArrow(namespace, { ...options, signal: this.untilClose(options.signal) }));
  }

  searchIndex(): Promise<SearchIndex> {
    return this.parts.features.searchIndex();
  }

  searchMemories(query: string, options: EngineSearchOptions = {}): Promise<SearchHit[]> {
    if (typeof query !== "string") return Promise.reject(new MemzipError(ErrorCode.INVALID_INPUT, `a search query is a string (got ${typeof query})`, { hint: "Pass the words to look for as one string." }));
    return after(
      () => checkLibraryFilter(searchFilterOf(options), "search filter"),
      () => this.tracked(() => abortTyped(this.parts.features.searchMemories(query, { ...options, signal: this.untilClose(options.signal) }), options.signal, "the search")),
    );
  }

  /**
   * Memories of these namespaces (every one when neither is given) that search leaves out because
   * their text could not be read when the index last tried (a model or asset missing here, a damaged
   * payload): tried again a minute later, and by every new engine. Empty before the first search.
   */
  unsearchable(scope: { namespace?: string; namespaces?: readonly string[] } = {}): Promise<UnreadableMemory[]> {
    return this.parts.features.unsearchable(scope);
  }

  /** Warms search (a server, at start): the vectors and the most common terms' keyword rows read ahead (bounded; pending memories are left to the first search). Answers do not change. */
  warmSearch(options: SearchWarmLimits = {}): Promise<SearchWarmReport | undefined> {
    return this.parts.features.warmSearch(options);
  }

  relatedMemories(id: string, options: Omit<EngineSearchOptions, "mode"> = {}): Promise<SearchHit[]> {
    return after(
      () => checkLibraryFilter(searchFilterOf(options), "related filter"),
      () => this.tracked(() => abortTyped(this.parts.features.relatedMemories(id, { ...options, signal: this.untilClose(options.signal) }), options.signal, "the related look-up")),
    );
  }

  semanticCosts(): Promise<CostReport | undefined> {
    return this.parts.features.semanticCosts();
  }

  semanticStats(): Promise<SemanticStats | undefined> {
    return this.parts.features.semanticStats();
  }

  /**
   * Stops the imports and trainings under way and waits for them (an import after its batch or step in progress, its
   * report `aborted` and its job marked "interrupted", as at its caller's signal; a training at once: an asset not yet
   * saved is not saved), waits for the writes and reads called before it, stops the searches, related look-ups and Arrow
   * exports in flight (E_USAGE), then closes the store. A call that starts one after this is refused.
   */
  async close(): Promise<void> {
    // Writes and reads called before this finish first (a remember issued just before close was refused "closed").
    // Searches, related look-ups and Arrow exports in flight are stopped (a first index refresh with a model embedder
    // can take minutes, and a server's shutdown has a grace period): they end E_USAGE at their next step.
    this.closing = true;
    this.stopOnClose.abort(engineClosed("the engine closed while this search or export ran"));
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    try {
      await this.parts.close();
      await this.store.close();
    } finally {
      this.releaseModels();
    }
  }

  /** Set by `close`: calls after it are refused (E_USAGE); the ones before it are waited for. */
  private closing = false;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Aborted by `close`: the signal of the long reads it stops rather than waits out (`untilClose`). */
  private readonly stopOnClose = new AbortController();

  /** The caller's signal, if any, joined with the one `close` aborts. */
  private untilClose(signal: AbortSignal | undefined): AbortSignal {
    return signal === undefined ? this.stopOnClose.signal : AbortSignal.any([signal, this.stopOnClose.signal]);
  }

  /** `work`, a call that writes: refused (E_USAGE, nothing written) by an engine opened `readOnly`. */
  private writing<R>(call: string, work: () => Promise<R>): Promise<R> {
    return this.readOnly ? Promise.reject(readOnlyRefusal(call)) : work();
  }

  /**
   * An iteration over the store (export, scan): refused once the engine is closing, and ended with the same E_USAGE
   * at its next step after a close (the caller stopped reading for a while; `close` does not wait for a reader that
   * may never come back). Its steps under way finish first.
   */
  private async *closable<T>(items: AsyncIterable<T>): AsyncGenerator<T> {
    if (this.closing) throw engineClosed("the engine is closed");
    const iterator = items[Symbol.asyncIterator]();
    try {
      for (;;) {
        if (this.closing) throw engineClosed("the engine closed while this export or scan was still being read");
        const step = this.tracked(() => iterator.next());
        const { done, value } = await step;
        if (done === true) return;
        yield value;
      }
    } finally {
      // A closed store has nothing left to release (and its iterator would fail untyped).
      if (!this.closing) await iterator.return?.();
    }
  }

  /** `work`, which `close` waits for; refused once the engine is closing. */
  private tracked<R>(work: () => Promise<R>): Promise<R> {
    if (this.closing) return Promise.reject(engineClosed("the engine is closed"));
    const running = work();
    this.inFlight.add(running);
    const done = () => this.inFlight.delete(running);
    running.then(done, done);
    return running;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The store file a command that only changes stores was pointed at is missing (the SQLite store's own words for a read). */
function missingStore(path: string): MemzipError {
  return new MemzipError(ErrorCode.NOT_FOUND, `there is no store at ${path}`, {
    hint: "Check --db / MEMZIP_DB; a store is created by the first write (`memzip add` or `memzip import`).",
    details: { path },
  });
}

/** `work` once the id and namespace a library caller passed are a string and a string or nothing (else a rejected E_INVALID_INPUT). */
function checked<T>(work: () => Promise<T>, id: unknown, namespace: unknown): Promise<T> {
  return after(() => checkMemoryRef(id, namespace), work);
}

/** `work` once `check` passes; what `check` throws is the returned promise's rejection (a library caller's bad argument). */
function after<T>(check: () => void, work: () => Promise<T>): Promise<T> {
  try {
    check();
  } catch (error) {
    return Promise.reject(error as Error);
  }
  return work();
}

/** A search's filter with its namespaces, as `checkLibraryFilter` reads it. */
function searchFilterOf(options: Omit<EngineSearchOptions, "mode">): unknown {
  checkSearchOptions(options);
  return { ...options.filter, ...(options.namespaces === undefined ? {} : { namespaces: options.namespaces }) };
}

/**
 * A library caller's search or related options, as the types say (the server's and the CLI's are checked at their own
 * doors): a limit of 1 or more (-1 returned all hits but the last), a mode search knows (an unknown one ran hybrid), a
 * floor from -1 to 1, namespaces as strings, and no namespaces in the filter (a caller who scoped by them got every
 * namespace's hits).
 */
function checkSearchOptions(options: Omit<EngineSearchOptions, "mode"> & { mode?: unknown }): void {
  const refuse = (message: string, hint: string) => {
    throw new MemzipError(ErrorCode.INVALID_INPUT, `invalid search options: ${message}`, { hint });
  };
  if (typeof options !== "object" || options === null || Array.isArray(options)) refuse("pass an object", "Pass { limit, mode, namespace, namespaces, minSimilarity, filter }, each optional.");
  const { limit, mode, minSimilarity, namespace, namespaces, filter } = options;
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 1)) refuse(`limit ${String(limit)} is not a whole number of 1 or more`, "Pass the number of hits wanted, such as limit: 10.");
  if (mode !== undefined && !(SEARCH_MODES as readonly unknown[]).includes(mode)) refuse(`mode ${JSON.stringify(mode)} is not one of ${SEARCH_MODES.join(", ")}`, `Pick one of ${SEARCH_MODES.join(", ")} (hybrid when left out).`);
  if (minSimilarity !== undefined && !(typeof minSimilarity === "number" && minSimilarity >= -1 && minSimilarity <= 1)) refuse(`minSimilarity ${String(minSimilarity)} is not a number from -1 to 1`, "Pass a cosine from -1 to 1, or leave it out for the embedder's default.");
  if (namespace !== undefined && typeof namespace !== "string") refuse(`namespace is a ${typeof namespace}`, 'Pass the namespace\'s name as a string (namespace: "team").');
  if (namespaces !== undefined && !(Array.isArray(namespaces) && namespaces.every((n) => typeof n === "string"))) refuse("namespaces is not a list of strings", 'Pass namespaces: ["a", "b"].');
  // The filter's type has no namespaces; a caller who scopes by it anyway must not get every namespace's hits.
  if (typeof filter === "object" && filter !== null && (filter as MemoryFilter).namespaces !== undefined) {
    refuse("the filter takes no namespaces: they are a search option", 'Pass searchMemories(query, { namespaces: ["a", "b"] }) (or namespace: "a"), with the other filters in filter.');
  }
}

/** A library caller's page query: a filter `checkLibraryFilter` reads, a whole limit of 1 or more, a cursor that is a string. */
/**
 * What `remember` checks before planning beyond the writer's own checks: an object, and new tags held to the rules of new
 * tags. Other fields are ignored, as before (records read from a file carry more; an import keeps them in meta).
 */
function checkInputFields(input: MemoryInput): void {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new MemzipError(ErrorCode.INVALID_INPUT, `a memory is an object with a text (got ${input === null ? "null" : Array.isArray(input) ? "an array" : typeof input})`, { hint: 'Pass { text: "…" } and optional id, namespace, kind, tags, meta, createdAt, expiresAt.' });
  }
  // New tags: no empty tag, no control character (an import keeps an older export's as they are).
  const tagsRefused = input.tags == null ? undefined : tagsProblem(input.tags, true);
  if (tagsRefused) throw new MemzipError(ErrorCode.INVALID_INPUT, tagsRefused, { hint: "Keep a memory's tags short printable labels; put other data in meta." });
}

/** `list`'s query: an unknown key (a tag filter, which `page` takes) or a limit that is not a whole number is refused, not ignored or passed to SQL. */
function checkListQuery(query: ListQuery): void {
  const refuse = (message: string, hint = "list takes namespace, kind, limit (a whole number of 1 or more) and offset (0 or more); page() takes the filters.") => {
    throw new MemzipError(ErrorCode.INVALID_INPUT, `invalid list query: ${message}`, { hint });
  };
  if (typeof query !== "object" || query === null || Array.isArray(query)) refuse("pass an object");
  const unknown = Object.keys(query).find((key) => !["namespace", "kind", "limit", "offset"].includes(key));
  if (unknown !== undefined) refuse(`it has no key ${JSON.stringify(unknown)}`);
  if (query.namespace !== undefined && typeof query.namespace !== "string") refuse("namespace is a string");
  if (query.kind !== undefined && !(MEMORY_KINDS as readonly unknown[]).includes(query.kind)) refuse(`kind is one of ${MEMORY_KINDS.join(", ")}`);
  if (query.limit !== undefined && (!Number.isSafeInteger(query.limit) || query.limit < 1)) refuse(`limit ${JSON.stringify(query.limit) ?? String(query.limit)} is not a whole number of 1 or more`);
  if (query.offset !== undefined && (!Number.isSafeInteger(query.offset) || query.offset < 0)) refuse(`offset ${JSON.stringify(query.offset) ?? String(query.offset)} is not a whole number of 0 or more`);
}

function checkPageQuery(query: PageQuery): void {
  const { limit, cursor, ...filter } = query ?? {};
  checkLibraryFilter(filter, "page query");
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new MemzipError(ErrorCode.INVALID_INPUT, `invalid page query limit: ${JSON.stringify(limit) ?? String(limit)} is not a whole number of 1 or more`, { hint: "Pass limit: the most memories one page holds (e.g. 100); the page's next is the cursor of the one after." });
  }
  if (cursor !== undefined && typeof cursor !== "string") throw new MemzipError(ErrorCode.INVALID_INPUT, "invalid page query cursor: pass back a page's next, a string", { hint: "Leave cursor out for the first page." });
}

function readOnlyRefusal(call: string): MemzipError {
  return new MemzipError(ErrorCode.USAGE, `${call} writes, and this engine was opened read-only (readOnly: true): nothing was written`, {
    hint: "Open the store without readOnly to write (Engine.open({ db })); a read-only engine reads, lists, searches and exports.",
    details: { call },
  });
}

/** The key repository of a read-only engine: listing and look-ups as usual, creating and revoking refused. */
function refusingKeyWrites(keys: KeyRepository): KeyRepository {
  return {
    put: () => Promise.reject(readOnlyRefusal("keys.create")),
    revoke: () => Promise.reject(readOnlyRefusal("keys.revoke")),
    byHash: (hash) => keys.byHash(hash),
    list: () => keys.list(),
  };
}

/** A call stopped by its caller's signal fails E_ABORTED (the signal's own reason, a DOMException by default, was passed on untyped). */
async function abortTyped<T>(work: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (signal?.aborted !== true || error !== signal.reason || isMemzipError(error)) throw error;
    throw new MemzipError(ErrorCode.ABORTED, `${what} was stopped by its caller's signal`, { hint: "Call it again with a signal that is not aborted.", cause: error });
  }
}

function engineClosed(message: string): MemzipError {
  return new MemzipError(ErrorCode.USAGE, message, { hint: "Open a new engine (Engine.open) for more work; close() waits for the calls made before it." });
}
