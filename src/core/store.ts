/**
 * The store contract: the data a store keeps and the asynchronous, per-aggregate interface every
 * store implements. Nothing here names a storage engine.
 */
import type { Asset, AssetKind } from "../codec/codec.js";
import type { MixTuning } from "../codec/llm-mix.js";
import type { MemzipError } from "../errors.js";

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
  /** When the memory expires (ms since the epoch): reads skip it from then on and `compact` deletes it. Absent: never. */
  expiresAt?: number;
  meta: Record<string, unknown>;
  codec: string;
  envelope: Uint8Array;
  originalLength: number;
  /** XXH32 of the original bytes (also inside the envelope); lets re-imports skip unchanged records. */
  checksum: number;
  /** The asset the envelope depends on, if any. */
  assetId: string | null;
  /**
   * Hash of the exact text (`contentHash` in engine.ts). A write whose text another memory of its
   * namespace already holds is stored as a reference to it: the store keeps one envelope for both.
   */
  contentHash?: Uint8Array;
  /** On reads: the memory whose envelope this one shares, or null when it holds its own. */
  contentOf?: string | null;
  /** On writes: a summary and entities to keep beside the envelope (replaces any earlier ones). */
  semantic?: StoredSemantic;
  /** The text's language ("en", "zh", ... or "und"), when known. */
  language?: string;
  /** On reads: bytes of this memory's own envelope (0 for a reference to another memory's text). */
  storedLength?: number;
  /** On reads: the row's version; every write raises it (maintenance writes compare it first). */
  version?: number;
  /**
   * On writes: the text this write replaces, kept in the memory's history. The store keeps it only
   * while the row still holds that text (same checksum and length), numbers it, and dates it.
   */
  replaces?: VersionInput;
  /**
   * On writes: what the writer saw in the row when it committed: null for no row, else the text's
   * checksum and length, and for an update the row's version. The store writes only while the row still matches, else nothing of the
   * batch is written (`E_CONFLICT`): a concurrent writer's text is never overwritten unseen.
   * Absent: written whatever the row holds (`replaces`, when given, is checked all the same).
   */
  expected?: Fingerprint | null;
  /**
   * On writes: keep this memory's own envelope even where another memory of its namespace holds the same text — the
   * writer found that one's envelope damaged (it does not decode to the text), so a reference to it would be unreadable.
   */
  ownEnvelope?: boolean;
  /**
   * On writes: the memory of the same namespace whose envelope the writer checked for this text (a reference's holder).
   * The store references that one while it still holds the text, never another holder it would find by content hash
   * (one of those may be damaged); where it no longer does, the store looks the text up as without it.
   */
  holderId?: string;
}

/** An earlier text of a memory, as the writer hands it to the store (coded against its successor). */
export interface VersionInput {
  kind: MemoryKind;
  tags: string[];
  meta: Record<string, unknown>;
  language?: string;
  /** When the text stopped being current (ms since the epoch). */
  replacedAt: number;
  /** How `payload` is coded: "zstd-delta" (zstd with the next version's text as a raw dictionary) or "raw". */
  codec: string;
  payload: Uint8Array;
  originalLength: number;
  /** XXH32 of the version's bytes. */
  checksum: number;
}

/** A kept earlier text of a memory: numbered from 1, dated from when it became current to when it was replaced. */
export interface StoredVersion extends VersionInput {
  version: number;
  /** When the text became current: the memory's creation for version 1, else the previous version's replacement. */
  createdAt: number;
}

