import { createHash, randomBytes } from "node:crypto";
import { closeSync, constants, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join, resolve } from "node:path";
import { z } from "zod";
import { userCacheDir } from "./paths.js";

/**
 * The result of `memzip profile calibrate`: the settings `auto` measured fastest on this machine,
 * kept as JSON in the user cache directory (the `calibration/` folder under {@link userCacheDir}),
 * one file per machine fingerprint and part — `<fingerprint hash>.classical.json` and
 * `<fingerprint hash>.llm-<model sha256>.json` — each replaced whole (temporary file,
 * rename), so nothing is ever read, merged and written back: two calibrations at once (of two
 * models, or two machines sharing a home over NFS) never lose each other's result (review23 C5).
 * A file of other hardware, another Node or another memzip has another name and is not used; the
 * `llm` part is kept per model file (by its sha256). Nothing here is needed to read or write a
 * store: a missing, unreadable or corrupt file means `auto` uses its arithmetic.
 */

/** What a calibration depends on besides the model: when any of it changes, it is redone. */
export interface HardwareFingerprint {
  cpuModel: string;
  cpuCores: number;
  /** RAM rounded to whole GiB (the kernel reports a few KiB less from boot to boot). */
  ramGiB: number;
  node: string;
  memzip: string;
}

const positive = z.number().int().min(1);
const measured = z.object({
  /** Median memories per minute of the chosen setting, and of every candidate tried. */
  memoriesPerMin: z.number().nonnegative(),
  candidates: z
    .array(z.object({ label: z.string(), memoriesPerMin: z.number().nonnegative(), cpuMsPerMemory: z.number().nonnegative() }))
    .max(64),
  sampleRecords: positive,
  rounds: positive,
});

const classicalSchema = measured.extend({
  workers: z.number().int().min(0).max(256),
  concurrency: positive.max(4096),
  batchSize: positive.max(1_000_000),
  /** The measured parallel speedup of the cores (threads busy at once); the decision used it. */
  parallelism: z.number().min(1).max(1024).optional(),
  /** Rounds of the concurrency step (absent: concurrency was not measured, e.g. no codec worker). */
  concurrencyRounds: positive.max(64).optional(),
});

const llmSchema = measured.extend({
  contexts: positive.max(256),
  threads: positive.max(256),
  workers: z.number().int().min(0).max(64),
  /** Memories in flight with this model: measured with the pipeline below, as auto runs it. */
  concurrency: positive.max(4096),
  /** Classical-codec worker threads and batch measured with the model (absent in calibrations made before they were). */
  codecWorkers: z.number().int().min(0).max(256).optional(),
  batchSize: positive.max(1_000_000).optional(),
  /** The classical calibration the pipeline was measured under: a later classical calibration supersedes it (review25 I-6). */
  classicalCalibratedAt: z.string().optional(),
  model: z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), path: z.string(), bytes: z.number().int().nonnegative(), mtimeMs: z.number() }),
});

const fingerprintSchema = z.object({ cpuModel: z.string(), cpuCores: positive, ramGiB: z.number().int().nonnegative(), node: z.string(), memzip: z.string() });

export const CALIBRATION_FORMAT = 1;

const fileSchema = z.object({
  format: z.literal(CALIBRATION_FORMAT),
  hardware: fingerprintSchema,
  /** ISO time of the classical calibration. */
  classical: classicalSchema.extend({ calibratedAt: z.string() }).optional(),
  /** Per model sha256. */
  llm: z.record(z.string(), llmSchema.extend({ calibratedAt: z.string() })).default({}),
});

export type ClassicalCalibration = z.infer<typeof classicalSchema> & { calibratedAt: string };
export type LlmCalibration = z.infer<typeof llmSchema> & { calibratedAt: string };
export type CalibrationFile = z.infer<typeof fileSchema>;

/** What `auto` takes from a calibration: the classical part, and the `llm` part of the configured model. */
export interface Calibration {
  classical?: ClassicalCalibration;
  llm?: LlmCalibration;
}

