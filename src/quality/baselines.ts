import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync, gzipSync } from "node:zlib";
import { compress as zstdCompress, decompress as zstdDecompress } from "zstd-napi";

/** A classical compressor measured per record as a reference, with its own stock framing. */
export interface Baseline {
  name: string;
  compress(bytes: Uint8Array): Uint8Array;
  decompress(bytes: Uint8Array): Uint8Array;
}

export const BASELINES: readonly Baseline[] = [
  { name: "gzip -9", compress: (b) => gzipSync(b, { level: 9 }), decompress: (b) => gunzipSync(b) },
  {
    name: "brotli -11",
    compress: (b) =>
      brotliCompressSync(b, {
        params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT, [constants.BROTLI_PARAM_SIZE_HINT]: b.length },
      }),
    decompress: (b) => brotliDecompressSync(b),
  },
  { name: "zstd -19", compress: (b) => zstdCompress(b, { compressionLevel: 19 }), decompress: (b) => zstdDecompress(b) },
];
