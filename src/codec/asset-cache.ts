import type { Asset } from "./codec.js";

type Built<T> = { value: T } | { error: unknown };

/**
 * What a codec builds from an asset (a loaded model, a prepared dictionary), kept per asset id
 * and bounded: past `limit`, the least recently used is dropped. A build that fails with an error
 * `lasting` says will fail again (a damaged asset's bytes do not change) is kept too, and thrown at
 * once to the next caller: a damaged snapshot was trained again (~1.4 s) for every memory a
 * `verify` or an `export --skip-bad` read (trial43: ~45 minutes for 2000 memories).
 */
export function assetCache<T>(codec: string, limit: number, build: (asset: Asset) => T, lasting: (error: unknown) => boolean = () => false): (asset: Asset | undefined) => T {
  const built = new Map<string, Built<T>>();
  const keep = (id: string, entry: Built<T>): void => {
    built.delete(id);
    if (built.size >= limit) built.delete(built.keys().next().value as string);
    built.set(id, entry);
  };
  return (asset) => {
    if (!asset) throw new TypeError(`${codec} needs its asset`);
    let entry = built.get(asset.id);
    if (entry === undefined) {
      try {
        entry = { value: build(asset) };
      } catch (error) {
        if (lasting(error)) keep(asset.id, { error });
        throw error;
      }
    }
    keep(asset.id, entry);
    if ("error" in entry) throw entry.error;
    return entry.value;
  };
}