let memzipVersion: string | undefined;
function packageVersion(): string {
  if (memzipVersion === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version?: unknown };
      memzipVersion = typeof pkg.version === "string" ? pkg.version : "unknown";
    } catch {
      memzipVersion = "unknown";
    }
  }
  return memzipVersion;
}

export function hardwareFingerprint(cores: number, ramBytes: number): HardwareFingerprint {
  return { cpuModel: cpus()[0]?.model.trim() ?? "unknown", cpuCores: cores, ramGiB: Math.round(ramBytes / 2 ** 30), node: process.version, memzip: packageVersion() };
}

/** The folder of calibration files; undefined when there is no per-user cache folder (no usable home): nothing is kept then. */
export function calibrationDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const folder = userCacheDir(env);
  return folder === undefined ? undefined : join(folder, "calibration");
}

/** A fingerprint's file-name prefix: 16 hex digits of the sha256 of its fields. */
export function fingerprintKey(f: HardwareFingerprint): string {
  return createHash("sha256").update(JSON.stringify([f.cpuModel, f.cpuCores, f.ramGiB, f.node, f.memzip])).digest("hex").slice(0, 16);
}

/** The model file's real path (links resolved, review25 I-10), or its absolute path when it is not there. */
function modelKeyPath(modelPath: string): string {
  const absolute = resolve(modelPath);
  try {
    return realpathSync(absolute);
  } catch {
    return absolute;
  }
}

const classicalName = (f: HardwareFingerprint) => `${fingerprintKey(f)}.classical.json`;
/**
 * A model's calibration file is named by the machine and the model file's real path, so the
 * same model at two paths keeps two calibrations (review24 K1) and opening an engine reads the
 * one file of its model without listing the folder (K2: no cap on how many models are kept).
 */
const llmName = (f: HardwareFingerprint, absolutePath: string) => `${fingerprintKey(f)}.llm-${createHash("sha256").update(absolutePath).digest("hex").slice(0, 16)}.json`;

function sameFingerprint(a: HardwareFingerprint, b: HardwareFingerprint): boolean {
  return a.cpuModel === b.cpuModel && a.cpuCores === b.cpuCores && a.ramGiB === b.ramGiB && a.node === b.node && a.memzip === b.memzip;
}

export interface CalibrationRead {
  /** The file's contents when it is valid and made on this machine. */
  file?: CalibrationFile;
  /** Why a file that exists was not used (corrupt, foreign, another machine); absent when there is none or it is used. */
  ignored?: string;
}

/** A calibration file is a few KiB; anything larger is not one. */
const MAX_FILE_BYTES = 64 << 10;

/**
 * The file's text when it is a regular file of at most {@link MAX_FILE_BYTES}: a FIFO (opened
 * without blocking), a device such as /dev/zero behind a link, or a huge file is refused instead
 * of hanging or filling memory in every engine that opens with `auto` (review22 C4).
 */
function readSmallFile(path: string): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new Error("not a regular file");
    if (stat.size > MAX_FILE_BYTES) throw new Error(`${stat.size} bytes, more than a calibration's ${MAX_FILE_BYTES}`);
    const buffer = Buffer.alloc(stat.size);
    let done = 0;
    while (done < buffer.length) {
      const n = readSync(fd, buffer, done, buffer.length - done, done);
      if (n === 0) break;
      done += n;
    }
    return buffer.subarray(0, done).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/** One calibration file, parsed; `undefined` when there is none. Never throws. */
function readOne(path: string, fingerprint: HardwareFingerprint): CalibrationRead {
  let text: string;
  try {
    text = readSmallFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ENOTDIR") return {};
    return { ignored: `cannot read ${path}: ${(error as Error).message}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ignored: `${path} is not JSON (ignored; \`memzip profile calibrate\` rewrites it)` };
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ignored: `${path} is not a memzip calibration of format ${CALIBRATION_FORMAT} (${issue ? `${issue.path.join(".") || "file"}: ${issue.message}` : "invalid"}; ignored)` };
  }
  if (!sameFingerprint(parsed.data.hardware, fingerprint)) {
    return { ignored: `${path} names other hardware or software (${describeFingerprint(parsed.data.hardware)}; now ${describeFingerprint(fingerprint)}): ignored` };
  }
  return { file: parsed.data };
}

