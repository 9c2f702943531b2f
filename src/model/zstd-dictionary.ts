import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeLeftovers } from "../core/leftovers.js";
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
 * dictionaries). One file per sample, so the trainer sees record boundaries. The samples are
 * plaintext memories: they live in a private folder (mode 0700, `memzip-train-<pid>-…` in the
 * temporary directory) removed when training ends or the process exits, and swept by the next
 * training or engine start if the process was killed.
 */
export function trainZstdDictionary(samples: readonly Uint8Array[], options: DictionaryTrainingOptions = {}): Uint8Array {
  const { maxBytes, zstdBinary } = { ...DICTIONARY_DEFAULTS, ...options };
  if (samples.length < MIN_DICTIONARY_SAMPLES) {
    throw new MemzipError(ErrorCode.USAGE, `a dictionary needs at least ${MIN_DICTIONARY_SAMPLES} memories to learn from, got ${samples.length}`, {
      hint: "Import more memories into the namespace first.",
    });
  }
  sweepTrainingLeftovers();
  const dir = trainingFolder();
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
    liveFolders.delete(dir);
  }
}

/** Prefix of the private folders that hold plaintext training samples: `memzip-train-<pid>-<random>`. */
export const TRAINING_PREFIX = "memzip-train-";
/** Folders of this process still in use; removed at exit whatever happens to the training. */
const liveFolders = new Set<string>();
let exitHook = false;

/** A new private (0700) folder for training samples under the temporary directory, removed at exit. */
function trainingFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), `${TRAINING_PREFIX}${process.pid}-`));
  chmodSync(dir, 0o700);
  liveFolders.add(dir);
  if (!exitHook) {
    exitHook = true;
    process.once("exit", () => {
      for (const folder of liveFolders) rmSync(folder, { recursive: true, force: true });
    });
  }
  return dir;
}

/**
 * Removes training folders a killed process left behind (their pid no longer runs) in `dir`
 * (default: the temporary directory), and folders of the older `memzip-dict-` naming over a day
 * old. Returns the folders removed. Runs before every training and when an engine opens.
 */
export function sweepTrainingLeftovers(dir: string = tmpdir()): string[] {
  return removeLeftovers(TRAINING_PREFIX, dir, (name, path) => {
    if (!name.startsWith("memzip-dict-")) return false;
    try {
      return Date.now() - statSync(path).mtimeMs > 24 * 3600 * 1000;
    } catch {
      return false;
    }
  });
}
