import { assetCache } from "./asset-cache.js";
import type { Codec } from "./codec.js";
import { DEFAULT_ZSTD_LEVEL } from "./zstd.js";
import { ZstdFrames } from "./zstd-native.js";
import { CODEC_IDS } from "./ids.js";

/** Dictionaries kept prepared per process (each holds zstd's contexts and the dictionary). */
const MAX_PREPARED_DICTIONARIES = 16;

/**
 * zstd with a dictionary trained on the namespace's own memories: the strongest classical codec
 * for short records. The dictionary is an asset; each envelope names the one it was written with.
 */
export function createZstdDictCodec(level: number = DEFAULT_ZSTD_LEVEL): Codec {
  const framesFor = assetCache("zstd-dict", MAX_PREPARED_DICTIONARIES, (asset) => new ZstdFrames(level, asset.bytes));
  return {
    name: "zstd-dict",
    id: CODEC_IDS["zstd-dict"],
    requires: "zstd-dictionary",
    encode: (original, asset) => framesFor(asset).compress(original),
    decode: (payload, originalLength, asset) => framesFor(asset).decompress(payload, originalLength),
  };
}
