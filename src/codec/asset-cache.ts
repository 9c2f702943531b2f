import { createHash } from "node:crypto";
import type { Asset } from "./codec.js";

type Built<T> = { value: T } | { error: unknown };

const hashes = new WeakMap<Uint8Array, string>();

/**
 * The sha256 (hex) of an asset's bytes, computed once per bytes object (the engine hands the same
 * asset object to every call): what is built from an asset is kept by it, never by the id the bytes
 * claim (a damaged copy and an intact one share an id).
 */
export function assetContentKey(bytes: Uint8Array): string {
  let key = hashes.get(bytes);
  if (key === undefined) hashes.set(bytes, (key = createHash("sha256").update(bytes).digest("hex")));
  return key;
}

/**
 * What a codec builds from an asset (a loaded model, a prepared dictionary), kept per asset id
 * and bounded: past `limit` (a number, or a function read at each insertion), the least recently used is dropped. A build that fails with an error
 * `lasting` says will fail again (a damaged asset's bytes do not change) is kept too, and thrown at
 * once to the next caller: a damaged snapshot was trained again (~1.4 s) for every memory a
 * `verify` or an `export --skip-bad` read (trial43: ~45 minutes for 2000 memories).
 *
 * Kept by the sha256 of the bytes themselves, not by the id they claim (the same for an intact asset): a damaged
 * copy of an asset (one store's) and an intact one (another store's, a restored backup opened in the same process)
 * share an id, and the damaged copy's failure, or a model built from it, was handed to the intact one's reads and
 * writes. The hash is computed once per bytes object (the engine hands the same asset object to every call).
 */
export function assetCache<T>(codec: string, limit: number | (() => number), build: (asset: Asset) => T, lasting: (error: unknown) => boolean = () => false): AssetCache<T> {
  const built = new Map<string, Built<T>>();
  /** Keys held (`hold`): never dropped while held, the cache over its limit meanwhile if it must. */
  const holds = new Map<string, number>();
  const limitNow = () => Math.max(1, typeof limit === "number" ? limit : limit());
  const trimTo = (max: number): void => {
    for (const key of built.keys()) {
      if (built.size <= max) break;
      if (!holds.has(key)) built.delete(key);
    }
  };
  const keep = (id: string, entry: Built<T>): void => {
    built.delete(id);
    trimTo(limitNow() - 1);
    built.set(id, entry);
  };
  const get = (asset: Asset | undefined): T => {
    if (!asset) throw new TypeError(`${codec} needs its asset`);
    const key = assetContentKey(asset.bytes);
    let entry = built.get(key);
    if (entry === undefined) {
      try {
        entry = { value: build(asset) };
      } catch (error) {
        if (lasting(error)) keep(key, { error });
        throw error;
      }
    }
    keep(key, entry);
    if ("error" in entry) throw entry.error;
    return entry.value;
  };
  // A limit lowered since (the engine that asked for more closed) drops the least recently used at once.
  const peek = (asset: Asset): T | undefined => {
    const entry = built.get(assetContentKey(asset.bytes));
    return entry && "value" in entry ? entry.value : undefined;
  };
  const hold = (asset: Asset): (() => void) => {
    const key = assetContentKey(asset.bytes);
    holds.set(key, (holds.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (holds.get(key) ?? 1) - 1;
      if (left > 0) holds.set(key, left);
      else {
        holds.delete(key);
        trimTo(limitNow());
      }
    };
  };
  return Object.assign(get, { trim: () => trimTo(limitNow()), peek, hold });
}

/**
 * An asset cache: the build for an asset (kept, least recently used dropped past the limit), `trim` to the limit now,
 * `peek`: the build kept for an asset now, if any, without building it or counting as a use, and `hold`: the asset's
 * build is not dropped until the returned release is called (a read between its model's sliced load and its decode:
 * other reads meanwhile dropped it, and the decode loaded it again in one go).
 */
export type AssetCache<T> = ((asset: Asset | undefined) => T) & { trim(): void; peek(asset: Asset): T | undefined; hold(asset: Asset): () => void };
