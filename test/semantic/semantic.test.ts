import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { ErrorCode, isMemzipError } from "../../src/errors.js";
import { LlamaBackend } from "../../src/model/llama-backend.js";
import { ruleEntityExtractor } from "../../src/semantic/entities-rules.js";
import type { SemanticOptions } from "../../src/semantic/semantic.js";
import { HashedNgramEmbedder, cosine } from "../../src/search/similarity.js";
import { assessQuality } from "../../src/quality/assess.js";
import { bleu, rougeL } from "../../src/quality/text-metrics.js";
import type { StoredMemory } from "../../src/core/store.js";
import { CLI, SHARED, devCorpus, tempDir, storeOf } from "../helpers.js";
import { FakeLlmServer } from "../model/fake-llm-server.js";

const STORIES = join(SHARED, "models", "stories260K.gguf");
const execFileAsync = promisify(execFile);

/** One local Ollama-speaking backend (the test server) with short summaries the tiny model can write. */
function localSemantic(server: FakeLlmServer, extra: Partial<SemanticOptions> = {}): SemanticOptions {
  return { backends: [{ name: "local", kind: "ollama", url: server.url, model: "stories", retries: 0, local: true }], summaryChars: 40, maxTokens: 120, prompt: "Summarize as JSON.", ...extra };
}

