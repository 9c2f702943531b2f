import type { CodecName } from "./codec/registry.js";
import { DEFAULT_MAX_TEXT_BYTES } from "./codec/text.js";

export interface EngineOptions {
  /** SQLite store path, or `":memory:"`. Defaults to `MEMZIP_DB` or the user's data directory. */
  db?: string;
  /** Namespace (agent or user) for writes that do not name one. Defaults to `"default"`. */
  namespace?: string;
  /** Codecs the policy may try per memory; the smallest verified envelope wins. Defaults to all lossless codecs. */
  codecs?: readonly CodecName[];
  /** zstd level for `zstd` and `zstd-dict`, 1–19. Defaults to `19`. */
  zstdLevel?: number;
  /** Texts shorter than this many bytes are stored `raw` without trying other codecs. Defaults to `16`. */
  rawBelow?: number;
  /** Largest text accepted, in UTF-8 bytes. Defaults to 16 MiB. */
  maxTextBytes?: number;
  /** Memories per store transaction during imports. Defaults to `256`. */
  batchSize?: number;
  /**
   * After an import, a namespace with at least this many memories gets the assets its codecs
   * lack (dictionary, context-model snapshot) trained, and its memories recoded where that makes
   * them smaller; `0` turns this off.
   * Defaults to `200`.
   */
  autoTrainAfter?: number;
}

export const ENGINE_DEFAULTS = {
  namespace: "default",
  codecs: ["raw", "zstd", "zstd-dict", "cm", "cm-ref"],
  zstdLevel: 19,
  rawBelow: 16,
  maxTextBytes: DEFAULT_MAX_TEXT_BYTES,
  batchSize: 256,
  autoTrainAfter: 200,
} as const satisfies Required<Omit<EngineOptions, "db">>;
