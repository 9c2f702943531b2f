/**
 * `node dist/bench/train-stall.js [--copies 1] [--runs 3] [--baseline DIST] [--no-write]`: how long the
 * event loop stalls while an import ends — the namespace's auto-training (a zstd dictionary, a cm
 * snapshot) and the recode after it — the time a server answers no other request.
 *
 * Each run is a new process: it stores the dev corpus (`--copies` times, each copy's texts made
 * distinct) in a fresh store with the engine's defaults (workers one per core, the shipped base on),
 * then times `finishImports` while a 5 ms histogram (`monitorEventLoopDelay`) watches the event loop.
 * `--baseline DIST` runs the same probe with another build's `dist` (runs interleaved: baseline, this
 * build, baseline, …), so both rows meet the same load.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type * as EngineModule from "../src/engine.js";
import { replaceSection } from "./sections.js";

const { values } = parseArgs({ options: { copies: { type: "string" }, runs: { type: "string" }, baseline: { type: "string" }, probe: { type: "string" }, "no-write": { type: "boolean" } } });
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const copies = Number(values.copies ?? 1);

interface ProbeResult {
  memories: number;
  textBytes: number;
  finishMs: number;
  longestStallMs: number;
  p99StallMs: number;
  assets: string[];
  recoded: number;
}

/** The probe (a child process): one import's end, with `dist` the build to measure. */
async function probe(dist: string): Promise<ProbeResult> {
  const { Engine } = (await import(pathToFileURL(join(dist, "src", "engine.js")).href)) as typeof EngineModule;
  const texts = readFileSync(join(ROOT, "..", "shared", "corpus", "memories-dev.jsonl"), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => (JSON.parse(line) as { text: string }).text);
  const dir = mkdtempSync(join(tmpdir(), "memzip-train-stall-"));
  process.env.MEMZIP_CACHE_DIR = join(dir, "cache");
  const engine = Engine.open({ db: join(dir, "s.db"), cache: "off" });
  try {
    const records = Array.from({ length: copies }, (_, c) => texts.map((text, i) => ({ id: `r${c}-${i}`, text: c === 0 ? text : `${text}\n(copy ${c})` }))).flat();
    for (let i = 0; i < records.length; i += 500) await engine.rememberMany(records.slice(i, i + 500));
    const histogram = monitorEventLoopDelay({ resolution: 5 });
    histogram.enable();
    const started = performance.now();
    const trained = (await engine.finishImports(["default"])).get("default");
    const finishMs = performance.now() - started;
    histogram.disable();
    return {
      memories: records.length,
      textBytes: records.reduce((sum, r) => sum + Buffer.byteLength(r.text), 0),
      finishMs,
      longestStallMs: histogram.max / 1e6,
      p99StallMs: histogram.percentile(99) / 1e6,
      assets: trained?.assets.map((asset) => asset.kind) ?? [],
      recoded: trained?.recode?.recoded ?? 0,
    };
  } finally {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (values.probe !== undefined) {
  console.log(JSON.stringify(await probe(values.probe)));
} else {
  const runs = Number(values.runs ?? 3);
  const builds = [...(values.baseline ? [{ name: `baseline (${values.baseline})`, dist: values.baseline }] : []), { name: "this build", dist: join(ROOT, "dist") }];
  const results = new Map<string, ProbeResult[]>(builds.map((b) => [b.name, []]));
  for (let run = 0; run < runs; run++) {
    for (const build of builds) {
      const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--probe", build.dist, "--copies", String(copies)], { encoding: "utf8", maxBuffer: 1 << 24 });
      if (child.status !== 0) throw new Error(`probe of ${build.name} failed: ${child.stderr}`);
      const result = JSON.parse(child.stdout.trim().split("\n").at(-1) as string) as ProbeResult;
      results.get(build.name)?.push(result);
      console.error(`${build.name} run ${run + 1}: ${JSON.stringify(result)}`);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const rows = builds.map(({ name }) => {
    const r = results.get(name) as ProbeResult[];
    const first = r[0] as ProbeResult;
    return `| ${name} | ${first.memories} (${(first.textBytes / 1e6).toFixed(2)} MB) | ${first.assets.join(", ")} | ${r.map((x) => (x.longestStallMs / 1000).toFixed(2)).join(" / ")} | ${(median(r.map((x) => x.longestStallMs)) / 1000).toFixed(2)} | ${median(r.map((x) => x.p99StallMs)).toFixed(0)} | ${(median(r.map((x) => x.finishMs)) / 1000).toFixed(1)} |`;
  });
  const body = [
    "### The event loop while an import ends (auto-training and its recode)",
    "",
    `Command: \`node dist/bench/train-stall.js --copies ${copies} --runs ${runs}${values.baseline ? " --baseline DIST" : ""}\``,
    "",
    "Each run a new process: the dev corpus stored in a fresh store (engine defaults: a codec worker per core, the shipped base), then `finishImports` timed while `monitorEventLoopDelay` (5 ms) watches the event loop: its longest stall is how long a server would answer no request.",
    "",
    "| build | memories (text) | trained | longest stall, s (runs) | median longest stall, s | median p99 stall, ms | median import end, s |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
    "",
    `Machine: ${process.arch}, Node ${process.version}; ${new Date().toISOString().slice(0, 10)}.`,
  ].join("\n");
  console.log(body);
  if (!values["no-write"]) replaceSection("train-stall", body);
}
