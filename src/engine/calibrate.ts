import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Worker } from "node:worker_threads";
import {
  hardwareFingerprint,
  writeCalibration,
  type ClassicalCalibration,
  type HardwareFingerprint,
  type LlmCalibration,
} from "../core/calibration.js";
import { hardwareFromOs, resolveProfile } from "../core/profiles.js";
import { threadCpuMs } from "../core/thread-cpu.js";
import { Engine } from "../engine.js";
import { ErrorCode, MemzipError } from "../errors.js";
import { fileSha256 } from "../model/registry.js";
import { MIN_RANK_ROUNDS, rankSettings, type Ranking } from "./rank-settings.js";

/**
 * `memzip profile calibrate`: codes a fixed built-in sample with a few candidate settings on this
 * machine and keeps the fastest, so `auto` is sized by measurement instead of arithmetic.
 *
 * Classical, in two steps on a namespace trained on part of the sample (cm snapshot + zstd
 * dictionary), each setting importing the same records into its own warm engine: the codec workers
 * from CPU per memory of each thread and a measured parallel speedup, then the concurrency at that
 * worker count from wall time, settings side by side in every round. `llm` (only with a model
 * file): contexts x model threads, the `naive` and `cloud` settings among them. Each setting starts
 * a round in turn; a setting's rate is compared with the best one's of the same round (paired), and
 * the cheapest setting within the noise of the best wins (more threads, or more memories in
 * flight, must pay for themselves).
 */

/** A candidate within this share of the fastest counts as equal, and the cheaper one wins. */
export const TOLERANCE = 0.03;

export interface CalibrateOptions {
  /** Wall-clock budget for the classical part, ms (default 8000; at least ~2 s is spent whatever it is). */
  budgetMs?: number;
  /** A GGUF model file: calibrates the `llm` settings for it too. */
  model?: string;
  /** Budget for the `llm` part, ms (default 60000). */
  llmBudgetMs?: number;
  /** Rounds of every candidate (default 3; the classical concurrency gets one more, at least 4). */
  rounds?: number;
  /** Store the result in the user cache directory (default true). */
  write?: boolean;
  env?: NodeJS.ProcessEnv;
  onProgress?: (line: string) => void;
}

export interface CalibrationReport {
  hardware: HardwareFingerprint;
  classical: ClassicalCalibration;
  llm?: LlmCalibration;
  /** Where the result was written; absent when it was not (see `writeError`). */
  path?: string;
  writeError?: string;
  /**
   * Why the `llm` part was not decided (its rounds too noisy or too few to rank: `E_BUSY`, `E_USAGE`);
   * nothing of it is saved and auto keeps its arithmetic for the model. The classical part still is.
   */
  llmError?: ReturnType<MemzipError["toJSON"]>;
  /** The parts that were written before a write failed (`classical`, `model`). */
  saved?: string[];
  seconds: number;
}

interface Candidate {
  label: string;
  /** Threads it occupies, for "the cheaper within noise". */
  cost: number;
  run: (records: string, count: number) => Promise<{ seconds: number; cpuMs: number }>;
}

interface Measured {
  candidate: Candidate;
  rates: number[];
  cpuMsPerMemory: number[];
}

