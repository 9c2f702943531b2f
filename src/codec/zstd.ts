import type { Codec } from "./codec.js";
import { ZstdFrames, ZSTD_MAX_LEVEL, ZSTD_MIN_LEVEL } from "./zstd-native.js";
import { CODEC_IDS } from "./ids.js";

export const DEFAULT_ZSTD_LEVEL = 19;

/** Plain zstd: the fallback that always works. */
export function createZstdCodec(level: number = DEFAULT_ZSTD_LEVEL): Codec {
  if (!Number.isInteger(level) || level < ZSTD_MIN_LEVEL || level > ZSTD_MAX_LEVEL) {
    throw new RangeError(`zstd level must be an integer from ${ZSTD_MIN_LEVEL} to ${ZSTD_MAX_LEVEL}, got ${level}`);
  }
  const frames = new ZstdFrames(level);
  return {
    name: "zstd",
    id: CODEC_IDS.zstd,
    encode: (original) => frames.compress(original),
    decode: (payload, originalLength) => frames.decompress(payload, originalLength),
  };
}