/** Bytes of the kept earlier texts (of a namespace, or all). */
export interface HistoryUsage {
  versions: number;
  originalBytes: number;
  /** Payload bytes (coded against successors). */
  storedBytes: number;
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

export interface NamespaceCount {
  namespace: string;
  memories: number;
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
  /**
   * The process running it (`processToken()`), so that one killed can be told from one alive before its heartbeat
   * goes stale; null where none could be made (and for jobs of earlier builds).
   */
  owner?: string | null;
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
  settings: { topK: number; windowTokens: number; carryTokens: number; mix?: MixEngineSettings };
  createdAt: number;
}

/**
 * What an `llm-mix` payload needs besides the runtime and the window (docs/FORMAT.md): its envelope
 * names only the engine record, and the record names the rest in full.
 */
export interface MixEngineSettings {
  /** The GGUF model's fingerprint (sha256 of the file). */
  model: string;
  /** The `cm-snapshot` asset's id (sha256 of its bytes). */
  cm: string;
  /** The mixing coder's tuning the payload was written with (src/codec/llm-mix.ts, `MIX_TUNING` then). */
  tuning: MixTuning;
  /** The mixing coder's revision (`MIX_CODER_REVISION`): a build of another revision refuses the payload by name. */
  coder: number;
}

export interface ListQuery {
  namespace?: string;
  kind?: MemoryKind;
  limit?: number;
  offset?: number;
}

/** A page of `MemoryRepository.page`: filters combine with AND; the order is insertion order. */
export interface PageQuery {
  /** Only memories of these namespaces (all when absent; an empty list matches nothing). */
  namespaces?: readonly string[];
  kind?: MemoryKind;
  /** Only memories carrying EVERY one of these tags (the original `tags` filter: kept as ALL). */
  tags?: readonly string[];
  /** Only memories carrying AT LEAST ONE of these tags (an empty list is no condition). */
  anyTags?: readonly string[];
  /** Created at or after this time (ms since the epoch). */
  createdFrom?: number;
  /** Created before this time (ms since the epoch). */
  createdBefore?: number;
  /**
   * Last changed at or after this time (ms since the epoch). No separate updated-at is stored: a
   * memory's last change is when its current text replaced the previous one (its newest history
   * entry's `replacedAt`), else its creation. Metadata-only updates do not move it.
   */
  updatedFrom?: number;
  /** Last changed before this time (see `updatedFrom`). */
  updatedBefore?: number;
  /** Only memories whose meta holds each key with exactly this JSON value (compared as stored JSON). */
  meta?: Readonly<Record<string, unknown>>;
  /** Leave out memories expired at this time (expiresAt <= activeAt); the engine passes its clock's now. */
  activeAt?: number;
  /** Only memories expired at this time (expiresAt <= expiredBy): what `compact` deletes. */
  expiredBy?: number;
  /** Most memories in the page (1 or more). */
  limit: number;
  /** Where the previous page ended: its `next`, as the store gave it (opaque). */
  cursor?: string;
}

/** The filters of a page without its paging: what list, search, related, export, quality, recode and rm narrow by. */
export type MemoryFilter = Omit<PageQuery, "limit" | "cursor">;

/** Whether a filter narrows by more than namespaces and expiry: kind, tags, time ranges or meta. */
export function narrowsBeyondNamespaces(filter: MemoryFilter): boolean {
  return (
    filter.kind !== undefined ||
    (filter.tags?.length ?? 0) > 0 ||
    (filter.anyTags?.length ?? 0) > 0 ||
    filter.createdFrom !== undefined ||
    filter.createdBefore !== undefined ||
    filter.updatedFrom !== undefined ||
    filter.updatedBefore !== undefined ||
    Object.keys(filter.meta ?? {}).length > 0 ||
    filter.expiredBy !== undefined
  );
}

export interface MemoryPage {
  items: MemorySummary[];
  /** The cursor of the following page; null when this page is the last. */
  next: string | null;
  /**
   * With `skipDamaged`: memories of the listed namespaces the page passed over because they cannot be read (a damaged
   * sealed block; whether they match the other filters is unknown). Each place is named once in a walk of the pages:
   * on the page that passes it. Absent when there are none.
   */
  damaged?: DamagedMemories[];
}

/** How a page or list meets memories it cannot read. */
export interface PageOptions {
  /**
   * Pass over memories that cannot be read (a damaged sealed block) and name them in the page's `damaged`, instead of
   * failing with their E_STORE error: for listings a person or an agent reads. Work that must meet every match (forgetting
   * by a filter) leaves it off.
   */
  skipDamaged?: boolean;
}

/** Every memory a filter matches, in insertion order, read a page (one store call) at a time. */
export async function* pagedMemories(memories: Pick<MemoryRepository, "page">, filter: MemoryFilter, pageSize = 1000, options: PageOptions = {}): AsyncGenerator<MemorySummary> {
  let cursor: string | undefined;
  do {
    const page = await memories.page({ ...filter, limit: pageSize, ...(cursor === undefined ? {} : { cursor }) }, options);
    yield* page.items;
    cursor = page.next ?? undefined;
  } while (cursor !== undefined);
}

/** What a key may do; each role includes the ones before it. */
export const KEY_ROLES = ["read", "write", "admin"] as const;
export type KeyRole = (typeof KEY_ROLES)[number];

/** An API key as a store keeps it: its hash, never the key. */
export interface ApiKeyRecord {
  /** Public id, shown by `keys ls` and used by `keys revoke` (not secret; not enough to authenticate). */
  id: string;
  /** sha256 of the whole secret key. */
  hash: Uint8Array;
  role: KeyRole;
  /** The namespaces the key acts in; `["*"]` means every namespace. */
  namespaces: string[];
  label: string | null;
  createdAt: number;
  revokedAt: number | null;
}

/** API keys of the HTTP and MCP front ends. */
export interface KeyRepository {
  /** Stores a new key (an id already present is E_USAGE). */
  put(key: ApiKeyRecord): Promise<void>;
  /** The key with this hash, revoked or not (callers check `revokedAt`). */
  byHash(hash: Uint8Array): Promise<ApiKeyRecord | undefined>;
  /** Every key, oldest first, revoked ones included. */
  list(): Promise<ApiKeyRecord[]>;
  /** Marks a key revoked at `at`; false when there is no such key or it was revoked already. */
  revoke(id: string, at: number): Promise<boolean>;
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

/** What `SearchIndexStore.vectorsSince` answers: the vectors that changed since a cursor, or all of them. */
export interface VectorChanges {
  /** `vectors` holds every vector under the key (no cursor, or the store cannot tell what changed since it): replace, do not apply. */
  full: boolean;
  /** The current vectors of the memories that changed (all of them when `full`). */
  vectors: IndexedVectors;
  /** Seqs of every memory whose vector may have changed or gone since the cursor (empty when `full`): drop them, then add `vectors`. */
  changed: number[];
  /** Where the next call starts. */
  cursor: string;
}

/** Bytes the search index's tables take in the store file (whole pages). */
export interface SearchIndexBytes {
  vectors: number;
  terms: number;
  other: number;
}

/** A memory's address: ids are unique within a namespace only. */
export interface MemoryRef {
  namespace: string;
  id: string;
}

/** What a re-import compares to skip unchanged records. */
export interface Fingerprint {
  checksum: number;
  originalLength: number;
  /** The text's content hash (`StoredMemory.contentHash`, a prefix as stored), where the row has one: two texts of one length and XXH32 differ by it. */
  contentHash?: Uint8Array;
  /**
   * As a write's `expected`: the row's version when the writer read it (`StoredMemory.version`).
   * Given, the row must still be at it: an update that merged the kind, tags or meta it read is not
   * written over another writer's change to them (the text's checksum alone would not see it).
   */
  version?: number;
}

export interface ScanOptions {
  /** Only this namespace's memories (all when absent). */
  namespace?: string;
  /** Only the memories this filter admits (its `namespaces` too, with `namespace`). */
  filter?: MemoryFilter;
  /** Rows fetched per round trip; between batches the event loop runs. */
  batchSize?: number;
  signal?: AbortSignal;
  /**
   * Told of each part of the store that cannot be read (a damaged sealed block of the SQLite store),
   * whose memories the scan then leaves out and goes on; without it such damage ends the scan with
   * its E_STORE error. `memories` counts the part's memories in the scanned namespace(s).
   */
  onDamaged?: (damage: DamagedMemories) => void;
}

/** Memories a scan could not read: where they are (a seq range) and why. */
export interface DamagedMemories {
  /** Where, for a person: e.g. "sealed block of seqs 769..1024". */
  where: string;
  memories: number;
  error: MemzipError;
}

/** Damaged memories of one namespace. */
export interface DamagedInNamespace extends DamagedMemories {
  namespace: string;
}

/** How a report names damaged memories whose ids are inside what cannot be read: "(4 memories in the sealed block of seqs 5..8)". */
export function damagedPlaceId({ memories, where }: Pick<DamagedMemories, "memories" | "where">): string {
  return `(${memories} ${memories === 1 ? "memory" : "memories"} in the ${where})`;
}

/** Damaged memories as JSON answers name them (the CLI's --json, REST, MCP): where, how many, and the error's code, message and fix. */
export function damageJson({ where, memories, error }: DamagedMemories): { where: string; memories: number; code: string; message: string; hint?: string } {
  return { where, memories, code: error.code, message: error.message, ...(error.hint === undefined ? {} : { hint: error.hint }) };
}

/**
 * Memories: rows of metadata around an envelope. A batch write is atomic: after a crash, whole
 * batches or nothing. Content is deduplicated within a namespace: a memory whose `contentHash`,
 * checksum and length another memory of its namespace holds becomes a reference to it; deleting
 * the holder hands the envelope over to a remaining reference. (A store written by an earlier
 * build may hold references across namespaces: they read and hand over as before.)
 */
export interface MemoryRepository {
  /** Writes memories in one transaction; returns the keys (`memoryKey`) of those stored as references. */
  put(memories: readonly StoredMemory[]): Promise<Set<string>>;
  /** Maintenance rewrites: each applies only if its row is unchanged since it was read; returns how many applied. */
  replaceEnvelopes(updates: readonly EnvelopeUpdate[]): Promise<number>;
  get(namespace: string, id: string): Promise<StoredMemory | undefined>;
  /** Batch read: one entry per ref, in order (undefined where there is no such memory). */
  getMany(refs: readonly MemoryRef[]): Promise<(StoredMemory | undefined)[]>;
  /** A memory's summary and entities, if it has them. */
  getSemantic(namespace: string, id: string): Promise<StoredSemantic | undefined>;
  /**
   * The memory of `namespace` holding the envelope for a text with this content hash, checksum and
   * length, if any. Content is addressed within a namespace only: a text another namespace holds is
   * never found (a tenant must not learn what another one stores).
   */
  findContent(namespace: string, contentHash: Uint8Array, checksum: number, originalLength: number): Promise<ContentHolder | undefined>;
  /** The namespaces holding a memory with this id, sorted. */
  namespacesOf(id: string): Promise<string[]>;
  /** Checksum and length of those of `ids` that exist in the namespace (re-imports skip unchanged records). */
  fingerprints(namespace: string, ids: readonly string[]): Promise<Map<string, Fingerprint>>;
  /**
   * Deletes a memory and its history (handing its envelope to a reference, if one reads it); false when there was none.
   * `expectedVersion` (the row's `version` as the caller read it): delete only while the row is still at it, else
   * `E_CONFLICT` and nothing is deleted.
   */
  delete(namespace: string, id: string, expectedVersion?: number): Promise<boolean>;
  /** A memory's earlier texts, oldest first (none when it has none or does not exist). */
  history(namespace: string, id: string): Promise<StoredVersion[]>;
  /** How many earlier texts are kept and their bytes (of a namespace, or all). */
  historyUsage(namespace?: string): Promise<HistoryUsage>;
  list(query: ListQuery, options?: PageOptions): Promise<MemorySummary[]>;
  /** Filtered memories in insertion order, a page at a time (keyset cursor: stable while others write). */
  page(query: PageQuery, options?: PageOptions): Promise<MemoryPage>;
  /** Every memory (optionally of one namespace) in insertion order, fetched in batches. */
  scan(options?: ScanOptions): AsyncIterable<StoredMemory>;
  count(namespace?: string): Promise<number>;
  /** Memories (of a namespace, or all) whose expiry is at or before `at`, not yet deleted: one count in the store (its index on the expiry). */
  countExpired(at: number, namespace?: string): Promise<number>;
  usageByCodec(namespace?: string): Promise<CodecUsage[]>;
  /**
   * Memories coded with `codec` whose rows name no stored asset, per namespace (of one namespace,
   * or all; namespaces with none are left out; by name). For `cm` these are the memories coded
   * with a base model shipped with memzip (codec/cm/base.ts), which no store holds.
   */
  countWithoutAsset(codec: string, namespace?: string): Promise<NamespaceCount[]>;
  /** Bytes of memories, envelopes and assets (see Footprint for how shared texts are charged). */
  footprint(namespace?: string): Promise<Footprint>;
  namespaces(): Promise<string[]>;
}

/** Dictionaries, context-model snapshots and priming texts that envelopes are coded against. */
export interface AssetRepository {
  /** Stores an asset (an asset with the same id is kept as it is). */
  put(asset: StoredAsset): Promise<void>;
  get(id: string): Promise<StoredAsset | undefined>;
  /** An asset by the reference (first id bytes) an envelope carries. */
  getByRef(ref: Uint8Array): Promise<StoredAsset | undefined>;
  /** The ids of every asset whose reference starts with a version 2 envelope's hint (its first id bytes), oldest first. */
  idsByHint(hint: Uint8Array): Promise<string[]>;
  list(): Promise<StoredAsset[]>;
  /** Bytes of each asset, with the number of memories (of the namespace, or all) that use it. */
  usage(namespace?: string): Promise<AssetUsage[]>;
  /** The asset a namespace writes new memories with, per kind. */
  active(namespace: string, kind: AssetKind): Promise<string | undefined>;
  setActive(namespace: string, kind: AssetKind, assetId: string): Promise<void>;
  /** Whether some namespace writes new memories with this asset. */
  isActive(assetId: string): Promise<boolean>;
  /** How many memories the namespace's asset of this kind learned from (kept after the asset is pruned). */
  learnedFrom(namespace: string, kind: AssetKind): Promise<number>;
  /**
   * Notes that a training of `samples` memories was measured against the namespace's active asset
   * of this kind and lost, so `learnedFrom` answers `samples` from now on (an import retrains when
   * the namespace has doubled again, not at once). Nothing changes, and false is returned, unless
   * `assetId` is still the active one (another writer may have activated an asset meanwhile).
   * `null`: the namespace had no asset of this kind (its first training lost to what it writes
   * with, e.g. cm's shipped base model); false unless it still has none.
   */
  keepActive(namespace: string, kind: AssetKind, assetId: string | null, samples: number): Promise<boolean>;
  /**
   * Removes an asset if no memory needs it (checked atomically, so a concurrent writer cannot lose
   * it); a namespace writing with it stops doing so. Returns whether it was removed.
   */
  delete(assetId: string): Promise<boolean>;
  /**
   * `delete` for many assets: removes each one no memory needs (checked atomically with its removal,
   * as `delete` does), looking at the memories once for many assets where the store has no index by
   * asset; the ids removed. An unknown id is left out.
   */
  deleteUnused(assetIds: readonly string[]): Promise<string[]>;
}

/** GGUF models known by content, and the inference set-ups `llm` envelopes were written with. */
export interface ModelRepository {
  /** Registers a model, or updates the name, path, size and mtime of one already known. */
  put(model: RegisteredModel): Promise<void>;
  /** A model by name or by full fingerprint. */
  get(nameOrFingerprint: string): Promise<RegisteredModel | undefined>;
  /** A model by the reference (first fingerprint bytes) an envelope carries. */
  getByRef(ref: Uint8Array): Promise<RegisteredModel | undefined>;
  list(): Promise<RegisteredModel[]>;
  /**
   * Forgets a registered model (its file is left where it is); returns whether it was registered.
   * Envelopes keep its fingerprint: registering the same file again makes them readable again.
   */
  delete(fingerprint: string): Promise<boolean>;
  putEngine(engine: EngineRecord): Promise<void>;
  getEngineByRef(ref: Uint8Array): Promise<EngineRecord | undefined>;
}

/** Import jobs: durable progress, so an interrupted import resumes where its last batch ended. */
export interface JobRepository {
  create(job: ImportJob): Promise<void>;
  update(id: string, changes: Partial<Pick<ImportJob, "status" | "position" | "line" | "owner">>): Promise<void>;
  /**
   * Takes a job for a resume: marks it "running" with `owner` (and the time) only while its row is still as `seen`
   * (status, last save and owner, as read); false when another process changed it since (it resumed the job, or its
   * process saved progress), so two resumes racing each other never both run it.
   */
  claim(id: string, seen: Pick<ImportJob, "status" | "updatedAt" | "owner">, owner: string | null): Promise<boolean>;
  get(id: string): Promise<ImportJob | undefined>;
  /** Newest first. */
  list(limit?: number): Promise<ImportJob[]>;
}

/**
 * The search index a store keeps beside its memories. It holds one index key (the embedder and
 * vector encoding that made it); writing under another key drops the index first. Keyword look-ups
 * take single normalised terms, never a query language.
 */
/** Where a look-up of pending memories starts (`SearchIndexStore.pending`). */
export interface PendingFrom {
  /** Only memories whose seq is above this one (the last seq of the previous look-up of a walk). Defaults to 0. */
  after?: number;
  /** Look at every memory, not only at those changed since the store last saw a walk end (to list again what a caller passed over). */
  full?: boolean;
}

export interface SearchIndexStore {
  /**
   * Memories with no vector under `key` yet (new, rewritten, or all when the index holds another
   * key), in seq order, at most `limit`, above `from.after`. A walk of look-ups from 0, each after
   * the last seq of the one before, to an empty answer has seen every pending memory (those written
   * meanwhile too): a store may remember where it began and answer later walks from the changes
   * since (`from.full` asks for every memory again).
   */
  pending(key: string, limit: number, from?: PendingFrom): Promise<{ seq: number; id: string; namespace: string }[]>;
  countPending(key: string): Promise<number>;
  /**
   * Memories the index's reads passed over because the store could not read them (a damaged sealed block), by
   * namespace: not pending, not searchable, until they are set aside. Optional: absent where a store has no such damage.
   */
  damaged?(): Promise<DamagedInNamespace[]>;
  put(key: string, entries: readonly SearchIndexEntry[]): Promise<void>;
  /** The vectors stored under `key` (none when the index holds another key). */
  vectors(key: string): Promise<IndexedVectors>;
  /**
   * The vectors under `key` that changed since `cursor` (a `cursor` this method returned), so an
   * in-memory copy is brought up to date in O(changes); all of them (`full`) without a cursor or
   * when the store cannot tell (another process wrote, the index was cleared). With
   * `cursorOnly`, a `full` answer leaves the vectors out (the caller loads them some other way).
   */
  vectorsSince(key: string, cursor: string | undefined, options?: { cursorOnly?: boolean }): Promise<VectorChanges>;
  /** Seqs of the memories whose terms include `term`. */
  matching(term: string): Promise<number[]>;
  /** How many memories' terms include `term`. */
  documentFrequency(term: string): Promise<number>;
  /**
   * The keyword index's most common terms, most memories first: each held by at least `minDocs`
   * memories, with at most `maxEntries` memories in all over the terms listed (what a search index
   * reads ahead when it warms). Optional: a store that cannot list them cheaply leaves it out.
   */
  frequentTerms?(minDocs: number, maxEntries: number): Promise<string[]>;
  /**
   * How many memories are indexed. With `atMost`, counting stops past it: an answer over `atMost`
   * says only "more than atMost" (a check against a bound then costs O(atMost), not O(index)).
   */
  indexedCount(atMost?: number): Promise<number>;
  /** An opaque token that changes whenever the index may have changed, from this process or another. */
  changeToken(): Promise<string>;
  /** Bytes of vector payload (without row and page overhead). */
  vectorBytes(): Promise<number>;
  /** Bytes the index's tables take in the store. */
  bytes(): Promise<SearchIndexBytes>;
  /** Merges the keyword index into one segment (worth it after a large build: smaller and faster). */
  compact(): Promise<void>;
  clear(): Promise<void>;
}

/** Bytes a store takes where it lives. */
export interface StorageUsage {
  /** Everything the store occupies (for a file: the database and its write-ahead log). */
  fileBytes: number;
  /** The search index's share (derived data, rebuilt on demand). */
  indexBytes: number;
}

/**
 * Where memories live: one contract per aggregate, every call asynchronous, no storage engine's
 * notions in the types. SQLite implements it today (`store/`); a server store implements the same
 * contract and passes the same shared suite (`test/store/store-suite.ts`).
 */
/** Calls that found the store's write lock held by another connection and waited for it (without holding the event loop). */
export interface LockWaits {
  /** Calls waiting now. */
  waiting: number;
  /** Calls that waited since the store opened. */
  total: number;
}

export interface Store {
  /** A path, or a connection string without its secrets. */
  readonly location: string;
  readonly readOnly: boolean;
  /** True when this open made the store (a new file whose schema this process wrote; of several opening it at once, one). */
  readonly created?: boolean;
  /**
   * True where tags and meta cannot hold U+0000 or half of a surrogate pair (PostgreSQL's jsonb): writes holding one
   * are refused per memory (E_INVALID_INPUT) before they reach the store. SQLite keeps any string (false or absent).
   */
  readonly plainJsonOnly?: boolean;
  readonly memories: MemoryRepository;
  readonly assets: AssetRepository;
  readonly models: ModelRepository;
  readonly jobs: JobRepository;
  readonly search: SearchIndexStore;
  readonly keys: KeyRepository;
  usage(): Promise<StorageUsage>;
  /** Gives free space back (for a file: checkpoints the log and rebuilds the file without free pages). */
  compact(): Promise<void>;
  /**
   * Packs rows into a more compact home where the store has one (SQLite's sealed blocks, when opened
   * to seal); how many rows it packed. Reads give the same values either way. Optional: absent means never.
   */
  seal?(): Promise<number>;
  /**
   * Sets aside the parts of the store that cannot be read at all (SQLite's damaged sealed blocks: their bytes are
   * kept apart, never read again), with what the store kept about their memories, so that the rest works again and
   * their ids can be written anew; the parts set aside, oldest first. Optional: absent where a store has no such parts.
   */
  dropDamaged?(): Promise<DamagedMemories[]>;
  /**
   * Derived look-up structures of the store that do not read back (SQLite's sealed key runs), each with its error and
   * hint: no memory is lost (they are made again from the rows by `compact`), but reads and writes of the keys they
   * hold fail until then. Optional: absent where a store has none.
   */
  damagedIndexes?(): Promise<{ where: string; error: MemzipError }[]>;
  /** The calls that waited for another connection's write lock (SQLite); absent where a store has no such wait. */
  lockWaits?(): LockWaits;
  close(): Promise<void>;
}
