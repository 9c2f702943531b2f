/**
 * `npm run bench`: measures every codec on the shared dev corpus (or --corpus FILE), writes
 * bench/results/*.json and replaces the matching section of BENCHMARKS.md.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { codecBenchMarkdown } from "../src/quality/bench-markdown.js";
import { runCodecBench } from "../src/quality/codec-bench.js";
import { loadBenchCorpus } from "../src/quality/corpus.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const { values } = parseArgs({ options: { corpus: { type: "string" }, only: { type: "string" } } });
const corpus = values.corpus ?? join(ROOT, "..", "shared", "corpus", "memories-dev.jsonl");
if (!existsSync(corpus)) {
  console.error(`bench: corpus ${corpus} not found; pass --corpus FILE.jsonl`);
  process.exit(2);
}

const machine = `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, Node ${process.version}`;
const records = await loadBenchCorpus(corpus);
const report = runCodecBench(records, { trainFraction: 0.75, seed: 1, onProgress: (stage) => console.error(`measuring ${stage}…`) });
const resultsDir = join(ROOT, "bench", "results");
mkdirSync(resultsDir, { recursive: true });
writeFileSync(join(resultsDir, "codecs-dev.json"), `${JSON.stringify({ date: new Date().toISOString(), machine, corpus, ...report }, null, 2)}\n`);
const markdown = `${codecBenchMarkdown(report, "Per-record codecs, dev corpus, held-out 25 %", "npm run bench")}\n\nMachine: ${machine}; ${new Date().toISOString().slice(0, 10)}.`;
replaceSection("codecs", markdown);
console.log(markdown);

function replaceSection(name: string, body: string): void {
  const file = join(ROOT, "BENCHMARKS.md");
  const begin = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const text = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n";
  const block = `${begin}\n${body}\n${end}`;
  const start = text.indexOf(begin);
  const next = start === -1 ? `${text.trimEnd()}\n\n${block}\n` : `${text.slice(0, start)}${block}${text.slice(text.indexOf(end) + end.length)}`;
  writeFileSync(file, next);
}
