import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
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
  const files = prepareTrainingFiles(samples, options);
  try {
    const result = spawnSync(files.binary, files.args, { encoding: "utf8" });
    return dictionaryOf(files, result.error, result.status, result.stderr);
  } finally {
    files.remove();
  }
}

/**
 * `trainZstdDictionary` without blocking the caller's thread while zstd trains (seconds on a few
 * MB): a server answers other requests meanwhile. `signal` stops zstd (SIGKILL) and rejects with
 * its reason; the samples' folder goes either way.
 */
export async function trainZstdDictionaryAsync(samples: readonly Uint8Array[], options: DictionaryTrainingOptions = {}, signal?: AbortSignal): Promise<Uint8Array> {
  signal?.throwIfAborted();
  const files = prepareTrainingFiles(samples, options, false);
  try {
    // Thousands of small files: written a few at a time, so that this thread goes on running meanwhile.
    let next = 0;
    const writeSome = async () => {
      for (let i = next++; i < samples.length; i = next++) {
        signal?.throwIfAborted();
        await writeFile(join(files.dir, `${i}.txt`), samples[i] as Uint8Array);
      }
    };
    // Every writer settles before the folder may be removed (one still creating a file would leave the folder behind).
    const failed = (await Promise.allSettled(Array.from({ length: 8 }, writeSome))).find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
    const { error, status, stderr } = await new Promise<{ error?: Error; status: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(files.binary, files.args, { stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      let settled = false;
      const stop = () => child.kill("SIGKILL");
      const settle = (result: { error?: Error; status: number | null }) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener("abort", stop);
        if (signal?.aborted) reject(signal.reason);
        else resolve({ ...result, stderr });
      };
      signal?.addEventListener("abort", stop, { once: true });
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        if (stderr.length < 64 * 1024) stderr += chunk;
      });
      // A binary that cannot start emits only "error"; one that ran ends with "close" (its stderr read to the end).
      child.once("error", (error) => settle({ error, status: null }));
      child.once("close", (status) => settle({ status }));
    });
    return dictionaryOf(files, error, status, stderr);
  } finally {
    files.remove();
  }
}

interface TrainingFiles {
  dir: string;
  binary: string;
  args: string[];
  output: string;
  remove(): void;
}

/** Checks the samples, makes a private folder for them (and writes them there, one file each, unless told not to), and says how to run the trainer on them. */
function prepareTrainingFiles(samples: readonly Uint8Array[], options: DictionaryTrainingOptions, write = true): TrainingFiles {
  const { maxBytes, zstdBinary } = { ...DICTIONARY_DEFAULTS, ...options };
  if (samples.length < MIN_DICTIONARY_SAMPLES) {
    throw new MemzipError(ErrorCode.USAGE, `a dictionary needs at least ${MIN_DICTIONARY_SAMPLES} memories to learn from, got ${samples.length}`, {
      hint: "Import more memories into the namespace first.",
    });
  }
  sweepTrainingLeftovers();
  const dir = trainingFolder();
  const remove = () => {
    rmSync(dir, { recursive: true, force: true });
    liveFolders.delete(dir);
  };
  try {
    if (write) samples.forEach((sample, i) => writeFileSync(join(dir, `${i}.txt`), sample));
  } catch (error) {
    remove();
    throw error;
  }
  const output = join(dir, "dictionary");
  return { dir, binary: zstdBinary, args: ["--train", "-q", "-19", `--maxdict=${maxBytes}`, "-r", dir, "-o", output], output, remove };
}

/** The trained dictionary, or the typed error for how zstd ended. */
function dictionaryOf({ binary, output }: TrainingFiles, error: Error | undefined, status: number | null, stderr: string): Uint8Array {
  if (error) {
    throw new MemzipError(ErrorCode.DEPENDENCY, `cannot run ${binary}: ${error.message}`, {
      hint: "Install the zstd command-line tool (Debian: apt-get install zstd) to train dictionaries.",
      cause: error,
    });
  }
  if (status !== 0) {
    throw new MemzipError(ErrorCode.USAGE, `zstd could not train a dictionary: ${stderr.trim() || `exit ${status}`}`, {
      hint: "Dictionaries need more, or more varied, memories; try again after importing more.",
    });
  }
  return new Uint8Array(readFileSync(output));
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
