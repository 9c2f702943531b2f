import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  hardwareFingerprint,
  writeCalibration,
  type ClassicalCalibration,
  type HardwareFingerprint,
  type LlmCalibration,
} from "../core/calibration.js";
import { hardwareFromOs } from "../core/profiles.js";
import { Engine } from "../engine.js";
import { fileSha256 } from "../model/registry.js";

/**
 * `memzip profile calibrate`: codes a fixed built-in sample with a few candidate settings on this
 * machine and keeps the fastest, so `auto` is sized by measurement instead of arithmetic.
 *
 * Classical: codec workers 0..cores with the concurrency and batch that keep them fed (and the
 * `cloud` preset's settings), on a namespace trained on part of the sample (cm snapshot + zstd
 * dictionary), each candidate importing the same records into its own copy of that store. `llm`
 * (only with a model file): contexts × model threads, the `naive` and `cloud` settings among them.
 * Candidates run in rounds of alternating order and each keeps its median; the cheapest candidate
 * within {@link TOLERANCE} of the fastest wins (more threads must pay for themselves). The work
 * per candidate is sized from a short probe to fit the budget.
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
  /** Rounds of every candidate (default 2). */
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

/**
 * Runs every candidate `rounds` times in alternating order on `count` records; medians per
 * candidate. Past the deadline no third or later round starts (two always run).
 */
async function measure(kind: string, candidates: Candidate[], records: string, count: number, rounds: number, deadline: number, progress: (line: string) => void): Promise<Measured[]> {
  const results = candidates.map((candidate) => ({ candidate, rates: [] as number[], cpuMsPerMemory: [] as number[] }));
  for (let round = 0; round < rounds; round++) {
    if (round >= 2 && performance.now() > deadline) break;
    const order = round % 2 ? [...results].reverse() : results;
    for (const result of order) {
      const { seconds, cpuMs } = await result.candidate.run(records, count);
      result.rates.push((count / seconds) * 60);
      result.cpuMsPerMemory.push(cpuMs / count);
      progress(`calibrate ${kind} round ${round + 1}/${rounds}: ${result.candidate.label}: ${((count / seconds) * 60).toFixed(0)} memories/min, ${(cpuMs / count).toFixed(2)} CPU ms/memory`);
    }
  }
  return results;
}

/** The cheapest candidate whose median is within {@link TOLERANCE} of the best median. */
function choose(results: Measured[]): Measured {
  const best = Math.max(...results.map((r) => median(r.rates)));
  const close = results.filter((r) => median(r.rates) >= best * (1 - TOLERANCE));
  close.sort((a, b) => a.candidate.cost - b.candidate.cost || median(b.rates) - median(a.rates));
  return close[0] as Measured;
}

