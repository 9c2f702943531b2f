/**
 * `npm run bench:repeats`: a workload where ~30 % of the items repeat an earlier one.
 * Writes: 500 dev-corpus memories plus 210 repeats of their texts under new ids, coded by `cm`
 * against a snapshot of the other 1500 records — the repeats are found by content address and
 * stored as references. Recalls: 1000 reads of which ~30 % hit a memory read before, with the
 * engine's cache off and on. Same run, side by side.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Engine } from "../src/engine.js";
import type { MemoryInput } from "../src/pipeline/records.js";
import { seededRandom, shuffled } from "../src/quality/stats.js";
import { replaceSection } from "./sections.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const corpus = readFileSync(join(ROOT, "..", "shared", "corpus", "memories-dev.jsonl"), "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "")
  .map((line) => JSON.parse(line) as { id: string; text: string });
const training = corpus.slice(0, 1500).map(({ id, text }) => ({ id, text }));
const fresh = corpus.slice(1500);
const random = seededRandom(3);
const repeats = Array.from({ length: 210 }, (_, i) => ({ id: `repeat-${i}`, text: (fresh[Math.floor(random() * fresh.length)] as { text: string }).text }));
const workload: MemoryInput[] = shuffled([...fresh.map(({ id, text }) => ({ id, text })), ...repeats], 5);
const repeatShare = repeats.length / workload.length;

async function prepared(cache: "off" | "memory"): Promise<Engine> {
  const engine = Engine.open({ db: ":memory:", codecs: ["raw", "zstd", "cm"], autoTrainAfter: 0, cache, workers: 0, similarityThreshold: 1 });
  await engine.rememberMany(training);
  await engine.trainAsset("cm-snapshot");
  await engine.rememberMany([{ id: "warm-up", text: "load the snapshot before timing" }]);
  return engine;
}

// Writes: the same memories with and without the repeats; the repeats' cost is the difference.
const writeRows: string[] = [];
for (const [label, items] of [
  ["unique only", workload.filter((m) => !m.id?.startsWith("repeat-"))],
  ["with 30 % repeats", workload],
] as const) {
  const engine = await prepared("memory");
  const started = performance.now();
  let deduplicated = 0;
  for (let i = 0; i < items.length; i += 32) deduplicated += (await engine.rememberMany(items.slice(i, i + 32))).filter((r) => r.deduplicated).length;
  const seconds = (performance.now() - started) / 1000;
  const stats = engine.stats();
  writeRows.push(`| ${label} | ${items.length} | ${((items.length / seconds) * 60).toFixed(0)} | ${seconds.toFixed(2)} | ${deduplicated} (${((100 * deduplicated) / items.length).toFixed(1)} %) | ${stats.storedBytes} |`);
  await engine.close();
}

// Recalls: a stream where ~30 % of the reads repeat an earlier id.
const ids = workload.map((m) => m.id as string);
const readRandom = seededRandom(9);
const reads: string[] = [];
for (let i = 0; i < 1000; i++) reads.push(i > 0 && readRandom() < 0.3 ? (reads[Math.floor(readRandom() * reads.length)] as string) : (ids[i % ids.length] as string));
const firstReads = new Set<string>();
const repeatedReads = reads.filter((id) => (firstReads.has(id) ? true : (firstReads.add(id), false))).length;
const readRows: string[] = [];
const readSeconds: Record<string, number> = {};
for (const cache of ["off", "memory"] as const) {
  const engine = await prepared(cache);
  for (let i = 0; i < workload.length; i += 32) await engine.rememberMany(workload.slice(i, i + 32));
  const before = engine.cacheStats();
  const started = performance.now();
  for (const id of reads) await engine.recall(id);
  const seconds = (performance.now() - started) / 1000;
  readSeconds[cache] = seconds;
  const after = engine.cacheStats();
  const lookups = after.hits - before.hits + (after.misses - before.misses);
  const hitRate = lookups === 0 ? 0 : (after.hits - before.hits) / lookups;
  readRows.push(`| ${cache} | ${reads.length} | ${(reads.length / seconds).toFixed(0)} | ${seconds.toFixed(3)} | ${(hitRate * 100).toFixed(1)} % |`);
  await engine.close();
}

const body = [
  "### Repeated work: content addressing and the cache",
  "",
  "Command: `npm run bench:repeats` — `cm` against a snapshot of 1500 dev-corpus records, main thread, grouping off.",
  "",
  `Writes: the other 500 records once each, then the same plus 210 repeats of their texts under new ids (${(repeatShare * 100).toFixed(1)} % repeats), shuffled, batches of 32.`,
  "",
  "| workload | memories | memories/min | seconds | stored as references | envelope bytes |",
  "| --- | --- | --- | --- | --- | --- |",
  ...writeRows,
  "",
  `Recalls: ${reads.length} reads, ${repeatedReads} (${((100 * repeatedReads) / reads.length).toFixed(1)} %) of them repeating an id read before.`,
  "",
  "| cache | recalls | recalls/s | seconds | hit rate |",
  "| --- | --- | --- | --- | --- |",
  ...readRows,
  "",
  `Speedup of the cache on this stream: ${((readSeconds.off as number) / (readSeconds.memory as number)).toFixed(2)}x.`,
].join("\n");
console.log(body);
replaceSection("repeats", body);