describe("semantic memory", () => {
  let llama: LlamaBackend;
  before(async () => {
    llama = await LlamaBackend.load({ path: STORIES, gpu: false, threads: 1, contextSize: 512 });
  });
  after(async () => {
    await llama.close();
  });

  it("with no model configured, remember stores exactly and reports semantic features as off", async () => {
    await using engine = Engine.open({ db: ":memory:" });
    const text = "李强 will send the Q3 budget to finance@example.com before Friday 10:30.";
    const result = await engine.remember({ text });
    assert.equal(result.semantic, "off");
    assert.equal(await engine.recall(result.id), text);
    await assert.rejects(engine.recall(result.id, { mode: "summary" }), (e: unknown) => isMemzipError(e, ErrorCode.NOT_FOUND) && /no summary/.test((e as Error).message));
    assert.equal(await engine.semanticStats(), undefined);
  });

  it("killing the HTTP backend mid-batch: the batch completes, every memory is stored exactly, fallbacks are counted", async () => {
    const local = await FakeLlmServer.start(llama);
    const cloud = await FakeLlmServer.start(llama);
    try {
      local.faults.onRequest = (count) => {
        if (count === 3) void local.kill();
      };
      await using engine = Engine.open({
        db: ":memory:",
        autoTrainAfter: 0,
        semantic: {
          backends: [
            { name: "cloud", kind: "openai", url: cloud.url, model: "stories", retries: 0 },
            { name: "local", kind: "ollama", url: local.url, model: "stories", retries: 0, local: true },
          ],
          summaryChars: 24,
          maxTokens: 200,
          prompt: "Summarize as JSON.",
          prices: { cloud: { inputPer1K: 0.5, outputPer1K: 1.5 }, local: { perHour: 1 } },
        },
      });
      // Short memories: the test model's context is 512 tokens of about a character each.
      const records = devCorpus().filter((r) => r.text.length <= 160).slice(0, 12).map(({ id, text }) => ({ id, text }));
      assert.equal(records.length, 12);
      const results = await engine.rememberMany(records);
      for (const { id, text } of records) assert.equal(await engine.recall(id), text);
      const stats = (await engine.semanticStats())!;
      assert.ok(stats.backends.local!.failures >= 1, "the killed backend failed");
      assert.ok(stats.fallbacks >= 1 && stats.backends.cloud!.fallbacksTaken >= 1, "the cloud took over");
      assert.equal(stats.described + stats.skipped, records.length);
      assert.ok(stats.described >= records.length / 2, `${stats.described} of ${records.length} memories got a summary`);
      assert.equal(results.filter((r) => r.semantic === "on").length, stats.described);
      const withSummary = results.find((r) => r.semantic === "on");
      assert.ok(withSummary);
      {
        const summary = await engine.recall(withSummary.id, { mode: "summary" });
        assert.ok(Array.from(summary).length <= 24);
        const semantic = (await engine.semanticOf(withSummary.id))!;
        const text = records.find((r) => r.id === withSummary.id)!.text;
        for (const entity of semantic.entities) assert.equal(text.slice(entity.start, entity.end), entity.text);
        assert.equal(typeof (await engine.recall(withSummary.id, { mode: "rebuilt" })), "string");
      }
      const costs = (await engine.semanticCosts())!;
      assert.ok(costs.lines.find((l) => l.backend === "cloud")!.promptTokens > 0);
      assert.ok(costs.total > 0);
      // Every backend down: memories are still stored exactly, their semantic features skipped and counted.
      await cloud.kill();
      const late = await engine.remember({ id: "late", text: "The deploy of atlas-api moved to Monday 09:00." });
      assert.equal(late.semantic, "skipped");
      assert.equal(await engine.recall("late"), "The deploy of atlas-api moved to Monday 09:00.");
      assert.ok(engine.metricsSnapshot().semanticSkipped >= 1);
    } finally {
      await local.kill().catch(() => undefined);
      await cloud.kill().catch(() => undefined);
    }
  });

  it("the quality report scores each memory's summary and rebuilt text against the original, flags and keeps failures", async () => {
    await using server = await FakeLlmServer.start(llama);
    await using engine = Engine.open({
      db: ":memory:",
      autoTrainAfter: 0,
      semantic: localSemantic(server, { maxTokens: 200 }),
    });
    const records = devCorpus().filter((r) => r.text.length <= 120).slice(0, 5).map(({ id, text }) => ({ id, text }));
    await engine.rememberMany(records);
    await engine.remember({ id: "plain", text: "Alice meets Bob in Paris on 2024-05-01." });
    const embedder = new HashedNgramEmbedder();
    for (const mode of ["summary", "rebuilt"] as const) {
      const report = await assessQuality(engine, { mode, embedder, extractor: ruleEntityExtractor });
      assert.equal(report.memories, records.length + 1);
      assert.equal(report.exactMatches, report.memories);
      const described = report.rows.filter((r) => r.semantic);
      assert.equal(described.length, report.semantic?.memories ?? 0);
      assert.ok(described.length >= 1, "the model described at least one memory");
      for (const row of described) {
        const original = await engine.recall(row.id);
        const semantic = (await engine.semanticOf(row.id))!;
        const s = row.semantic!;
        if (mode === "summary") {
          const [a, b] = await embedder.embed([semantic.summary, original]);
          assert.ok(Math.abs(s.similarity - cosine(a!, b!)) < 1e-9);
          assert.equal(s.rougeL, rougeL(semantic.summary, original).f1);
          assert.equal(s.bleu, bleu(semantic.summary, original, { smooth: true }));
          assert.ok(Math.abs(s.ratio - Buffer.byteLength(JSON.stringify({ summary: semantic.summary, entities: semantic.entities })) / row.originalBytes) < 1e-12);
        }
        const flagged = s.similarity < 0.85 || s.entityRecall < 0.95;
        assert.equal(row.flags.length > 0, flagged);
        assert.equal(row.original !== undefined && row.candidate !== undefined, flagged, "flagged memories keep both texts");
      }
      assert.equal(report.flagged, report.rows.filter((r) => r.flags.length > 0).length);
    }
  });

  it("an exact residual: the text coded by llm conditioned on its summary, which becomes an asset it needs", async () => {
    await using server = await FakeLlmServer.start(llama);
    await using dir = tempDir();
    const db = join(dir.path, "residual.db");
    const texts = ["Once upon a time, there was a little girl named Lily. She liked to play in the park.", "Tom had a big red ball. He played with it every day in the sun."];
    const ids: string[] = [];
    {
      await using engine = Engine.open({
        db,
        model: STORIES,
        llm: { gpu: false, contexts: 1, threads: 1 },
        autoTrainAfter: 0,
        semantic: localSemantic(server, { residual: "always" }),
      });
      const results = await engine.rememberMany(texts.map((text) => ({ text })), { codec: "llm" });
      for (const result of results) {
        ids.push(result.id);
        if (result.semantic !== "on") continue;
        assert.equal(result.codec, "llm");
        assert.equal(result.residual, true);
        const memory = (await storeOf(engine).memories.get("default", result.id))!;
        const asset = (await storeOf(engine).assets.get(memory.assetId!))!;
        assert.equal(asset.kind, "llm-prefix");
        assert.equal(Buffer.from(asset.bytes).toString("utf8"), `${(await engine.semanticOf(result.id))!.summary}\n`);
      }
      assert.ok(results.some((r) => r.residual), "at least one memory got a summary and a residual");
      const stats = (await engine.stats());
      assert.ok(stats.assetBytes > 0, "the summaries the envelopes need are counted");
    }
    // A fresh engine (nothing cached) rebuilds the exact texts from envelope + summary asset.
    await using reader = Engine.open({ db, model: STORIES, llm: { gpu: false, contexts: 1, threads: 1 }, cache: "off" });
    for (const [i, id] of ids.entries()) assert.equal(await reader.recall(id), texts[i]);
    assert.equal((await reader.verify()).failed, 0);
    let residualId = "";
    for (const id of ids) if (!residualId && (await storeOf(reader).memories.get("default", id))!.assetId !== null) residualId = id;
    const assetId = (await storeOf(reader).memories.get("default", residualId))!.assetId!;
    assert.ok(!(await reader.pruneAssets()).some((a) => a.id === assetId), "an asset a memory needs is kept");
    // Recoding keeps a residual envelope unless plain coding is smaller.
    const before: StoredMemory[] = [];
    for (const id of ids) before.push((await storeOf(reader).memories.get("default", id))!);
    const recoded = await reader.recode("default", { codec: "llm" });
    assert.equal(recoded.checked, ids.length);
    assert.ok(recoded.bytesAfter <= recoded.bytesBefore);
    for (const [i, id] of ids.entries()) {
      assert.ok((await storeOf(reader).memories.get("default", id))!.envelope.length <= before[i]!.envelope.length);
      assert.equal(await reader.recall(id), texts[i]);
    }
    await reader.forget(residualId);
    assert.ok((await reader.pruneAssets()).some((a) => a.id === assetId), "once its memory is gone, the summary asset can be pruned");
  });

  it("from the CLI: import reports what the backends did and cost, get --mode summary reads the summary, quality scores it", async () => {
    await using server = await FakeLlmServer.start(llama);
    await using dir = tempDir();
    const db = join(dir.path, "cli.db");
    const config = join(dir.path, "memzip.json");
    writeFileSync(config, JSON.stringify({ semantic: localSemantic(server, { prices: { local: { perHour: 2 }, cloud: { inputPer1K: 1, outputPer1K: 2 } } }) }));
    const records = devCorpus().filter((r) => r.text.length <= 100).slice(0, 4);
    const input = join(dir.path, "in.jsonl");
    writeFileSync(input, records.map((r) => JSON.stringify({ id: r.id, text: r.text })).join("\n"));
    // Asynchronous: this process serves the backend the CLI calls.
    const memzip = async (args: string[]) => {
      try {
        const { stdout } = await execFileAsync(process.execPath, [CLI, ...args, "--db", db, "--config", config], { encoding: "utf8" });
        return { status: 0, stdout };
      } catch (error) {
        return { status: (error as { code: number }).code, stdout: (error as { stdout: string }).stdout };
      }
    };
    const imported = await memzip(["import", input, "--json"]);
    assert.equal(imported.status, 0);
    const report = JSON.parse(imported.stdout) as { stored: number; semantic: { described: number; skipped: number; costs: { lines: { backend: string; promptTokens: number }[]; per1000Memories: number } } };
    assert.equal(report.stored, records.length);
    assert.equal(report.semantic.described + report.semantic.skipped, records.length);
    assert.ok(report.semantic.costs.lines.find((l) => l.backend === "local")!.promptTokens > 0);
    assert.ok(report.semantic.costs.per1000Memories > 0);

    await using engine = Engine.open({ db });
    let described: (typeof records)[number] | undefined;
    for (const r of records) if (!described && (await engine.semanticOf(r.id))) described = r;
    assert.ok(described, "a memory got a summary");
    assert.equal((await memzip(["get", described.id, "--mode", "summary"])).stdout, (await engine.semanticOf(described.id))!.summary);
    assert.equal((await memzip(["get", described.id])).stdout, described.text);
    // --json says which text it is: a summary is lossy (trial44: it sat in "text" beside the original's checksum, unmarked).
    const asJson = async (mode: string) => JSON.parse((await memzip(["get", described!.id, "--mode", mode, "--json"])).stdout) as { exact: boolean; mode: string };
    assert.deepEqual([await asJson("summary"), await asJson("exact")].map(({ exact, mode }) => ({ exact, mode })), [
      { exact: false, mode: "summary" },
      { exact: true, mode: "exact" },
    ]);
    const quality = JSON.parse((await memzip(["quality", "--json"])).stdout) as { memories: number; semantic: { memories: number } };
    assert.equal(quality.memories, records.length);
    assert.equal(quality.semantic.memories, report.semantic.described);
  });

  it("rejects a semantic configuration that cannot work, naming the setting", () => {
    assert.throws(() => Engine.open({ db: ":memory:", semantic: { backends: [] } }), /backends must list at least one backend/);
    assert.throws(() => Engine.open({ db: ":memory:", semantic: { backends: [{ name: "x", kind: "ollama", url: "http://h", model: "m" }], residual: "yes" as unknown as boolean } }), /residual must be true, false or "always"/);
    assert.throws(() => Engine.open({ db: ":memory:", semantic: { backends: [{ name: "x", kind: "ollama", url: "localhost:11434", model: "m" }] } }), /url must be an http\(s\) URL/);
    assert.throws(() => Engine.open({ db: ":memory:", semantic: { backends: [{ name: "x", kind: "gpt" as never, url: "http://h", model: "m" }] } }), /kind must be one of/);
  });
});
