import { strict as assert } from "node:assert";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { ModelRepository, RegisteredModel } from "../../src/core/store.js";
import { Engine } from "../../src/engine.js";
import { ErrorCode, isMemzipError } from "../../src/errors.js";
import { LLM_DEFAULTS, LlmCoder } from "../../src/model/llm-coder.js";
import { tempDir } from "../helpers.js";

/**
 * Nothing starts after close: a model loaded, a client or a thread started by a call that comes in
 * after close would never be released, and could keep the process alive (the CI hang of 38f68ac).
 */
const closedError = (error: unknown) => isMemzipError(error, ErrorCode.USAGE) && /closed/.test((error as Error).message);

describe("after close", () => {
  it("the llm coder loads no model and starts no model worker thread", async () => {
    using dir = tempDir();
    // A file whose size and mtime match its registration: the coder's file check passes without hashing it.
    const path = join(dir.path, "model.gguf");
    writeFileSync(path, "not a real model");
    const stat = statSync(path);
    const model: RegisteredModel = { fingerprint: "ab".repeat(32), name: "m", path, size: stat.size, mtime: Math.floor(stat.mtimeMs), architecture: "llama", vocabularySize: 32, contextLength: 64, addedAt: 0 };
    const models: ModelRepository = {
      put: async () => undefined,
      get: async () => model,
      getByRef: async () => model,
      list: async () => [model],
      delete: async () => false,
      putEngine: async () => undefined,
      getEngineByRef: async () => undefined,
    };
    const coder = new LlmCoder(models, { ...LLM_DEFAULTS, workers: 1 });
    await coder.close();
    const text = "a memory written after close";
    await assert.rejects(coder.encode(text, new TextEncoder().encode(text), model), closedError, "encode after close");
    assert.equal((coder as unknown as { pool: unknown }).pool, undefined, "no worker pool was made after close");
    await assert.rejects(coder.load(model), closedError, "load after close");
    assert.equal((coder as unknown as { loaded: Map<string, unknown> }).loaded.size, 0, "no model load started after close");
  });

  it("an engine makes no semantic layer and no search index after close", async () => {
    using dir = tempDir();
    const engine = Engine.open({
      db: join(dir.path, "closed.db"),
      cache: "off",
      workers: 0,
      // Never called: the backend is only constructed (no connection) when the layer is made.
      semantic: { backends: [{ name: "local", kind: "ollama", url: "http://127.0.0.1:9", model: "none", retries: 0, local: true }], summaryChars: 40, maxTokens: 50, prompt: "Summarize." },
    });
    await engine.close();
    await assert.rejects(engine.semanticStats(), closedError, "semanticStats after close makes no layer");
    await assert.rejects(engine.searchMemories("heron"), closedError, "search after close builds no index");
  });

  it("close stops searches and Arrow exports in flight (typed), and an export or scan read across a close ends with E_USAGE", async () => {
    using dir = tempDir();
    const engine = Engine.open({ db: join(dir.path, "reads.db"), cache: "off", workers: 0 });
    await engine.rememberMany(Array.from({ length: 1500 }, (_, i) => ({ id: `m${i}`, text: `memory ${i}: the heron waits by the pond number ${i % 37}` })));
    const across = engine.exportJsonl()[Symbol.asyncIterator]();
    assert.equal((await across.next()).done, false, "the export has started");
    const scan = engine.scanMemories()[Symbol.asyncIterator]();
    assert.equal((await scan.next()).done, false, "the scan has started");
    // In flight when close is called (its first index refresh has 1500 memories to read): stopped, not waited out (a
    // model embedder's refresh can take minutes, and a server's shutdown has a grace period), and typed.
    const search = engine.searchMemories("heron pond");
    const related = engine.relatedMemories("m7");
    const arrow = engine.exportArrow();
    await engine.close();
    const stopped = (error: unknown) => closedError(error) && /while this search or export ran/.test((error as Error).message);
    await assert.rejects(search, stopped, "the search in flight");
    await assert.rejects(related, stopped, "the related look-up in flight");
    await assert.rejects(arrow, stopped, "the Arrow export in flight");
    // Before, these failed with better-sqlite3's untyped TypeError.
    await assert.rejects(across.next(), closedError, "an export read across close");
    await assert.rejects(scan.next(), closedError, "a scan read across close");
    await assert.rejects(engine.exportMemories().next(), closedError, "an export started after close");
  });
});
