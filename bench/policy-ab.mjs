// Times classical writes through the engine's write policy, for before/after comparisons of two builds:
//   node bench/policy-ab.mjs ROOT WORKERS ROUNDS
// ROOT is a built checkout (its dist/src/engine.js is loaded); run two ROOTs alternately and compare medians.
// Each round: a fresh in-memory store, 1000 dev records written and cm + dictionary trained on them, then
// records 1001-1900 written with rememberMany (timed); cache and similarity grouping off.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const [root, workersArg = "0", roundsArg = "1"] = process.argv.slice(2);
if (!root) throw new Error("usage: node bench/policy-ab.mjs ROOT WORKERS ROUNDS");
const shared = join(fileURLToPath(new URL("../..", import.meta.url)), "shared");
const { Engine } = await import(join(root, "dist", "src", "engine.js"));
const corpus = readFileSync(join(shared, "corpus", "memories-dev.jsonl"), "utf8")
  .split("\n")
  .filter((line) => line.trim())
  .map((line) => JSON.parse(line));
const workers = Number(workersArg);
const times = [];
let stored = 0;
for (let round = 0; round < Number(roundsArg); round++) {
  const engine = await Engine.open({ db: ":memory:", workers, autoTrainAfter: 0, cache: "off", similarityThreshold: 1 });
  await engine.rememberMany(corpus.slice(0, 1000).map(({ id, text }) => ({ id, text })));
  await engine.trainAsset("cm-snapshot");
  await engine.trainAsset("zstd-dictionary");
  const records = corpus.slice(1000, 1900).map(({ id, text }) => ({ id, text }));
  const started = performance.now();
  const results = await engine.rememberMany(records);
  times.push(performance.now() - started);
  stored = results.reduce((sum, r) => sum + r.storedBytes, 0);
  await engine.close();
}
times.sort((a, b) => a - b);
console.log(JSON.stringify({ root, workers, medianMs: Math.round(times[Math.floor(times.length / 2)]), times: times.map(Math.round), storedBytes: stored }));