function summary(results: Measured[]): { label: string; memoriesPerMin: number; cpuMsPerMemory: number }[] {
  return results.map((r) => ({ label: r.candidate.label, memoriesPerMin: median(r.rates), cpuMsPerMemory: median(r.cpuMsPerMemory) }));
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
  const rounds = Math.max(1, Math.min(options.rounds ?? 2, 9));
  const dir = mkdtempSync(join(tmpdir(), "memzip-calibrate-"));
  try {
    const classical = await calibrateClassical(dir, cores, options.budgetMs ?? 8000, rounds, progress);
    const llm = options.model ? await calibrateLlm(dir, cores, options.model, options.llmBudgetMs ?? 60_000, rounds, progress) : undefined;
    const report: CalibrationReport = { hardware: fingerprint, classical, ...(llm ? { llm } : {}), seconds: 0 };
    if (options.write ?? true) {
      try {
        report.path = writeCalibration(fingerprint, { classical, ...(llm ? { llm } : {}) }, options.env);
      } catch (error) {
        report.writeError = `cannot write the calibration: ${(error as Error).message} (auto keeps its arithmetic)`;
      }
    }
    report.seconds = (performance.now() - started) / 1000;
    return report;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function calibrateClassical(dir: string, cores: number, budgetMs: number, rounds: number, progress: (line: string) => void): Promise<ClassicalCalibration> {
  const template = join(dir, "classical.db");
  {
    await using engine = Engine.open({ db: template, profile: "naive", autoTrainAfter: 0, cache: "off", seal: false });
    await engine.rememberMany(calibrationSample(400, 1));
    await engine.trainAsset("cm-snapshot");
    await engine.trainAsset("zstd-dictionary");
  }
  const settings: { workers: number; concurrency: number; batchSize: number }[] = [{ workers: 0, concurrency: 1, batchSize: 32 }];
  for (let w = 1; w <= Math.min(cores, 8); w++) settings.push({ workers: w, concurrency: 2 * w, batchSize: 32 });
  settings.push({ workers: 1, concurrency: 4, batchSize: 16 }); // the cloud preset's
  const unique = settings.filter((s, i) => settings.findIndex((t) => t.workers === s.workers && t.concurrency === s.concurrency && t.batchSize === s.batchSize) === i);
  let run = 0;
  const candidates: Candidate[] = unique.map((s) => ({
    label: `workers ${s.workers}, concurrency ${s.concurrency}, batch ${s.batchSize}`,
    cost: s.workers * 1000 + s.concurrency * 10 + s.batchSize / 100,
    run: async (records) => {
      const db = join(dir, `classical-${run++}.db`);
      copyStore(template, db);
      try {
        await using engine = Engine.open({ db, profile: "local", ...s, autoTrainAfter: 0, cache: "off" });
        // Loads the trained assets wherever this setting codes (its workers or the main thread).
        await engine.rememberMany(calibrationSample(Math.max(4, 2 * s.workers), 3));
        return await timed(() => engine.importJsonl(records));
      } finally {
        for (const suffix of ["", "-wal", "-shm"]) rmSync(db + suffix, { force: true });
      }
    },
  }));
  // A probe sizes the work: enough records per run that all candidates and rounds fit the budget.
  const probe = await (candidates[0] as Candidate).run(jsonl(join(dir, "probe.jsonl"), calibrationSample(60, 2)), 60);
  const perSecond = 60 / probe.seconds;
  const count = Math.max(50, Math.min(4000, Math.round((perSecond * Math.max(0, budgetMs - probe.seconds * 1000)) / 1000 / (candidates.length * rounds))));
  progress(`calibrate classical: ${candidates.length} candidates x ${rounds} rounds x ${count} records (probe ${perSecond.toFixed(0)} memories/s on the main thread)`);
  const records = jsonl(join(dir, "classical.jsonl"), calibrationSample(count, 2));
  const results = await measure("classical", candidates, records, count, rounds, performance.now() + 2 * budgetMs, progress);
  const chosen = choose(results);
  const index = candidates.indexOf(chosen.candidate);
  const s = unique[index] as (typeof unique)[number];
  return { ...s, memoriesPerMin: median(chosen.rates), candidates: summary(results), sampleRecords: count, rounds: chosen.rates.length, calibratedAt: new Date().toISOString() };
}

async function calibrateLlm(dir: string, cores: number, modelPath: string, budgetMs: number, rounds: number, progress: (line: string) => void): Promise<LlmCalibration> {
  const model = resolve(modelPath);
  const stat = statSync(model);
  progress(`calibrate llm: hashing ${model}`);
  const sha256 = await fileSha256(model);
  const template = join(dir, "llm.db");
  {
    await using engine = Engine.open({ db: template, profile: "naive", model, autoTrainAfter: 0, cache: "off", seal: false, llm: { gpu: false } });
    await engine.remember({ id: "warm-up", text: "Once upon a time there was a little cat." }, { codec: "llm" });
  }
  const settings: { contexts: number; workers: number; threads: number }[] = [
    { contexts: 1, workers: 0, threads: 1 }, // naive
    { contexts: 4, workers: 0, threads: 1 }, // cloud
  ];
  const w = Math.min(cores, 8);
  for (const perWorker of [1, 2, 4]) settings.push({ contexts: Math.min(16, w * perWorker), workers: w, threads: 1 });
  const unique = settings.filter((s, i) => settings.findIndex((t) => t.workers === s.workers && t.contexts === s.contexts && t.threads === s.threads) === i);
  let run = 0;
  const candidates: Candidate[] = unique.map((s) => ({
    label: `${s.contexts} contexts x ${s.threads} thread on ${s.workers ? `${s.workers} model threads` : "the main thread"}`,
    cost: s.workers * 1000 + s.contexts * s.threads,
    run: async (records) => {
      const db = join(dir, `llm-${run++}.db`);
      copyStore(template, db);
      try {
        await using engine = Engine.open({ db, profile: "local", model, autoTrainAfter: 0, cache: "off", concurrency: s.contexts, llm: { ...s, gpu: false } });
        // Loads the model wherever this setting codes.
        await engine.rememberMany(calibrationSample(Math.max(1, s.workers), 5), { codec: "llm" });
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
  const count = Math.max(2 * most, Math.min(400, Math.round((perSecond * Math.max(0, budgetMs - probe.seconds * 1000)) / 1000 / (candidates.length * rounds))));
  progress(`calibrate llm: ${candidates.length} candidates x ${rounds} rounds x ${count} records (probe ${(perSecond * 60).toFixed(0)} memories/min)`);
  const records = jsonl(join(dir, "llm.jsonl"), calibrationSample(count, 7));
  const results = await measure("llm", candidates, records, count, rounds, performance.now() + 2 * budgetMs, progress);
  const chosen = choose(results);
  const s = unique[candidates.indexOf(chosen.candidate)] as (typeof unique)[number];
  return {
    ...s,
    concurrency: s.contexts,
    model: { sha256, path: model, bytes: stat.size, mtimeMs: stat.mtimeMs },
    memoriesPerMin: median(chosen.rates),
    candidates: summary(results),
    sampleRecords: count,
    rounds: chosen.rates.length,
    calibratedAt: new Date().toISOString(),
  };
}