/** A small deterministic generator (mulberry32): the same sample on every machine. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SUBJECTS = ["The user", "Alice", "The team", "Our agent", "The customer", "Bob", "The build", "A little cat", "The server", "Mia"];
const VERBS = ["prefers", "asked about", "scheduled", "fixed", "mentioned", "wanted to see", "forgot", "deployed", "liked", "reviewed"];
const OBJECTS = [
  "the quarterly report",
  "a meeting on Tuesday at 10:00",
  "dark mode in the editor",
  "the flaky test in the import pipeline",
  "a trip to Lisbon in May",
  "the new database migration",
  "a red ball in the garden",
  "version 2.4.1 of the client",
  "tea without sugar",
  "the invoice #4821 for 129.99 EUR",
];
const TAILS = [
  "because it was late again.",
  "and said it should be done by Friday.",
  "so we noted it for next time.",
  "after a long talk with the support team.",
  "while the sun was shining.",
  "and then went to sleep happily.",
  "but nobody answered the email.",
  "as agreed in the last review.",
];

/** `count` memory-like English records of 60–600 bytes; the same for the same seed. */
export function calibrationSample(count: number, seed: number): { id: string; text: string }[] {
  const next = random(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const records: { id: string; text: string }[] = [];
  for (let i = 0; i < count; i++) {
    const sentences = 1 + Math.floor(next() * 5);
    const parts: string[] = [];
    for (let s = 0; s < sentences; s++) parts.push(`${pick(SUBJECTS)} ${pick(VERBS)} ${pick(OBJECTS)} ${pick(TAILS)}`);
    if (next() < 0.3) parts.push(`Ref ${Math.floor(next() * 1e6).toString(36)}-${i}.`);
    records.push({ id: `s${seed}-${i}`, text: parts.join(" ") });
  }
  return records;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

async function timed(work: () => Promise<unknown>): Promise<{ seconds: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await work();
  const used = process.cpuUsage(cpu);
  return { seconds: (performance.now() - started) / 1000, cpuMs: (used.user + used.system) / 1000 };
}

function copyStore(template: string, target: string): void {
  for (const suffix of ["", "-wal", "-shm"]) if (existsSync(template + suffix)) copyFileSync(template + suffix, target + suffix);
}

/** The most rounds a ranking runs, counting those added while the rounds are too noisy to rank. */
export const MAX_ROUNDS = 9;

/**
 * Runs every candidate `rounds` times (at least {@link MIN_RANK_ROUNDS}), each starting a round in
 * turn, on `count` records, and ranks them ({@link rankSettings}). While the rounds are too noisy to
 * rank, more are run, up to {@link MAX_ROUNDS}, as long as none starts past the deadline.
 */
async function measure(kind: string, candidates: Candidate[], records: string, count: number, rounds: number, deadline: number, progress: (line: string) => void): Promise<{ results: Measured[]; ranking: Ranking }> {
  const results = candidates.map((candidate) => ({ candidate, rates: [] as number[], cpuMsPerMemory: [] as number[] }));
  const least = Math.max(MIN_RANK_ROUNDS, rounds);
  const rank = () => rankSettings(results.map((r) => ({ cost: r.candidate.cost, rates: r.rates })));
  for (let round = 0; ; round++) {
    if (round >= least) {
      const ranking = rank();
      if (ranking.decided || !ranking.noisy || round >= MAX_ROUNDS || performance.now() > deadline) return { results, ranking };
      progress(`calibrate ${kind}: ${ranking.reason}; one more round`);
    }
    // Each candidate starts a round in turn: none always runs first or last.
    const order = results.map((_, k) => results[(k + round) % results.length] as (typeof results)[number]);
    for (const result of order) {
      const { seconds, cpuMs } = await result.candidate.run(records, count);
      result.rates.push((count / seconds) * 60);
      result.cpuMsPerMemory.push(cpuMs / count);
      progress(`calibrate ${kind} round ${round + 1}/${least}: ${result.candidate.label}: ${((count / seconds) * 60).toFixed(0)} memories/min, ${(cpuMs / count).toFixed(2)} CPU ms/memory`);
    }
  }
}

/**
 * Each candidate's rate against the best candidate's in the same round, median over the rounds:
 * settings measured side by side in one round share that round's load, so the ratio cancels what
 * a median of rates over rounds keeps (a busy round, a slow drift).
 */
export function pairedRatios(rates: readonly (readonly number[])[]): { ratios: number[]; best: number; band: number } {
  const medians = rates.map((r) => median(r));
  const best = medians.indexOf(Math.max(...medians));
  const bestRates = rates[best] ?? [];
  const ratios = rates.map((r) => median(r.map((rate, round) => rate / (bestRates[round] ?? rate))));
  // The noise band: how far the other settings' per-round ratios stray from their medians (the
  // median of those deviations), at least TOLERANCE, at most 15 %. Ratios, not rates: a drift of
  // the machine's load over the rounds moves both sides of a ratio and is no noise of the comparison.
  const deviations = rates.flatMap((r, i) => {
    if (i === best) return [];
    const perRound = r.map((rate, round) => rate / (bestRates[round] ?? rate));
    const mid = median(perRound);
    return perRound.map((ratio) => Math.abs(ratio - mid));
  });
  const spread = deviations.length >= 3 ? median(deviations) : 0;
  return { ratios, best, band: Math.min(0.15, Math.max(TOLERANCE, spread)) };
}

function jsonl(path: string, records: readonly { id: string; text: string }[]): string {
  writeFileSync(path, records.map((r) => JSON.stringify(r)).join("\n") + "\n");
  return path;
}

export async function calibrate(options: CalibrateOptions = {}): Promise<CalibrationReport> {
  const started = performance.now();
  const progress = options.onProgress ?? (() => {});
  const hardware = hardwareFromOs();
  const cores = Math.max(1, Math.min(hardware.cpuCores, 16));
  const fingerprint = hardwareFingerprint(hardware.cpuCores, hardware.ramBytes);
  const rounds = Math.max(1, Math.min(options.rounds ?? 3, 9));
  const dir = mkdtempSync(join(tmpdir(), "memzip-calibrate-"));
  try {
    const classical = await calibrateClassical(dir, cores, options.budgetMs ?? 8000, rounds, progress);
    let llm: LlmCalibration | undefined;
    let llmError: MemzipError | undefined;
    if (options.model) {
      try {
        llm = await calibrateLlm(dir, cores, options.model, options.llmBudgetMs ?? LLM_BUDGET_MS, rounds, progress, classical);
      } catch (error) {
        // Rounds that cannot be ranked: the classical part is still measured and kept; auto keeps its arithmetic for the model.
        if (!(error instanceof MemzipError && (error.code === ErrorCode.BUSY || error.code === ErrorCode.USAGE))) throw error;
        llmError = error;
        progress(`calibrate llm: not decided: ${error.message}`);
      }
    }
    const report: CalibrationReport = { hardware: fingerprint, classical, ...(llm ? { llm } : {}), ...(llmError ? { llmError: llmError.toJSON() } : {}), seconds: 0 };
    if (options.write ?? true) {
      try {
        // Undecided: the model's earlier result (if any) is removed, so auto runs its arithmetic for it as the message says.
        report.path = writeCalibration(fingerprint, { classical, ...(llm ? { llm } : {}), ...(llmError && options.model ? { forgetModel: options.model } : {}) }, options.env);
      } catch (error) {
        const saved = (error as { saved?: string[] }).saved ?? [];
        if (saved.length > 0) report.saved = saved;
        report.writeError = `cannot write the calibration: ${(error as Error).message}${saved.length > 0 ? ` (the ${saved.join(" and ")} part was saved and is used)` : " (auto keeps its arithmetic)"}`;
      }
    }
    report.seconds = (performance.now() - started) / 1000;
    return report;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Records each classical candidate codes per round, at least: fewer measure start-up, not throughput (review22 C3). */
export const CLASSICAL_MIN_RECORDS = 200;
/** Untimed records each classical engine codes first: its workers start, load the assets and warm up. */
const CLASSICAL_WARM_UP = 64;

/** What one timed import cost, per memory: wall, the main thread's CPU, the codec workers' CPU (undefined without per-thread clocks). */
interface ThreadCost {
  wallMs: number;
  cpuMs: number;
  mainMs: number | undefined;
  workersMs: number | undefined;
}

/**
 * How many cores this process can keep busy at once: `k` threads each run the same fixed
 * computation, against one thread alone (best of three: a momentarily busy machine does not
 * decide it). 1.0–k; a container's CPU quota or SMT siblings counted as cores show up here,
 * where `os.cpus()` does not see them.
 */
export async function measureParallelism(k: number): Promise<number> {
  if (k <= 1) return 1;
  const script = new URL("./parallel-probe-worker.js", import.meta.url);
  const workers = Array.from({ length: k }, () => new Worker(script));
  try {
    const run = (worker: Worker, n: number) =>
      new Promise<void>((resolve, reject) => {
        worker.once("message", () => resolve());
        worker.once("error", reject);
        worker.postMessage(n);
      });
    const work = 40_000_000;
    await Promise.all(workers.map((w) => run(w, work / 10))); // warm-up: compiled loops
    let best = 0;
    for (let attempt = 0; attempt < 3; attempt++) {
      let started = performance.now();
      await run(workers[0] as Worker, work);
      const one = performance.now() - started;
      started = performance.now();
      await Promise.all(workers.map((w) => run(w, work)));
      const all = performance.now() - started;
      best = Math.max(best, (k * one) / all);
    }
    return Math.max(1, Math.min(k, best));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/**
 * Memories per minute a setting reaches on an otherwise idle machine with `parallelism` cores,
 * from the measured CPU per memory: the main thread, each of `workers` codec workers, or all of
 * them together on the cores there are is the bottleneck.
 */
export function predictedRate(workers: number, cost: { mainMs: number; workersMs: number }, parallelism: number): number {
  const perMemory = workers === 0 ? cost.mainMs + cost.workersMs : Math.max(cost.mainMs, cost.workersMs / workers, (cost.mainMs + cost.workersMs) / parallelism);
  return perMemory > 0 ? 60_000 / perMemory : 0;
}

/** Records each concurrency candidate codes per round, and the least number of such rounds. */
export const CONCURRENCY_RECORDS = 150;
export const CONCURRENCY_MIN_ROUNDS = 4;

/**
 * Among the concurrencies within the noise band of the best, the one nearest 4 memories in flight
 * per worker. Memories in flight cost next to nothing (a few records held in memory), while too few
 * leave the workers idle (2 per worker ran 0.69x the cloud preset's 4 in the last bench): so where
 * the measurement cannot tell settings apart, 4 per worker stands, and only a setting faster beyond
 * the noise replaces it.
 */
export function chooseConcurrency(workers: number, tried: readonly number[], ratios: readonly number[], band: number): number {
  const within = tried.filter((_, i) => (ratios[i] ?? 0) >= 1 - band);
  const preferred = 4 * Math.max(1, workers);
  const distance = (c: number) => Math.abs(Math.log(c / preferred));
  return [...within].sort((a, b) => distance(a) - distance(b) || a - b)[0] ?? (tried[0] as number);
}

/** The concurrencies tried at `workers` codec workers: 2, 4 and 8 memories in flight per worker (at most 64). */
export function concurrencyCandidates(workers: number): number[] {
  return workers === 0 ? [1] : [...new Set([2, 4, 8].map((perWorker) => Math.min(64, perWorker * workers)))];
}

type ClassicalEngine = { workers: number; concurrency: number; engine: Engine; db: string };

async function calibrateClassical(dir: string, cores: number, budgetMs: number, rounds: number, progress: (line: string) => void): Promise<ClassicalCalibration> {
  const template = join(dir, "classical.db");
  {
    // Without the shipped base: the sample's first memories need no model, and a calibration
    // leaves nothing in the per-user cache (the base's trained state) but its result.
    await using engine = Engine.open({ db: template, profile: "naive", autoTrainAfter: 0, cache: "off", seal: false, cmBase: false });
    await engine.rememberMany(calibrationSample(400, 1));
    await engine.trainAsset("cm-snapshot");
    await engine.trainAsset("zstd-dictionary");
    // Codes with the snapshot once, which keeps its trained state beside the store: each candidate's
    // copy reads it, as a user's store does, instead of training it again.
    await engine.rememberMany(calibrationSample(4, 4));
  }
  const most = Math.min(cores, 8);
  const measuredParallelism = await measureParallelism(most);
  // Other work on the machine (a load average of half the cores or more) makes the probe measure
  // that moment, not the machine, and the result is kept: then every core counts.
  const load = loadavg()[0] ?? 0;
  const busy = load >= most / 2 && measuredParallelism < most * 0.9;
  const parallelism = busy ? most : measuredParallelism;
  progress(
    `calibrate classical: ${cores} cores, ${measuredParallelism.toFixed(2)}x measured parallel speedup on ${most} threads` +
      (busy ? ` (load average ${load.toFixed(1)}: the machine is busy, so ${most} is assumed)` : ""),
  );
  let seed = 100;
  const engines: ClassicalEngine[] = [];
  const open = async (workers: number, concurrency: number): Promise<ClassicalEngine> => {
    const db = join(dir, `classical-w${workers}-c${concurrency}.db`);
    copyStore(template, db);
    const entry = { workers, concurrency, db, engine: Engine.open({ db, profile: "local", workers, concurrency, batchSize: 32, autoTrainAfter: 0, cache: "off", cmBase: false }) };
    engines.push(entry);
    // Untimed: the workers start, load the assets and warm up; a user's import pays this once.
    await entry.engine.importJsonl(jsonl(join(dir, `warm-${workers}-${concurrency}.jsonl`), calibrationSample(CLASSICAL_WARM_UP, seed++)));
    return entry;
  };
  const closeAll = async () => {
    for (const { engine, db } of engines.splice(0)) {
      await engine.close();
      for (const suffix of ["", "-wal", "-shm"]) rmSync(db + suffix, { force: true });
    }
  };
  try {
    // Step 1, the codec workers, from CPU per memory: the main thread alone, and as many workers as
    // there are cores (up to 8; what one worker costs per memory does not depend on how many there are).
    const measuredWorkers = [...new Set([0, most])];
    const workerEngines: ClassicalEngine[] = [];
    for (const workers of measuredWorkers) workerEngines.push(await open(workers, Math.max(1, 4 * workers)));
    // The records per round: at least CLASSICAL_MIN_RECORDS, more when the budget allows (sized by the main thread's warm-up pace).
    const probe = await timedImport(workerEngines[0] as ClassicalEngine, jsonl(join(dir, "probe.jsonl"), calibrationSample(60, seed++)), 60);
    const perSecond = 1000 / Math.max(0.1, probe.wallMs);
    const count = Math.max(CLASSICAL_MIN_RECORDS, Math.min(4000, Math.round((perSecond * budgetMs) / 1000 / (workerEngines.length * rounds))));
    progress(`calibrate classical workers: ${workerEngines.length} settings x ${rounds} rounds x ${count} records`);
    const costs = new Map<number, ThreadCost[]>(workerEngines.map((e) => [e.workers, []]));
    const deadline = performance.now() + 4 * budgetMs;
    for (let round = 0; round < rounds; round++) {
      if (round >= 1 && performance.now() > deadline) break;
      const file = jsonl(join(dir, `round-${round}.jsonl`), calibrationSample(count, 1000 + round));
      for (const entry of round % 2 ? [...workerEngines].reverse() : workerEngines) {
        const cost = await timedImport(entry, file, count);
        costs.get(entry.workers)?.push(cost);
        progress(
          `calibrate classical round ${round + 1}/${rounds}: workers ${entry.workers}: ${(60_000 / cost.wallMs).toFixed(0)} memories/min, ` +
            `CPU ms/memory ${cost.cpuMs.toFixed(2)}${cost.mainMs === undefined ? "" : ` (main ${cost.mainMs.toFixed(2)}, workers ${(cost.workersMs ?? 0).toFixed(2)})`}`,
        );
      }
    }
    const decided = decideWorkers(costs, measuredWorkers, most, parallelism);
    await closeAll();
    // Step 2, the concurrency at those workers, from wall time: the main thread's share of a memory
    // (store look-ups, dedup, the commit) waits on I/O and needs more memories in flight than there
    // are workers to keep them busy. Settings side by side in each round, paired ratios; within the
    // noise band, 4 per worker (chooseConcurrency).
    const tried = concurrencyCandidates(decided.workers);
    let concurrency = tried[0] as number;
    let concurrencyRounds = 0;
    const concurrencyRates: { concurrency: number; memoriesPerMin: number; cpuMsPerMemory: number; ratio: number }[] = [];
    if (tried.length > 1) {
      const entries: ClassicalEngine[] = [];
      for (const c of tried) entries.push(await open(decided.workers, c));
      const rates = entries.map(() => [] as number[]);
      const cpus = entries.map(() => [] as number[]);
      concurrencyRounds = Math.max(CONCURRENCY_MIN_ROUNDS, rounds + 1);
      progress(`calibrate classical concurrency at workers ${decided.workers}: ${tried.join(" / ")} x ${concurrencyRounds} rounds x ${CONCURRENCY_RECORDS} records`);
      for (let round = 0; round < concurrencyRounds; round++) {
        const file = jsonl(join(dir, `concurrency-${round}.jsonl`), calibrationSample(CONCURRENCY_RECORDS, 2000 + round));
        // Each setting starts a round in turn: none always runs first or last.
        for (let k = 0; k < entries.length; k++) {
          const i = (k + round) % entries.length;
          const cost = await timedImport(entries[i] as ClassicalEngine, file, CONCURRENCY_RECORDS);
          rates[i]?.push(60_000 / cost.wallMs);
          cpus[i]?.push(cost.cpuMs);
          progress(`calibrate classical concurrency round ${round + 1}/${concurrencyRounds}: ${tried[i]}: ${(60_000 / cost.wallMs).toFixed(0)} memories/min`);
        }
      }
      const { ratios, band } = pairedRatios(rates);
      tried.forEach((c, i) => concurrencyRates.push({ concurrency: c, memoriesPerMin: median(rates[i] ?? []), cpuMsPerMemory: median(cpus[i] ?? []), ratio: ratios[i] ?? 0 }));
      concurrency = chooseConcurrency(decided.workers, tried, ratios, band);
      progress(`calibrate classical concurrency: noise band ${(band * 100).toFixed(1)} %; chosen ${concurrency}`);
    }
    const chosenRate = concurrencyRates.find((r) => r.concurrency === concurrency);
    return {
      workers: decided.workers,
      concurrency,
      batchSize: 32,
      memoriesPerMin: chosenRate?.memoriesPerMin ?? decided.memoriesPerMin,
      candidates: [
        ...decided.options.map(({ label, memoriesPerMin, cpuMsPerMemory }) => ({ label, memoriesPerMin, cpuMsPerMemory })),
        ...concurrencyRates.map((r) => ({
          label: `workers ${decided.workers}, concurrency ${r.concurrency} (measured; ${(r.ratio * 100).toFixed(0)} % of the best, paired)`,
          memoriesPerMin: r.memoriesPerMin,
          cpuMsPerMemory: r.cpuMsPerMemory,
        })),
      ],
      sampleRecords: count,
      rounds: Math.min(...measuredWorkers.map((w) => costs.get(w)?.length ?? 0)),
      ...(concurrencyRounds ? { concurrencyRounds } : {}),
      parallelism,
      calibratedAt: new Date().toISOString(),
    };
  } finally {
    await closeAll();
  }
}

/** One import on a warm engine, with the CPU of each thread (Linux) and of the whole process. */
async function timedImport(entry: { workers: number; engine: Engine }, file: string, count: number): Promise<ThreadCost> {
  const workersBefore = await entry.engine.codecWorkerStats();
  const mainBefore = threadCpuMs();
  const cpu = process.cpuUsage();
  const started = performance.now();
  await entry.engine.importJsonl(file);
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const mainAfter = threadCpuMs();
  const workersAfter = await entry.engine.codecWorkerStats();
  const sum = (stats: { cpuMs: number | undefined }[]) => stats.reduce<number | undefined>((total, s) => (total === undefined || s.cpuMs === undefined ? undefined : total + s.cpuMs), 0);
  const before = sum(workersBefore);
  const after = sum(workersAfter);
  // A worker started during this import counts from zero.
  const workersMs = after === undefined || before === undefined ? undefined : after - before;
  return {
    wallMs: wallMs / count,
    cpuMs: (used.user + used.system) / 1000 / count,
    mainMs: mainBefore === undefined || mainAfter === undefined ? undefined : (mainAfter - mainBefore) / count,
    workersMs: workersMs === undefined ? undefined : workersMs / count,
  };
}

/**
 * Picks the codec workers from CPU per memory (medians of the rounds) and the measured parallel
 * speedup: each worker count's rate on an idle machine is predicted, and the fewest workers within
 * {@link TOLERANCE} of the best win. Every setting with workers shares one cost (the median over
 * all their rounds): a memory costs a worker the same whether there are one or eight, and
 * pooling keeps one noisy round from tipping the count (review23). Without per-thread clocks (not
 * Linux), the measured wall rates decide among the measured settings.
 */
function decideWorkers(
  costs: Map<number, ThreadCost[]>,
  measured: number[],
  most: number,
  parallelism: number,
): { workers: number; memoriesPerMin: number; options: { workers: number; memoriesPerMin: number; cpuMsPerMemory: number; label: string }[] } {
  const med = (ws: number[], pick: (c: ThreadCost) => number | undefined): number | undefined => {
    const values = ws.flatMap((w) => costs.get(w) ?? []).map(pick);
    return values.every((v): v is number => v !== undefined) && values.length > 0 ? median(values) : undefined;
  };
  const pooled = measured.filter((w) => w > 0);
  const perThread = measured.every((w) => med([w], (c) => c.mainMs) !== undefined && med([w], (c) => c.workersMs) !== undefined);
  const options: { workers: number; memoriesPerMin: number; cpuMsPerMemory: number; label: string }[] = [];
  for (let workers = 0; workers <= most; workers++) {
    const from = workers === 0 ? [0] : pooled;
    const cpu = med(from, (c) => c.cpuMs) ?? 0;
    const wall = measured.includes(workers) ? `, measured ${(60_000 / (med([workers], (c) => c.wallMs) ?? Infinity)).toFixed(0)}` : "";
    if (perThread) {
      const cost = { mainMs: med(from, (c) => c.mainMs) ?? 0, workersMs: med(from, (c) => c.workersMs) ?? 0 };
      const rate = predictedRate(workers, cost, parallelism);
      options.push({ workers, memoriesPerMin: rate, cpuMsPerMemory: cpu, label: `workers ${workers} (main ${cost.mainMs.toFixed(2)} + workers ${cost.workersMs.toFixed(2)} CPU ms/memory${wall})` });
    } else if (measured.includes(workers)) {
      options.push({ workers, memoriesPerMin: 60_000 / (med([workers], (c) => c.wallMs) ?? Infinity), cpuMsPerMemory: cpu, label: `workers ${workers} (measured)` });
    }
  }
  const best = Math.max(...options.map((o) => o.memoriesPerMin));
  const chosen = options.find((o) => o.memoriesPerMin >= best * (1 - TOLERANCE)) ?? (options[0] as (typeof options)[number]);
  return { workers: chosen.workers, memoriesPerMin: chosen.memoriesPerMin, options };
}

/**
 * Records each `llm` candidate codes per round, at least: the bench's work per setting
 * (`bench:pipeline` imports 60 dev records per row and round), so a round ranks the settings as an
 * import of that length does. Shorter rounds (about 36 memories in a 60 s budget before) ranked
 * them otherwise: the start of a run — memories queued behind a batch, contexts that fill only
 * after the first ones — weighed more in them than in the bench.
 */
export const LLM_MIN_RECORDS = 60;
/** And at least this many memories per context of the setting with the most: each context codes several, so filling them is amortised. */
export const LLM_RECORDS_PER_CONTEXT = 8;
/** Default budget of the `llm` part, ms: the rounds grow past the minimum when it allows; see {@link llmRoundRecords}. */
export const LLM_BUDGET_MS = 150_000;

/**
 * Records per `llm` round: at least {@link LLM_MIN_RECORDS} and {@link LLM_RECORDS_PER_CONTEXT} per
 * context of the largest setting; more (up to 400) when the budget fits more at the probe's pace.
 */
export function llmRoundRecords(mostContexts: number, perSecond: number, budgetMs: number, candidates: number, rounds: number): number {
  const least = Math.max(LLM_MIN_RECORDS, LLM_RECORDS_PER_CONTEXT * mostContexts);
  const fits = Math.round((perSecond * Math.max(0, budgetMs)) / 1000 / Math.max(1, candidates * rounds));
  return Math.max(least, Math.min(400, fits));
}

async function calibrateLlm(dir: string, cores: number, modelPath: string, budgetMs: number, requestedRounds: number, progress: (line: string) => void, classical: ClassicalCalibration): Promise<LlmCalibration> {
  const model = resolve(modelPath);
  const stat = statSync(model);
  // Fewer than MIN_RANK_ROUNDS paired rounds cannot be ranked (rankSettings refuses): the llm part runs at least that many.
  const rounds = Math.max(MIN_RANK_ROUNDS, requestedRounds);
  progress(`calibrate llm: hashing ${model}`);
  const sha256 = await fileSha256(model);
  const template = join(dir, "llm.db");
  {
    await using engine = Engine.open({ db: template, profile: "naive", model, autoTrainAfter: 0, cache: "off", seal: false, llm: { gpu: false } });
    await engine.remember({ id: "warm-up", text: "Once upon a time there was a little cat." }, { codec: "llm" });
  }
  // Each candidate is a whole setting — the model's contexts and threads AND the pipeline around
  // them (codec workers, batch, memories in flight) — measured as auto would run it: the settings
  // the bench's rows use (naive, cloud, auto's arithmetic) whole, so that the choice can at worst
  // tie the best of them, and the model's settings under this machine's calibrated classical
  // pipeline. Measured apart before, the model's best setting lost to both under auto's pipeline
  // (codec workers competing with the model for the cores; BENCHMARKS.md, bench:pipeline).
  interface Setting {
    contexts: number;
    workers: number;
    threads: number;
    codecWorkers: number;
    batchSize: number;
    concurrency: number;
    label: string;
  }
  const w = Math.min(cores, 8);
  // One context on the main thread is the naive setting's; 4 there, and 1, 2 and 4 per model thread.
  const models: { contexts: number; workers: number }[] = [{ contexts: 4, workers: 0 }];
  for (const perWorker of [1, 2, 4]) models.push({ contexts: Math.min(16, w * perWorker), workers: w });
  const where = (m: { contexts: number; workers: number }) => `${m.contexts} contexts x 1 thread on ${m.workers ? `${m.workers} model threads` : "the main thread"}`;
  const sum = resolveProfile("auto", hardwareFromOs());
  const arithmetic: Setting = {
    contexts: sum.llm.contexts,
    workers: sum.llm.workers,
    threads: sum.llm.threads,
    codecWorkers: sum.workers,
    batchSize: sum.batchSize,
    concurrency: sum.concurrency,
    label: "",
  };
  arithmetic.label = `arithmetic: ${where(arithmetic)}, ${arithmetic.codecWorkers} codec workers, batch ${arithmetic.batchSize}, ${arithmetic.concurrency} in flight`;
  const settings: Setting[] = [
    { contexts: 1, workers: 0, threads: 1, codecWorkers: 0, batchSize: 1, concurrency: 1, label: "naive: 1 context on the main thread, 0 codec workers, batch 1, 1 in flight" },
    { contexts: 4, workers: 0, threads: 1, codecWorkers: 1, batchSize: 16, concurrency: 4, label: "cloud: 4 contexts on the main thread, 1 codec worker, batch 16, 4 in flight" },
    arithmetic,
    ...models.map((m) => {
      const concurrency = Math.max(classical.concurrency, m.contexts);
      return { ...m, threads: 1, codecWorkers: classical.workers, batchSize: classical.batchSize, concurrency, label: `${where(m)}, ${classical.workers} codec workers, batch ${classical.batchSize}, ${concurrency} in flight` };
    }),
  ];
  const key = (s: Setting) => [s.contexts, s.workers, s.threads, s.codecWorkers, s.batchSize, s.concurrency].join();
  const unique = settings.filter((s, i) => settings.findIndex((t) => key(t) === key(s)) === i);
  let run = 0;
  const candidates: Candidate[] = unique.map((s) => ({
    label: s.label,
    // Threads it keeps busy: model threads, then codec workers, then contexts.
    cost: s.workers * 1000 + s.codecWorkers * 100 + s.contexts * s.threads,
    run: async (records) => {
      const db = join(dir, `llm-${run++}.db`);
      copyStore(template, db);
      try {
        await using engine = Engine.open({
          db,
          profile: "local",
          model,
          autoTrainAfter: 0,
          cache: "off",
          workers: s.codecWorkers,
          batchSize: s.batchSize,
          concurrency: s.concurrency,
          llm: { contexts: s.contexts, workers: s.workers, threads: s.threads, gpu: false },
        });
        // Untimed, as in the bench: one memory per context loads the model wherever this setting
        // codes (every model thread) and opens its contexts; an import pays that once.
        const warm = calibrationSample(Math.max(1, s.contexts, s.workers), 5).map((r) => ({ ...r, namespace: "warm-up" }));
        await engine.rememberMany(warm, { codec: "llm" });
        return await timed(() => engine.importJsonl(records, { codec: "llm" }));
      } finally {
        for (const suffix of ["", "-wal", "-shm"]) rmSync(db + suffix, { force: true });
      }
    },
  }));
  const probeCount = 8;
  const probe = await (candidates[1] as Candidate).run(jsonl(join(dir, "llm-probe.jsonl"), calibrationSample(probeCount, 6)), probeCount);
  const perSecond = probeCount / probe.seconds;
  const most = Math.max(...unique.map((s) => s.contexts));
  const count = llmRoundRecords(most, perSecond, budgetMs - probe.seconds * 1000, candidates.length, rounds);
  const expected = (candidates.length * rounds * count) / perSecond;
  progress(`calibrate llm: ${candidates.length} candidates x ${rounds} rounds x ${count} records (probe ${(perSecond * 60).toFixed(0)} memories/min: about ${expected.toFixed(0)} s, budget ${(budgetMs / 1000).toFixed(0)} s)`);
  const records = jsonl(join(dir, "llm.jsonl"), calibrationSample(count, 7));
  const { results, ranking } = await measure("llm", candidates, records, count, rounds, performance.now() + 2 * budgetMs, progress);
  if (!ranking.decided) {
    const measured = results.map((r) => `${r.candidate.label.split(",")[0]} ${r.rates.map((x) => x.toFixed(0)).join("/")}`).join("; ");
    throw new MemzipError(ranking.noisy ? ErrorCode.BUSY : ErrorCode.USAGE, `calibration cannot rank the llm settings: ${ranking.reason} (memories/min per round: ${measured}; load average ${loadavg()[0]?.toFixed(1)})`, {
      hint: ranking.noisy
        ? "run `memzip profile calibrate` again when the machine is otherwise idle (or with a larger --llm-budget for more rounds); auto keeps its arithmetic for the model meanwhile"
        : `run \`memzip profile calibrate\` again with --rounds ${MIN_RANK_ROUNDS} or more; auto keeps its arithmetic for the model meanwhile`,
      details: { rounds: ranking.rounds },
    });
  }
  progress(`calibrate llm: ${describeRanking(ranking, results.map((r) => r.candidate.label))}`);
  const chosen = results[ranking.chosen] as Measured;
  const { label: _label, ...s } = unique[ranking.chosen] as Setting;
  return {
    ...s,
    classicalCalibratedAt: classical.calibratedAt,
    model: { sha256, path: model, bytes: stat.size, mtimeMs: stat.mtimeMs },
    memoriesPerMin: median(chosen.rates),
    candidates: results.map((r, i) => ({
      label: `${r.candidate.label} (${((ranking.ratios[i] ?? 0) * 100).toFixed(0)} % of the fastest, paired; band ${((ranking.bands[i] ?? 0) * 100).toFixed(1)} %)`,
      memoriesPerMin: median(r.rates),
      cpuMsPerMemory: median(r.cpuMsPerMemory),
    })),
    sampleRecords: count,
    rounds: ranking.rounds,
    calibratedAt: new Date().toISOString(),
  };
}

/** One line: the fastest, the settings tied with it and the one chosen. */
function describeRanking(ranking: Extract<Ranking, { decided: true }>, labels: readonly string[]): string {
  const name = (i: number) => (labels[i] ?? `#${i}`).split(",")[0] as string;
  const tied = ranking.tied.filter((i) => i !== ranking.fastest);
  return `fastest ${name(ranking.fastest)}; ${tied.length ? `tied with it (within each one's noise band): ${tied.map(name).join("; ")}` : "none tied with it"}; chosen ${name(ranking.chosen)} (the cheapest of those)`;
}