/**
 * This machine's calibration files, merged (its classical file and every model file, keyed by the
 * model's absolute path); never throws. With none of its own, `ignored` says when calibrations of
 * other hardware or software are there. Engines do not call it: {@link loadCalibration} reads two files.
 */
export function readCalibrationFile(fingerprint: HardwareFingerprint, env: NodeJS.ProcessEnv = process.env): CalibrationRead {
  const dir = calibrationDir(env);
  if (dir === undefined) return {};
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === "ENOENT" || code === "ENOTDIR" ? {} : { ignored: `cannot read ${dir}: ${(error as Error).message}` };
  }
  const key = fingerprintKey(fingerprint);
  const merged: CalibrationFile = { format: CALIBRATION_FORMAT, hardware: fingerprint, llm: {} };
  const problems: string[] = [];
  let found = false;
  const classical = readOne(join(dir, classicalName(fingerprint)), fingerprint);
  if (classical.ignored) problems.push(classical.ignored);
  if (classical.file?.classical) {
    merged.classical = classical.file.classical;
    found = true;
  }
  for (const name of names.filter((n) => n.startsWith(`${key}.llm-`) && n.endsWith(".json"))) {
    const read = readOne(join(dir, name), fingerprint);
    if (read.ignored) problems.push(read.ignored);
    for (const entry of Object.values(read.file?.llm ?? {})) {
      merged.llm[entry.model.path] = entry;
      found = true;
    }
  }
  if (problems.length > 0) return { ...(found ? { file: merged } : {}), ignored: problems.join("; ") };
  if (found) return { file: merged };
  const others = names.filter((n) => n.endsWith(".classical.json"));
  if (others.length > 0) {
    const other = readOne(join(dir, others[0] as string), fingerprint);
    return { ignored: `the calibrations in ${dir} were made on other hardware or software${other.ignored ? ` (${other.ignored})` : ""}: stale for this machine, ignored; \`memzip profile calibrate\` measures it` };
  }
  return {};
}

export function describeFingerprint(f: HardwareFingerprint): string {
  return `${f.cpuModel}, ${f.cpuCores} cores, ${f.ramGiB} GiB, Node ${f.node}, memzip ${f.memzip}`;
}

/**
 * The calibration that applies to this machine and (when `modelPath` names a file) this model
 * file. The model is matched by path, size and modification time, so opening an engine never
 * hashes a model; a model file that changed is not matched (arithmetic until recalibrated).
 */
