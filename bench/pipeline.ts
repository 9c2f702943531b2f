/**
 * `npm run bench:pipeline`: the original system's comparison, side by side in one run on the same
 * model and corpus — (a) naive: one memory at a time, no cache, no workers; (b) the original's
 * cloud-phase settings (batch 16, concurrency 4); (c) memzip's tuned profile (`auto` on this
 * machine, sized by \`memzip profile calibrate\`, which the bench runs first into a temporary cache
 * directory; (d) shows \`auto\` by its arithmetic, as before calibration). Two workloads: the `llm` codec forced with stories260K on English dev records, and the
 * classical codecs (context model + dictionary trained on the first 1000 records) on 900 others.
 * Rounds alternate the profiles so drift hits them alike; medians are reported.
 *
 *   --records N   English records for the llm workload (default 60)
 *   --rounds N    rounds (default 2)
 *   --only llm|classical
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { hardwareFromOs, resolveProfile, type ProfileName } from "../src/core/profiles.js";
import { calibrate } from "../src/engine/calibrate.js";
import { Engine, type EngineImportReport } from "../src/engine.js";
import type { EngineOptions } from "../src/engine-options.js";
import { replaceSection } from "./sections.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SHARED = join(ROOT, "..", "shared");
const STORIES = join(SHARED, "models", "stories260K.gguf");
const { values } = parseArgs({ options: { records: { type: "string" }, rounds: { type: "string" }, only: { type: "string" } } });
const rounds = Number(values.rounds ?? 2);
const corpus = readFileSync(join(SHARED, "corpus", "memories-dev.jsonl"), "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "")
  .map((line) => JSON.parse(line) as { id: string; text: string; lang: string });
const llmRecords = corpus.filter((r) => r.lang === "en" && Buffer.byteLength(r.text) <= 600).slice(0, Number(values.records ?? 60));
const machine = `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, Node ${process.version}`;
const SCENARIOS: { key: string; label: string; profile: ProfileName }[] = [
  { key: "naive", label: "(a) naive", profile: "naive" },
  { key: "cloud", label: "(b) original cloud-phase settings", profile: "cloud" },
  { key: "auto", label: "(c) memzip tuned (auto, calibrated)", profile: "auto" },
  { key: "arithmetic", label: "(d) auto by arithmetic (no calibration)", profile: "auto" },
];
/** (d): the arithmetic `auto` settings given explicitly, over whatever calibration the cache holds. */
function arithmetic(): Pick<EngineOptions, "workers" | "concurrency" | "batchSize" | "llm"> {
  const p = resolveProfile("auto", hardwareFromOs());
  return { workers: p.workers, concurrency: p.concurrency, batchSize: p.batchSize, llm: { contexts: p.llm.contexts, workers: p.llm.workers, threads: p.llm.threads } };
}

interface Run {
  memoriesPerMin: number;
  /** Process CPU (all threads) per memory stored. */
  cpuMsPerMemory: number;
  p50: number;
  p95: number;
  ratio: number;
  exact: boolean;
  settings: string;
}

const dir = mkdtempSync(join(tmpdir(), "memzip-pipeline-"));
function writeJsonl(name: string, records: readonly { id: string; text: string }[]): string {
  const file = join(dir, name);
  writeFileSync(file, records.map(({ id, text }) => JSON.stringify({ id, text })).join("\n"));
  return file;
}

async function runLlm(key: string, profile: ProfileName, file: string, round: number): Promise<Run> {
  const over: ReturnType<typeof arithmetic> = key === "arithmetic" ? arithmetic() : {};
  await using engine = Engine.open({ db: join(dir, `llm-${key}-${round}.db`), profile, model: STORIES, autoTrainAfter: 0, ...over, llm: { ...over.llm, gpu: false } });
  // A warm-up memory per context loads the model wherever this profile codes (every model thread), as the calibration does.
  const warm = Array.from({ length: Math.max(1, engine.options.llm.contexts) }, (_, i) => ({ id: `warm-up-${i}`, text: `Once upon a time there was a little cat number ${i}.`, namespace: "warm-up" }));
  await engine.rememberMany(warm, { codec: "llm" });
  const cpu = process.cpuUsage();
  const started = performance.now();
  const report = await engine.importJsonl(file, { codec: "llm" });
  const seconds = (performance.now() - started) / 1000;
  const cpuMs = cpuOf(cpu);
  let exact = report.stored === llmRecords.length;
  for (const { id, text } of llmRecords) exact &&= (await engine.recall(id)) === text;
  const o = engine.options;
  const model = `${o.llm.contexts} contexts on ${o.llm.workers ? `${o.llm.workers} model threads` : "the main thread"}, `;
  return runOf(report, seconds, cpuMs, exact, `batch ${o.batchSize}, concurrency ${o.concurrency}, ${model}${o.workers} codec workers, cache ${o.profile.cache.maxEntries}`);
}

