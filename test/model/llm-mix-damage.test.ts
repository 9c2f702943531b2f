import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { BASE_MODELS, baseAsset } from "../../src/codec/cm/base.js";
import type { RecordBits } from "../../src/codec/cm/context-model.js";
import { loadSnapshot } from "../../src/codec/cm/snapshot.js";
import { openEnvelope, readVarint, writeVarint, varintLength } from "../../src/codec/envelope.js";
import { CODEC_IDS } from "../../src/codec/ids.js";
import { decodeMixed, maxMixedBytesFor, MIX_TUNING, type RewindablePredictor } from "../../src/codec/llm-mix.js";
import { seededRandom } from "../../src/core/stats.js";
import type { MixEngineSettings, StoredMemory } from "../../src/core/store.js";
import { Engine } from "../../src/engine.js";
import { MemzipError } from "../../src/errors.js";
import { LlamaTokenModel } from "../../src/model/llama.js";
import { mixVocabulary } from "../../src/model/llm-core.js";
import { ROOT, SHARED, devCorpus, storeOf, tempDir } from "../helpers.js";

const STORIES = join(SHARED, "models", "stories260K.gguf");
/** Deterministic model runs: one thread, no GPU (flash attention is always off in src/model/llama.ts). */
const LLM = { gpu: false, contexts: 1, threads: 1 } as const;
const SEED = 16;
/** What openEnvelope allows (the engine's default maxTextBytes). */
const MAX_TEXT = 16 * 1024 * 1024;

/** The envelope with its original-length field rewritten to `length` (the checksum kept). */
function withLength(envelope: Uint8Array, length: number): Uint8Array {
  const [, after] = readVarint(envelope, 2);
  const out = new Uint8Array(2 + varintLength(length) + envelope.length - after);
  out.set(envelope.subarray(0, 2));
  const at = writeVarint(out, 2, length);
  out.set(envelope.subarray(after), at);
  return out;
}

/** Seeded damage: the length field raised past the bound and doubled, bit flips (anywhere, in the payload), truncations. */
function damaged(envelope: Uint8Array, random: () => number): { what: string; bytes: Uint8Array }[] {
  const opened = openEnvelope(envelope, MAX_TEXT);
  const out = [
    { what: "length 5,000,000", bytes: withLength(envelope, 5_000_000) },
    { what: "length doubled", bytes: withLength(envelope, opened.originalLength * 2) },
  ];
  const flip = (from: number, what: string) => {
    const bytes = envelope.slice();
    const at = from + Math.floor(random() * (bytes.length - from));
    const bit = Math.floor(random() * 8);
    bytes[at] = (bytes[at] as number) ^ (1 << bit);
    out.push({ what: `${what} byte ${at} bit ${bit}`, bytes });
  };
  for (let i = 0; i < 4; i++) flip(0, "flip");
  for (let i = 0; i < 3; i++) flip(opened.headerLength, "payload flip");
  for (const from of [opened.headerLength, 0]) {
    const cut = from + Math.floor(random() * (envelope.length - from));
    out.push({ what: `truncated to ${cut}`, bytes: envelope.slice(0, cut) });
  }
  return out;
}

