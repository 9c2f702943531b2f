/**
 * Features beside the exact store: the semantic layer (summaries, entities, rebuilt texts, their
 * costs) and the search index over the store (embedding similarity fused with keywords).
 */
import type { SemanticRecord } from "../semantic/summary.js";
import { memoryKey, narrowsBeyondNamespaces, pagedMemories, type MemoryFilter, type Store, type StoredMemory } from "../core/store.js";
import { decodeStoredText } from "../codec/text.js";
import { ErrorCode, MemzipError, isOneMemoryError } from "../errors.js";
import type { ResolvedEngineOptions } from "../engine-options.js";
import type { CostReport } from "../model/costs.js";
import { LlamaEmbedder } from "../model/llama-embedder.js";
import type { ModelRouter } from "../model/router.js";
import type { Metrics } from "../pipeline/metrics.js";
import { SearchIndex, type IndexSourceResult, type UnreadableSource, type UnreadableMemory, type IndexProgress, type SearchHit, type SearchOptions, type SearchWarmLimits, type SearchWarmReport } from "../search/search.js";
import { SemanticLayer } from "../semantic/semantic.js";
import { isLocalStoreFile } from "../store/open.js";
import { SearchThread } from "./search-thread.js";
import { inAssetOrder } from "./rows.js";
import type { HashedNgramEmbedder } from "../search/similarity.js";

/** Search options with index progress and cancellation of the refresh. */
export type EngineSearchOptions = Omit<SearchOptions, "only"> & {
  onIndex?: (progress: IndexProgress) => void;
  signal?: AbortSignal;
  /** Kind, tags and time range, applied before ranking (namespaces: use `namespaces`). */
  filter?: Omit<MemoryFilter, "namespaces">;
};

export type SemanticStats = { fallbacks: number; skipped: number; described: number; entityFallbacks: number; json: SemanticLayer["json"]; backends: ReturnType<ModelRouter["stats"]>; events: ModelRouter["events"] };

export interface FeatureParts {
  store: Store;
  options: ResolvedEngineOptions;
  metrics: Metrics;
  /** The embedder when no search model is configured (also used to group similar writes). */
  embedder: HashedNgramEmbedder;
  /** The exact bytes of a memory already read (through the cache). */
  bytesOf: (memory: StoredMemory) => Promise<Uint8Array>;
  locate: (id: string, namespace?: string) => Promise<string>;
}

/** A memory whose text cannot be read (its model or asset missing here, its payload damaged) is left out of the index for now; any other failure fails the refresh. */
function unreadableOf(error: unknown): UnreadableSource {
  if (!isOneMemoryError(error)) throw error;
  return { unreadable: { code: error.code, message: error.message, ...(error.hint === undefined ? {} : { hint: error.hint }) } };
}

export class Features {
  private semanticLoading: Promise<SemanticLayer> | undefined;
  private searchLoading: Promise<SearchIndex> | undefined;
  private searchEmbedder: LlamaEmbedder | undefined;
  private searchThread: SearchThread | undefined;
  private closed = false;

  constructor(private readonly parts: FeatureParts) {}

  /** After close nothing new is loaded: a model or client made then would never be closed. */
  private static closedError(): MemzipError {
    return new MemzipError(ErrorCode.USAGE, "the engine is closed", { hint: "Open a new engine (Engine.open) for more work." });
  }

  semanticLayer(): Promise<SemanticLayer | undefined> {
    const options = this.parts.options.semantic;
    if (!options) return Promise.resolve(undefined);
    if (this.closed) return Promise.reject(Features.closedError());
    this.semanticLoading ??= SemanticLayer.create(options, { retries: this.parts.options.profile.retries, rateLimit: this.parts.options.profile.rateLimit });
    return this.semanticLoading;
  }

  async describe(text: string, kind: string, language: string): Promise<{ status: "on"; record: SemanticRecord } | { status: "off" | "skipped"; reason?: string }> {
    const layer = await this.semanticLayer();
    if (!layer) return { status: "off" };
    const described = await layer.describe(text, kind, language);
    this.parts.metrics.add(described.status === "on" ? "semanticOn" : "semanticSkipped");
    return described;
  }

