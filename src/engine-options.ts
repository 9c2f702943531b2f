import { CODEC_NAMES, isCodecName, type CodecName } from "./codec/registry.js";
import { MemzipError, ErrorCode } from "./errors.js";
import type { Cache } from "./cache/cache.js";
import { NAMESPACE_PATTERN } from "./pipeline/records.js";
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
  /**
   * Cache of decoded texts for `recall` (keyed by the envelope's content) and of proven envelopes
   * for writes (keyed by the text and the codec setup): `"memory"` (an LRU of 50,000 entries /
   * 64 MiB / 2 h), `"off"`, or any `Cache` (a `TieredCache` with a disk tier, say).
   * Defaults to `"memory"`.
   */
  cache?: "memory" | "off" | Cache;
}

export const ENGINE_DEFAULTS = {
  namespace: "default",
  codecs: ["raw", "zstd", "zstd-dict", "cm", "cm-ref"],
  zstdLevel: 19,
  rawBelow: 16,
  maxTextBytes: DEFAULT_MAX_TEXT_BYTES,
  batchSize: 256,
  autoTrainAfter: 200,
  cache: "memory",
} as const satisfies Required<Omit<EngineOptions, "db">>;

/** Checks options that came from outside (a library caller, a config file) and names what is wrong. */
export function validateEngineOptions(options: Required<Omit<EngineOptions, "db">>): Required<Omit<EngineOptions, "db">> {
  const fail = (message: string): never => {
    throw new MemzipError(ErrorCode.USAGE, `invalid engine option: ${message}`, { hint: "See EngineOptions in src/engine-options.ts for each option's range." });
  };
  const wholeNumber = (name: string, value: number, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max) fail(`${name} must be a whole number from ${min} to ${max}, got ${value}`);
  };
  if (!NAMESPACE_PATTERN.test(options.namespace)) fail(`namespace "${options.namespace}" must be 1–128 letters, digits or _.:@-`);
  if (!Array.isArray(options.codecs) || options.codecs.length === 0) fail("codecs must name at least one codec");
  for (const name of options.codecs) if (!isCodecName(name)) fail(`unknown codec "${name}"; choose from ${CODEC_NAMES.join(", ")}`);
  wholeNumber("zstdLevel", options.zstdLevel, 1, 19);
  wholeNumber("rawBelow", options.rawBelow, 0, 1 << 20);
  wholeNumber("maxTextBytes", options.maxTextBytes, 1, 1 << 30);
  wholeNumber("batchSize", options.batchSize, 1, 1_000_000);
  wholeNumber("autoTrainAfter", options.autoTrainAfter, 0, Number.MAX_SAFE_INTEGER);
  const { cache } = options;
  if (cache !== "memory" && cache !== "off" && (typeof cache !== "object" || cache === null || typeof cache.get !== "function")) fail('cache must be "memory", "off" or a Cache');
  return options;
}
