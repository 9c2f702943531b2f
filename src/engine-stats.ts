import type { HistoryUsage, Store } from "./core/store.js";
import type { AssetKind } from "./codec/codec.js";
import { bitsPerByte } from "./core/stats.js";

export interface CodecStats {
  memories: number;
  originalBytes: number;
  storedBytes: number;
  bitsPerByte: number;
}

/**
 * Sizes of a store or one namespace. Every figure counts what rebuilding needs:
 * storedBytes = envelopeBytes + assetBytes, and bitsPerByte = storedBytes * 8 / originalBytes.
 * A namespace is charged in full, once, for each text it reads that another namespace holds, and
 * in full for each asset its memories need (so namespaces' figures can add up to more than the store's).
 */
export interface StoreStats {
  namespace: string | null;
  memories: number;
  originalBytes: number;
  /** Whole envelopes. */
  envelopeBytes: number;
  /** Dictionaries, snapshots and priming texts that some memory needs. */
  assetBytes: number;
  /** Envelopes plus the assets in use: everything needed to rebuild the memories. */
  storedBytes: number;
  /** storedBytes * 8 / originalBytes. */
  bitsPerByte: number;
  /** Envelopes alone, in bits per byte (assets left out). */
  envelopeBitsPerByte: number;
  /** Original bytes over stored bytes (higher is smaller). */
  ratio: number;
  /** Assets no memory needs (of this namespace: those trained for it); `memzip compact` deletes them. */
  unusedAssetBytes: number;
  /** The search index's tables (derived data, rebuilt on demand); whole file only. */
  indexBytes: number;
  /** The database file and its write-ahead log on disk; whole file, whatever the namespace. */
  fileBytes: number;
  /** fileBytes * 8 / originalBytes of the whole store. */
  diskBitsPerByte: number;
  byCodec: Record<string, CodecStats>;
  /**
   * Memories past their expiry that `compact` has not deleted yet. Reads leave them out, but they
   * still take their bytes: `memories` and every size above count them until compact removes them.
   */
  expired: number;
  /** Earlier texts kept by updates (each coded against its successor): not in the sizes above. */
  history: HistoryUsage;
  assets: { id: string; kind: AssetKind; bytes: number; memories: number }[];
}

export async function storeStats(store: Store, namespace?: string, now: number = Date.now()): Promise<StoreStats> {
  const byCodec: Record<string, CodecStats> = {};
  for (const usage of await store.memories.usageByCodec(namespace)) {
    byCodec[usage.codec] = { ...usage, bitsPerByte: bitsPerByte(usage.storedBytes, usage.originalBytes) };
  }
  const footprint = await store.memories.footprint(namespace);
  const assets = (await store.assets.usage(namespace))
    .filter((a) => a.memories > 0)
    .map((a) => ({ id: a.id, kind: a.kind, bytes: a.size, memories: a.memories }));
  const storedBytes = footprint.envelopeBytes + footprint.assetBytes;
  const disk = await store.usage();
  const wholeOriginal = namespace === undefined ? footprint.originalBytes : (await store.memories.footprint()).originalBytes;
  return {
    namespace: namespace ?? null,
    memories: footprint.memories,
    originalBytes: footprint.originalBytes,
    envelopeBytes: footprint.envelopeBytes,
    assetBytes: footprint.assetBytes,
    storedBytes,
    bitsPerByte: bitsPerByte(storedBytes, footprint.originalBytes),
    envelopeBitsPerByte: bitsPerByte(footprint.envelopeBytes, footprint.originalBytes),
    ratio: storedBytes === 0 ? 0 : footprint.originalBytes / storedBytes,
    unusedAssetBytes: footprint.unusedAssetBytes,
    indexBytes: disk.indexBytes,
    fileBytes: disk.fileBytes,
    diskBitsPerByte: bitsPerByte(disk.fileBytes, wholeOriginal),
    byCodec,
    expired: await store.memories.countExpired(now, namespace),
    history: await store.memories.historyUsage(namespace),
    assets,
  };
}

