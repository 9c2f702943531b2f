import { strict as assert } from "node:assert";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseSummaryAnswer, summaryMessages, summarySchema } from "../../src/semantic/summary.js";
import { ErrorCode, isMemzipError } from "../../src/errors.js";
import { ruleEntityExtractor } from "../../src/semantic/entities-rules.js";
import { LlamaBackend } from "../../src/model/llama-backend.js";
import { OllamaBackend, OpenAiBackend } from "../../src/model/remote-backends.js";
import { ModelRouter } from "../../src/model/router.js";
import { SHARED } from "../helpers.js";
import { FakeLlmServer } from "./fake-llm-server.js";

const STORIES = join(SHARED, "models", "stories260K.gguf");
const ask = { messages: [{ role: "user" as const, content: "Once upon a time" }], maxTokens: 24 };

describe("text backends over real TCP (answers from the embedded llama model)", () => {
  let llama: LlamaBackend;
  let server: FakeLlmServer;

  before(async () => {
    llama = await LlamaBackend.load({ path: STORIES, gpu: false, threads: 1, contextSize: 512 });
    server = await FakeLlmServer.start(llama);
  });

  after(async () => {
    await server.kill().catch(() => undefined);
    await llama.close();
  });

  it("the embedded model generates deterministically, with token usage", async () => {
    const first = await llama.generate(ask);
    const second = await llama.generate(ask);
    assert.ok(first.text.length > 0);
    assert.equal(first.text, second.text, "temperature 0 is greedy");
    assert.ok(first.usage.promptTokens > 0 && first.usage.completionTokens > 0 && first.usage.completionTokens <= 24);
  });

  it("Ollama /api/chat and /api/generate, streaming and not, give the model's answer and usage", async () => {
    const direct = await llama.generate(ask);
    for (const stream of [true, false]) {
      for (const endpoint of ["chat", "generate"] as const) {
        const ollama = new OllamaBackend({ name: "ollama", url: server.url, model: "stories", stream, endpoint });
        const chunks: string[] = [];
        const result = await ollama.generate({ ...ask, onText: (c) => chunks.push(c) });
        assert.equal(result.text, direct.text, `${endpoint} stream=${stream}`);
        assert.equal(chunks.join(""), result.text);
        assert.ok(result.usage.completionTokens > 0);
        assert.equal(server.requests.at(-1)?.path, `/api/${endpoint}`);
        assert.equal(server.requests.at(-1)?.stream, stream);
      }
    }
  });

  it("OpenAI /v1/chat/completions streams SSE and sends the key from the environment; a wrong key is not retried", async () => {
    server.faults.apiKey = "sk-test";
    try {
      const direct = await llama.generate(ask);
      for (const stream of [true, false]) {
        const openai = new OpenAiBackend({ name: "openai", url: server.url, model: "stories", stream }, {});
        const keyed = new OpenAiBackend({ name: "openai", url: server.url, model: "stories", stream, apiKeyEnv: "MEMZIP_TEST_KEY" }, { MEMZIP_TEST_KEY: "sk-test" });
        const result = await keyed.generate(ask);
        assert.equal(result.text, direct.text);
        assert.ok(result.usage.promptTokens > 0);
        const before = server.requests.length;
        await assert.rejects(openai.generate(ask), (e: unknown) => isMemzipError(e, ErrorCode.BACKEND_REJECTED) && /401/.test((e as Error).message));
        assert.equal(server.requests.length, before + 1, "a 401 is not retried");
      }
    } finally {
      delete server.faults.apiKey;
    }
  });

  it("embeddings through /api/embed and /v1/embeddings match the model's own", async () => {
    const texts = ["the cat sat on the mat", "a dog ran in the park"];
    const direct = await llama.embed(texts);
    const viaOllama = await new OllamaBackend({ name: "o", url: server.url, model: "stories" }).embed(texts);
    const viaOpenAi = await new OpenAiBackend({ name: "p", url: server.url, model: "stories" }, {}).embed(texts);
    for (const result of [viaOllama, viaOpenAi]) {
      assert.equal(result.vectors.length, 2);
      result.vectors.forEach((v, i) => assert.deepEqual(Array.from(v), Array.from(direct.vectors[i] as Float32Array)));
    }
  });

  it("retries 503s and dropped streams with backoff, and times out a slow server", async () => {
    const ollama = new OllamaBackend({ name: "o", url: server.url, model: "stories", retries: 3, retryDelayMs: 5 });
    server.faults.status = { code: 503, times: 2 };
    const before = server.requests.length;
    assert.ok((await ollama.generate(ask)).text.length > 0);
    assert.equal(server.requests.length - before, 3);
    assert.equal(ollama.retries, 2);
    server.faults.dropMidStream = 1;
    assert.ok((await ollama.generate(ask)).text.length > 0);
    assert.equal(ollama.retries, 3, "the dropped stream was retried");
    server.faults.delayMs = 300;
    try {
      const impatient = new OllamaBackend({ name: "o", url: server.url, model: "stories", timeoutMs: 50, retries: 0 });
      await assert.rejects(impatient.generate(ask), (e: unknown) => isMemzipError(e, ErrorCode.TIMEOUT));
    } finally {
      server.faults.delayMs = 0;
    }
  });

  it("a JSON schema reaches the server and constrains the model; the answer is validated after parsing", async () => {
    const text = "Mail li@example.cn before 2026-03-05 about invoice 4711.";
    const ollama = new OllamaBackend({ name: "o", url: server.url, model: "stories", stream: false });
    const answer = await ollama.generate({ messages: summaryMessages(text, { maxChars: 40, prompt: "Summarize as JSON." }), maxTokens: 200, jsonSchema: summarySchema(40) });
    assert.deepEqual(server.requests.at(-1)?.body.format, summarySchema(40));
    const record = parseSummaryAnswer(answer.text.endsWith("}") ? answer.text : '{"summary": "s", "entities": []}', text, ruleEntityExtractor.extract(text), answer.source, 40);
    assert.ok(record.summary.length <= 40);
    for (const entity of record.entities) assert.equal(text.slice(entity.start, entity.end), entity.text, "every entity is a span of the memory");
    assert.throws(() => parseSummaryAnswer("not json", text, [], "x"), (e: unknown) => isMemzipError(e, ErrorCode.BACKEND_REJECTED));
    const invented = parseSummaryAnswer('{"summary": "s", "entities": [{"type": "person", "text": "Nobody Here"}, {"type": "email", "text": "li@example.cn"}]}', text, [], "x");
    assert.deepEqual(invented.entities.map((e) => e.text), ["li@example.cn"], "entities not in the text are dropped");
    // Inside a word is not in the text (stop 62's trial stored "a" of "invoice" as a person); Han script has no word
    // edges, and a whole word after a part of one is found.
    const inside = parseSummaryAnswer('{"summary": "s", "entities": [{"type": "person", "text": "a"}, {"type": "organization", "text": "voice"}, {"type": "number", "text": "47"}]}', text, [], "x");
    assert.deepEqual(inside.entities, []);
    const han = "和李明在北京见面。Ref A4711 and 4711.";
    const whole = parseSummaryAnswer('{"summary": "s", "entities": [{"type": "person", "text": "李明"}, {"type": "place", "text": "北京"}, {"type": "id", "text": "4711"}]}', han, [], "x");
    assert.deepEqual(whole.entities.map((e) => [e.text, e.start]), [["李明", 1], ["北京", 4], ["4711", 23]]);
    // Kana, Korean and Thai write names against the words around them (the review of stop 62: they were all dropped).
    for (const [memory, name] of [["トヨタの新しい工場が来月開く。", "トヨタ"], ["서울에서 회의가 있다.", "서울"], ["ประชุมที่กรุงเทพพรุ่งนี้", "กรุงเทพ"]]) {
      const found = parseSummaryAnswer(`{"summary": "s", "entities": [{"type": "place", "text": "${name}"}]}`, memory as string, [], "x");
      assert.deepEqual(found.entities.map((e) => e.text), [name], memory);
    }
    for (const summary of ['""', '"   "', '"\ud800 half"']) {
      assert.throws(() => parseSummaryAnswer(`{"summary": ${summary}, "entities": []}`, text, [], "x"), (e: unknown) => isMemzipError(e, ErrorCode.BACKEND_REJECTED), summary);
    }
  });

  it("the router falls back when a backend dies mid-batch, opens its circuit, and counts every fallback", async () => {
    const second = await FakeLlmServer.start(llama);
    const first = await FakeLlmServer.start(llama);
    const local = new OllamaBackend({ name: "local", url: first.url, model: "stories", retries: 0, local: true });
    const cloud = new OpenAiBackend({ name: "cloud", url: second.url, model: "stories", retries: 0 }, {});
    let now = 0;
    const router = new ModelRouter([cloud, local], { order: "local-first", failuresToOpen: 2, cooldownMs: 1000, now: () => now });
    assert.deepEqual(router.candidates("short").map((b) => b.name), ["local", "cloud"]);
    const sources: string[] = [];
    for (let i = 0; i < 8; i++) {
      if (i === 3) await first.kill();
      sources.push((await router.generate(ask, "short")).source);
    }
    assert.deepEqual(sources.slice(0, 3), ["local/stories", "local/stories", "local/stories"]);
    assert.ok(sources.slice(3).every((s) => s === "cloud/stories"));
    const stats = router.stats();
    assert.equal(stats.local?.failures, 2, "two failures open the circuit; later calls skip it");
    assert.equal(stats.local?.circuit, "open");
    assert.equal(router.fallbacks, 5);
    assert.equal(stats.cloud?.fallbacksTaken, 5);
    assert.ok(router.events.some((e) => e.kind === "circuit-open" && e.backend === "local"));
    now += 1000;
    assert.equal((await router.generate(ask, "short")).source, "cloud/stories", "half-open trial fails, cloud answers");
    assert.equal(router.stats().local?.failures, 3);
    await second.kill();
    await assert.rejects(router.generate(ask, "short"), (e: unknown) => isMemzipError(e, ErrorCode.BACKEND_UNAVAILABLE) && /no model backend could answer/.test((e as Error).message));
    const health = await router.health();
    assert.deepEqual(health.map((h) => h.ok), [false, false]);
  });

  it("routes code and long texts to the backends configured for them", () => {
    const router = new ModelRouter([llama, new OllamaBackend({ name: "coder", url: "http://127.0.0.1:9", model: "c" })], { routes: { code: ["coder"] }, longChars: 100 });
    assert.equal(router.classify("function f() {\n  return 1;\n}\n"), "code");
    assert.equal(router.classify("x".repeat(150)), "long");
    assert.equal(router.classify("short note", "code"), "code");
    assert.equal(router.candidates("code")[0]?.name, "coder");
    assert.equal(router.candidates("short")[0]?.name, "llama");
    assert.throws(() => new ModelRouter([llama], { order: { pinned: "nope" } }), /pinned backend "nope"/);
  });
});

