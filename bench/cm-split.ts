/**
 * `node dist/bench/cm-split.js [--corpus FILE[,FILE…]] [--train N] [--versions 3,4] [--passes 3]`:
 * the context model alone. On the dev corpus (JSONL) in file order: trained on the first 1500
 * records, coding each of the other 500 on its own. Plain-text files (the Canterbury texts) are
 * cut into paragraphs, the first three quarters of each file trained on, the rest coded. For each
 * model version, in the same run: payload bits/byte (no envelope; per language where the corpus
 * says), snapshot bytes, load time (training from the snapshot) and the median coding speed over
 * the passes, by wall time and by this process's CPU time (what one core does, on a shared machine). This is the harness behind the ablation table in docs/CM.md.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createHash } from "node:crypto";
import { parseArgs } from "node:util";
import { createCmCodec } from "../src/codec/cm.js";
import { CURRENT_MODEL_VERSION, isModelVersion, type ModelVersion } from "../src/codec/cm/context-model.js";
import { encodeSnapshot } from "../src/codec/cm/snapshot.js";
import { quantile } from "../src/core/stats.js";

const { values, positionals } = parseArgs({
  options: { corpus: { type: "string" }, train: { type: "string" }, versions: { type: "string" }, passes: { type: "string" } },
  allowPositionals: true,
});
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const corpora = (values.corpus ?? positionals[0] ?? join(ROOT, "..", "shared", "corpus", "memories-dev.jsonl")).split(",");
const versions = (values.versions ?? String(CURRENT_MODEL_VERSION)).split(",").map(Number);
const passes = Number(values.passes ?? 3);
const encoder = new TextEncoder();

interface Sample {
  bytes: Uint8Array;
  lang: string;
}

let train: Sample[] = [];
let test: Sample[] = [];
for (const file of corpora) {
  const text = readFileSync(file, "utf8");
  if (file.endsWith(".jsonl")) {
    const records = text
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line) as { text: string; lang?: string })
      .map((r) => ({ bytes: encoder.encode(r.text), lang: r.lang ?? "?" }));
    const n = Number(values.train ?? 1500);
    train = [...train, ...records.slice(0, n)];
    test = [...test, ...records.slice(n)];
  } else {
    const paragraphs = text
      .split(/\r?\n\s*\r?\n/)
      .filter((p) => p.trim() !== "")
      .map((p) => ({ bytes: encoder.encode(p), lang: "en" }));
    const n = Math.floor(paragraphs.length * 0.75);
    train = [...train, ...paragraphs.slice(0, n)];
    test = [...test, ...paragraphs.slice(n)];
  }
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}

const testBytes = test.reduce((sum, r) => sum + r.bytes.length, 0);
for (const version of versions) {
  if (!isModelVersion(version)) throw new Error(`no model version ${version}`);
  const bytes = encodeSnapshot(
    train.map((s) => s.bytes),
    { version: version as ModelVersion },
  );
  const asset = { id: createHash("sha256").update(bytes).digest("hex"), kind: "cm-snapshot" as const, bytes };
  const codec = createCmCodec();
  let started = performance.now();
  const loadCpu = process.cpuUsage();
  codec.prepare?.(asset);
  const loadMs = performance.now() - started;
  const loadCpuSeconds = cpuSeconds(loadCpu);
  const encodeRates: number[] = [];
  const decodeRates: number[] = [];
  // Per second of this process's CPU time (user + system): on a shared machine, wall time also counts other people's work.
  const encodeCpuRates: number[] = [];
  const decodeCpuRates: number[] = [];
  let payloads: Uint8Array[] = [];
  for (let pass = 0; pass < passes; pass++) {
    started = performance.now();
    let cpu = process.cpuUsage();
    payloads = test.map((r) => codec.encode(r.bytes, asset) as Uint8Array);
    encodeRates.push(testBytes / 1e6 / ((performance.now() - started) / 1000));
    encodeCpuRates.push(testBytes / 1e6 / cpuSeconds(cpu));
    started = performance.now();
    cpu = process.cpuUsage();
    payloads.forEach((p, i) => {
      const original = (test[i] as Sample).bytes;
      if (!Buffer.from(codec.decode(p, original.length, asset)).equals(original)) throw new Error(`record ${i} does not decode`);
    });
    decodeRates.push(testBytes / 1e6 / ((performance.now() - started) / 1000));
    decodeCpuRates.push(testBytes / 1e6 / cpuSeconds(cpu));
  }
  const byLang: Record<string, number> = {};
  for (const lang of new Set(test.map((s) => s.lang))) {
    let original = 0;
    let coded = 0;
    test.forEach((s, i) => {
      if (s.lang !== lang) return;
      original += s.bytes.length;
      coded += (payloads[i] as Uint8Array).length;
    });
    byLang[lang] = Number(((coded * 8) / original).toFixed(4));
  }
  const payloadBytes = payloads.reduce((sum, p) => sum + p.length, 0);
  console.log(
    JSON.stringify({
      version,
      payloadBitsPerByte: Number(((payloadBytes * 8) / testBytes).toFixed(4)),
      byLang,
      snapshotBytes: bytes.length,
      loadSeconds: Number((loadMs / 1000).toFixed(2)),
      loadCpuSeconds: Number(loadCpuSeconds.toFixed(2)),
      encodeMBps: Number(quantile(encodeRates, 0.5).toFixed(3)),
      decodeMBps: Number(quantile(decodeRates, 0.5).toFixed(3)),
      encodeMBpsCpu: Number(quantile(encodeCpuRates, 0.5).toFixed(3)),
      decodeMBpsCpu: Number(quantile(decodeCpuRates, 0.5).toFixed(3)),
    }),
  );
}
