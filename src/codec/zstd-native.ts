import { createRequire } from "node:module";
import type * as ZstdBinding from "zstd-napi/binding.js";

const require = createRequire(import.meta.url);
const binding = require("zstd-napi/binding") as typeof ZstdBinding;

export const ZSTD_MIN_LEVEL = 1;
export const ZSTD_MAX_LEVEL = 19;

/**
 * One-shot zstd frames without the fields the envelope already carries (content checksum,
 * dictionary id) so that a short record pays as few header bytes as possible.
 */
export class ZstdFrames {
  private readonly cctx = new binding.CCtx();
  private readonly dctx = new binding.DCtx();

  constructor(level: number, dictionary?: Uint8Array) {
    const p = binding.CParameter;
    this.cctx.setParameter(p.compressionLevel, level);
    this.cctx.setParameter(p.checksumFlag, 0);
    this.cctx.setParameter(p.dictIDFlag, 0);
    this.cctx.setParameter(p.contentSizeFlag, 0);
    if (dictionary) {
      this.cctx.loadDictionary(dictionary);
      this.dctx.loadDictionary(dictionary);
    }
  }

  compress(source: Uint8Array): Uint8Array {
    const out = Buffer.allocUnsafe(binding.compressBound(source.length));
    const written = this.cctx.compress2(out, source);
    return new Uint8Array(out.subarray(0, written));
  }

  /** Decodes into a buffer of exactly `length` bytes, so a corrupted frame can never balloon. */
  decompress(frame: Uint8Array, length: number): Uint8Array {
    const out = Buffer.alloc(length);
    const written = this.dctx.decompress(out, frame);
    if (written !== length) throw new RangeError(`zstd produced ${written} bytes, expected ${length}`);
    return new Uint8Array(out.buffer, out.byteOffset, length);
  }
}

export function zstdVersion(): string {
  return binding.versionString();
}
