import { assetCache } from "../asset-cache.js";
import { checksum32 } from "../checksum.js";
import { loadSnapshot, type LoadedSnapshot } from "./snapshot.js";

/** Loaded snapshots kept per process; each holds a model (about 45 MiB at the defaults). */
const MAX_LOADED_SNAPSHOTS = 2;

export interface PreparedSnapshot extends LoadedSnapshot {
  /** Position of `bytes` among the texts the snapshot learned from, or -1. */
  indexOf(bytes: Uint8Array): number;
}

/** One process-wide cache, so `cm` and `cm-ref` share a snapshot's model and texts. */
export const preparedSnapshot = assetCache<PreparedSnapshot>("cm", MAX_LOADED_SNAPSHOTS, (asset) => {
  const loaded = loadSnapshot(asset.bytes);
  const byChecksum = new Map<number, number[]>();
  loaded.samples.forEach((sample, i) => {
    const key = checksum32(sample);
    byChecksum.set(key, [...(byChecksum.get(key) ?? []), i]);
  });
  return {
    ...loaded,
    indexOf(bytes) {
      const candidates = byChecksum.get(checksum32(bytes)) ?? [];
      return candidates.find((i) => Buffer.from(loaded.samples[i] as Uint8Array).equals(bytes)) ?? -1;
    },
  };
});
