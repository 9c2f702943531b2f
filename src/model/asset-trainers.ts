import type { AssetKind } from "../codec/codec.js";
import { encodeSnapshot } from "../codec/cm/snapshot.js";
import { trainZstdDictionary } from "./zstd-dictionary.js";

/** Options every asset trainer understands. */
export interface AssetTrainingOptions {
  /** Upper bound on the asset's size in bytes. Each trainer has its own default. */
  maxBytes?: number;
}

/** Builds an asset's bytes from a namespace's memories; one entry per asset kind. */
export const ASSET_TRAINERS = Object.freeze({
  "zstd-dictionary": (samples: readonly Uint8Array[], options: AssetTrainingOptions) =>
    trainZstdDictionary(samples, options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
  "cm-snapshot": (samples: readonly Uint8Array[], options: AssetTrainingOptions) =>
    encodeSnapshot(samples, options.maxBytes === undefined ? {} : { maxTrainingBytes: options.maxBytes }),
} as const satisfies Partial<Record<AssetKind, (samples: readonly Uint8Array[], options: AssetTrainingOptions) => Uint8Array>>);

export type TrainableAssetKind = keyof typeof ASSET_TRAINERS;
