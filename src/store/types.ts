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
  /** Detected language of the text: "en", "zh", ... or "und". */
  language?: string;
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
}

/** A memory's semantic features: lossy, beside the exact envelope. */
export interface StoredSemantic {
  summary: string;
  entities: { type: string; text: string; start: number; end: number }[];
  /** `backend/model` that wrote the summary. */
  source: string;
}

export type MemorySummary = Omit<StoredMemory, "envelope" | "contentHash" | "semantic">;

/** A memory that holds the envelope for a text (not a reference to another). */
export interface ContentHolder {
  id: string;
  codec: string;
  storedBytes: number;
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

/** One memory's row in the search index: its float16 vector (named by embedder) and keyword terms. */
export interface SearchIndexEntry {
  seq: number;
  embedder: string;
  vector: Uint8Array;
  /** Space-separated search terms (already normalised). */
  terms: string;
}

/** Every indexed vector of one embedder, in insertion order. */
export interface IndexedVectors {
  ids: string[];
  namespaces: string[];
  vectors: Uint8Array[];
}

/** The search index a store keeps beside its memories. */
export interface SearchIndexStore {
  /** Memories with no vector from `embedder` yet (new, rewritten, or indexed by another embedder). */
  pending(embedder: string, limit: number): { seq: number; id: string }[];
  countPending(embedder: string): number;
  put(entries: readonly SearchIndexEntry[]): void;
  vectors(embedder: string): IndexedVectors;
  vectorOf(id: string, embedder: string): Uint8Array | undefined;
  /** Keyword matches, best first (BM25); `match` is an FTS5 query. */
  keyword(match: string, limit: number): { id: string; namespace: string }[];
  /** Memories whose terms include `term`. */
  documentFrequency(term: string): number;
  indexedCount(): number;
  /** Changes whenever the index may have changed, from this process or another. */
  version(): string;
  vectorBytes(): number;
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
  /** A memory's summary and entities, if it has them. */
  getSemantic(id: string): StoredSemantic | undefined;
  /** The memory holding the envelope for a text with this content hash, if any. */
  findContent(contentHash: Uint8Array): ContentHolder | undefined;
  getMemory(id: string): StoredMemory | undefined;
  /** Checksum and length of the memories that exist among `ids`, for skipping unchanged re-imports. */
  fingerprints(ids: readonly string[]): Map<string, { checksum: number; originalLength: number }>;
  deleteMemory(id: string): boolean;
  listMemories(query: ListQuery): MemorySummary[];
  /** Streams every memory (optionally of one namespace) in insertion order. */
  iterateMemories(namespace?: string): IterableIterator<StoredMemory>;
  countMemories(namespace?: string): number;
  usageByCodec(namespace?: string): CodecUsage[];
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
  /** Removes an asset; the caller makes sure no memory needs it. */
  deleteAsset(assetId: string): void;
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
