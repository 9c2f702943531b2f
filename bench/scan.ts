/**
 * Micro-benchmark of the ternary vector scan at the size of a store: the search index's vectors of
 * `--store DB` (a memzip SQLite file, read only) loaded into one table, then `--queries` queries of
 * 1, 2, 3 and 12 vocabulary words (the server bench's are 2–3) embedded with the n-gram embedder,
 * each scanned by the dense, sparse and bounded (SIMD, floor 0.3) loops in turn. Prints per loop
 * the median and p90 ms a query and, for the bounded scan, the rows at or above the floor and the rows
 * it scored exactly (its bound reached the floor); checks that
 * the bounded scan's rows at or above the floor hold the dense scores.
 *   node dist/bench/scan.js --store COPY.db [--queries 60]
 */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { seededRandom } from "../src/core/stats.js";
import { TernaryRows, type TernaryScan } from "../src/search/score-matrix.js";
import { NGRAM_MIN_SIMILARITY } from "../src/search/search.js";
import { HashedNgramEmbedder } from "../src/search/similarity.js";

const { values } = parseArgs({ options: { store: { type: "string" }, queries: { type: "string", default: "60" } } });
if (values.store === undefined) throw new Error("give --store DB (a memzip SQLite file; it is only read)");
const DEV = fileURLToPath(new URL("../../../shared/corpus/memories-dev.jsonl", import.meta.url));
const words = readFileSync(DEV, "utf8")
  .split("\n")
  .filter(Boolean)
  .map((line) => (JSON.parse(line) as { text: string }).text)
  .join(" ")
  .split(/\s+/)
  .filter((w) => /^[A-Za-z]{4,}$/.test(w));

const db = new Database(values.store, { readonly: true });
const vectors = db.prepare("SELECT vector FROM search_vectors ORDER BY seq").pluck().all() as Buffer[];
db.close();
const table = new TernaryRows(256, 1024);
for (const v of vectors) table.append(new Uint8Array(v.buffer, v.byteOffset, v.length));

const embedder = new HashedNgramEmbedder(256);
const random = seededRandom(7);
const count = Number(values.queries);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)] as number;
console.log(`# ${table.rows} rows, ${count} queries a row of the table, load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}, ${new Date().toISOString()}`);
console.log("| words | dense ms (p50 / p90) | sparse ms | bounded ms | bounded / dense | rows ≥ floor / rescored (medians) |");
console.log("|---|---|---|---|---|---|");
for (const n of [1, 2, 3, 12]) {
  const times: Record<TernaryScan, number[]> = { auto: [], dense: [], sparse: [], bounded: [] };
  const above: number[] = [];
  const rescored: number[] = [];
  for (let q = 0; q < count; q++) {
    const query = embedder.embedOne(Array.from({ length: n }, () => words[Math.floor(random() * words.length)]).join(" "));
    let dense: Float32Array | undefined;
    for (const scan of ["dense", "sparse", "bounded"] as const) {
      const start = process.hrtime.bigint();
      const scores = table.scores(query, scan === "bounded" ? NGRAM_MIN_SIMILARITY : undefined, scan);
      times[scan].push(Number(process.hrtime.bigint() - start) / 1e6);
      if (scan === "dense") dense = scores.slice();
      else if (scan === "bounded" && dense) {
        let atOrAbove = 0;
        for (let r = 0; r < scores.length; r++) {
          if ((dense[r] as number) >= NGRAM_MIN_SIMILARITY) {
            if (!Object.is(scores[r], dense[r])) throw new Error(`row ${r}: bounded ${scores[r]} vs dense ${dense[r]}`);
          } else if (!((scores[r] as number) < NGRAM_MIN_SIMILARITY)) throw new Error(`row ${r} is not below the floor`);
          if ((scores[r] as number) >= NGRAM_MIN_SIMILARITY) atOrAbove++;
        }
        above.push(atOrAbove);
        rescored.push(table.rescored);
      }
    }
  }
  const [d, s, b] = [median(times.dense), median(times.sparse), median(times.bounded)];
  const f = (x: number, xs: number[]) => `${x.toFixed(2)} / ${p90(xs).toFixed(2)}`;
  console.log(`| ${n} | ${f(d, times.dense)} | ${f(s, times.sparse)} | ${f(b, times.bounded)} | ${(b / d).toFixed(2)} | ${median(above)} / ${median(rescored)} |`);
}
