/**
 * `npm run bench:cold [-- --records 2000 --runs 9 --warm 50]`: how long a fresh process takes to
 * read a memory, by codec, and what `get`, `search` and `stats` cost cold (a new `memzip` process
 * each time, Node's start-up included) and warm (repeated calls in one engine).
 *
 * Imports the first N dev-corpus records (the import trains a context-model snapshot and recodes
 * them as `cm-ref`), adds one `cm` and one `raw` memory, then runs cold processes interleaved by
 * command (so a load spike hits every row alike): get raw, get cm, get cm-ref, search, stats. A
 * `cm` row without the derived model state (deleted before each process: the path that trains
 * from the snapshot) shows what the state saves. Wall time of each whole process, p50 / p95.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Engine } from "../src/engine.js";
import { quantile } from "../src/core/stats.js";
import { replaceSection } from "./sections.js";

const { values } = parseArgs({ options: { records: { type: "string" }, runs: { type: "string" }, warm: { type: "string" }, "no-write": { type: "boolean" } } });
const recordCount = Number(values.records ?? 2000);
const runs = Number(values.runs ?? 9);
const warmCalls = Number(values.warm ?? 50);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = join(ROOT, "dist", "src", "cli", "main.js");
const records = readFileSync(join(ROOT, "..", "shared", "corpus", "memories-dev.jsonl"), "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "")
  .slice(0, recordCount)
  .map((line) => JSON.parse(line) as { id: string; text: string });

const dir = mkdtempSync(join(tmpdir(), "memzip-cold-"));
const db = join(dir, "cold.db");
const env = { ...process.env, MEMZIP_DB: "", MEMZIP_CONFIG: "/nonexistent/memzip-config.json" };

/** Runs the CLI in a new process; returns its wall time in ms (spawn to exit). */
function memzip(args: string[]): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, [CLI, ...args, "--db", db], { env });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`memzip ${args.join(" ")} failed: ${result.stderr.toString("utf8")}`);
  return ms;
}

try {
  writeFileSync(join(dir, "in.jsonl"), records.map((r) => JSON.stringify({ id: r.id, text: r.text })).join("\n"));
  const importMs = memzip(["import", join(dir, "in.jsonl")]);
  const cmText = "The quarterly planning meeting moved to Thursday; Alice will bring the revised budget and Bob owes the hiring plan for the platform team.";
  memzip(["add", cmText, "--id", "bench-cm", "--codec", "cm"]);
  memzip(["add", "Remember to water the plants on Friday before leaving for the weekend trip.", "--id", "bench-raw", "--codec", "raw"]);
  const refId = (records[Math.floor(records.length / 2)] as { id: string }).id;
  const query = "new upstream release upload";
  // The first reads after an import: the search index is built, the model state written.
  const firstSearchMs = memzip(["search", query]);
  rmSync(`${db}.derived`, { recursive: true, force: true });
  const firstCmMs = memzip(["get", "bench-cm"]);

  const rows: Record<string, number[]> = { "get raw": [], "get cm": [], "get cm-ref": [], "get cm, no derived state": [], search: [], stats: [] };
  const started = performance.now();
  for (let run = 0; run < runs; run++) {
    rows["get raw"]?.push(memzip(["get", "bench-raw"]));
    rows["get cm"]?.push(memzip(["get", "bench-cm"]));
    rows["get cm-ref"]?.push(memzip(["get", refId]));
    rows.search?.push(memzip(["search", query]));
    rows.stats?.push(memzip(["stats"]));
    if (run < 3) {
      // Today's path without the state: train from the snapshot in the process (slow; three runs).
      const saved = `${db}.derived.saved`;
      rmSync(saved, { recursive: true, force: true });
      spawnSync("mv", [`${db}.derived`, saved]);
      rows["get cm, no derived state"]?.push(memzip(["get", "bench-cm"]));
      rmSync(`${db}.derived`, { recursive: true, force: true });
      spawnSync("mv", [saved, `${db}.derived`]);
    }
  }
  const coldSeconds = (performance.now() - started) / 1000;

  // Warm: repeated calls in one engine (no text cache, so every get decodes).
  const engine = Engine.open({ db, cache: "off" });
  const warm: Record<string, number[]> = { "get raw": [], "get cm": [], "get cm-ref": [], search: [], stats: [] };
  const time = async (name: string, call: () => unknown) => {
    const t = performance.now();
    await call();
    warm[name]?.push(performance.now() - t);
  };
  const index = await engine.searchIndex();
  // One call of each first: loading the model and the index is the cold part, measured above.
  await Promise.all([engine.recallBytes("bench-raw"), engine.recallBytes("bench-cm"), engine.recallBytes(refId), index.search(query, { limit: 10 })]);
  for (let i = 0; i < warmCalls; i++) {
    await time("get raw", () => engine.recallBytes("bench-raw"));
    await time("get cm", () => engine.recallBytes("bench-cm"));
    await time("get cm-ref", () => engine.recallBytes(refId));
    await time("search", () => index.search(query, { limit: 10 }));
    await time("stats", () => engine.stats());
  }
  const stats = await engine.stats();
  await engine.close();

  const p = (xs: readonly number[] | undefined, q: number) => (xs && xs.length ? quantile(xs, q).toFixed(0) : "–");
  const pw = (xs: readonly number[] | undefined, q: number) => (xs && xs.length ? quantile(xs, q).toFixed(2) : "–");
  const raw = quantile(rows["get raw"] ?? [], 0.5);
  const lines = [
    "### Cold and warm reads (fresh processes)",
    "",
    `\`nice -n 10 npm run bench:cold -- --records ${recordCount} --runs ${runs} --warm ${warmCalls}\`: ${recordCount} dev-corpus records imported`,
    `(${(importMs / 1000).toFixed(1)} s; the import trains a context-model snapshot and recodes them as \`cm-ref\`), one \`cm\` and one \`raw\` memory`,
    "added. Cold: a new `memzip` process per call (Node start-up included), wall time from spawn to exit,",
    `${runs} processes per row interleaved by command (three for the row without derived state), ${coldSeconds.toFixed(0)} s in all.`,
    `Warm: ${warmCalls} calls each in one engine after a first one, cache off (every get decodes). The machine is shared (2 cores), so compare rows of one run.`,
    "",
    "| call | cold p50 ms | cold p95 ms | × cold get raw (p50) | warm p50 ms | warm p95 ms |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const [name, xs] of Object.entries(rows)) {
    const w = warm[name];
    lines.push(`| ${name} | ${p(xs, 0.5)} | ${p(xs, 0.95)} | ${(quantile(xs, 0.5) / raw).toFixed(2)} | ${pw(w, 0.5)} | ${pw(w, 0.95)} |`);
  }
  lines.push(
    "",
    `First reads after the import: \`search\` ${firstSearchMs.toFixed(0)} ms (builds the index), \`get\` of the \`cm\` memory with no derived`,
    `state ${firstCmMs.toFixed(0)} ms (trains from the snapshot, then writes the state). Derived model state beside the store:`,
    `${(stats.derivedBytes / 2 ** 20).toFixed(1)} MiB (\`stats\` → derivedBytes; rebuildable, not counted in the sizes: the store holds`,
    `${(stats.storedBytes / 1024).toFixed(0)} KiB of envelopes and assets).`,
  );
  const body = lines.join("\n");
  console.log(body);
  if (!values["no-write"]) replaceSection("cold", body);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
