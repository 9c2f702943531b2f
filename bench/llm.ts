/**
 * `npm run bench:llm`: the `llm` codec on real GGUF models — sizes against the classical codecs,
 * speed, latency, top-K against the full distribution, coder overhead and coder time, and
 * throughput against the number of contexts. Writes bench/results/llm.json and BENCHMARKS.md sections.
 *
 *   --model PATH     another GGUF to measure (repeatable); the shared models are always measured
 *   --records N      dev-corpus records to code (default: all)
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { sealEnvelope } from "../src/codec/envelope.js";
import { LLM_CODEC_ID, decodeTokens, encodeTokens, type LlmCodingSettings, type LlmEncodeResult } from "../src/codec/llm.js";
import { Engine } from "../src/engine.js";
import type { EngineOptions } from "../src/engine-options.js";
import { LlamaTokenModel } from "../src/model/llama.js";
import { mapConcurrent } from "../src/pipeline/concurrency.js";
import { BASELINES } from "../src/quality/baselines.js";
import { loadBenchCorpus } from "../src/quality/corpus.js";
import type { BenchRecord } from "../src/quality/codec-bench.js";
import { quantile } from "../src/quality/stats.js";
import { replaceSection } from "./sections.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SHARED = join(ROOT, "..", "shared");
const { values } = parseArgs({ options: { model: { type: "string", multiple: true }, records: { type: "string" } } });
const models = [join(SHARED, "models", "stories260K.gguf"), join(SHARED, "models", "tiny-random.gguf"), ...(values.model ?? [])];
const machine = `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, Node ${process.version}`;
const today = new Date().toISOString().slice(0, 10);
const stories = await loadBenchCorpus(join(ROOT, "bench", "data", "stories.jsonl"));
const dev = (await loadBenchCorpus(join(SHARED, "corpus", "memories-dev.jsonl"))).slice(0, values.records ? Number(values.records) : undefined);
const RUNTIME = { gpu: false, threads: 1, gpuLayers: 0 } as const;
const WINDOW = 2048;

interface Coded {
  record: BenchRecord;
  bytes: number;
  envelope: number;
  result: LlmEncodeResult;
  encodeMs: number;
  decodeMs: number;
  exact: boolean;
}

function settingsFor(model: LlamaTokenModel, topK: number): LlmCodingSettings {
  const windowTokens = Math.min(WINDOW, model.trainContextSize);
  return { vocabularySize: model.vocabularySize, bosToken: model.bosToken, topK, windowTokens, carryTokens: windowTokens / 4, prefix: [] };
}

/** Encodes and decodes every record, `contexts` at a time; times are per record, wall time overall. */
async function codeAll(model: LlamaTokenModel, records: readonly BenchRecord[], topK: number, contexts: number): Promise<{ coded: Coded[]; wallMs: number }> {
  const settings = settingsFor(model, topK);
  const started = performance.now();
  const coded = await mapConcurrent(records, contexts, async (record): Promise<Coded> => {
    const bytes = Buffer.from(record.text, "utf8");
    const tokens = model.tokenize(record.text) ?? [];
    let t = performance.now();
    const result = (await model.withPredictor(settings.windowTokens, topK, (p) => encodeTokens(p, tokens, bytes.length + 1, settings))) as LlmEncodeResult;
    const encodeMs = performance.now() - t;
    t = performance.now();
    const decoded = await model.withPredictor(settings.windowTokens, topK, (p) => decodeTokens(p, result.payload, bytes.length + 1, settings));
    const decodeMs = performance.now() - t;
    const envelope = sealEnvelope(LLM_CODEC_ID, bytes, result.payload, { model: new Uint8Array(4), engine: new Uint8Array(4) }).length;
    return { record, bytes: bytes.length, envelope, result, encodeMs, decodeMs, exact: model.detokenize(decoded) === record.text };
  });
  return { coded, wallMs: performance.now() - started };
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const bpb = (bits: number, bytes: number) => (bytes ? bits / bytes : 0).toFixed(3);

function baselineBpb(records: readonly BenchRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  const original = sum(records.map((r) => Buffer.byteLength(r.text)));
  for (const baseline of BASELINES) out[baseline.name] = (8 * sum(records.map((r) => baseline.compress(Buffer.from(r.text)).length))) / original;
  return out;
}

function summary(coded: readonly Coded[]) {
  const bytes = sum(coded.map((c) => c.bytes));
  const tokens = sum(coded.map((c) => c.result.tokens));
  return {
    records: coded.length,
    bytes,
    tokens,
    envelopeBpb: (8 * sum(coded.map((c) => c.envelope))) / bytes,
    payloadBpb: (8 * sum(coded.map((c) => c.result.payload.length))) / bytes,
    crossEntropyBpb: sum(coded.map((c) => c.result.crossEntropyBits)) / bytes,
    tableBpb: sum(coded.map((c) => c.result.tableBits)) / bytes,
    escapes: sum(coded.map((c) => c.result.escapes)),
    exact: coded.filter((c) => c.exact).length,
    encodeTokensPerS: tokens / (sum(coded.map((c) => c.encodeMs)) / 1000),
    decodeTokensPerS: tokens / (sum(coded.map((c) => c.decodeMs)) / 1000),
  };
}

const results: Record<string, unknown> = { date: new Date().toISOString(), machine };
const loaded: LlamaTokenModel[] = [];
for (const path of models) loaded.push(await LlamaTokenModel.load(path, { ...RUNTIME, contexts: 4 }));
const nameOf = (i: number) => basename(models[i] as string, ".gguf");

// 1. The story sample: sizes against the classical codecs, top-K against the full distribution.
{
  console.error("story sample…");
  const classical = baselineBpb(stories);
  const rows: string[] = [];
  const json: Record<string, unknown> = { baselines: classical };
  for (const [i, model] of loaded.entries()) {
    for (const topK of [64, 0]) {
      const { coded } = await codeAll(model, stories, topK, 1);
      const s = summary(coded);
      json[`${nameOf(i)} top-${topK || "full"}`] = s;
      rows.push(
        `| ${nameOf(i)} | ${topK ? `top-${topK}` : `full (${model.vocabularySize})`} | **${s.envelopeBpb.toFixed(3)}** | ${s.payloadBpb.toFixed(3)} | ${s.crossEntropyBpb.toFixed(3)} | ${s.escapes}/${s.tokens} | ${Math.round(s.encodeTokensPerS)} | ${Math.round(s.decodeTokensPerS)} | ${s.exact}/${s.records} |`,
      );
    }
  }
  // Coder overhead: the whole sample as one text, so the per-record framing (token count, final bytes) is negligible.
  const overheadRows: string[] = [];
  const whole: BenchRecord = { id: "all-stories", text: stories.map((r) => r.text).join("\n"), lang: "en", source: "team-stories" };
  for (const [i, model] of loaded.entries()) {
    let modelBits = 0; // the model's cross-entropy over its full distributions: the reference for both rows
    for (const topK of [0, 64]) {
      const [c] = (await codeAll(model, [whole], topK, 1)).coded as [Coded];
      if (topK === 0) modelBits = c.result.crossEntropyBits;
      const coded = 8 * c.result.payload.length;
      overheadRows.push(
        `| ${nameOf(i)} | ${topK ? `top-${topK}` : "full"} | ${c.result.tokens} | ${modelBits.toFixed(0)} | ${c.result.tableBits.toFixed(0)} | ${coded} | ${(100 * (coded / modelBits - 1)).toFixed(2)} % | ${(100 * (coded / c.result.tableBits - 1)).toFixed(3)} % |`,
      );
    }
  }
  results.stories = json;
  replaceSection(
    "llm-stories",
    [
      "### `llm` on an English story sample",
      "",
      "Command: `npm run bench:llm`. `bench/data/stories.jsonl`: 20 short children's stories the team wrote in the",
      `TinyStories style (${sum(stories.map((r) => Buffer.byteLength(r.text)))} bytes), each coded as one memory. Bits/byte count whole envelopes`,
      "(17–18 header bytes: checksum, model and engine references) unless marked payload. Cross-entropy is the model's",
      "own -log2 p summed in float64 over the distributions it returned (top-K ones renormalised by node-llama-cpp).",
      "One context, one thread, CPU.",
      "",
      `Classical codecs per record on the same texts: ${Object.entries(classical).map(([n, v]) => `${n} **${v.toFixed(3)}**`).join(", ")} bits/byte.`,
      "",
      "| model | distribution | bits/byte | payload only | cross-entropy | escapes | encode tok/s | decode tok/s | exact |",
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
      ...rows,
      "",
      "Coder overhead — the whole sample coded as one text (framing negligible). Cross-entropy here is the model's over",
      "its full distributions (the reference for both rows). `table` is the ideal size under the quantised tables",
      "actually used (2^20 total, escape share learned per text), so coded vs table is the range coder's own cost and",
      "table vs cross-entropy the cost of quantising (and, with top-K, of truncating to K plus the escape):",
      "",
      "| model | distribution | tokens | cross-entropy bits | table bits | coded bits | over cross-entropy | over table |",
      "| --- | --- | --- | --- | --- | --- | --- | --- |",
      ...overheadRows,
      "",
      `Machine: ${machine}; ${today}.`,
    ].join("\n"),
  );
}

// 2. The dev corpus: every record, by language and source, with encode / decode speed and latency.
{
  const rows: string[] = [];
  const splits: string[] = [];
  const json: Record<string, unknown> = {};
  const classical = baselineBpb(dev);
  for (const [i, model] of loaded.entries()) {
    console.error(`dev corpus with ${nameOf(i)} (${dev.length} records, 2 contexts)…`);
    const { coded, wallMs } = await codeAll(model, dev, 64, 2);
    const s = summary(coded);
    const mid = coded.filter((c) => c.bytes >= 400 && c.bytes <= 600);
    const latency = (key: "encodeMs" | "decodeMs", q: number) => quantile(mid.map((c) => c[key]), q).toFixed(0);
    json[nameOf(i)] = { ...s, wallMs };
    rows.push(
      `| ${nameOf(i)} | ${s.records} | **${s.envelopeBpb.toFixed(3)}** | ${s.crossEntropyBpb.toFixed(3)} | ${Math.round(s.encodeTokensPerS)} / ${Math.round(s.decodeTokensPerS)} | ${((60_000 * coded.length) / wallMs).toFixed(0)} | ${latency("encodeMs", 0.5)} / ${latency("encodeMs", 0.95)} | ${latency("decodeMs", 0.5)} / ${latency("decodeMs", 0.95)} | ${s.exact}/${s.records} |`,
    );
    const groups = new Map<string, Coded[]>();
    for (const c of coded) for (const key of [`lang ${c.record.lang}`, `source ${c.record.source}`]) groups.set(key, [...(groups.get(key) ?? []), c]);
    for (const [key, group] of [...groups].sort()) {
      const base = baselineBpb(group.map((c) => c.record));
      const bytes = sum(group.map((c) => c.bytes));
      splits.push(`| ${nameOf(i)} | ${key} | ${group.length} | **${bpb(8 * sum(group.map((c) => c.envelope)), bytes)}** | ${BASELINES.map((b) => (base[b.name] as number).toFixed(3)).join(" | ")} |`);
    }
  }
  results.dev = { ...json, baselines: classical };
  const heldOut = readHeldOutFigures();
  replaceSection(
    "llm-dev",
    [
      "### `llm` on the dev corpus",
      "",
      `Command: \`npm run bench:llm\`. All ${dev.length} records of the dev corpus, each coded and decoded as one memory, top-64,`,
      "two contexts of one thread each (the machine's two cores); bits/byte over whole envelopes. memories/min is wall",
      "time with both contexts busy; latency is per memory of 400–600 bytes (p50 / p95, ms), measured under that load.",
      "",
      `Per record on the same ${dev.length} texts: ${Object.entries(classical).map(([n, v]) => `${n} ${v.toFixed(3)}`).join(", ")} bits/byte.` +
        (heldOut ? ` On the held-out 25 % of the codec bench (trained on the rest): ${heldOut}.` : ""),
      "",
      "| model | records | bits/byte | cross-entropy | tokens/s encode / decode | memories/min (enc + dec) | encode ms p50 / p95 | decode ms p50 / p95 | exact |",
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
      ...rows,
      "",
      `| model | split | records | llm bits/byte | ${BASELINES.map((b) => b.name).join(" | ")} |`,
      `| --- | --- | --- | --- | ${BASELINES.map(() => "---").join(" | ")} |`,
      ...splits,
      "",
      `Machine: ${machine}; ${today}.`,
    ].join("\n"),
  );
}

// 3. Speed: top-K against the full distribution, coder time against bare evaluation, contexts.
{
  const sample = dev.filter((r) => r.lang === "en").slice(0, 30);
  const speedRows: string[] = [];
  const coderRows: string[] = [];
  const json: Record<string, unknown> = {};
  for (const [i, model] of loaded.entries()) {
    console.error(`speed with ${nameOf(i)}…`);
    for (const topK of [0, 256, 64, 16]) {
      const { coded, wallMs } = await codeAll(model, sample, topK, 1);
      const s = summary(coded);
      json[`${nameOf(i)} top-${topK || "full"}`] = { ...s, wallMs };
      speedRows.push(`| ${nameOf(i)} | ${topK ? `top-${topK}` : `full (${model.vocabularySize})`} | ${s.envelopeBpb.toFixed(3)} | ${((1000 * wallMs) / 2 / s.tokens / 1000).toFixed(3)} | ${Math.round(s.encodeTokensPerS)} |`);
    }
    const { evalMs, codedMs, tokens } = await coderShare(model, sample, 64);
    coderRows.push(`| ${nameOf(i)} | top-64 | ${tokens} | ${evalMs.toFixed(0)} | ${codedMs.toFixed(0)} | ${(100 * (codedMs / evalMs - 1)).toFixed(1)} % |`);
  }
  const contextRows: string[] = [];
  const model = loaded[0] as LlamaTokenModel;
  const parallelSample = dev.filter((r) => r.lang === "en").slice(0, 60);
  for (const contexts of [1, 2, 4]) {
    const { coded, wallMs } = await codeAll(model, parallelSample, 64, contexts);
    const tokens = sum(coded.map((c) => c.result.tokens));
    contextRows.push(`| ${contexts} | ${((60_000 * coded.length) / wallMs).toFixed(0)} | ${Math.round((2 * tokens) / (wallMs / 1000))} | ${coded.filter((c) => c.exact).length}/${coded.length} |`);
  }
  results.speed = json;
  replaceSection(
    "llm-speed",
    [
      "### `llm` speed: top-K, coder time, contexts",
      "",
      `Command: \`npm run bench:llm\`. ${sample.length} English dev records, one context unless stated. ms/token is encode + decode wall time over`,
      "twice the tokens. Full distributions come from node-llama-cpp as a Map over the whole vocabulary; top-K ones",
      "from its sampler (temperature 1, top-K, renormalised).",
      "",
      "| model | distribution | bits/byte | ms/token | encode tok/s |",
      "| --- | --- | --- | --- | --- |",
      ...speedRows,
      "",
      "Coder time: the same records evaluated token by token with the same node-llama-cpp calls, once without coding",
      "(distributions fetched and dropped) and once through the encoder (tables built, range coded), interleaved:",
      "",
      "| model | distribution | tokens | evaluation only, ms | evaluation + coding, ms | coder's share over evaluation |",
      "| --- | --- | --- | --- | --- | --- |",
      ...coderRows,
      "",
      `Contexts (stories260K, ${parallelSample.length} English records, encode + decode, one thread per context):`,
      "",
      "| contexts | memories/min | tokens/s | exact |",
      "| --- | --- | --- | --- |",
      ...contextRows,
      "",
      `Machine: ${machine}; ${today}.`,
    ].join("\n"),
  );
}

// 4. The default policy with a model: an import of the corpus next to the same import without one.
{
  console.error("importing the corpus with and without stories260K…");
  const dir = mkdtempSync(join(tmpdir(), "memzip-bench-llm-"));
  try {
    const corpusFile = join(dir, "corpus.jsonl");
    writeFileSync(corpusFile, dev.map((r) => JSON.stringify({ id: r.id, text: r.text })).join("\n"));
    const sizes = async (options: EngineOptions) => {
      await using engine = Engine.open({ db: join(dir, `${options.model ? "model" : "plain"}.db`), ...options });
      const started = performance.now();
      await engine.importJsonl(corpusFile);
      const seconds = (performance.now() - started) / 1000;
      const perId = new Map<string, number>();
      for (const m of await engine.list({ limit: dev.length })) perId.set(m.id, (await engine.memory(m.id, m.namespace)).envelope.length);
      return { perId, stats: await engine.stats(), seconds, verify: await engine.verify() };
    };
    const plain = await sizes({});
    const withModel = await sizes({ model: models[0] as string, llm: { gpu: false, contexts: 2 } });
    let larger = 0;
    for (const [id, bytes] of withModel.perId) if (bytes > (plain.perId.get(id) ?? Infinity)) larger++;
    const wins = (stats: typeof plain.stats) => Object.entries(stats.byCodec).map(([codec, c]) => `${codec} ${c.memories}`).join(", ");
    const row = (name: string, r: typeof plain) =>
      `| ${name} | ${r.stats.memories} | ${r.stats.envelopeBitsPerByte.toFixed(3)} | ${r.stats.bitsPerByte.toFixed(3)} | ${wins(r.stats)} | ${r.seconds.toFixed(0)} s | ${r.verify.checked - r.verify.failed}/${r.verify.checked} |`;
    results.policy = { plain: plain.stats, withModel: withModel.stats, larger };
    replaceSection(
      "llm-policy",
      [
        "### The default policy with a model configured",
        "",
        "Command: `npm run bench:llm` (last part). `memzip import` of the corpus into a fresh store with the default codecs",
        "(raw, zstd, zstd-dict, cm, cm-ref; assets trained at 200 memories and on doubling, then recoded), once without a",
        "model and once with stories260K (`llm` tried for every memory with the smallest classical envelope as its budget).",
        "",
        "| import | memories | bits/byte, envelopes | bits/byte, with assets | records won per codec | time | verify |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        row("default codecs", plain),
        row("default codecs + stories260K", withModel),
        "",
        `Records stored larger with the model than without: **${larger}** of ${withModel.perId.size}.`,
        "",
        `Machine: ${machine}; ${today}.`,
      ].join("\n"),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const model of loaded) await model.dispose();
mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
writeFileSync(join(ROOT, "bench", "results", "llm.json"), `${JSON.stringify(results, null, 2)}\n`);
console.error("wrote bench/results/llm.json and BENCHMARKS.md");

/** Bare evaluation against evaluation + coding, record by record, alternating to cancel drift. */
async function coderShare(model: LlamaTokenModel, records: readonly BenchRecord[], topK: number) {
  const settings = settingsFor(model, topK);
  let evalMs = 0;
  let codedMs = 0;
  let tokens = 0;
  for (const record of records) {
    const ids = model.tokenize(record.text) ?? [];
    tokens += ids.length;
    let t = performance.now();
    await model.withPredictor(settings.windowTokens, topK, async (p) => {
      await p.reset();
      await p.feed(settings.bosToken, true);
      for (let i = 0; i + 1 < ids.length; i++) await p.feed(ids[i] as number, true);
    });
    evalMs += performance.now() - t;
    t = performance.now();
    await model.withPredictor(settings.windowTokens, topK, (p) => encodeTokens(p, ids, Buffer.byteLength(record.text) + 1, settings));
    codedMs += performance.now() - t;
  }
  return { evalMs, codedMs, tokens };
}

function readHeldOutFigures(): string | undefined {
  try {
    const report = JSON.parse(readFileSync(join(ROOT, "bench", "results", "codecs-dev.json"), "utf8")) as { results: { name: string; bitsPerByte: number }[] };
    return report.results.map((r) => `${r.name} ${r.bitsPerByte.toFixed(3)}`).join(", ");
  } catch {
    return undefined;
  }
}
