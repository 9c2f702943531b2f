/**
 * `npm run bench:store-pg [-- --memories 10000 --recalls 2000 --queries 300 --pg postgres://…]`: the same N memories
 * (windows of dev-corpus records, English and Chinese; codecs raw and zstd) written through an engine into a SQLite
 * file and into PostgreSQL, then timed one call at a time, interleaved (SQLite, then PostgreSQL, for each id or
 * query, so load on the machine hits both alike): `engine.recall` by id with the cache off (a store read and a
 * decode), and hybrid `searchMemories` (after the index is built, which is timed too). Without `--pg` a throwaway
 * PostgreSQL 15 is started on loopback (test/services/postgres.ts) and stopped at the end.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { quantile, seededRandom } from "../src/core/stats.js";
import { Engine } from "../src/engine.js";
import { startPostgres, type PostgresService } from "../test/services/postgres.js";
import { devTexts, memoryText, words } from "./corpus.js";
import { replaceSection } from "./sections.js";

const { values } = parseArgs({ options: { memories: { type: "string" }, recalls: { type: "string" }, queries: { type: "string" }, pg: { type: "string" }, write: { type: "boolean" } } });
const count = Number(values.memories ?? 10_000);
const recallCount = Number(values.recalls ?? 2000);
const queryCount = Number(values.queries ?? 300);

const corpus = devTexts();

const ms = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;
const fmt = (value: number): string => value.toFixed(2);

const dir = mkdtempSync(join(tmpdir(), "memzip-bench-store-pg-"));
let service: PostgresService | undefined;
const engines: Engine[] = [];
try {
  let url = values.pg;
  if (url === undefined) {
    service = await startPostgres();
    if (!service) throw new Error("PostgreSQL is not installed: pass --pg postgres://… or install Debian's postgresql");
    url = await service.createDatabase("bench");
  }
  const stores = [
    { name: "SQLite file", db: join(dir, "bench.db") },
    { name: "PostgreSQL 15 (loopback)", db: url },
  ];
  const random = seededRandom(count);
  const texts = Array.from({ length: count }, (_, i) => memoryText(corpus, i, random));
  const options = { codecs: ["raw", "zstd"], autoTrainAfter: 0, cache: "off", similarityThreshold: 1 } as const;
  const rows: { name: string; importPerSecond: number; indexSeconds: number; recall: number[]; search: number[] }[] = [];
  for (const store of stores) {
    const engine = Engine.open({ db: store.db, ...options });
    engines.push(engine);
    const start = process.hrtime.bigint();
    for (let from = 0; from < count; from += 1000) {
      await engine.rememberMany(texts.slice(from, from + 1000).map((text, k) => ({ id: `m${from + k}`, text })));
    }
    const importMs = ms(start);
    const indexStart = process.hrtime.bigint();
    await engine.searchMemories("warm up the index", { limit: 10 });
    rows.push({ name: store.name, importPerSecond: count / (importMs / 1000), indexSeconds: ms(indexStart) / 1000, recall: [], search: [] });
    process.stderr.write(`${store.name}: imported ${count} in ${(importMs / 1000).toFixed(1)} s, index built in ${rows[rows.length - 1]?.indexSeconds.toFixed(1)} s\n`);
  }
  const pick = seededRandom(7);
  const ids = Array.from({ length: recallCount }, () => Math.floor(pick() * count));
  for (const i of ids) {
    for (const [s, engine] of engines.entries()) {
      const start = process.hrtime.bigint();
      const text = await engine.recall(`m${i}`);
      (rows[s] as (typeof rows)[0]).recall.push(ms(start));
      if (text !== texts[i]) throw new Error(`recall of m${i} from ${stores[s]?.name} is not exact`);
    }
  }
  const queries = Array.from({ length: queryCount }, () => {
    const source = words(texts[Math.floor(pick() * count)] as string);
    const at = Math.floor(pick() * Math.max(1, source.length - 4));
    return source.slice(at, at + 3 + Math.floor(pick() * 3)).join(" ");
  });
  for (const query of queries) {
    for (const [s, engine] of engines.entries()) {
      const start = process.hrtime.bigint();
      await engine.searchMemories(query, { limit: 10 });
      (rows[s] as (typeof rows)[0]).search.push(ms(start));
    }
  }
  const table = [
    "| store | import (memories/s) | index build (s) | recall p50 ms | recall p99 ms | search p50 ms | search p99 ms |",
    "|---|---:|---:|---:|---:|---:|---:|",
    ...rows.map(
      (r) =>
        `| ${r.name} | ${Math.round(r.importPerSecond)} | ${r.indexSeconds.toFixed(1)} | ${fmt(quantile(r.recall, 0.5))} | ${fmt(quantile(r.recall, 0.99))} | ${fmt(quantile(r.search, 0.5))} | ${fmt(quantile(r.search, 0.99))} |`,
    ),
  ].join("\n");
  process.stdout.write(`${table}\n`);
  if (values.write) {
    replaceSection(
      "store-pg",
      `## PostgreSQL against SQLite\n\n\`npm run bench:store-pg -- --memories ${count} --recalls ${recallCount} --queries ${queryCount} --write\` (one run; engine with codecs raw and zstd, cache off; ` +
        `recalls of random ids and hybrid searches of 3–5 words, one at a time, interleaved SQLite / PostgreSQL; PostgreSQL 15 on loopback, ` +
        `a throwaway instance with fsync off):\n\n${table}`,
    );
  }
} finally {
  for (const engine of engines) await engine.close().catch(() => undefined);
  await service?.stop();
  rmSync(dir, { recursive: true, force: true });
}
