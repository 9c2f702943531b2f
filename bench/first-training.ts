/**
 * `npm run bench:first-training` (`node dist/bench/first-training.js [--corpus FILE.jsonl]…`): what a new store
 * holds once an import's ending has trained a namespace's first assets and measured each against what the namespace
 * writes with (docs/CM.md "First trainings"). Each corpus is imported with `Engine.importJsonl` into a new store twice:
 * with the defaults (`cmBase` on: a trained snapshot or dictionary is used only where it stores the namespace smaller
 * than the shipped base model does) and with `cmBase` off (no base: the namespace's own snapshot against zstd). Stored
 * bytes count every byte needed to rebuild the memories (envelopes + assets in use); the base ships with memzip and is
 * not counted. Rows: the dev corpus whole (the base learned from its even records, so that row flatters it), its odd
 * records (the base never saw them), the first 400 of those, and each `--corpus` file. CPU is the process's, one run.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Engine } from "../src/engine.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DEV = join(ROOT, "..", "shared", "corpus", "memories-dev.jsonl");
const { values } = parseArgs({ options: { corpus: { type: "string", multiple: true } } });

interface Row {
  name: string;
  records: number;
  textBytes: number;
  on: Outcome;
  off: Outcome;
}

interface Outcome {
  storedBytes: number;
  bitsPerByte: number;
  used: string[];
  notUsed: string[];
  cpuS: number;
  exact: boolean;
}

const dir = mkdtempSync(join(tmpdir(), "memzip-first-training-"));

function lines(path: string): string[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "");
}

async function importInto(file: string, cmBase: boolean): Promise<Outcome> {
  const db = join(dir, `${basename(file)}-${cmBase ? "on" : "off"}.db`);
  const engine = Engine.open({ db, cmBase, cache: "off" });
  try {
    const started = process.cpuUsage();
    const report = await engine.importJsonl(file);
    const used = process.cpuUsage(started);
    const stats = await engine.stats();
    const verify = await engine.verify();
    const kinds = (assets: readonly { kind: string }[] | undefined) => (assets ?? []).map((a) => a.kind).sort();
    return {
      storedBytes: stats.storedBytes,
      bitsPerByte: stats.bitsPerByte,
      used: kinds(report.trained?.assets),
      notUsed: kinds(report.trained?.notUsed),
      cpuS: (used.user + used.system) / 1e6,
      exact: verify.failed === 0 && verify.checked === stats.memories,
    };
  } finally {
    await engine.close();
  }
}

async function measure(name: string, file: string): Promise<Row> {
  const records = lines(file).map((line) => JSON.parse(line) as { text: string });
  const textBytes = records.reduce((sum, r) => sum + Buffer.byteLength(r.text), 0);
  console.error(`importing ${name}…`);
  return { name, records: records.length, textBytes, on: await importInto(file, true), off: await importInto(file, false) };
}

try {
  const odd = lines(DEV).filter((_, i) => i % 2 === 1);
  const oddFile = join(dir, "dev-odd.jsonl");
  writeFileSync(oddFile, `${odd.join("\n")}\n`);
  const odd400File = join(dir, "dev-odd-400.jsonl");
  writeFileSync(odd400File, `${odd.slice(0, 400).join("\n")}\n`);
  const rows = [
    await measure("dev corpus, whole (the base learned its even records)", DEV),
    await measure("dev corpus, odd records (the base never saw them)", oddFile),
    await measure("dev corpus, first 400 odd records", odd400File),
  ];
  for (const file of values.corpus ?? []) rows.push(await measure(basename(file), file));
  const cell = (o: Outcome) => `${o.storedBytes.toLocaleString("en-US")} B, ${o.bitsPerByte.toFixed(3)}`;
  const trained = (o: Outcome) => [...o.used.map((k) => `${k} used`), ...o.notUsed.map((k) => `${k} not used`)].join(", ") || "—";
  const table = [
    "| corpus | records | text bytes | stored, defaults (bits/byte) | trainings, defaults | stored, cmBase off | trainings, cmBase off | CPU on / off | verify |",
    "| --- | ---: | ---: | ---: | --- | ---: | --- | ---: | --- |",
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.records.toLocaleString("en-US")} | ${r.textBytes.toLocaleString("en-US")} | ${cell(r.on)} | ${trained(r.on)} | ${cell(r.off)} | ${trained(r.off)} | ` +
        `${r.on.cpuS.toFixed(1)} / ${r.off.cpuS.toFixed(1)} s | ${r.on.exact && r.off.exact ? "exact" : "FAILED"} |`,
    ),
  ].join("\n");
  console.log(`${table}\n\nMachine: ${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, Node ${process.version}; ${new Date().toISOString().slice(0, 10)}.`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
