import { xxh32 } from "@node-rs/xxhash";

/** XXH32 (seed 0) of the original bytes: the envelope's integrity check. */
export function checksum32(bytes: Uint8Array): number {
  return xxh32(bytes, 0) >>> 0;
}
