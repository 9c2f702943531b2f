/**
 * `node dist/bench/cm-split.js [--corpus FILE[,FILE…]] [--train N] [--versions 3,4] [--passes 3] [--baseline DIST] [--table-bits N] [--match-bits N]`:
 * the context model alone. On the dev corpus (JSONL) in file order: trained on the first 1500
 * records, coding each of the other 500 on its own. Plain-text files (the Canterbury texts) are
 * cut into paragraphs, the first three quarters of each file trained on, the rest coded. For each
 * model version, in the same run: payload bits/byte (no envelope; per language where the corpus
 * says), snapshot bytes, load time (training from the snapshot) and the median coding speed over
 * the passes, by wall time and by this process's CPU time (what one core does, on a shared machine). This is the harness behind the ablation table in docs/CM.md.
 * It also loads the trained model back from its derived state (src/codec/cm/derived-state.ts, an
 * in-memory store here) and reports that load's median time (`stateLoadMs`, and in CPU time `stateLoadCpuMs`).
 *
 * `--baseline DIST` runs the same measurements with another build's modules (e.g. main's `dist`
 * copied to /tmp) in the same process, its passes interleaved with this build's, and checks that
 * both builds write the same snapshot and the same payloads: speed work must not change a bit.
 * `--table-bits` / `--match-bits` train the snapshots with other model sizes (the defaults: 23 / 20).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createHash } from "node:crypto";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import * as cmModule from "../src/codec/cm.js";
import { CONTEXT_MODEL_DEFAULTS, CURRENT_MODEL_VERSION, isModelVersion, type ModelVersion } from "../src/codec/cm/context-model.js";
import * as derivedModule from "../src/codec/cm/derived-state.js";
import * as snapshotModule from "../src/codec/cm/snapshot.js";
import type { DerivedStore } from "../src/codec/derived.js";
import { cpuSeconds, memoryDerivedStore } from "../src/quality/cm-versions-bench.js";
import { quantile } from "../src/core/stats.js";

const { values, positionals } = parseArgs({
  options: {
    corpus: { type: "string" },
    train: { type: "string" },
    versions: { type: "string" },
    passes: { type: "string" },
    baseline: { type: "string" },
    "table-bits": { type: "string" },
    "match-bits": { type: "string" },
  },
  allowPositionals: true,
});
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const corpora = (values.corpus ?? positionals[0] ?? join(ROOT, "..", "shared", "corpus", "memories-dev.jsonl")).split(",");
const versions = (values.versions ?? String(CURRENT_MODEL_VERSION)).split(",").map(Number);
const passes = Number(values.passes ?? 3);
const params = {
  tableBits: Number(values["table-bits"] ?? CONTEXT_MODEL_DEFAULTS.tableBits),
  matchBits: Number(values["match-bits"] ?? CONTEXT_MODEL_DEFAULTS.matchBits),
};
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

/** The modules a build is measured through: this one's, or another `dist`'s (`--baseline`). */
interface Build {
  name: string;
  encodeSnapshot: typeof snapshotModule.encodeSnapshot;
  loadSnapshot: typeof snapshotModule.loadSnapshot;
  createCmCodec: typeof cmModule.createCmCodec;
  readDerivedSnapshot: typeof derivedModule.readDerivedSnapshot;
  writeDerivedSnapshot: typeof derivedModule.writeDerivedSnapshot;
}

async function importBuild(dist: string): Promise<Build> {
  const load = async <T>(path: string): Promise<T> => (await import(pathToFileURL(join(dist, path)).href)) as T;
  return {
    name: dist,
    ...(await load<typeof snapshotModule>("src/codec/cm/snapshot.js")),
    ...(await load<typeof cmModule>("src/codec/cm.js")),
    ...(await load<typeof derivedModule>("src/codec/cm/derived-state.js")),
  };
}

const testBytes = test.reduce((sum, r) => sum + r.bytes.length, 0);
const builds: Build[] = [{ name: "this build", ...snapshotModule, ...cmModule, ...derivedModule }];
if (values.baseline) builds.unshift(await importBuild(values.baseline));

interface Run {
  build: Build;
  asset: { id: string; kind: "cm-snapshot"; bytes: Uint8Array };
  codec: ReturnType<typeof cmModule.createCmCodec>;
  loadSeconds: number;
  loadCpuSeconds: number;
  stateLoadMs: number[];
  stateLoadCpuMs: number[];
  stateBytes: number;
  encodeRates: number[];
  decodeRates: number[];
  encodeCpuRates: number[];
  decodeCpuRates: number[];
  payloads: Uint8Array[];
}

