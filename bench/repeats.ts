/**
 * `npm run bench:repeats`: a write workload where ~30 % of the memories repeat an earlier text
 * under a new id, coded by `cm` against a snapshot of 1500 dev-corpus records; the same run with
 * the engine's cache on and off, side by side.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Engine } from "../src/engine.js";
import type { MemoryInput } from "../src/pipeline/records.js";
import { seededRandom, shuffled } from "../src/quality/stats.js";

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

const rows: string[] = [];
for (const cache of ["off", "memory"] as const) {
  const engine = Engine.open({ db: ":memory:", codecs: ["raw", "zstd", "cm"], autoTrainAfter: 0, cache });
  await engine.rememberMany(training);
  await engine.trainAsset("cm-snapshot");
  await engine.rememberMany([{ id: "warm-up", text: "load the snapshot before timing" }]);
  const before = engine.cacheStats();
  const started = performance.now();
  for (let i = 0; i < workload.length; i += 32) await engine.rememberMany(workload.slice(i, i + 32));
  const seconds = (performance.now() - started) / 1000;
  const after = engine.cacheStats();
  const lookups = after.hits - before.hits + (after.misses - before.misses);
  const hitRate = lookups === 0 ? 0 : (after.hits - before.hits) / lookups;
  rows.push(`| ${cache} | ${workload.length} | ${((workload.length / seconds) * 60).toFixed(0)} | ${seconds.toFixed(2)} | ${(hitRate * 100).toFixed(1)} % |`);
  await engine.close();
}
console.log(
  [
    `Workload: ${workload.length} memories, ${(repeatShare * 100).toFixed(1)} % of them repeating an earlier text under a new id; batches of 32; codec \`cm\`.`,
    "",
    "| cache | memories | memories/min | seconds | hit rate |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n"),
);
