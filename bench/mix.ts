/**
 * `node dist/bench/mix.js [--every N] [--dev-records N] [--rate R] [--weights JSON] [--no-decode]
 * [--segmentation beam|greedy|coded] [--compare beam|greedy|coded] [--beam N] [--prune P] [--merge on|off] [--speculate S]`:
 * the mixing coder (src/codec/llm-mix.ts) against `llm` alone and `cm` alone, side by side in one
 * run, per record, whole envelopes (`llm-mix`'s with its one engine reference) and payloads:
 *
 * - the team's story sample (bench/data/stories.jsonl, 20 stories);
 * - a held-out sample of the dev corpus: `cm` trained on its first 1500 records (as a namespace's
 *   snapshot would be), every N-th of the other 500 coded (default every 4th: 125 records, en + zh).
 *
 * `cm` comes in two kinds: the namespace's (trained on the 1500 dev records) and the shipped base
 * (assets/cm-base-v1.mzcm); the mix is measured with each. stories260K, top-64, one context, one
 * thread, CPU. Every mixed payload is decoded again (unless --no-decode) and compared byte for byte.
 * Speed is this process's CPU time per token (the machine is shared), encode and decode.
 * Writes bench/results/mix.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { ContextModel } from "../src/codec/cm/context-model.js";
import { baseAsset, BASE_MODELS } from "../src/codec/cm/base.js";
import { encodeSnapshot, loadSnapshot } from "../src/codec/cm/snapshot.js";
import { sealEnvelope } from "../src/codec/envelope.js";
import { CODEC_IDS } from "../src/codec/ids.js";
import { buildMixVocabulary, decodeMixed, encodeMixed, MIX_TUNING, type MixTuning } from "../src/codec/llm-mix.js";
import { encodeTokens, type LlmCodingSettings, type LlmEncodeResult } from "../src/codec/llm.js";
import { RangeEncoder } from "../src/codec/range-coder.js";
import { LlamaTokenModel } from "../src/model/llama.js";
import { loadBenchCorpus } from "../src/quality/corpus.js";
import type { BenchRecord } from "../src/quality/codec-bench.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SHARED = join(ROOT, "..", "shared");
const { values } = parseArgs({
  options: { only: { type: "string" }, early: { type: "string" }, prior: { type: "string" }, every: { type: "string" }, "dev-records": { type: "string" }, rate: { type: "string" }, weights: { type: "string" }, "no-decode": { type: "boolean" }, "no-base": { type: "boolean" }, compare: { type: "string" }, segmentation: { type: "string" }, speculate: { type: "string" }, cut: { type: "string" }, select: { type: "string" }, apm: { type: "string" }, beam: { type: "string" }, prune: { type: "string" }, merge: { type: "string" } },
});
const every = Number(values.every ?? 4);
const tuning: MixTuning = {
  rate: values.rate ? Number(values.rate) : MIX_TUNING.rate,
  weights: values.weights ? (JSON.parse(values.weights) as number[][]) : MIX_TUNING.weights,
  early: values.early ? Number(values.early) : MIX_TUNING.early,
  prior: values.prior === "vocabulary" ? "vocabulary" : MIX_TUNING.prior,
  segmentation: values.segmentation === "coded" || values.segmentation === "greedy" || values.segmentation === "beam" ? values.segmentation : MIX_TUNING.segmentation,
  speculate: values.speculate ? Number(values.speculate) : MIX_TUNING.speculate,
  select: values.select ? values.select === "on" : MIX_TUNING.select,
  apm: values.apm ? values.apm === "on" : MIX_TUNING.apm,
  cut: values.cut === "longest" ? "longest" : values.cut === "likely" ? "likely" : MIX_TUNING.cut,
  beam: values.beam ? Number(values.beam) : MIX_TUNING.beam,
  prune: values.prune ? Number(values.prune) : MIX_TUNING.prune,
  merge: values.merge ? values.merge === "on" : MIX_TUNING.merge,
};
const decode = !values["no-decode"];
const REF = new Uint8Array(4);

const stories = await loadBenchCorpus(join(ROOT, "bench", "data", "stories.jsonl"));
const dev = await loadBenchCorpus(join(SHARED, "corpus", "memories-dev.jsonl"));
const heldOut = dev.slice(1500).filter((_, i) => i % every === 0).slice(0, values["dev-records"] ? Number(values["dev-records"]) : undefined);

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

console.error(`training cm on 1500 dev records…`);
const trained = loadSnapshot(encodeSnapshot(dev.slice(0, 1500).map((r) => Buffer.from(r.text, "utf8")))).model;
const base = values["no-base"] ? undefined : loadSnapshot(baseAsset(BASE_MODELS[BASE_MODELS.length - 1] as (typeof BASE_MODELS)[number]).bytes).model;
const cms: [string, ContextModel][] = [["ns", trained], ...(base ? ([["base", base]] as [string, ContextModel][]) : [])];
/** The mixes measured: per cm, the tuning given, and with --compare coded|greedy the other segmentation side by side in the same run. */
const other: MixTuning | undefined = values.compare === "coded" || values.compare === "greedy" || values.compare === "beam" ? { ...tuning, segmentation: values.compare } : undefined;
const variants: [string, string, ContextModel, MixTuning][] = cms.flatMap(([name, model]) => [
  [name, name, model, tuning] as [string, string, ContextModel, MixTuning],
  ...(other ? [[`${name}, ${other.segmentation} cuts`, name, model, other] as [string, string, ContextModel, MixTuning]] : []),
]);

