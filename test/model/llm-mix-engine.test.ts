import assert from "node:assert/strict";
import { copyFileSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { openEnvelope } from "../../src/codec/envelope.js";
import { CODEC_IDS } from "../../src/codec/ids.js";
import { MIX_CODER_REVISION } from "../../src/codec/llm-mix.js";
import type { MixEngineSettings, StoredMemory } from "../../src/core/store.js";
import { Engine } from "../../src/engine.js";
import { isMemzipError } from "../../src/errors.js";
import { LLM_DEFAULTS, LlmCoder } from "../../src/model/llm-coder.js";
import { ROOT, SHARED, devCorpus, storeOf, tempDir } from "../helpers.js";

const STORIES = join(SHARED, "models", "stories260K.gguf");
const TINY_RANDOM = join(SHARED, "models", "tiny-random.gguf");
const LLM = { gpu: false, contexts: 1, threads: 1, mix: true } as const;

const stories = readFileSync(join(ROOT, "bench", "data", "stories.jsonl"), "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "")
  .map((l, i) => ({ id: `story-${i}`, text: (JSON.parse(l) as { text: string }).text }));
/** The namespace's past: dev records its cm snapshot is trained on. */
const past = () => devCorpus().slice(0, 300).map(({ id, text }) => ({ id, text }));
/** New dev records of both languages, none of them in the snapshot. */
const fresh = () => {
  const rest = devCorpus().slice(1500);
  const pick = (lang: string, n: number) => rest.filter((r) => r.lang === lang && Buffer.byteLength(r.text) < 500).slice(0, n).map(({ id, text }) => ({ id, text }));
  return [...pick("en", 4), ...pick("zh", 3)];
};

/** A store whose default namespace has a cm snapshot trained on `past()` (forced: measured, the shipped base, which learned from these dev texts, stores them smaller). */
async function trainedStore(db: string): Promise<void> {
  await using engine = Engine.open({ db, autoTrainAfter: 0 });
  await engine.rememberMany(past());
  await engine.trainAsset("cm-snapshot", "default", { force: true });
}

describe("llm-mix codec: stories260K and the namespace's cm mixed, stored and read (real model, real SQLite)", () => {
  it("the policy stores stories with llm-mix (one engine reference, the snapshot on the row); a fresh engine reads them; verify and recode keep them", async () => {
    using dir = tempDir();
    const db = join(dir.path, "mix.db");
    await trainedStore(db);
    const records = stories.slice(0, 6);
    const news = fresh();
    {
      await using engine = Engine.open({ db, model: STORIES, llm: LLM, autoTrainAfter: 0, skipLosingModel: false });
      const results = await engine.rememberMany([...records, ...news]);
      for (const r of results.slice(0, records.length)) assert.equal(r.codec, "llm-mix", r.id);
      const snapshot = (await engine.assetUsage()).find((a) => a.kind === "cm-snapshot");
      assert.ok(snapshot);
      for (const r of results.filter((x) => x.codec === "llm-mix")) {
        const row = (await storeOf(engine).memories.get("default", r.id)) as StoredMemory;
        const opened = openEnvelope(row.envelope, 1 << 20);
        assert.equal(opened.codecId, CODEC_IDS["llm-mix"]);
        assert.ok(opened.engine && !opened.model && !opened.asset, "the envelope names the engine record only");
        assert.equal(row.assetId, snapshot.id, "the row records the snapshot, so the store keeps it");
      }
      // Written from the same text again: unchanged (the proven envelope is kept).
      assert.equal((await engine.remember(records[0] as { id: string; text: string })).status, "unchanged");
    }
    {
      await using reader = Engine.open({ db, llm: LLM, cache: "off" });
      for (const record of [...records, ...news]) assert.equal(await reader.recall(record.id), record.text, record.id);
      const report = await reader.verify();
      assert.equal(report.failed, 0, JSON.stringify(report.failures));
    }
    {
      await using engine = Engine.open({ db, model: STORIES, llm: LLM, autoTrainAfter: 0, skipLosingModel: false, cache: "off" });
      const before = await Promise.all(records.map(async (r) => (await storeOf(engine).memories.get("default", r.id))?.envelope.length));
      const report = await engine.recode();
      assert.equal(report.checked, past().length + records.length + news.length);
      for (const [i, record] of records.entries()) {
        const row = (await storeOf(engine).memories.get("default", record.id)) as StoredMemory;
        assert.equal(row.codec, "llm-mix");
        assert.equal(row.envelope.length, before[i]);
        assert.equal(await engine.recall(record.id), record.text);
      }
    }
  });

  it("records mixed at once (2 contexts, concurrency 2) each borrow their own cm model: every story stored as llm-mix reads back", async () => {
    using dir = tempDir();
    const db = join(dir.path, "two.db");
    await trainedStore(db);
    const records = stories.slice(6, 12);
    {
      await using engine = Engine.open({ db, model: STORIES, llm: { ...LLM, contexts: 2 }, concurrency: 2, autoTrainAfter: 0, skipLosingModel: false });
      const results = await engine.rememberMany(records);
      for (const r of results) assert.equal(r.codec, "llm-mix", r.id);
      assert.equal(results.reduce((n, r) => n + r.verifyFailures.length, 0), 0);
    }
    await using reader = Engine.open({ db, llm: LLM, cache: "off" });
    for (const record of records) assert.equal(await reader.recall(record.id), record.text, record.id);
  });

  it("dev records in English and Chinese and the long story sample coded with llm-mix decode in a fresh engine; without the snapshot or the model the error names the fix", async () => {
    using dir = tempDir();
    const db = join(dir.path, "dev.db");
    const modelPath = join(dir.path, "model.gguf");
    copyFileSync(STORIES, modelPath);
    await trainedStore(db);
    const texts = [...fresh().map((r) => r.text), stories.map((s) => s.text).join("\n\n")];
    const envelopes: Uint8Array[] = [];
    {
      await using engine = Engine.open({ db, model: modelPath, llm: LLM, autoTrainAfter: 0 });
      const store = storeOf(engine);
      const snapshotId = (await engine.assetUsage()).find((a) => a.kind === "cm-snapshot")?.id as string;
      const snapshot = await store.assets.get(snapshotId);
      assert.ok(snapshot);
      const coder = new LlmCoder(store.models, { ...LLM_DEFAULTS, ...LLM }, (id) => store.assets.get(id));
      try {
        const model = await coder.resolveModel(modelPath);
        for (const text of texts) {
          const encoded = await coder.encodeMixed(text, Buffer.from(text, "utf8"), model, snapshot);
          assert.ok(encoded, text.slice(0, 40));
          envelopes.push(encoded.envelope);
        }
      } finally {
        await coder.close();
      }
    }
    {
      await using reader = Engine.open({ db, llm: LLM, cache: "off" });
      for (const [i, text] of texts.entries()) assert.equal(Buffer.from(await reader.decodeBytes(envelopes[i] as Uint8Array)).toString("utf8"), text);
    }
    // Another store with the model and the engine record but not the snapshot: E_MISSING_ASSET naming it.
    {
      await using source = Engine.open({ db, llm: LLM, cache: "off" });
      await using other = Engine.open({ db: ":memory:", llm: LLM, cache: "off" });
      const engineRef = openEnvelope(envelopes[0] as Uint8Array, 1 << 20).engine as Uint8Array;
      const record = await storeOf(source).models.getEngineByRef(engineRef);
      assert.ok(record?.settings.mix);
      await storeOf(other).models.putEngine(record);
      for (const model of await source.models()) await storeOf(other).models.put(model);
      await assert.rejects(other.decodeBytes(envelopes[0] as Uint8Array), (e) => isMemzipError(e, "E_MISSING_ASSET") && (e as Error).message.includes(record.settings.mix?.cm.slice(0, 16) as string));
      // A record of another mixing coder revision: refused by name, not as corruption (review25 M-1).
      assert.equal(record.settings.mix?.coder, MIX_CODER_REVISION);
      await using later = Engine.open({ db: ":memory:", llm: LLM, cache: "off" });
      await storeOf(later).models.putEngine({ ...record, settings: { ...record.settings, mix: { ...(record.settings.mix as MixEngineSettings), coder: MIX_CODER_REVISION + 1 } } });
      await assert.rejects(later.decodeBytes(envelopes[0] as Uint8Array), (e) => isMemzipError(e, "E_VERSION") && /revision 2; this memzip has revision 1/.test((e as Error).message));
      // A damaged record (a beam of a million hypotheses) is refused before the coder runs (review25 M-4).
      const mix = record.settings.mix as MixEngineSettings;
      await using damaged = Engine.open({ db: ":memory:", llm: LLM, cache: "off" });
      await storeOf(damaged).models.putEngine({ ...record, settings: { ...record.settings, mix: { ...mix, tuning: { ...mix.tuning, beam: 1_000_000 } } } });
      await assert.rejects(damaged.decodeBytes(envelopes[0] as Uint8Array), (e) => isMemzipError(e, "E_FORMAT") && /damaged \(tuning\.beam/.test((e as Error).message));
      // No engine record at all: E_ENGINE_MISMATCH with the way to move memories.
      await using bare = Engine.open({ db: ":memory:", llm: LLM, cache: "off" });
      await assert.rejects(bare.decodeBytes(envelopes[0] as Uint8Array), (e) => isMemzipError(e, "E_ENGINE_MISMATCH") && /export/.test(e.hint ?? ""));
    }
    // The model file gone, then another model in its place: E_MISSING_MODEL, never other text.
    const decode = async () => {
      await using reader = Engine.open({ db, llm: LLM, cache: "off" });
      return await reader.decodeBytes(envelopes[0] as Uint8Array);
    };
    rmSync(modelPath);
    await assert.rejects(decode, (e) => isMemzipError(e, "E_MISSING_MODEL"));
    copyFileSync(TINY_RANDOM, modelPath);
    await assert.rejects(decode, (e) => isMemzipError(e, "E_MISSING_MODEL") && /different file/.test((e as Error).message));
  });
});