for (const version of versions) {
  if (!isModelVersion(version)) throw new Error(`no model version ${version}`);
  const runs: Run[] = builds.map((build) => {
    const bytes = build.encodeSnapshot(
      train.map((s) => s.bytes),
      { version: version as ModelVersion, params },
    );
    const asset = { id: createHash("sha256").update(bytes).digest("hex"), kind: "cm-snapshot" as const, bytes };
    const codec = build.createCmCodec();
    const started = performance.now();
    const loadCpu = process.cpuUsage();
    codec.prepare?.(asset);
    return { build, asset, codec, loadSeconds: (performance.now() - started) / 1000, loadCpuSeconds: cpuSeconds(loadCpu), stateLoadMs: [], stateLoadCpuMs: [], stateBytes: 0, encodeRates: [], decodeRates: [], encodeCpuRates: [], decodeCpuRates: [], payloads: [] };
  });
  // Loading the model from its derived state (what a fresh process does when the store has one), builds interleaved.
  const stores = runs.map((run) => {
    const store = memoryDerivedStore();
    run.build.writeDerivedSnapshot(store, run.asset, run.build.loadSnapshot(run.asset.bytes));
    run.stateBytes = store.open(`cm-${run.asset.id}.state`)?.size ?? 0;
    return store;
  });
  for (let pass = 0; pass < passes; pass++) {
    runs.forEach((run, i) => {
      const started = performance.now();
      const cpu = process.cpuUsage();
      const model = run.build.readDerivedSnapshot(stores[i] as DerivedStore, run.asset)?.loadModel();
      run.stateLoadMs.push(performance.now() - started);
      run.stateLoadCpuMs.push(cpuSeconds(cpu) * 1000);
      if (!model) throw new Error(`${run.build.name}: the derived state did not load`);
    });
  }
  for (let pass = 0; pass < passes; pass++) {
    for (const run of runs) {
      let started = performance.now();
      let cpu = process.cpuUsage();
      run.payloads = test.map((r) => run.codec.encode(r.bytes, run.asset) as Uint8Array);
      run.encodeRates.push(testBytes / 1e6 / ((performance.now() - started) / 1000));
      run.encodeCpuRates.push(testBytes / 1e6 / cpuSeconds(cpu));
      started = performance.now();
      cpu = process.cpuUsage();
      run.payloads.forEach((p, i) => {
        const original = (test[i] as Sample).bytes;
        if (!Buffer.from(run.codec.decode(p, original.length, run.asset)).equals(original)) throw new Error(`record ${i} does not decode`);
      });
      run.decodeRates.push(testBytes / 1e6 / ((performance.now() - started) / 1000));
      run.decodeCpuRates.push(testBytes / 1e6 / cpuSeconds(cpu));
    }
  }
  const [first] = runs;
  for (const run of runs) {
    const sameBits = first === undefined || (run.asset.id === first.asset.id && run.payloads.every((p, i) => Buffer.from(p).equals(first.payloads[i] as Uint8Array)));
    const byLang: Record<string, number> = {};
    for (const lang of new Set(test.map((s) => s.lang))) {
      let original = 0;
      let coded = 0;
      test.forEach((s, i) => {
        if (s.lang !== lang) return;
        original += s.bytes.length;
        coded += (run.payloads[i] as Uint8Array).length;
      });
      byLang[lang] = Number(((coded * 8) / original).toFixed(4));
    }
    const payloadBytes = run.payloads.reduce((sum, p) => sum + p.length, 0);
    console.log(
      JSON.stringify({
        version,
        tableBits: params.tableBits,
        matchBits: params.matchBits,
        build: run.build.name,
        ...(runs.length > 1 ? { sameBitsAsBaseline: sameBits } : {}),
        payloadBitsPerByte: Number(((payloadBytes * 8) / testBytes).toFixed(4)),
        byLang,
        snapshotBytes: run.asset.bytes.length,
        loadSeconds: Number(run.loadSeconds.toFixed(2)),
        loadCpuSeconds: Number(run.loadCpuSeconds.toFixed(2)),
        stateBytes: run.stateBytes,
        stateLoadMs: Math.round(quantile(run.stateLoadMs, 0.5)),
        stateLoadCpuMs: Math.round(quantile(run.stateLoadCpuMs, 0.5)),
        encodeMBps: Number(quantile(run.encodeRates, 0.5).toFixed(3)),
        decodeMBps: Number(quantile(run.decodeRates, 0.5).toFixed(3)),
        encodeMBpsCpu: Number(quantile(run.encodeCpuRates, 0.5).toFixed(3)),
        decodeMBpsCpu: Number(quantile(run.decodeCpuRates, 0.5).toFixed(3)),
      }),
    );
  }
}
