import type { AssetKind } from "../codec/codec.js";
import { CONTEXT_MODEL_DEFAULTS } from "../codec/cm/context-model.js";
import { trainSnapshot, type LoadedSnapshot } from "../codec/cm/snapshot.js";
import { trainZstdDictionary } from "./zstd-dictionary.js";

/** Options every asset trainer understands. */
export interface AssetTrainingOptions {
  /** Upper bound on the asset's size in bytes. Each trainer has its own default. */
  maxBytes?: number;
  /** Context models only: log2 of the model's hashed counter slots, which bounds its RAM (4 bytes a slot). Defaults to `23`. */
  tableBits?: number;
  /**
   * Make the new asset the one the namespace writes with, unmeasured (by default a training is measured against what
   * the namespace writes with, its active asset or, for a first one, the codecs without it, and used only where the
   * namespace is not estimated to grow by more than 2 %).
   */
  force?: boolean;
}

/** Builds an asset's bytes from a namespace's memories; one entry per asset kind. */
export const ASSET_TRAINERS = Object.freeze({
  "zstd-dictionary": (samples: readonly Uint8Array[], options: AssetTrainingOptions) =>
    trainZstdDictionary(samples, options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
  "cm-snapshot": (samples: readonly Uint8Array[], options: AssetTrainingOptions) => trainCmSnapshot(samples, options).bytes,
} as const satisfies Partial<Record<AssetKind, (samples: readonly Uint8Array[], options: AssetTrainingOptions) => Uint8Array>>);

export type TrainableAssetKind = keyof typeof ASSET_TRAINERS;

/** The cm snapshot trainer, also giving the frozen model it trained (what loading the snapshot gives) and the texts it kept. */
export function trainCmSnapshot(samples: readonly Uint8Array[], options: AssetTrainingOptions): { bytes: Uint8Array; loaded: LoadedSnapshot } {
  return trainSnapshot(samples, {
    ...(options.maxBytes === undefined ? {} : { maxTrainingBytes: options.maxBytes }),
    ...(options.tableBits === undefined ? {} : { params: { ...CONTEXT_MODEL_DEFAULTS, tableBits: options.tableBits } }),
  });
}
