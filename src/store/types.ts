import type { Asset, AssetKind } from "../codec/codec.js";

export const MEMORY_KINDS = ["note", "chat", "meeting", "feedback", "doc", "code"] as const;
export type MemoryKind = (typeof MEMORY_KINDS)[number];

/** One memory as the store keeps it: metadata plus the envelope, never the plain text. */
export interface StoredMemory {
  id: string;
  namespace: string;
  kind: MemoryKind;
  tags: string[];
  /** Milliseconds since the epoch. */
  createdAt: number;
  meta: Record<string, unknown>;
  codec: string;
  envelope: Uint8Array;
  originalLength: number;
  /** XXH32 of the original bytes (also inside the envelope); lets re-imports skip unchanged records. */
  checksum: number;
  /** The asset the envelope depends on, if any. */
  assetId: string | null;
  /**
   * Hash of the exact text (`contentHash` in engine.ts). A write whose text another memory already
   * holds is stored as a reference to it: the store keeps one envelope for both.
   */
  contentHash?: Uint8Array;
  /** On reads: the memory whose envelope this one shares, or null when it holds its own. */
  contentOf?: string | null;
  /** On writes: a summary and entities to keep beside the envelope (replaces any earlier ones). */
  semantic?: StoredSemantic;
  /** The text's language ("en", "zh", ... or "und"), when known. */
  language?: string;
  /** On reads: the row's version; every write raises it (maintenance writes compare it first). */
  version?: number;
}

/** Key of a memory in sets and maps: ids are unique within a namespace only. */
export function memoryKey(namespace: string, id: string): string {
  return `${namespace}\u0000${id}`;
}

/** A maintenance rewrite of one envelope (recode): applied only while the row is still at `version`. */
export interface EnvelopeUpdate {
  namespace: string;
  id: string;
  version: number;
  codec: string;
  envelope: Uint8Array;
  assetId: string | null;
}

/**
 * Byte accounting of a store or one namespace. Whole store: every envelope and asset counted once.
 * One namespace: its envelopes, plus the envelope of each text it reads that another namespace
 * holds (charged in full, once per text), plus the assets its memories need (in full).
 */
export interface Footprint {
  memories: number;
  originalBytes: number;
  envelopeBytes: number;
  /** Assets that some memory (of the namespace asked about) needs. */
  assetBytes: number;
  /** Assets no memory needs (of the namespace: those trained for it). */
  unusedAssetBytes: number;
}

/** A memory's semantic features: lossy, beside the exact envelope. */
export interface StoredSemantic {
  summary: string;
  entities: { type: string; text: string; start: number; end: number }[];
  /** `backend/model` that wrote the summary. */
  source: string;
}

export type MemorySummary = Omit<StoredMemory, "envelope" | "contentHash" | "semantic" | "version">;

/** A memory that holds the envelope for a text (not a reference to another). */
export interface ContentHolder {
  namespace: string;
  id: string;
  codec: string;
  storedBytes: number;
  /** The holder's envelope, so a writer can check that it really decodes to its bytes. */
  envelope: Uint8Array;
}

export interface StoredAsset extends Asset {
  namespace: string | null;
  createdAt: number;
  meta: Record<string, unknown>;
}

export interface CodecUsage {
  codec: string;
  memories: number;
  originalBytes: number;
  storedBytes: number;
}

export interface AssetUsage {
  id: string;
  kind: AssetKind;
  /** The namespace the asset was trained for. */
  namespace: string | null;
  size: number;
  /** Memories (of the namespace asked about, or all) whose envelopes need this asset. */
  memories: number;
}

/** An import's durable progress: where in its source the last committed batch ended. */
export interface ImportJob {
  id: string;
  kind: "jsonl";
  /** Absolute path of the source, with its size and modification time when the job started. */
  source: string;
  sourceSize: number;
  sourceMtime: number;
  namespace: string;
  status: "running" | "done" | "interrupted" | "failed";
  /** Byte offset just past the last line of the last committed batch. */
  position: number;
  /** Lines read up to `position`. */
  line: number;
  startedAt: number;
  updatedAt: number;
}

/** A GGUF model file the store knows by content (sha256) and by a name. */
export interface RegisteredModel {
  /** Hex sha256 of the file. */
  fingerprint: string;
  name: string;
  /** Absolute path where the file was last seen, with its size and modification time then. */
  path: string;
  size: number;
  mtime: number;
  architecture: string;
  vocabularySize: number;
  contextLength: number;
  addedAt: number;
}

/**
 * What an `llm` payload was evaluated with besides the model: the inference runtime (versions,
 * backend, CPU kernels or GPU) and the coding settings. Its id is the sha256 of both.
 */
export interface EngineRecord {
  id: string;
  runtime: string;
  settings: { topK: number; windowTokens: number; carryTokens: number };
  createdAt: number;
}

export interface ListQuery {
  namespace?: string;
  kind?: MemoryKind;
  limit?: number;
  offset?: number;
}

/** One memory's row in the search index: its encoded vector and keyword terms. */
export interface SearchIndexEntry {
  seq: number;
  vector: Uint8Array;
  /** Space-separated search terms (already normalised). */
  terms: string;
}

/** Every indexed vector, in insertion order. */
export interface IndexedVectors {
  seqs: number[];
  ids: string[];
  namespaces: string[];
  vectors: Uint8Array[];
}

/** Bytes the search index's tables take in the store file (whole pages). */
export interface SearchIndexBytes {
  vectors: number;
  terms: number;
  other: number;
}

/**
 * The search index a store keeps beside its memories. It holds one index key (the embedder and
 * vector encoding that made it); writing under another key drops the index first.
 */
export interface SearchIndexStore {
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
  readonly search: SearchIndexStore;
  close(): void;
}
