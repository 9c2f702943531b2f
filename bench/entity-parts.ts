/**
 * `npm run bench:entity-parts`: what the semantic layer's entity extraction costs on long and hostile texts, and how
 * long it holds the event loop: the default extractor on a whole text against `extractInParts` (parts of ~4 KiB,
 * the event loop handed back between them, the first 64 Ki characters). Texts: prose (the dev corpus), a sentence of
 * names and dates repeated, "1 " repeated (a number every two characters), one long word, Han characters.
 * Median of 3 runs each (one warm-up first); replaces the `entity-parts` section of BENCHMARKS.md.
 */
import { cpus, loadavg } from "node:os";
import { extractInParts, type EntityExtractor } from "../src/semantic/entities.js";
import { defaultEntityExtractor } from "../src/semantic/entities-tagger.js";
import { devTexts } from "./corpus.js";
import { replaceSection } from "./sections.js";

const LOAD_AT_START = loadavg();
const corpus = devTexts().join("\n");

const SHAPES: Record<string, (chars: number) => string> = {
  prose: (n) => corpus.repeat(Math.ceil(n / corpus.length)).slice(0, n),
  "names and dates": (n) => "Alice met Bob in Paris on May 3. ".repeat(Math.ceil(n / 32)).slice(0, n),
  '"1 " repeated': (n) => "1 ".repeat(Math.ceil(n / 2)).slice(0, n),
  "one long word": (n) => "x".repeat(n),
  Han: (n) => "中".repeat(n),
};

/** Wall ms of the extraction and the longest gap between two turns of the event loop meanwhile. */
async function timed(work: () => Promise<unknown> | unknown): Promise<{ ms: number; hold: number }> {
  let longest = 0;
  let last = performance.now();
  let done = false;
  const turn = () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    if (!done) setImmediate(turn);
  };
  setImmediate(turn);
  const start = performance.now();
  await work();
  const ms = performance.now() - start;
  done = true;
  // The extraction's own last stretch counts too (a whole text is one stretch with no turn inside).
  longest = Math.max(longest, performance.now() - last);
  return { ms, hold: longest };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

async function measure(extract: () => Promise<unknown> | unknown): Promise<{ ms: number; hold: number }> {
  await timed(extract);
  const runs = [];
  for (let i = 0; i < 3; i++) runs.push(await timed(extract));
  return { ms: median(runs.map((r) => r.ms)), hold: median(runs.map((r) => r.hold)) };
}

async function main(): Promise<void> {
  const extractor: EntityExtractor = defaultEntityExtractor;
  const rows: string[] = [];
  for (const [name, make] of Object.entries(SHAPES)) {
    const whole16 = await measure(() => extractor.extract(make(16_384)));
    const whole64 = await measure(() => extractor.extract(make(65_536)));
    const parts64 = await measure(() => extractInParts(extractor, make(65_536)));
    const parts1m = await measure(() => extractInParts(extractor, make(1 << 20)));
    const cell = (r: { ms: number; hold: number }) => `${r.ms.toFixed(0)} / ${r.hold.toFixed(0)}`;
    rows.push(`| ${name} | ${cell(whole16)} | ${cell(whole64)} | ${cell(parts64)} | ${cell(parts1m)} |`);
    console.log(rows.at(-1));
  }
  const section = [
    "Command: `npm run bench:entity-parts` — the default extractor (`rules+tagger`), ms of extraction / ms of the longest",
    "event-loop hold, median of 3 after a warm-up; 16 Ki and 64 Ki characters extracted whole (the semantic layer's path before stop 59, with today's rules), 64 Ki and",
    "1 Mi characters through `extractInParts` (the semantic layer's path: parts of ~4 KiB, the first 64 Ki characters).",
    `Machine: ${cpus()[0]?.model ?? "?"} × ${cpus().length}, load ${LOAD_AT_START.map((l) => l.toFixed(1)).join(" / ")} at start, ${new Date().toISOString()}.`,
    "",
    "| text | whole, 16 Ki | whole, 64 Ki | parts, 64 Ki | parts, 1 Mi |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
  replaceSection("entity-parts", section);
}

await main();