describe("cost monitor", () => {
  it("prices cloud tokens per 1K and local time per hour and kWh, and the local savings against the same tokens in the cloud", async () => {
    const { costReport } = await import("../../src/model/costs.js");
    const usage = [
      { backend: "cloud", model: "gpt-x", local: false, calls: 10, promptTokens: 20_000, completionTokens: 4_000, ms: 9_000 },
      { backend: "ollama", model: "qwen", local: true, calls: 90, promptTokens: 180_000, completionTokens: 36_000, ms: 1_800_000 },
    ];
    const report = costReport(usage, { cloud: { inputPer1K: 0.5, outputPer1K: 1.5 }, "ollama/qwen": { perHour: 0.8, watts: 300, perKWh: 0.2 } }, 100);
    // cloud: 20 × 0.5 + 4 × 1.5 = 16; local: 0.5 h × 0.8 + 0.5 h × 0.3 kW × 0.2 = 0.43
    assert.ok(Math.abs((report.lines[0]?.cost ?? 0) - 16) < 1e-9);
    assert.ok(Math.abs((report.lines[1]?.cost ?? 0) - 0.43) < 1e-9);
    assert.ok(Math.abs(report.total - 16.43) < 1e-9);
    assert.ok(Math.abs(report.per1000Memories - 164.3) < 1e-9);
    // The local tokens at the cloud price: 180 × 0.5 + 36 × 1.5 = 144.
    assert.ok(Math.abs(report.local.cloudEquivalent - 144) < 1e-9);
    assert.ok(Math.abs(report.local.savings - (144 - 0.43)) < 1e-9);
    assert.ok(report.local.savingsShare > 0.99);
  });
});