const llama = await LlamaTokenModel.load(join(SHARED, "models", "stories260K.gguf"), { gpu: false, threads: 1, contexts: 1, gpuLayers: 0 });
const { pieces, fallback } = llama.tokenPieces();
const vocabulary = buildMixVocabulary(pieces, fallback);
const windowTokens = Math.min(2048, llama.trainContextSize);
const settings: LlmCodingSettings = { vocabularySize: llama.vocabularySize, bosToken: llama.bosToken, topK: 64, windowTokens, carryTokens: windowTokens / 4, prefix: [] };

interface Row {
  bytes: number;
  tokens: number;
  llm: number;
  llmPayload: number;
  llmCpuMs: number;
  cm: Record<string, number>;
  cmPayload: Record<string, number>;
  mix: Record<string, number>;
  mixPayload: Record<string, number>;
  mixCpuMs: Record<string, number>;
  mixDecodeCpuMs: Record<string, number>;
  modelBits: Record<string, number>;
  cmBits: Record<string, number>;
  flagBits: Record<string, number>;
  evaluations: Record<string, number>;
  speculations: Record<string, number>;
  takenBack: Record<string, number>;
  exact: boolean;
  lang: string;
}

async function measure(record: BenchRecord): Promise<Row> {
  const bytes = Buffer.from(record.text, "utf8");
  const tokens = llama.tokenizeLoose(record.text);
  const exactTokens = llama.tokenize(record.text);
  const row: Row = { bytes: bytes.length, tokens: tokens.length, llm: NaN, llmPayload: NaN, llmCpuMs: 0, cm: {}, cmPayload: {}, mix: {}, mixPayload: {}, mixCpuMs: {}, mixDecodeCpuMs: {}, modelBits: {}, cmBits: {}, flagBits: {}, evaluations: {}, speculations: {}, takenBack: {}, exact: true, lang: record.lang ?? "?" };
  // llm alone (declines where the tokenizer cannot reproduce the text: counted as raw, as the policy would store it otherwise)
  let t = cpuMs();
  if (exactTokens) {
    const result = (await llama.withPredictor(windowTokens, 64, (p) => encodeTokens(p, exactTokens, bytes.length + 1, settings))) as LlmEncodeResult;
    row.llmPayload = result.payload.length;
    row.llm = sealEnvelope(CODEC_IDS.llm, bytes, result.payload, { model: REF, engine: REF }).length;
  } else {
    row.llmPayload = bytes.length;
    row.llm = bytes.length + 7;
  }
  row.llmCpuMs = cpuMs() - t;
  for (const [name, model] of cms) {
    const encoder = new RangeEncoder(bytes.length);
    model.encodeRecord(bytes, encoder);
    const payload = encoder.finish();
    row.cmPayload[name] = payload.length;
    row.cm[name] = sealEnvelope(CODEC_IDS.cm, bytes, payload, { asset: REF }).length;
  }
  for (const [name, , model, tuning] of variants) {
    t = cpuMs();
    const bits = model.openRecord(bytes.length);
    let mixed;
    try {
      mixed = await llama.withPredictor(windowTokens, 64, (p) => encodeMixed(p, vocabulary, tokens, bytes, bits, settings, Infinity, undefined, tuning));
    } finally {
      bits.close();
    }
    row.mixCpuMs[name] = cpuMs() - t;
    if (!mixed) {
      row.mixPayload[name] = bytes.length;
      row.mix[name] = bytes.length + 7;
      continue;
    }
    row.mixPayload[name] = mixed.payload.length;
    // The `llm-mix` envelope: one engine reference (the record names model, snapshot, window and tuning).
    row.mix[name] = sealEnvelope(CODEC_IDS["llm-mix"], bytes, mixed.payload, { engine: REF }).length;
    row.modelBits[name] = mixed.modelBits;
    row.cmBits[name] = mixed.cmBits;
    row.flagBits[name] = mixed.flagBits;
    row.evaluations[name] = mixed.evaluations ?? mixed.tokens;
    row.speculations[name] = mixed.speculations ?? 0;
    row.takenBack[name] = mixed.takenBack ?? 0;
    if (decode) {
      t = cpuMs();
      const back = model.openRecord(bytes.length);
      try {
        const decoded = await llama.withPredictor(windowTokens, 64, (p) => decodeMixed(p, vocabulary, mixed.payload, bytes.length, back, settings, tuning));
        if (!Buffer.from(decoded).equals(bytes)) row.exact = false;
      } catch (error) {
        console.error(`decode failed on ${record.id}: ${(error as Error).message}`);
        row.exact = false;
      } finally {
        back.close();
      }
      row.mixDecodeCpuMs[name] = cpuMs() - t;
    }
  }
  return row;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

function table(title: string, rows: readonly Row[]): string[] {
  const bytes = sum(rows.map((r) => r.bytes));
  const tokens = sum(rows.map((r) => r.tokens));
  const bpb = (n: number) => ((8 * n) / bytes).toFixed(3);
  const lines = [`${title}: ${rows.length} records, ${bytes} bytes, ${tokens} tokens; exact ${rows.filter((r) => r.exact).length}/${rows.length}`];
  lines.push(`| codec | bits/byte (envelopes) | payload only | CPU ms/1000 tokens encode | decode |`);
  lines.push(`| --- | --- | --- | --- | --- |`);
  lines.push(`| llm alone | ${bpb(sum(rows.map((r) => r.llm)))} | ${bpb(sum(rows.map((r) => r.llmPayload)))} | ${((1000 * sum(rows.map((r) => r.llmCpuMs))) / tokens).toFixed(0)} | |`);
  for (const [name] of cms) {
    lines.push(`| cm (${name}) alone | ${bpb(sum(rows.map((r) => r.cm[name] as number)))} | ${bpb(sum(rows.map((r) => r.cmPayload[name] as number)))} | | |`);
  }
  for (const [name] of variants) {
    const mb = sum(rows.map((r) => r.modelBits[name] ?? 0)) / bytes;
    const cb = sum(rows.map((r) => r.cmBits[name] ?? 0)) / bytes;
    const fb = sum(rows.map((r) => r.flagBits[name] ?? 0)) / bytes;
    lines.push(
      `| mix (llm + cm ${name}) | **${bpb(sum(rows.map((r) => r.mix[name] as number)))}** | ${bpb(sum(rows.map((r) => r.mixPayload[name] as number)))} | ${((1000 * sum(rows.map((r) => r.mixCpuMs[name] as number))) / tokens).toFixed(0)} | ${decode ? ((1000 * sum(rows.map((r) => r.mixDecodeCpuMs[name] ?? 0))) / tokens).toFixed(0) : ""} |`,
    );
    lines.push(`|   inputs alone on the same decisions (ideal bits/byte): model ${mb.toFixed(3)}, cm ${cb.toFixed(3)} (of which end-of-token flags at the model's probability ${fb.toFixed(3)}) | | | | |`);
    // What the write policy stores with `llm.mix` on: per record the smaller of `cm` and `llm-mix` (every envelope whole).
    lines.push(`|   policy with llm.mix: per record the smaller of cm (${name}) and llm-mix, whole envelopes ${bpb(sum(rows.map((r) => Math.min(r.cm[name.split(",")[0] as string] as number, r.mix[name] as number))))} (llm-mix kept for ${rows.filter((r) => (r.mix[name] as number) < (r.cm[name.split(",")[0] as string] as number)).length}) | | | | |`);
    const evaluations = sum(rows.map((r) => r.evaluations[name] ?? 0));
    lines.push(`|   model evaluations ${evaluations} (${(evaluations / tokens).toFixed(2)} per llm token), speculative ${sum(rows.map((r) => r.speculations[name] ?? 0))}, taken back ${sum(rows.map((r) => r.takenBack[name] ?? 0))} | | | | |`);
  }
  if (other) {
    // A per-record choice of the two segmentations (1 bit in the payload), the smaller kept.
    for (const [name] of cms) {
      const best = sum(rows.map((r) => Math.min(r.mixPayload[name] as number, r.mixPayload[`${name}, ${other.segmentation} cuts`] as number))) + rows.length / 8;
      lines.push(`| per record the smaller of the two mixes with ${name} (+1 bit) | | ${bpb(best)} | | |`);
    }
  }
  return lines;
}

const output: string[] = [`machine: ${cpus()[0]?.model ?? "?"}, ${cpus().length} cores; load ${loadavg().map((l) => l.toFixed(2)).join(" ")}; tuning ${JSON.stringify(tuning)}`];
const json: Record<string, unknown> = { date: new Date().toISOString(), tuning };
console.error(`stories (${stories.length})…`);
const storyRows: Row[] = [];
if (values.only !== "dev") for (const record of stories) storyRows.push(await measure(record));
output.push("", ...table("story sample", storyRows));
json.stories = storyRows;
console.error(`dev held-out (${heldOut.length})…`);
const devRows: Row[] = [];
if (values.only !== "stories") for (const record of heldOut) devRows.push(await measure(record));
output.push("", ...table("dev held-out", devRows));
for (const lang of ["en", "zh"]) {
  const rows = devRows.filter((r) => r.lang === lang);
  if (rows.length) output.push("", ...table(`dev held-out, ${lang}`, rows));
}
json.dev = devRows;
await llama.dispose();
console.log(output.join("\n"));
mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
writeFileSync(join(ROOT, "bench", "results", "mix.json"), JSON.stringify(json));
