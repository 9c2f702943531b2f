/**
 * `npm run bench:footprint [-- --records N[,N...]] [--page-size B] [--no-write]`: what a store file
 * weighs on disk. (1) The dev corpus imported into a fresh store (defaults: the import trains the
 * namespace's assets, recodes and seals the rows into blocks), closed; then the search index built,
 * closed. (2) The same for N synthetic records (default 10^4 and 10^5; the generator of `bench:scale`;
 * default settings). The dev corpus and synthetic corpora of at most 10^4 records are measured with
 * `seal: false` too (the row layout), side by side. Each figure is the file's bytes (database + WAL)
 * over the text's bytes, beside stats' bitsPerByte; stats' `fileBytes` (an open after the close) is
 * checked against the files' sizes at that moment. Also prints the bytes per table and index (dbstat).
 * `npm run bench` runs it too and writes the "Footprint" section of BENCHMARKS.md.
 */
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { Engine } from "../src/engine.js";
import type { EngineOptions } from "../src/engine-options.js";
import { seededRandom } from "../src/core/stats.js";
import { replaceSection } from "./sections.js";

export interface FootprintRow {
  label: string;
  records: number;
  textBytes: number;
  bitsPerByte: number;
  importedFileBytes: number;
  indexedFileBytes: number;
  /** Whether `stats().fileBytes` (an open after each close) equalled the files' sizes at that moment, both times. */
  statsFileBytesHold: boolean;
  tables: Record<string, number>;
}

function fileBytes(path: string): number {
  return statSync(path).size + (existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0);
}

function tableBytes(path: string): Record<string, number> {
  const db = new Database(path, { readonly: true });
  const rows = db.prepare("SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC").all() as { name: string; bytes: number }[];
  db.close();
  return Object.fromEntries(rows.map((r) => [r.name, r.bytes]));
}