describe("damaged llm-mix envelopes (seeded, real model and store)", () => {
  let llama: LlamaTokenModel | undefined;
  after(async () => {
    await llama?.dispose();
  });

  it("never return other text, never throw an untyped error, and never decode more bytes than the payload can hold", async () => {
    using dir = tempDir();
    const db = join(dir.path, "damage.db");
    const story = (JSON.parse(readFileSync(join(ROOT, "bench", "data", "stories.jsonl"), "utf8").split("\n")[2] as string) as { text: string }).text;
    const rest = devCorpus().slice(1500);
    const pick = (lang: string, most: number) => (rest.find((r) => r.lang === lang && Buffer.byteLength(r.text) < most) as { text: string }).text;
    const texts = [story, pick("en", 300), pick("zh", 200)];
    await using engine = Engine.open({ db, model: STORIES, llm: LLM, cache: "off" });
    // A fresh namespace: the forced mix codes with the shipped base, which the counting decoder below loads too.
    const envelopes: Uint8Array[] = [];
    for (const [i, text] of texts.entries()) {
      const result = await engine.remember({ id: `t${i}`, text }, { codec: "llm-mix" });
      assert.equal(result.codec, "llm-mix");
      envelopes.push(((await storeOf(engine).memories.get("default", `t${i}`)) as StoredMemory).envelope);
    }
    const record = await storeOf(engine).models.getEngineByRef(openEnvelope(envelopes[0] as Uint8Array, MAX_TEXT).engine as Uint8Array);
    const mix = record?.settings.mix as MixEngineSettings;
    assert.equal(mix.cm, BASE_MODELS[0]?.sha256);
    assert.deepEqual(mix.tuning, MIX_TUNING);

    // The codec's own decoder with the same model and cm, counting the model's steps and the bits `cm` learned (8 per byte produced).
    llama = await LlamaTokenModel.load(STORIES, { gpu: false, threads: 1, contexts: 1, gpuLayers: 0 });
    const loaded = llama;
    const cm = loadSnapshot(baseAsset(BASE_MODELS[0] as (typeof BASE_MODELS)[number]).bytes).model;
    const settings = { vocabularySize: loaded.vocabularySize, bosToken: loaded.bosToken, topK: record?.settings.topK as number, windowTokens: record?.settings.windowTokens as number, carryTokens: record?.settings.carryTokens as number, prefix: [] };
    const counted = async (payload: Uint8Array, length: number) => {
      let steps = 0;
      let bits = 0;
      // As decodeMixedLoaded opens it (the claimed length), where the claim is within the bound.
      const open = cm.openRecord(Math.min(length, maxMixedBytesFor(payload.length, mix.tuning)));
      const counting: RecordBits = { predict: () => open.predict(), update: (bit) => (bits++, open.update(bit)), close: () => open.close() };
      try {
        await loaded.withPredictor(settings.windowTokens, settings.topK, (predictor) => {
          const wrapped: RewindablePredictor = {
            reset: () => predictor.reset(),
            feed: (token, predict) => (steps++, predictor.feed(token, predict)),
            unfeed: () => (steps++, predictor.unfeed()),
          };
          return decodeMixed(wrapped, mixVocabulary(loaded), payload, length, counting, settings, mix.tuning);
        });
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
      } finally {
        counting.close();
      }
      return { steps, bytes: Math.floor(bits / 8) };
    };

    const random = seededRandom(SEED);
    let refusedUnread = 0;
    let decodedAgain = 0;
    let most = 0;
    for (const [i, envelope] of envelopes.entries()) {
      const original = Buffer.from(texts[i] as string, "utf8");
      for (const { what, bytes } of damaged(envelope, random)) {
        const label = `text ${i}, ${what}`;
        try {
          const decoded = await engine.decodeBytes(bytes);
          assert.ok(Buffer.from(decoded).equals(original), `${label}: returned other text`);
          decodedAgain++;
        } catch (error) {
          assert.ok(error instanceof MemzipError, `${label}: untyped ${String(error)}`);
          if (what === "length 5,000,000") assert.ok(error.code === "E_FORMAT" && /more than its \d+-byte payload can hold/.test(error.message), `${label}: ${error.message}`);
        }
        let opened;
        try {
          opened = openEnvelope(bytes, MAX_TEXT);
        } catch {
          continue; // refused by the header check: no decode at all
        }
        if (opened.codecId !== CODEC_IDS["llm-mix"]) continue;
        const bound = maxMixedBytesFor(opened.payload.length, mix.tuning);
        const work = await counted(opened.payload, opened.originalLength);
        assert.ok(work.bytes <= bound, `${label}: ${work.bytes} bytes decoded, bound ${bound}`);
        most = Math.max(most, work.bytes / bound);
        if (opened.originalLength > bound) {
          assert.deepEqual(work, { steps: 0, bytes: 0 }, `${label}: a claim past the bound costs no model work`);
          refusedUnread++;
        }
      }
    }
    // Every "length 5,000,000" (3) was refused unread; the run is seeded, so these counts are fixed.
    assert.ok(refusedUnread >= 3, `refused unread: ${refusedUnread}`);
    assert.ok(most <= 1);
    // For the log: `node --test` prints diagnostics.
    console.log(`# damaged llm-mix: ${envelopes.length * 11} variants, ${decodedAgain} decoded to the original, ${refusedUnread} refused before the model, most decoded ${(most * 100).toFixed(2)} % of the bound`);
  });
});

describe("the llm-mix length bound", () => {
  it("holds for the beam only: the greedy and coded segmentations leave forced bits uncoded, so they get none (review26 M-3)", () => {
    const beam = maxMixedBytesFor(27, MIX_TUNING);
    assert.ok(Number.isFinite(beam) && beam > 27 && beam < 1_000_000, String(beam));
    assert.ok(maxMixedBytesFor(27, { ...MIX_TUNING, apm: true }) > beam, "the APM's looser clamp gives a looser bound");
    for (const segmentation of ["greedy", "coded"] as const) assert.equal(maxMixedBytesFor(27, { ...MIX_TUNING, segmentation }), Number.POSITIVE_INFINITY);
  });
});
