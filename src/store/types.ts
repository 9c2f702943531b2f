/**
 * The synchronous SQLite-era store interface, kept while the code moves to the asynchronous
 * contract in `core/store.ts` (which also holds the data types re-exported here).
 */
export * from "../core/store.js";
import type { AssetKind } from "../codec/codec.js";
import type {
  AssetUsage, CodecUsage, ContentHolder, EngineRecord, EnvelopeUpdate, Footprint, ImportJob, IndexedVectors, ListQuery, MemorySummary,
  RegisteredModel, SearchIndexBytes, SearchIndexEntry, StoredAsset, StoredMemory, StoredSemantic,
} from "../core/store.js";

/**
 * The search index a store keeps beside its memories. It holds one index key (the embedder and
 * vector encoding that made it); writing under another key drops the index first.
 */
export interface SyncSearchIndexStore {
  /** Memories with no vector under `key` yet (new, rewritten, or all when the index holds another key). */
  pending(key: string, limit: number): { seq: number; id: string; namespace: string }[];
  countPending(key: string): number;
  put(key: string, entries: readonly SearchIndexEntry[]): void;
  /** The vectors stored under `key` (none when the index holds another key). */
  vectors(key: string): IndexedVectors;
  /** Seqs of the memories whose terms include `term`. */
  matching(term: string): number[];
  /** Memories whose terms include `term`. */
  documentFrequency(term: string): number;
  indexedCount(): number;
  /** Changes whenever the index may have changed, from this process or another. */
  version(): string;
  /** Bytes of vector payload (without row and page overhead). */
  vectorBytes(): number;
  bytes(): SearchIndexBytes;
  /** Merges the keyword index into one segment (worth it after a large build: smaller and faster). */
  compact(): void;
  clear(): void;
}

/** Where memories live. A batch write is atomic: after a crash, whole batches or nothing. */
export interface MemoryStore {
  readonly location: string;
  /**
   * Writes memories in one transaction. A memory whose `contentHash` another memory already holds
   * becomes a reference to it; returns the ids written that way.
   */
  putMemories(memories: readonly StoredMemory[]): Set<string>;
  /** Maintenance rewrites: each applies only if its row is unchanged since it was read; returns how many applied. */
  replaceEnvelopes(updates: readonly EnvelopeUpdate[]): number;
  /** A memory's summary and entities, if it has them. */
  getSemantic(namespace: string, id: string): StoredSemantic | undefined;
  /** The memory holding the envelope for a text with this content hash, checksum and length, if any. */
  findContent(contentHash: Uint8Array, checksum: number, originalLength: number): ContentHolder | undefined;
  getMemory(namespace: string, id: string): StoredMemory | undefined;
  /** The namespaces holding a memory with this id. */
  namespacesOf(id: string): string[];
  /** Checksum and length of the memories of a namespace that exist among `ids`, for skipping unchanged re-imports. */
  fingerprints(namespace: string, ids: readonly string[]): Map<string, { checksum: number; originalLength: number }>;
  deleteMemory(namespace: string, id: string): boolean;
  listMemories(query: ListQuery): MemorySummary[];
  /** Streams every memory (optionally of one namespace) in insertion order. */
  iterateMemories(namespace?: string): IterableIterator<StoredMemory>;
  countMemories(namespace?: string): number;
  usageByCodec(namespace?: string): CodecUsage[];
  /** Bytes of memories, envelopes and assets (see Footprint for how shared texts are charged). */
  footprint(namespace?: string): Footprint;
  /** Bytes on disk: the database file and its write-ahead log; and the bytes of the search index's tables. */
  diskUsage(): { fileBytes: number; indexBytes: number };
  /** Checkpoints the write-ahead log into the file and rebuilds the file without free pages. */
  compact(): void;
  namespaces(): string[];
  putAsset(asset: StoredAsset): void;
  getAsset(id: string): StoredAsset | undefined;
  /** Finds an asset by the reference (first id bytes) an envelope carries. */
  getAssetByRef(ref: Uint8Array): StoredAsset | undefined;
  listAssets(): StoredAsset[];
  /** Bytes of each asset, with the number of memories that use it. */
  assetUsage(namespace?: string): AssetUsage[];
  activeAsset(namespace: string, kind: AssetKind): string | undefined;
  setActiveAsset(namespace: string, kind: AssetKind, assetId: string): void;
  /** Whether some namespace writes new memories with this asset. */
  isActiveAsset(assetId: string): boolean;
  /** How many memories the namespace's asset of this kind learned from (kept after the asset is pruned). */
  assetLearnedFrom(namespace: string, kind: AssetKind): number;
  /**
   * Removes an asset if no memory needs it (checked in the same statement, so a concurrent writer
   * cannot lose it); a namespace writing with it stops doing so. Returns whether it was removed.
   */
  deleteAsset(assetId: string): boolean;
  /** Registers a model, or updates the name, path, size and mtime of one already known. */
  putModel(model: RegisteredModel): void;
  /** A model by name or by full fingerprint. */
  getModel(nameOrFingerprint: string): RegisteredModel | undefined;
  /** A model by the reference (first fingerprint bytes) an envelope carries. */
  getModelByRef(ref: Uint8Array): RegisteredModel | undefined;
  listModels(): RegisteredModel[];
  putEngine(engine: EngineRecord): void;
  getEngineByRef(ref: Uint8Array): EngineRecord | undefined;
  createJob(job: ImportJob): void;
  updateJob(id: string, changes: Partial<Pick<ImportJob, "status" | "position" | "line">>): void;
  getJob(id: string): ImportJob | undefined;
  listJobs(limit?: number): ImportJob[];
  /** The store's search index. */
  readonly search: SyncSearchIndexStore;
  close(): void;
}