/** Imports `file` into a fresh store, closes it, measures; builds the search index, closes, measures. */
export async function measureFootprint(label: string, file: string, options: EngineOptions & { pageSize?: number } = {}): Promise<FootprintRow> {
  const dir = mkdtempSync(join(tmpdir(), "memzip-footprint-"));
  try {
    const db = join(dir, "store.db");
    const { pageSize, ...engineOptions } = options;
    if (pageSize) {
      // A store made with another page size, for the measurements in docs/STORE.md.
      const raw = new Database(db);
      raw.pragma(`page_size = ${pageSize}`);
      raw.exec("CREATE TABLE t (x); DROP TABLE t;");
      raw.close();
    }
    // Whether `memzip stats --json`'s fileBytes is the files' sizes (database + WAL) while it is open (an open of a
    // writable store starts a WAL, so the figure may differ from the closed file's by a frame or so).
    const statsFileBytesHolds = async (): Promise<boolean> => {
      const reader = Engine.open({ db, ...engineOptions, readOnly: true });
      try {
        return (await reader.stats()).fileBytes === fileBytes(db);
      } finally {
        await reader.close();
      }
    };
    let engine = Engine.open({ db, ...engineOptions });
    const report = await engine.importJsonl(file, { batchSize: 1000 });
    const stats = await engine.stats();
    await engine.close();
    const importedFileBytes = fileBytes(db);
    const tables = tableBytes(db);
    let statsFileBytesHold = await statsFileBytesHolds();
    engine = Engine.open({ db, ...engineOptions });
    await (await engine.searchIndex()).refresh();
    await engine.close();
    const indexedFileBytes = fileBytes(db);
    statsFileBytesHold &&= await statsFileBytesHolds();
    return { label, records: report.read, textBytes: stats.originalBytes, bitsPerByte: stats.bitsPerByte, importedFileBytes, indexedFileBytes, statsFileBytesHold, tables };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** N synthetic records (the generator of `bench:scale`) written to a JSONL file in `dir`. */
export async function syntheticCorpus(dir: string, records: number): Promise<string> {
  const file = join(dir, "synthetic.jsonl");
  const words = "the user prefers short answers meeting notes deploy friday review budget project atlas migration sqlite index query cache team decision owner risk 用户 会议 迁移 预算 项目 周五 部署".split(" ");
  const random = seededRandom(7);
  const out = createWriteStream(file);
  for (let i = 0; i < records; i++) {
    const length = 8 + Math.floor(random() * 30);
    let text = "";
    for (let w = 0; w < length; w++) text += `${words[Math.floor(random() * words.length)]}${random() < 0.1 ? ". " : " "}`;
    if (!out.write(`${JSON.stringify({ id: `r${i}`, text: `${text}#${i}` })}\n`)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
  return file;
}

export function footprintMarkdown(rows: readonly FootprintRow[], command: string): string {
  const x = (bytes: number, text: number) => (bytes / text).toFixed(3);
  return [
    "### Footprint: the store file on disk",
    "",
    `Command: \`${command}\` — a fresh store, the file imported into it and the store closed; then the search index`,
    "built (`memzip search` does that on first use) and the store closed again. File bytes are the database and",
    "its WAL on disk; \"x text\" is file bytes over the text's bytes; bits/byte is `memzip stats`' figure",
    "(envelopes + assets in use, over the text).",
    "",
    "| corpus | records | text bytes | bits/byte (stats) | file after import | x text | file with search index | x text | stats fileBytes = files |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map(
      (r) =>
        `| ${r.label} | ${r.records} | ${r.textBytes} | ${r.bitsPerByte.toFixed(3)} | ${r.importedFileBytes} | ${x(r.importedFileBytes, r.textBytes)} | ${r.indexedFileBytes} | ${x(r.indexedFileBytes, r.textBytes)} | ${r.statsFileBytesHold ? "yes" : "**no**"} |`,
    ),
  ].join("\n");
}

/** The dev corpus and each synthetic size (sealed; also unsealed up to 10^4 records); writes the BENCHMARKS.md section unless `write` is false. */
export async function runFootprint(options: { corpus: string; records: readonly number[]; pageSize?: number; write?: boolean }): Promise<string> {
  const rows: FootprintRow[] = [];
  const extra = options.pageSize ? { pageSize: options.pageSize } : {};
  console.error("footprint: the dev corpus…");
  rows.push(await measureFootprint("dev corpus (defaults: trains, recodes, seals)", options.corpus, extra));
  rows.push(await measureFootprint("dev corpus, `seal: false` (row layout)", options.corpus, { ...extra, seal: false }));
  for (const records of options.records) {
    const dir = mkdtempSync(join(tmpdir(), "memzip-footprint-synthetic-"));
    try {
      console.error(`footprint: ${records} synthetic records…`);
      const file = await syntheticCorpus(dir, records);
      rows.push(await measureFootprint("synthetic (defaults: trains, recodes, seals)", file, { cache: "off", ...extra }));
      if (records <= 10_000) rows.push(await measureFootprint("synthetic, `seal: false` (row layout)", file, { cache: "off", ...extra, seal: false }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const command = `npm run bench:footprint -- --records ${options.records.join(",")}${options.pageSize ? ` --page-size ${options.pageSize}` : ""}`;
  const markdown = footprintMarkdown(rows, command);
  if (options.write !== false) replaceSection("footprint", markdown);
  for (const row of rows) console.error(`${row.label}, ${row.records}: bytes per table/index after import ${JSON.stringify(row.tables)}`);
  return markdown;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ROOT = fileURLToPath(new URL("../../", import.meta.url));
  const { values } = parseArgs({ options: { records: { type: "string" }, corpus: { type: "string" }, "page-size": { type: "string" }, "no-write": { type: "boolean" } } });
  const corpus = values.corpus ?? join(ROOT, "..", "shared", "corpus", "memories-dev.jsonl");
  if (!existsSync(corpus)) throw new Error(`corpus ${corpus} not found`);
  readFileSync(corpus);
  const markdown = await runFootprint({
    corpus,
    records: (values.records ?? "10000,100000").split(",").map(Number),
    ...(values["page-size"] ? { pageSize: Number(values["page-size"]) } : {}),
    write: values["no-write"] !== true,
  });
  console.log(markdown);
}