export function loadCalibration(fingerprint: HardwareFingerprint, modelPath = "", env: NodeJS.ProcessEnv = process.env): Calibration & { ignored?: string } {
  const dir = calibrationDir(env);
  if (dir === undefined) return {};
  const problems: string[] = [];
  const result: Calibration & { ignored?: string } = {};
  const classical = readOne(join(dir, classicalName(fingerprint)), fingerprint);
  if (classical.ignored) problems.push(classical.ignored);
  if (classical.file?.classical) result.classical = classical.file.classical;
  let modelFound = false;
  if (modelPath) {
    let stat: { size: number; mtimeMs: number; real: string } | undefined;
    try {
      const real = modelKeyPath(modelPath);
      const stats = statSync(real);
      if (stats.isFile()) stat = { size: stats.size, mtimeMs: stats.mtimeMs, real };
    } catch {
      // Not a file (a registered name, a remote backend): no llm calibration applies.
    }
    if (stat) {
      const read = readOne(join(dir, llmName(fingerprint, stat.real)), fingerprint);
      if (read.ignored) problems.push(read.ignored);
      modelFound = read.file !== undefined;
      // The file is this path's; the entry must still be of the file as it is now (size and time).
      const entry = Object.values(read.file?.llm ?? {}).find((e) => e.model.bytes === stat.size && e.model.mtimeMs === stat.mtimeMs);
      if (entry) result.llm = entry;
      else if (!modelFound && hasEarlierLayout(dir, fingerprint)) {
        problems.push(`model calibrations of an earlier layout (named by the model's sha256) are in ${dir} and no longer read: \`memzip profile calibrate --model ${modelPath}\` measures this one again`);
      }
    }
  }
  if (problems.length > 0) return { ...result, ignored: problems.join("; ") };
  if (classical.file || modelFound) return result;
  // None of this machine's own: say so when the folder holds other machines' (or other versions') files.
  let others: string[] = [];
  try {
    others = readdirSync(dir).filter((n) => n.endsWith(".classical.json")).sort();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENOTDIR") return { ignored: `cannot read ${dir}: ${(error as Error).message}` };
  }
  if (others.length === 0) return result;
  const other = readOne(join(dir, others[0] as string), fingerprint);
  return { ignored: `the calibrations in ${dir} were made on other hardware or software${other.ignored ? ` (${other.ignored})` : ""}: stale for this machine, ignored; \`memzip profile calibrate\` measures it` };
}

/** Whether this machine has model files named the way memzip named them before stop 25 (`<key>.llm-<sha256>.json`). */
function hasEarlierLayout(dir: string, fingerprint: HardwareFingerprint): boolean {
  const old = new RegExp(`^${fingerprintKey(fingerprint)}\\.llm-[0-9a-f]{64}\\.json$`);
  try {
    return readdirSync(dir).some((name) => old.test(name));
  } catch {
    return false;
  }
}

/**
 * Stores a calibration: each part (classical; the model's llm settings) replaces its own file of
 * this machine's fingerprint, written to a temporary file and renamed, so a reader never sees half
 * and no other part or machine is touched. Returns the folder. Throws when the cache directory
 * cannot be written (the caller decides whether that matters).
 */
export function writeCalibration(fingerprint: HardwareFingerprint, update: Calibration & { forgetModel?: string }, env: NodeJS.ProcessEnv = process.env): string {
  const dir = calibrationDir(env);
  if (dir === undefined) throw new Error("there is no per-user cache folder (no usable home directory; set MEMZIP_CACHE_DIR)");
  const files: [string, CalibrationFile][] = [];
  if (update.classical) files.push([classicalName(fingerprint), { format: CALIBRATION_FORMAT, hardware: fingerprint, classical: update.classical, llm: {} }]);
  if (update.llm) files.push([llmName(fingerprint, modelKeyPath(update.llm.model.path)), { format: CALIBRATION_FORMAT, hardware: fingerprint, llm: { [update.llm.model.sha256]: update.llm } }]);
  for (const [, file] of files) fileSchema.parse(file);
  const saved: string[] = [];
  const failed = (error: unknown) => Object.assign(error instanceof Error ? error : new Error(String(error)), { saved });
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw failed(error);
  }
  for (const [name, file] of files) {
    const path = join(dir, name);
    const temporary = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    try {
      writeFileSync(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o644 });
      renameSync(temporary, path);
    } catch (error) {
      rmSync(temporary, { force: true });
      // What was kept before the failure is named (review25 I-8): auto uses it.
      throw failed(error);
    }
    saved.push(file.classical ? "classical" : "model");
  }
  // A model whose settings this run measured but could not rank: its earlier result must not steer
  // auto any longer (review26 C-1) — auto uses its arithmetic for it until a calibration decides.
  if (update.forgetModel !== undefined && !update.llm) {
    try {
      rmSync(join(dir, llmName(fingerprint, modelKeyPath(update.forgetModel))), { force: true });
    } catch (error) {
      throw failed(error);
    }
  }
  return dir;
}
