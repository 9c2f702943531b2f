/**
 * `npm run bench:search [-- --sizes dev,10000,100000 --queries 200 --variants binary,ternary,int8,float16]`: stores N
 * memories (windows of dev-corpus records, English and Chinese, so no two are alike; `dev` = the 2000 dev records whole),
 * then for each vector encoding builds the search index and times queries (three to six words from a random memory, half
 * of them shuffled with words of another) in each mode and `related`, one at a time: p50 and p95 per query, index build
 * rate, and the index's bytes per memory (whole pages, by SQLite's dbstat). Each query's target memory is known, so
 * recall@10 is reported too. Every variant runs on the same store and the same queries.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Engine } from "../src/engine.js";
import type { SearchOptions } from "../src/search/search.js";
import { isVectorEncodingName, type VectorEncodingName } from "../src/search/vector-encoding.js";
import { quantile, seededRandom } from "../src/core/stats.js";
import { devTexts, memoryText, words } from "./corpus.js";
import { replaceSection } from "./sections.js";

const { values } = parseArgs({ options: { sizes: { type: "string" }, queries: { type: "string" }, variants: { type: "string" } } });
const sizes = (values.sizes ?? "dev,10000,100000").split(",");
const queryCount = Number(values.queries ?? 200);
const variants = (values.variants ?? "binary,ternary,int8,float16").split(",").filter(isVectorEncodingName);
const corpus = devTexts();

interface Row {
  memories: string;
  variant: VectorEncodingName;
  indexSeconds: number;
  indexedPerSecond: number;
  /** Index pages per memory: vectors, terms, and all search tables. */
  vectorBytes: number;
  termBytes: number;
  indexBytes: number;
  /** Index bytes over the bytes of text indexed. */
  ofText: number;
  dbMiB: number;
  /** recallAt10 over all queries; zhRecallAt10 over those whose target is Chinese. */
  modes: Record<string, { p50: number; p95: number; recallAt10: number; zhRecallAt10: number }>;
}

