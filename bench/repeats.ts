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

// Writes: the same memories with and without the repeats, rounds alternating; the repeats' cost is the difference.
const writeRuns = new Map<string, { seconds: number; references: number; bytes: number; count: number }[]>();
const writeWorkloads = [
  ["unique only", workload.filter((m) => !m.id?.startsWith("repeat-"))],
  ["with 30 % repeats", workload],
] as const;
for (let round = 0; round < 3; round++) {
  for (const [label, items] of round % 2 ? [...writeWorkloads].reverse() : writeWorkloads) {
    const engine = await prepared("memory");
    const bytesBefore = (await engine.stats()).envelopeBytes;
    const started = performance.now();
    let references = 0;
    for (let i = 0; i < items.length; i += 32) references += (await engine.rememberMany(items.slice(i, i + 32))).filter((r) => r.deduplicated).length;
    const seconds = (performance.now() - started) / 1000;
    writeRuns.set(label, [...(writeRuns.get(label) ?? []), { seconds, references, bytes: (await engine.stats()).envelopeBytes - bytesBefore, count: items.length }]);
    await engine.close();
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const writeRows = [...writeRuns].map(([label, runs]) => {
  const seconds = median(runs.map((r) => r.seconds));
  const { references, bytes, count } = runs[0] as { references: number; bytes: number; count: number };
  return `| ${label} | ${count} | ${((count / seconds) * 60).toFixed(0)} | ${seconds.toFixed(2)} | ${references} (${((100 * references) / count).toFixed(1)} %) | ${bytes} |`;
});

// Recalls: a stream where ~30 % of the reads repeat an earlier id.
const ids = workload.map((m) => m.id as string);
const textOf = new Map(workload.map((m) => [m.id as string, m.text]));
const readRandom = seededRandom(9);
const reads: string[] = [];
let nextFresh = 0;
for (let i = 0; i < 1000; i++) reads.push(i > 0 && (readRandom() < 0.3 || nextFresh >= ids.length) ? (reads[Math.floor(readRandom() * reads.length)] as string) : (ids[nextFresh++] as string));
const seenIds = new Set<string>();
const seenTexts = new Set<string>();
let repeatedIds = 0;
let repeatedTexts = 0;
for (const id of reads) {
  if (seenIds.has(id)) repeatedIds++;
  if (seenTexts.has(textOf.get(id) as string)) repeatedTexts++;
  seenIds.add(id);
  seenTexts.add(textOf.get(id) as string);
}
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
  "| workload | memories | memories/min (median of 3) | seconds | stored as references | envelope bytes added |",
  "| --- | --- | --- | --- | --- | --- |",
  ...writeRows,
  "",
  `Recalls: ${reads.length} reads; ${repeatedIds} (${((100 * repeatedIds) / reads.length).toFixed(1)} %) repeat an id read before, ${repeatedTexts} (${((100 * repeatedTexts) / reads.length).toFixed(1)} %) a text read before (the cache is keyed by content, so a repeated text under another id hits too).`,
  "",
  "| cache | recalls | recalls/s | seconds | hit rate |",
  "| --- | --- | --- | --- | --- |",
  ...readRows,
  "",
  `Speedup of the cache on this stream: ${((readSeconds.off as number) / (readSeconds.memory as number)).toFixed(2)}x.`,
].join("\n");
console.log(body);
replaceSection("repeats", body);
