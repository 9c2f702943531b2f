/**
 * Earlier texts of a memory, coded against the text that replaced them: zstd with the successor's
 * bytes loaded as a raw-content dictionary, so what the two share costs a few bytes of matches.
 * A text whose delta would not be smaller is kept raw. Texts are UTF-8, so a successor can never
 * start with zstd's dictionary magic (0x37 0xA4 ...) and is always read as raw content.
 */
import { checksum32 } from "./checksum.js";
import { ZstdFrames } from "./zstd-native.js";
import { MemzipError, ErrorCode } from "../errors.js";

/** zstd level of history deltas (one frame per edit: the strongest level costs little). */
const DELTA_LEVEL = 19;

export type DeltaCodec = "zstd-delta" | "raw";

export interface CodedVersion {
  codec: DeltaCodec;
  payload: Uint8Array;
}

function frames(successor: Uint8Array): ZstdFrames {
  return new ZstdFrames(DELTA_LEVEL, successor.length > 0 ? successor : undefined);
}

/** Codes `previous` against `successor`; the delta is proven to decode before it is used. */
export function encodeVersion(previous: Uint8Array, successor: Uint8Array): CodedVersion {
  const zstd = frames(successor);
  const delta = zstd.compress(previous);
  if (delta.length < previous.length) {
    try {
      if (Buffer.from(zstd.decompress(delta, previous.length)).equals(previous)) return { codec: "zstd-delta", payload: delta };
    } catch {
      // fall through to raw
    }
  }
  return { codec: "raw", payload: new Uint8Array(previous) };
}

/** The bytes of a version coded by `encodeVersion`, checked against its length and XXH32. */
export function decodeVersion(codec: string, payload: Uint8Array, successor: Uint8Array, originalLength: number, checksum: number): Uint8Array {
  let bytes: Uint8Array;
  if (codec === "raw") bytes = payload;
  else if (codec === "zstd-delta") {
    try {
      bytes = frames(successor).decompress(payload, originalLength);
    } catch (error) {
      throw new MemzipError(ErrorCode.FORMAT, `a history delta did not decode: ${(error as Error).message}`, { cause: error, hint: "The history row is damaged; the memory's current text is unaffected." });
    }
  } else throw new MemzipError(ErrorCode.UNKNOWN_CODEC, `unknown history codec ${JSON.stringify(codec)}`, { hint: "Read this store with the memzip release that wrote it." });
  if (bytes.length !== originalLength || checksum32(bytes) !== checksum) {
    throw new MemzipError(ErrorCode.CHECKSUM, "a kept version decoded to bytes whose checksum differs from the one recorded", { hint: "The history row is damaged; the memory's current text is unaffected." });
  }
  return bytes;
}
