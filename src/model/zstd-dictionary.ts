import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemzipError, ErrorCode } from "../errors.js";

export interface DictionaryTrainingOptions {
  /** Largest dictionary to produce, in bytes. Defaults to `112640` (zstd's own default). */
  maxBytes?: number;
  /** The `zstd` executable. Defaults to `"zstd"` on the PATH. */
  zstdBinary?: string;
}

export const DICTIONARY_DEFAULTS = { maxBytes: 112_640, zstdBinary: "zstd" } as const satisfies Required<DictionaryTrainingOptions>;

/** zstd's trainer refuses fewer samples than this. */
export const MIN_DICTIONARY_SAMPLES = 8;

/**
 * Trains a zstd dictionary on sample texts with the zstd CLI (no npm package trains
 * dictionaries). One file per sample, so the trainer sees record boundaries.
 */
export function trainZstdDictionary(samples: readonly Uint8Array[], options: DictionaryTrainingOptions = {}): Uint8Array {
  const { maxBytes, zstdBinary } = { ...DICTIONARY_DEFAULTS, ...options };
  if (samples.length < MIN_DICTIONARY_SAMPLES) {
    throw new MemzipError(ErrorCode.USAGE, `a dictionary needs at least ${MIN_DICTIONARY_SAMPLES} memories to learn from, got ${samples.length}`, {
      hint: "Import more memories into the namespace first.",
    });
  }
  const dir = mkdtempSync(join(tmpdir(), "memzip-dict-"));
  try {
    samples.forEach((sample, i) => writeFileSync(join(dir, `${i}.txt`), sample));
    const output = join(dir, "dictionary");
    const result = spawnSync(zstdBinary, ["--train", "-q", "-19", `--maxdict=${maxBytes}`, "-r", dir, "-o", output], { encoding: "utf8" });
    if (result.error) {
      throw new MemzipError(ErrorCode.DEPENDENCY, `cannot run ${zstdBinary}: ${result.error.message}`, {
        hint: "Install the zstd command-line tool (Debian: apt-get install zstd) to train dictionaries.",
        cause: result.error,
      });
    }
    if (result.status !== 0) {
      throw new MemzipError(ErrorCode.USAGE, `zstd could not train a dictionary: ${result.stderr.trim() || `exit ${result.status}`}`, {
        hint: "Dictionaries need more, or more varied, memories; try again after importing more.",
      });
    }
    return new Uint8Array(readFileSync(output));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