  /** Model usage and what it cost, per backend, with the local run's savings against the cloud price. */
  async semanticCosts(): Promise<CostReport | undefined> {
    const layer = await this.semanticLayer();
    const counters = this.parts.metrics.snapshot();
    return layer?.costs(counters.memoriesStored + counters.memoriesUpdated);
  }

  /** Router counters (calls, failures, fallbacks, circuit states) when semantic features are configured. */
  async semanticStats(): Promise<SemanticStats | undefined> {
    const layer = await this.semanticLayer();
    if (!layer) return undefined;
    return { fallbacks: layer.router.fallbacks, skipped: layer.skipped, described: layer.described, entityFallbacks: layer.entityFallbacks, json: { ...layer.json }, backends: layer.router.stats(), events: layer.router.events };
  }

  /**
   * The store's search index over the configured embedder (`searchEmbedder`, else `ngram-256`);
   * memories are indexed on demand. The embedding model loads on first use.
   */
  searchIndex(): Promise<SearchIndex> {
    const { options, store } = this.parts;
    if (this.closed) return Promise.reject(Features.closedError());
    this.searchLoading ??= (async () => {
      const path = options.searchEmbedder;
      if (path) this.searchEmbedder = await LlamaEmbedder.load(path, { gpu: options.llm.gpu, threads: options.llm.threads });
      return new SearchIndex(
        store.search,
        this.searchEmbedder ?? this.parts.embedder,
        async (refs) => {
          const memories = await store.memories.getMany(refs);
          // Summaries are read a slice at a time, side by side (a server store runs them on its pool); the texts are
          // decoded grouped by asset (`inAssetOrder`: in seq order a store's namespaces interleave, each switch a model load).
          return inAssetOrder(memories, async (memory, i): Promise<IndexSourceResult> => {
            const { namespace, id } = refs[i] as { namespace: string; id: string };
            if (!memory) return undefined;
            const [semantic, bytes] = await Promise.all([store.memories.getSemantic(namespace, id), this.parts.bytesOf(memory).catch((error: unknown) => unreadableOf(error))]);
            if (!(bytes instanceof Uint8Array)) return bytes;
            const text = decodeStoredText(bytes);
            return semantic ? { text, summary: semantic.summary, entities: semantic.entities.map((e) => e.text) } : { text };
          });
        },
        { vectors: options.searchVectors },
      );
    })();
    this.searchLoading.catch(() => (this.searchLoading = undefined));
    return this.searchLoading;
  }

  /**
   * Memories matching `query`: embedding similarity over summaries and entities (or texts) fused
   * with keyword search. Indexes what is not indexed yet first (`onIndex` reports that progress).
   */
  async searchMemories(query: string, options: EngineSearchOptions = {}): Promise<SearchHit[]> {
    const index = await this.searchIndex();
    await index.refresh(options.onIndex, options.signal);
    const admitted = await this.admitted(options);
    const thread = this.thread(index);
    if (!thread) return index.search(query, { ...options, ...admitted });
    const { limit, namespace, namespaces, mode, minSimilarity } = options;
    return thread.search(query, { ...admitted, ...(limit === undefined ? {} : { limit }), ...(namespace === undefined ? {} : { namespace }), ...(namespaces === undefined ? {} : { namespaces }), ...(mode === undefined ? {} : { mode }), ...(minSimilarity === undefined ? {} : { minSimilarity }) });
  }

  /** Drops what the search thread's last search passed over (damaged blocks set aside since). */
  forgetDamage(): void {
    if (this.searchThread) this.searchThread.damaged = [];
  }

