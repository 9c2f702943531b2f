import type { Store, StoredMemory } from "../core/store.js";
import { SqliteStore, type OpenOptions } from "./sqlite.js";

/**
 * Opens the store at `location` behind the asynchronous contract. Today every location is a
 * SQLite file (or `:memory:`).
 *
 * TRANSITIONAL: this wraps the synchronous `SqliteStore`; the store work replaces it with a native
 * implementation of the contract (same function, same behaviour).
 */
export function openStore(location: string, options: OpenOptions = {}): Store {
  return asyncStore(SqliteStore.open(location, options));
}

/** Rows a scan fetches per round trip. */
const SCAN_BATCH = 256;

function asyncStore(sync: SqliteStore): Store {
  const search = sync.search;
  return {
    location: sync.location,
    readOnly: sync.readOnly,
    memories: {
      put: async (memories) => sync.putMemories(memories),
      replaceEnvelopes: async (updates) => sync.replaceEnvelopes(updates),
      get: async (namespace, id) => sync.getMemory(namespace, id),
      getMany: async (refs) => refs.map((ref) => sync.getMemory(ref.namespace, ref.id)),
      getSemantic: async (namespace, id) => sync.getSemantic(namespace, id),
      findContent: async (hash, checksum, length) => sync.findContent(hash, checksum, length),
      namespacesOf: async (id) => sync.namespacesOf(id),
      fingerprints: async (namespace, ids) => sync.fingerprints(namespace, ids),
      delete: async (namespace, id) => sync.deleteMemory(namespace, id),
      list: async (query) => sync.listMemories(query),
      scan: (options = {}) => scan(sync, options.namespace, options.batchSize ?? SCAN_BATCH, options.signal),
      count: async (namespace) => sync.countMemories(namespace),
      usageByCodec: async (namespace) => sync.usageByCodec(namespace),
      footprint: async (namespace) => sync.footprint(namespace),
      namespaces: async () => sync.namespaces(),
    },
    assets: {
      put: async (asset) => sync.putAsset(asset),
      get: async (id) => sync.getAsset(id),
      getByRef: async (ref) => sync.getAssetByRef(ref),
      list: async () => sync.listAssets(),
      usage: async (namespace) => sync.assetUsage(namespace),
      active: async (namespace, kind) => sync.activeAsset(namespace, kind),
      setActive: async (namespace, kind, assetId) => sync.setActiveAsset(namespace, kind, assetId),
      isActive: async (assetId) => sync.isActiveAsset(assetId),
      learnedFrom: async (namespace, kind) => sync.assetLearnedFrom(namespace, kind),
      delete: async (assetId) => sync.deleteAsset(assetId),
    },
    models: {
      put: async (model) => sync.putModel(model),
      get: async (name) => sync.getModel(name),
      getByRef: async (ref) => sync.getModelByRef(ref),
      list: async () => sync.listModels(),
      putEngine: async (engine) => sync.putEngine(engine),
      getEngineByRef: async (ref) => sync.getEngineByRef(ref),
    },
    jobs: {
      create: async (job) => sync.createJob(job),
      update: async (id, changes) => sync.updateJob(id, changes),
      get: async (id) => sync.getJob(id),
      list: async (limit) => sync.listJobs(limit),
    },
    search: {
      pending: async (key, limit) => search.pending(key, limit),
      countPending: async (key) => search.countPending(key),
      put: async (key, entries) => search.put(key, entries),
      vectors: async (key) => search.vectors(key),
      matching: async (term) => search.matching(term),
      documentFrequency: async (term) => search.documentFrequency(term),
      indexedCount: async () => search.indexedCount(),
      changeToken: async () => search.version(),
      vectorBytes: async () => search.vectorBytes(),
      bytes: async () => search.bytes(),
      compact: async () => search.compact(),
      clear: async () => search.clear(),
    },
    usage: async () => sync.diskUsage(),
    compact: async () => sync.compact(),
    close: async () => sync.close(),
  };
}

/** Streams memories in batches, yielding to the event loop between them. */
async function* scan(sync: SqliteStore, namespace: string | undefined, batchSize: number, signal: AbortSignal | undefined): AsyncGenerator<StoredMemory> {
  let batch: StoredMemory[] = [];
  for (const memory of sync.iterateMemories(namespace)) {
    signal?.throwIfAborted();
    batch.push(memory);
    if (batch.length < batchSize) continue;
    yield* batch;
    batch = [];
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  yield* batch;
}
