import type { Asset } from "./codec.js";

/** A file of derived data opened for reading. */
export interface DerivedFile {
  readonly size: number;
  /** Reads `target.length` bytes from `position`; returns how many it read. */
  read(target: Uint8Array, position: number): number;
  close(): void;
}

/**
 * Where a codec may keep data it derived from an asset (a trained model's state) so that a new
 * process need not derive it again. Everything in it can be rebuilt from the asset: it is never
 * counted as stored bytes, readers verify what they read, and losing it costs only time.
 */
export interface DerivedStore {
  /** The file named `name`, or undefined when there is none (or it cannot be read). */
  open(name: string): DerivedFile | undefined;
  /**
   * Replaces `name` with the parts `content` returns (concatenated), atomically; a failure is
   * ignored, since the data can be rebuilt. `content` is called only once a file could be opened
   * for it, so a place that cannot be written costs nothing to build (a model state's compression).
   */
  write(name: string, content: () => readonly Uint8Array[]): void;
}

const stores = new WeakMap<Asset, DerivedStore>();

/** Lets codecs that load `asset` keep what they derive from it in `store`. */
export function attachDerivedStore<T extends Asset>(asset: T, store: DerivedStore | undefined): T {
  if (store) stores.set(asset, store);
  return asset;
}

export function derivedStoreOf(asset: Asset): DerivedStore | undefined {
  return stores.get(asset);
}
