import { availableParallelism, totalmem } from "node:os";
import { MemzipError, ErrorCode } from "../errors.js";

import { isOneOf, PROFILE_NAMES, type ProfileName } from "../core/vocabulary.js";
import type { Calibration } from "./calibration.js";

export { PROFILE_NAMES, type ProfileName };

export function isProfileName(name: string): name is ProfileName {
  return isOneOf(PROFILE_NAMES, name);
}

/** What the machine offers, as far as the profile needs to know. */
export interface Hardware {
  cpuCores: number;
  ramBytes: number;
  /** `false` when no GPU backend is usable (or it was not probed). */
  gpu: false | string;
  gpuNames: string[];
  vramTotalBytes: number;
  vramFreeBytes: number;
  /** Whether the GPU facts come from probing node-llama-cpp (`false`: CPU facts only). */
  gpuProbed: boolean;
}

/** Settings a profile fixes; engine options and flags given explicitly go over them. */
export interface Profile {
  name: ProfileName;
  /** Memories per store transaction (and per checkpoint). */
  batchSize: number;
  /** Memories being coded at once in a batch import. */
  concurrency: number;
  /** Cosine similarity at or above which two memories are grouped. */
  similarityThreshold: number;
  /** Worker threads for the classical codecs; `0` codes on the main thread. */
  workers: number;
  cache: { maxEntries: number; ttlMs: number; maxBytes: number };
  /**
   * `cm` models (a namespace's trained context model: 26–55 MiB of memory each) kept loaded per thread — the main
   * thread and each codec worker — so that reads and writes across many namespaces do not load a model each (0.2–0.3 s
   * from the derived state).
   */
  cmModels: number;
  llm: {
    /** llama contexts (one sequence each) coding at once. */
    contexts: number;
    /** CPU threads per context. */
    threads: number;
    gpuLayers: "auto" | number;
    /** Share of free VRAM the model and its contexts may take. */
    vramFraction: number;
    /** Threads that each load the model and take a share of the contexts (CPU); `0`: the main thread. */
    workers: number;
  };
  /** Give up on a model for one memory after this long (the memory falls to a classical codec); `0`: never. */
  itemTimeoutMs: number;
  /** Retries of a transient backend error, with exponential backoff and jitter. */
  retries: number;
  /** Requests per second to a remote backend, with a burst allowance; `0`: unlimited. */
  rateLimit: { perSecond: number; burst: number };
  /** Why each number is what it is (for `memzip profile show`). */
  reasons: string[];
  /**
   * Where the sizing numbers came from: `preset`, `arithmetic` (auto without a calibration) or
   * `calibrated <ISO date>` (auto, measured by `memzip profile calibrate` on this machine).
   */
  sources: { classical: string; llm: string };
}

const HOUR = 60 * 60 * 1000;

/** What one loaded `cm` model costs a process, rounded up (BENCHMARKS.md, "Reads across namespaces"). */
const CM_MODEL_BYTES = 64 << 20;

/**
 * The original system's presets, made real: local (batch 32, concurrency 8, threshold 0.85, a
 * 50,000-entry / 2 h cache, 0.9 of VRAM; and 8 loaded `cm` models, 4 in cloud), cloud (16, 4, 0.8, 10,000 / 1 h), hybrid (local coding
 * with the cloud's limits for remote calls). `naive` is the baseline the bench compares against:
 * one memory at a time, no cache, no workers.
 */
const LOCAL: Omit<Profile, "name" | "reasons" | "sources"> = {
  batchSize: 32,
  concurrency: 8,
  similarityThreshold: 0.85,
  workers: 2,
  cache: { maxEntries: 50_000, ttlMs: 2 * HOUR, maxBytes: 256 << 20 },
  cmModels: 8,
  llm: { contexts: 8, threads: 1, gpuLayers: "auto", vramFraction: 0.9, workers: 0 },
  itemTimeoutMs: 0,
  retries: 2,
  rateLimit: { perSecond: 0, burst: 0 },
};