/**
 * The classical workload's starting store, made once: dev records 1–1000 and the cm snapshot and
 * zstd dictionary trained on them (with its trained state beside it). Every row copies it instead
 * of writing and training the same store again: the same bytes (the codecs and the training are
 * deterministic), minutes less of untimed setup.
 */
let classicalTemplate: string | undefined;
async function classicalStore(target: string): Promise<void> {
  if (classicalTemplate === undefined) {
    const template = join(dir, "classical-template.db");
    {
      await using engine = Engine.open({ db: template, profile: "naive", autoTrainAfter: 0, seal: false });
      await engine.rememberMany(corpus.slice(0, 1000).map(({ id, text }) => ({ id, text })));
      await engine.trainAsset("cm-snapshot");
      await engine.trainAsset("zstd-dictionary");
    }
    classicalTemplate = template;
  }
  for (const suffix of ["", "-wal", "-shm"]) if (existsSync(classicalTemplate + suffix)) copyFileSync(classicalTemplate + suffix, target + suffix);
}

async function runClassical(key: string, profile: ProfileName, file: string, round: number): Promise<Run> {
  const over = key === "arithmetic" ? arithmetic() : {};
  const db = join(dir, `classical-${key}-${round}.db`);
  await classicalStore(db);
  await using engine = Engine.open({ db, profile, autoTrainAfter: 0, ...over });
  // A warm-up batch loads the trained assets wherever this profile codes (the workers, or the main thread).
  await engine.rememberMany(corpus.slice(1000, 1100).map(({ id, text }) => ({ id, text })));
  const cpu = process.cpuUsage();
  const started = performance.now();
  const report = await engine.importJsonl(file);
  const seconds = (performance.now() - started) / 1000;
  const cpuMs = cpuOf(cpu);
  const o = engine.options;
  return runOf(report, seconds, cpuMs, (await engine.verify()).failed === 0, `batch ${o.batchSize}, concurrency ${o.concurrency}, ${o.workers} codec workers, cache ${o.profile.cache.maxEntries}`);
}

/** The process's CPU (every thread: main, codec workers, model threads) since `from`, ms. */
function cpuOf(from: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1000;
}

