/**
 * `npm run bench:search-floor [-- --queries 300]`: chooses the search's minimum similarity. The dev corpus (2,000
 * records) is stored and indexed once; then, for each candidate floor, (a) queries made of a memory's own words (as in
 * bench:search: 3–6 words, half with two words of another memory added) — how often that memory is in the top 10, in
 * hybrid and vector mode; (b) queries of made-up words no memory holds — how often they still return a hit. A good
 * floor keeps (a) and drives (b) to zero.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Engine } from "../src/engine.js";
import { seededRandom } from "../src/core/stats.js";
import { NGRAM_MIN_SIMILARITY } from "../src/search/search.js";
import { devTexts, words } from "./corpus.js";
import { replaceSection } from "./sections.js";

const { values } = parseArgs({ options: { queries: { type: "string" } } });
const queryCount = Number(values.queries ?? 300);
const FLOORS = [-1, 0, 0.1, 0.2, 0.25, 0.28, 0.3, 0.35];
const corpus = devTexts();

const random = seededRandom(7);
const queries = Array.from({ length: queryCount }, () => {
  const target = Math.floor(random() * corpus.length);
  const own = words(corpus[target] as string);
  const at = Math.floor(random() * Math.max(1, own.length - 6));
  const picked = own.slice(at, at + 3 + Math.floor(random() * 4));
  if (random() < 0.5) picked.push(...words(corpus[Math.floor(random() * corpus.length)] as string).slice(0, 2));
  return { target: `m${target}`, text: picked.join(" ") };
});
const consonants = "bcdfghjklmnpqrstvwxz";
const vowels = "aeiouy";
const madeUp = Array.from({ length: queryCount }, () =>
  Array.from({ length: 3 + Math.floor(random() * 4) }, () =>
    Array.from({ length: 2 + Math.floor(random() * 3) }, () => `${consonants[Math.floor(random() * consonants.length)]}${vowels[Math.floor(random() * vowels.length)]}`).join("") + "q",
  ).join(" "),
);

const dir = mkdtempSync(join(tmpdir(), "memzip-floor-"));
const rows: string[] = [];
try {
  const engine = Engine.open({ db: join(dir, "floor.db"), codecs: ["raw", "zstd"], autoTrainAfter: 0, cache: "off", similarityThreshold: 1 });
  try {
    await engine.rememberMany(corpus.map((text, i) => ({ id: `m${i}`, text })));
    const index = await engine.searchIndex();
    await index.refresh();
    for (const floor of FLOORS) {
      const share = async (mode: "hybrid" | "vector", list: readonly string[], hit: (ids: string[], i: number) => boolean) => {
        let n = 0;
        for (const [i, text] of list.entries()) if (hit((await index.search(text, { limit: 10, mode, minSimilarity: floor })).map((h) => h.id), i)) n++;
        return n / list.length;
      };
      const texts = queries.map((q) => q.text);
      const found = (ids: string[], i: number) => ids.includes((queries[i] as { target: string }).target);
      const any = (ids: string[]) => ids.length > 0;
      const row = [
        floor === -1 ? "none" : floor.toFixed(2),
        await share("hybrid", texts, found),
        await share("vector", texts, found),
        await share("hybrid", madeUp, any),
        await share("vector", madeUp, any),
      ];
      console.log(JSON.stringify(row));
      rows.push(`| ${row.map((v) => (typeof v === "number" ? `${(v * 100).toFixed(1)} %` : v)).join(" | ")} |`);
    }
  } finally {
    await engine.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

replaceSection(
  "search-floor",
  `### Search: the minimum similarity

\`npm run bench:search-floor -- --queries ${queryCount}\` — the dev corpus (2,000 records) indexed once (ngram-256, ternary vectors);
"own words": ${queryCount} queries of 3–6 words of one memory (half with two words of another added), how often that memory is in the top 10;
"made-up words": ${queryCount} queries of words no memory holds, how often any hit comes back. A vector-only neighbour below the floor is
not a hit; keyword matches always count. The default floor of the n-gram embedder is the first that returns nothing for made-up
words: \`NGRAM_MIN_SIMILARITY\` = ${NGRAM_MIN_SIMILARITY} (src/search/search.ts; \`--min-similarity\` overrides it per query).

| floor | own words: hybrid hit | own words: vector hit | made-up words: hybrid returns a hit | made-up words: vector returns a hit |
|---|---:|---:|---:|---:|
${rows.join("\n")}`,
);