const PRESETS: Record<Exclude<ProfileName, "auto">, Omit<Profile, "name" | "reasons" | "sources">> = {
  local: LOCAL,
  cloud: {
    batchSize: 16,
    concurrency: 4,
    similarityThreshold: 0.8,
    workers: 1,
    cache: { maxEntries: 10_000, ttlMs: HOUR, maxBytes: 64 << 20 },
    cmModels: 4,
    llm: { contexts: 4, threads: 1, gpuLayers: 0, vramFraction: 0.9, workers: 0 },
    itemTimeoutMs: 30_000,
    retries: 3,
    rateLimit: { perSecond: 10, burst: 20 },
  },
  hybrid: { ...LOCAL, itemTimeoutMs: 30_000, retries: 3, rateLimit: { perSecond: 10, burst: 20 } },
  naive: {
    batchSize: 1,
    concurrency: 1,
    similarityThreshold: 1,
    workers: 0,
    cache: { maxEntries: 0, ttlMs: 0, maxBytes: 0 },
    cmModels: 2,
    llm: { contexts: 1, threads: 1, gpuLayers: "auto", vramFraction: 0.9, workers: 0 },
    itemTimeoutMs: 0,
    retries: 0,
    rateLimit: { perSecond: 0, burst: 0 },
  },
};

const PRESET_REASONS: Record<Exclude<ProfileName, "auto">, string> = {
  local: "preset local: the original's local numbers (batch 32, concurrency 8, threshold 0.85, cache 50,000 / 2 h, VRAM 0.9)",
  cloud: "preset cloud: the original's cloud numbers (batch 16, concurrency 4, threshold 0.8, cache 10,000 / 1 h), 10 requests/s",
  hybrid: "preset hybrid: local coding settings, with the cloud's rate limit, retries and timeout for remote backends",
  naive: "preset naive: one memory at a time, no cache, no workers (the benchmark's baseline)",
};

/** Facts the operating system gives without loading any GPU runtime. */
export function hardwareFromOs(): Hardware {
  return { cpuCores: availableParallelism(), ramBytes: totalmem(), gpu: false, gpuNames: [], vramTotalBytes: 0, vramFreeBytes: 0, gpuProbed: false };
}

/**
 * The settings for a profile on this hardware. `auto` sizes them from the machine: on a CPU,
 * up to 4 llama contexts per core (per-token JavaScript overlaps native evaluation, so contexts
 * scale past the core count) and one codec worker per core; on a GPU, contexts by the VRAM left
 * after the model within the 0.9 budget.
 */