  /** The memories the index left out because their text could not be read (`SearchIndex.unreadable`), of these namespaces. */
  async unsearchable(scope: { namespace?: string; namespaces?: readonly string[] }): Promise<UnreadableMemory[]> {
    const index = await this.searchLoading?.catch(() => undefined);
    if (!index) return [];
    // Damaged places met by this thread's reads or the search thread's (each names a place once).
    const places = new Map<string, UnreadableMemory>();
    for (const place of [...(await index.damaged()), ...(this.searchThread?.damaged ?? [])]) places.set(memoryKey(place.namespace, place.id), place);
    const wanted = scope.namespace !== undefined ? new Set([scope.namespace]) : scope.namespaces && new Set(scope.namespaces);
    return [...index.unreadable(), ...places.values()].filter((memory) => wanted === undefined || wanted.has(memory.namespace));
  }

  /**
   * Warms search at start: loads the vectors and the keyword rows of the store's most common terms
   * into the index that answers searches (the search thread's, when there is one). Bounded
   * (`SearchIndex.warm`); searches are answered meanwhile. Answers do not change. It indexes
   * nothing: looking for pending memories scans the store on this thread (~0.5 s at 10^5, which
   * would hold up the first recalls after a restart); the first search does it, as without warming.
   */
  async warmSearch(options: SearchWarmLimits = {}): Promise<SearchWarmReport | undefined> {
    const { signal, ...limits } = options;
    const index = await this.searchIndex();
    signal?.throwIfAborted();
    const thread = this.thread(index);
    return thread ? thread.warm(limits) : index.warm(options);
  }

  /** The search thread, when configured and this store and embedder allow one (a SQLite file, the built-in embedder). */
  private thread(index: SearchIndex): SearchThread | undefined {
    const { options, store, embedder } = this.parts;
    // A read-only store may be a private copy (`searchable`): the thread would read the file at the location instead.
    if (!options.searchThread || options.searchEmbedder || !isLocalStoreFile(store.location) || store.readOnly || this.closed) return undefined;
    if (!this.searchThread) {
      const thread = new SearchThread({ path: store.location, dimensions: embedder.dimensions, vectors: options.searchVectors }, store.search, index.key);
      this.searchThread = thread;
      // What this engine indexes from now on reaches the thread with the next search, so its keyword lists follow the writes.
      index.onIndexed = (seq, terms) => thread.indexed(seq, terms);
    }
    return this.searchThread;
  }

  /**
   * What a search may return besides its namespaces: with a filter, the memories it admits (read a
   * page at a time; expired ones never are); without one, every memory but the expired ones not yet
   * removed (found through the expiry index: none, or a few, in a store `compact` keeps clean).
   */
  private async admitted(options: EngineSearchOptions): Promise<{ only?: Set<string>; except?: Set<string> }> {
    const { filter } = options;
    const namespaces = options.namespaces ?? (options.namespace === undefined ? undefined : [options.namespace]);
    const scope = namespaces ? { namespaces } : {};
    const now = this.parts.options.clock();
    const keys = async (query: MemoryFilter): Promise<Set<string>> => {
      const found = new Set<string>();
      // A memory that cannot be read (a damaged sealed block) is not indexed either: passed over (`unsearchable` counts it).
      for await (const m of pagedMemories(this.parts.store.memories, query, 2000, { skipDamaged: true })) {
        options.signal?.throwIfAborted();
        found.add(memoryKey(m.namespace, m.id));
      }
      return found;
    };
    if (!filter || !narrowsBeyondNamespaces(filter)) {
      const except = await keys({ ...scope, expiredBy: now });
      return except.size > 0 ? { except } : {};
    }
    return { only: await keys({ ...filter, ...scope, activeAt: now }) };
  }

  /** Memories most like the memory `id`, by embedding similarity. */
  async relatedMemories(id: string, options: Omit<EngineSearchOptions, "mode"> = {}): Promise<SearchHit[]> {
    const namespace = await this.parts.locate(id, options.namespace);
    const index = await this.searchIndex();
    await index.refresh(options.onIndex, options.signal);
    return index.related(id, namespace, { ...options, ...(await this.admitted(options)) });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.searchThread?.close();
    if (this.semanticLoading) await (await this.semanticLoading.catch(() => undefined))?.close();
    if (this.searchLoading) await this.searchLoading.catch(() => undefined);
    await this.searchEmbedder?.close();
  }
}