function runOf(report: EngineImportReport, seconds: number, cpuMs: number, exact: boolean, settings: string): Run {
  const { p50, p95 } = report.latencyMs;
  return { memoriesPerMin: (report.stored / seconds) * 60, cpuMsPerMemory: cpuMs / Math.max(1, report.stored), p50, p95, ratio: report.originalBytes / report.storedBytes, exact, settings };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function table(title: string, runs: Map<string, Run[]>): string {
  const naive = median((runs.get("naive") ?? []).map((r) => r.memoriesPerMin));
  const rows = SCENARIOS.map(({ label, key }) => {
    const list = runs.get(key) ?? [];
    const rate = median(list.map((r) => r.memoriesPerMin));
    return `| ${label} | ${list[0]?.settings ?? ""} | ${rate.toFixed(0)} | ${(rate / naive).toFixed(2)}x | ${list.map((r) => r.memoriesPerMin.toFixed(0)).join(" / ")} | ${median(list.map((r) => r.cpuMsPerMemory)).toFixed(1)} | ${median(list.map((r) => r.p50)).toFixed(0)} | ${median(list.map((r) => r.p95)).toFixed(0)} | ${median(list.map((r) => r.ratio)).toFixed(3)} | ${list.every((r) => r.exact) ? "yes" : "NO"} |`;
  });
  return [
    title,
    "",
    "| scenario | settings | memories/min | vs naive | each round | CPU ms/memory | p50 ms | p95 ms | ratio | exact |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}

const cacheDir = join(dir, "cache");
process.env.MEMZIP_CACHE_DIR = cacheDir;
const loadAtStart = loadavg().map((l) => l.toFixed(1)).join(" / ");
try {
  const started = performance.now();
  const calibration = await calibrate({ ...(values.only === "classical" ? {} : { model: STORIES }), onProgress: (line) => console.error(line) });
  const calibrationSeconds = (performance.now() - started) / 1000;
  const llmFile = writeJsonl("llm.jsonl", llmRecords);
  const classicalFile = writeJsonl("classical.jsonl", corpus.slice(1100));
  const llmRuns = new Map<string, Run[]>();
  const classicalRuns = new Map<string, Run[]>();
  for (let round = 0; round < rounds; round++) {
    for (const { key, profile } of round % 2 ? [...SCENARIOS].reverse() : SCENARIOS) {
      if (values.only !== "classical") {
        const run = await runLlm(key, profile, llmFile, round);
        llmRuns.set(key, [...(llmRuns.get(key) ?? []), run]);
        console.error(`llm ${key} round ${round}: ${run.memoriesPerMin.toFixed(0)}/min, ${run.cpuMsPerMemory.toFixed(1)} CPU ms/memory (${run.settings}); load ${loadavg()[0]?.toFixed(1)}`);
      }
      if (values.only !== "llm") {
        const run = await runClassical(key, profile, classicalFile, round);
        classicalRuns.set(key, [...(classicalRuns.get(key) ?? []), run]);
        console.error(`classical ${key} round ${round}: ${run.memoriesPerMin.toFixed(0)}/min, ${run.cpuMsPerMemory.toFixed(1)} CPU ms/memory (${run.settings}); load ${loadavg()[0]?.toFixed(1)}`);
      }
    }
  }
  const body = [
    "### Batch pipeline: naive vs the original's settings vs tuned",
    "",
    `Command: \`npm run bench:pipeline\` (${rounds} rounds, profiles alternating; medians). Machine: ${machine}; CPU only; load average (1 / 5 / 15 min) at the start ${loadAtStart}, at the end ${loadavg().map((l) => l.toFixed(1)).join(" / ")}; ${new Date().toISOString().slice(0, 10)}.`,
    "Latency is one memory's coding (encode + verify), queueing excluded; ratio counts whole envelopes; CPU ms/memory is the process's (every thread) over the timed import, which a busy machine changes less than the rate.",
    `(c) is \`auto\` after \`memzip profile calibrate\`, run by the bench first (${calibrationSeconds.toFixed(0)} s): classical ${calibration.classical.candidates.map((c) => `${c.label} ${c.memoriesPerMin.toFixed(0)}`).join("; ")} memories/min (medians of ${calibration.classical.rounds}); chosen workers ${calibration.classical.workers}, concurrency ${calibration.classical.concurrency}.` +
      (calibration.llm ? ` llm: ${calibration.llm.candidates.map((c) => `${c.label} ${c.memoriesPerMin.toFixed(0)}`).join("; ")} memories/min (medians of ${calibration.llm.rounds}).` : "") +
      (calibration.llmError ? ` llm: not decided (${calibration.llmError.code}): ${calibration.llmError.message}; auto runs its arithmetic for the model.` : ""),
    "",
    values.only === "classical" ? "" : table(`\`llm\` forced, stories260K, ${llmRecords.length} English dev records (≤ 600 bytes):`, llmRuns),
    "",
    values.only === "llm" ? "" : table("Classical codecs (cm, cm-ref, zstd-dict trained on dev records 1–1000; records 1001–1100 written first as a warm-up), importing records 1101–2000:", classicalRuns),
  ].join("\n");
  console.log(body);
  mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
  writeFileSync(join(ROOT, "bench", "results", "pipeline.json"), JSON.stringify({ machine, calibration, llm: Object.fromEntries(llmRuns), classical: Object.fromEntries(classicalRuns) }, null, 2));
  replaceSection("pipeline", body);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