export function resolveProfile(name: ProfileName, hardware: Hardware, modelBytes = 0, calibration: Calibration = {}): Profile {
  if (name !== "auto") return { name, ...structuredClone(PRESETS[name]), reasons: [PRESET_REASONS[name]], sources: { classical: "preset", llm: "preset" } };
  const base = structuredClone(PRESETS.local);
  const reasons: string[] = [`auto: starts from the local preset; ${hardware.cpuCores} CPU cores, ${(hardware.ramBytes / 2 ** 30).toFixed(1)} GiB RAM`];
  base.workers = Math.max(1, Math.min(hardware.cpuCores, 16));
  reasons.push(`workers ${base.workers}: one classical-codec worker thread per core`);
  if (hardware.gpu) {
    const budget = hardware.vramFreeBytes * base.llm.vramFraction;
    // A context's KV cache for a window of 2048 tokens is well under 64 MiB for models up to ~1B parameters.
    const perContext = 64 << 20;
    const contexts = Math.max(1, Math.min(16, Math.floor((budget - modelBytes) / perContext)));
    base.llm.contexts = contexts;
    base.llm.gpuLayers = "auto";
    reasons.push(
      `llm: ${hardware.gpu} GPU (${hardware.gpuNames.join(", ") || "unnamed"}), ${(hardware.vramFreeBytes / 2 ** 30).toFixed(1)} GiB VRAM free; ` +
        `budget 0.9 of it; ${contexts} contexts of ~64 MiB after ${(modelBytes / 2 ** 20).toFixed(0)} MiB of model; all layers offloaded that fit`,
    );
  } else {
    // Each context holds a KV cache; an eighth of RAM at ~256 MiB per context bounds them for larger models.
    const byRam = Math.floor(hardware.ramBytes / 8 / (256 << 20));
    base.llm.contexts = Math.max(1, Math.min(8, hardware.cpuCores * 4, byRam));
    base.llm.gpuLayers = 0;
    base.llm.workers = Math.max(1, Math.min(hardware.cpuCores, base.llm.contexts));
    reasons.push(
      `llm workers ${base.llm.workers}: one model thread per core, ${Math.ceil(base.llm.contexts / base.llm.workers)} contexts each — node-llama-cpp's per-token JavaScript keeps a thread busy, so contexts alone do not scale on a CPU`,
    );
    reasons.push(
      `llm: ${hardware.gpuProbed ? "no usable GPU" : "GPU not probed"}; ${base.llm.contexts} contexts of 1 thread ` +
        "(up to 4 per core, at most 8 and within 1/8 of RAM: on 2 cores 1/2/4/8 contexts measured 93/121/152/~170 memories/min, BENCHMARKS.md)",
    );
  }
  base.concurrency = Math.max(base.llm.contexts, base.workers * 2);
  reasons.push(`concurrency ${base.concurrency}: enough memories in flight to keep every context and worker busy`);
  base.cache.maxBytes = Math.min(base.cache.maxBytes, Math.floor(hardware.ramBytes / 16));
  reasons.push(`cache: 50,000 entries / 2 h, at most ${(base.cache.maxBytes / 2 ** 20).toFixed(0)} MiB (1/16 of RAM, 256 MiB cap)`);
  const sources = { classical: "arithmetic", llm: "arithmetic" };
  const { classical, llm } = calibration;
  if (!classical) reasons.push("not calibrated on this machine: `memzip profile calibrate` measures the workers and concurrency instead (1–2 min, once)");
  if (classical) {
    base.workers = classical.workers;
    base.batchSize = classical.batchSize;
    base.concurrency = classical.concurrency;
    sources.classical = `calibrated ${classical.calibratedAt}`;
    reasons.push(
      `calibrated ${classical.calibratedAt.slice(0, 10)} (\`memzip profile calibrate\`): workers ${classical.workers}, concurrency ${classical.concurrency}, batch ${classical.batchSize} ` +
        `measured on the built-in sample, ${classical.memoriesPerMin.toFixed(0)} memories/min (${classical.candidates.map((c) => `${c.label} ${c.memoriesPerMin.toFixed(0)}`).join(", ")}); they replace the arithmetic above`,
    );
  }
  if (llm && !hardware.gpu) {
    base.llm.contexts = llm.contexts;
    base.llm.threads = llm.threads;
    base.llm.workers = llm.workers;
    if (llm.codecWorkers !== undefined && llm.batchSize !== undefined && llm.classicalCalibratedAt === classical?.calibratedAt) {
      // Measured whole with the model, under this classical calibration: the pipeline that won beside it
      // (a model's work dominates when one is configured). A later classical calibration supersedes it (review25 I-6).
      base.workers = llm.codecWorkers;
      base.batchSize = llm.batchSize;
      base.concurrency = llm.concurrency;
      sources.classical = `calibrated with the model ${llm.calibratedAt}`;
      reasons.push(`with the model: workers ${llm.codecWorkers}, concurrency ${llm.concurrency}, batch ${llm.batchSize}, measured together with its contexts (every memory coded by the model)`);
    } else {
      base.concurrency = Math.max(base.concurrency, llm.concurrency);
    }
    sources.llm = `calibrated ${llm.calibratedAt}`;
    reasons.push(
      `llm calibrated ${llm.calibratedAt.slice(0, 10)} for model ${llm.model.sha256.slice(0, 12)}: ${llm.contexts} contexts x ${llm.threads} thread on ${llm.workers ? `${llm.workers} model threads` : "the main thread"}, ` +
        `${llm.memoriesPerMin.toFixed(0)} memories/min (${llm.candidates.map((c) => `${c.label} ${c.memoriesPerMin.toFixed(0)}`).join(", ")})`,
    );
  }
  // After the calibration: its worker count shares the budget.
  const threads = 1 + base.workers;
  base.cmModels = Math.max(2, Math.min(16, Math.floor(hardware.ramBytes / 16 / CM_MODEL_BYTES / threads)));
  reasons.push(
    `cm models ${base.cmModels} per thread: namespaces' context models kept loaded on the main thread and on each of the ${base.workers} codec workers ` +
      `(a server's writes code there): 1/16 of RAM over the ${threads} threads at ~${CM_MODEL_BYTES / 2 ** 20} MiB a model, at least 2 and at most 16 a thread`,
  );
  return { name, ...base, reasons, sources };
}

export function parseProfileName(value: string, where: string): ProfileName {
  if (!isProfileName(value)) {
    throw new MemzipError(ErrorCode.USAGE, `${where}: unknown profile "${value}"`, { hint: `Choose one of ${PROFILE_NAMES.join(", ")}.` });
  }
  return value;
}
