import type { MemoryStore } from "./store/types.js";
import type { AssetKind } from "./codec/codec.js";
import { bitsPerByte } from "./quality/stats.js";

export interface CodecStats {
  memories: number;
  originalBytes: number;
  storedBytes: number;
  bitsPerByte: number;
}

export interface StoreStats extends CodecStats {
  namespace: string | null;
  /** Bytes of dictionaries and snapshots the memories depend on, reported apart. */
  assetBytes: number;
  /** Bits per byte with the asset bytes counted too: what rebuilding every memory really costs. */
  bitsPerByteWithAssets: number;
  /** Original bytes over envelope bytes. */
  ratio: number;
  /** Original bytes over envelope and asset bytes. */
  ratioWithAssets: number;
  /** Bytes of this namespace's assets that no memory needs (superseded, or beaten by another codec); `prune` deletes those not in use for new writes. */
  unusedAssetBytes: number;
  byCodec: Record<string, CodecStats>;
  assets: { id: string; kind: AssetKind; bytes: number; memories: number }[];
}

export function storeStats(store: MemoryStore, namespace?: string): StoreStats {
  const byCodec: Record<string, CodecStats> = {};
  let memories = 0;
  let originalBytes = 0;
  let storedBytes = 0;
  for (const usage of store.usageByCodec(namespace)) {
    byCodec[usage.codec] = { ...usage, bitsPerByte: bitsPerByte(usage.storedBytes, usage.originalBytes) };
    memories += usage.memories;
    originalBytes += usage.originalBytes;
    storedBytes += usage.storedBytes;
  }
  const usage = store.assetUsage(namespace);
  const assets = usage.filter((a) => a.memories > 0).map((a) => ({ id: a.id, kind: a.kind, bytes: a.size, memories: a.memories }));
  const assetBytes = assets.reduce((sum, a) => sum + a.bytes, 0);
  const unusedAssetBytes = usage
    .filter((a) => a.memories === 0 && (namespace === undefined || a.namespace === namespace))
    .reduce((sum, a) => sum + a.size, 0);
  return {
    namespace: namespace ?? null,
    memories,
    originalBytes,
    storedBytes,
    bitsPerByte: bitsPerByte(storedBytes, originalBytes),
    assetBytes,
    bitsPerByteWithAssets: bitsPerByte(storedBytes + assetBytes, originalBytes),
    ratio: storedBytes === 0 ? 0 : originalBytes / storedBytes,
    ratioWithAssets: storedBytes + assetBytes === 0 ? 0 : originalBytes / (storedBytes + assetBytes),
    unusedAssetBytes,
    byCodec,
    assets,
  };
}