async function measure(size: string): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), "memzip-search-"));
  try {
    const db = join(dir, "search.db");
    const whole = size === "dev";
    const count = whole ? corpus.length : Number(size);
    const random = seededRandom(count);
    const texts: string[] = [];
    {
      await using engine = Engine.open({ db, codecs: ["raw", "zstd"], autoTrainAfter: 0, cache: "off", similarityThreshold: 1 });
      for (let start = 0; start < count; start += 1000) {
        const batch = Array.from({ length: Math.min(1000, count - start) }, (_, k) => ({
          id: `m${start + k}`,
          text: whole ? (corpus[start + k] as string) : memoryText(corpus, start + k, random),
        }));
        texts.push(...batch.map((b) => b.text));
        await engine.rememberMany(batch);
      }
    }
    const textBytes = texts.reduce((sum, text) => sum + Buffer.byteLength(text), 0);
    const queries = Array.from({ length: queryCount }, () => {
      const target = Math.floor(random() * count);
      const own = words(texts[target] as string);
      const at = Math.floor(random() * Math.max(1, own.length - 6));
      const picked = own.slice(at, at + 3 + Math.floor(random() * 4));
      if (random() < 0.5) picked.push(...words(texts[Math.floor(random() * count)] as string).slice(0, 2));
      return { target: `m${target}`, text: picked.join(" "), zh: /\p{Script=Han}/u.test(texts[target] as string) };
    });
    const rows: Row[] = [];
    for (const variant of variants) {
      await using engine = Engine.open({ db, cache: "off", searchVectors: variant });
      const index = await engine.searchIndex();
      const started = performance.now();
      await index.refresh();
      const indexSeconds = (performance.now() - started) / 1000;
      const modes: Row["modes"] = {};
      for (const mode of ["hybrid", "vector", "keyword"] as NonNullable<SearchOptions["mode"]>[]) {
        const times: number[] = [];
        let found = 0;
        let foundZh = 0;
        for (const query of queries) {
          const t = performance.now();
          const hits = await index.search(query.text, { limit: 10, mode });
          times.push(performance.now() - t);
          if (hits.some((h) => h.id === query.target)) {
            found++;
            if (query.zh) foundZh++;
          }
        }
        const zh = queries.filter((q) => q.zh).length;
        modes[mode] = { p50: quantile(times, 0.5), p95: quantile(times, 0.95), recallAt10: found / queries.length, zhRecallAt10: zh ? foundZh / zh : Number.NaN };
      }
      const times: number[] = [];
      for (const query of queries) {
        const home = await engine.locate(query.target);
        const t = performance.now();
        await index.related(query.target, home, { limit: 10 });
        times.push(performance.now() - t);
      }
      modes.related = { p50: quantile(times, 0.5), p95: quantile(times, 0.95), recallAt10: Number.NaN, zhRecallAt10: Number.NaN };
      const bytes = await index.bytes();
      const total = bytes.vectors + bytes.terms + bytes.other;
      const row: Row = {
        memories: size,
        variant,
        indexSeconds,
        indexedPerSecond: count / indexSeconds,
        vectorBytes: bytes.vectors / count,
        termBytes: bytes.terms / count,
        indexBytes: total / count,
        ofText: total / textBytes,
        dbMiB: statSync(db).size / 2 ** 20,
        modes,
      };
      console.log(JSON.stringify(row));
      rows.push(row);
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows: Row[] = [];
for (const size of sizes) rows.push(...(await measure(size)));

const ms = (v: number) => v.toFixed(1);
const pct = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? "—" : `${(v * 100).toFixed(1)} %`);
const table = [
  "| memories | vectors | index B/memory (vectors + terms) | × text | build | hybrid hit (Chinese) | vector hit | keyword hit (Chinese) | hybrid p50 ms | vector p50 | keyword p50 | related p50 |",
  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ...rows.map((r) =>
    [
      r.memories === "dev" ? "dev corpus (2,000)" : Number(r.memories).toLocaleString("en"),
      r.variant,
      `${r.indexBytes.toFixed(0)} (${r.vectorBytes.toFixed(0)} + ${r.termBytes.toFixed(0)})`,
      r.ofText.toFixed(2),
      `${r.indexSeconds.toFixed(1)} s`,
      `${pct(r.modes.hybrid?.recallAt10)} (${pct(r.modes.hybrid?.zhRecallAt10)})`,
      pct(r.modes.vector?.recallAt10),
      `${pct(r.modes.keyword?.recallAt10)} (${pct(r.modes.keyword?.zhRecallAt10)})`,
      ms(r.modes.hybrid?.p50 ?? Number.NaN),
      ms(r.modes.vector?.p50 ?? Number.NaN),
      ms(r.modes.keyword?.p50 ?? Number.NaN),
      ms(r.modes.related?.p50 ?? Number.NaN),
    ].join(" | "),
  ).map((line) => `| ${line} |`),
].join("\n");
replaceSection(
  "search",
  `## Search

\`npm run bench:search -- --sizes ${sizes.join(",")} --queries ${queryCount} --variants ${variants.join(",")}\` (one run; queries one
at a time after the index is built; embedder ngram-256; memories are windows of dev-corpus records, or with \`dev\` the 2,000
dev records whole; a query is 3–6 words of one memory, half of them with two words of another added; "hit" is how often
that memory is among the top 10). Every vector encoding runs on the same store and the same queries. Index bytes are whole
SQLite pages of the \`search_*\` tables (dbstat), per memory; "× text" divides them by the bytes of text indexed. The vector
scan is exact over every decoded vector (SIMD in WebAssembly); keywords: FTS5 \`detail=none\`, ranked by the IDF of the
query terms a memory holds, ties by vector similarity; the two fused by reciprocal rank. Build includes decoding every memory.

${table}

See docs/SEARCH.md for the choices and the numbers before this index format (float16 vectors, FTS5 with positions and BM25).`,
);
