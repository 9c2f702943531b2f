import type { Asset } from "./codec.js";

/**
 * What a codec builds from an asset (a loaded model, a prepared dictionary), kept per asset id
 * and bounded: past `limit`, the least recently used is dropped.
 */
export function assetCache<T>(codec: string, limit: number, build: (asset: Asset) => T): (asset: Asset | undefined) => T {
  const built = new Map<string, T>();
  return (asset) => {
    if (!asset) throw new TypeError(`${codec} needs its asset`);
    let value = built.get(asset.id);
    if (value === undefined) {
      value = build(asset);
      if (built.size >= limit) built.delete(built.keys().next().value as string);
    } else {
      built.delete(asset.id);
    }
    built.set(asset.id, value);
    return value;
  };
}
