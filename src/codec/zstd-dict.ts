import type { Asset, Codec } from "./codec.js";
import { DEFAULT_ZSTD_LEVEL } from "./zstd.js";
import { ZstdFrames } from "./zstd-native.js";

/**
 * zstd with a dictionary trained on the namespace's own memories: the strongest classical codec
 * for short records. The dictionary is an asset; each envelope names the one it was written with.
 */
export function createZstdDictCodec(level: number = DEFAULT_ZSTD_LEVEL): Codec {
  const framesByAsset = new Map<string, ZstdFrames>();
  const framesFor = (asset: Asset | undefined): ZstdFrames => {
    if (!asset) throw new TypeError("zstd-dict needs its dictionary asset");
    let frames = framesByAsset.get(asset.id);
    if (!frames) {
      frames = new ZstdFrames(level, asset.bytes);
      framesByAsset.set(asset.id, frames);
    }
    return frames;
  };
  return {
    name: "zstd-dict",
    id: 2,
    requires: "zstd-dictionary",
    encode: (original, asset) => framesFor(asset).compress(original),
    decode: (payload, originalLength, asset) => framesFor(asset).decompress(payload, originalLength),
  };
}
