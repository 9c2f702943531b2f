import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { baseAsset, BASE_MODELS } from "../../src/codec/cm/base.js";
import type { ContextModel } from "../../src/codec/cm/context-model.js";
import { encodeSnapshot, loadSnapshot } from "../../src/codec/cm/snapshot.js";
import { buildMixVocabulary, decodeMixed, encodeMixed, MIX_TUNING, mixTokens, type MixTuning, type MixVocabulary } from "../../src/codec/llm-mix.js";
import type { LlmCodingSettings } from "../../src/codec/llm.js";
import { seededRandom } from "../../src/core/stats.js";
import { LlamaTokenModel } from "../../src/model/llama.js";
import { ROOT, SHARED, devCorpus } from "../helpers.js";

const STORIES = join(SHARED, "models", "stories260K.gguf");

/** Texts no tokenizer is made for: random code points of every UTF-8 length, controls, leading and trailing spaces. */
function oddTexts(seed: number): string[] {
  const random = seededRandom(seed);
  const ranges: [number, number][] = [
    [0x01, 0x7f],
    [0x80, 0x7ff],
    [0x800, 0xd7ff],
    [0xe000, 0xfffd],
    [0x10000, 0x10ffff],
  ];
  const texts = ["", " ", "\n", " Once", "\nfoo  bar ", "a", "  ", "é", "中", "😀 ok"];
  for (let t = 0; t < 6; t++) {
    let text = "";
    const length = 1 + Math.floor(random() * 40);
    for (let i = 0; i < length; i++) {
      const [low, high] = ranges[Math.floor(random() * ranges.length)] as [number, number];
      text += String.fromCodePoint(low + Math.floor(random() * (high - low + 1)));
    }
    texts.push(text);
  }
  return texts;
}

describe("llm + cm mixing coder (stories260K, real model)", () => {
  let llama: LlamaTokenModel;
  let vocabulary: MixVocabulary;
  let settings: LlmCodingSettings;
  let base: ContextModel;

  before(async () => {
    llama = await LlamaTokenModel.load(STORIES, { gpu: false, threads: 1, contexts: 1, gpuLayers: 0 });
    const { pieces, fallback } = llama.tokenPieces();
    vocabulary = buildMixVocabulary(pieces, fallback);
    settings = { vocabularySize: llama.vocabularySize, bosToken: llama.bosToken, topK: 64, windowTokens: 256, carryTokens: 64, prefix: [] };
    base = loadSnapshot(baseAsset(BASE_MODELS[0] as (typeof BASE_MODELS)[number]).bytes).model;
  });
  after(async () => {
    await llama.dispose();
  });

  async function encode(text: string, cm: ContextModel, tuning: MixTuning = MIX_TUNING): Promise<Uint8Array> {
    const bytes = Buffer.from(text, "utf8");
    const bits = cm.openRecord(bytes.length);
    try {
      const result = await llama.withPredictor(settings.windowTokens, settings.topK, (p) => encodeMixed(p, vocabulary, llama.tokenizeLoose(text), bytes, bits, settings, Infinity, undefined, tuning));
      assert.ok(result, `encodes ${JSON.stringify(text.slice(0, 40))}`);
      return result.payload;
    } finally {
      bits.close();
    }
  }

  async function decode(payload: Uint8Array, length: number, cm: ContextModel, tuning: MixTuning = MIX_TUNING): Promise<string> {
    const bits = cm.openRecord(length);
    try {
      return Buffer.from(await llama.withPredictor(settings.windowTokens, settings.topK, (p) => decodeMixed(p, vocabulary, payload, length, bits, settings, tuning))).toString("utf8");
    } finally {
      bits.close();
    }
  }

  it("the vocabulary spells every text: SentencePiece's space prefix is the lead, byte-fallback tokens are single bytes", () => {
    for (const text of ["Once upon a time", " Once", "中文", "\nx"]) {
      const split = mixTokens(vocabulary, llama.tokenizeLoose(text), Buffer.from(text, "utf8"));
      assert.ok(split, text);
      assert.equal(split.lead, 1, text);
    }
    assert.equal(mixTokens(vocabulary, llama.tokenizeLoose("Once"), Buffer.from("Twice")), null);
  });

  it("round-trips stories, dev records in English and Chinese, and odd UTF-8 exactly, with the base cm", async () => {
    const stories = readFileSync(join(ROOT, "bench", "data", "stories.jsonl"), "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .slice(0, 4)
      .map((l) => (JSON.parse(l) as { text: string }).text);
    const dev = devCorpus();
    const en = dev.filter((r) => r.lang === "en" && Buffer.byteLength(r.text) < 400).slice(0, 4);
    const zh = dev.filter((r) => r.lang === "zh" && Buffer.byteLength(r.text) < 400).slice(0, 3);
    const texts = [...stories, ...en.map((r) => r.text), ...zh.map((r) => r.text), ...oddTexts(16)];
    for (const text of texts) {
      const payload = await encode(text, base);
      assert.equal(await decode(payload, Buffer.byteLength(text), base), text, JSON.stringify(text.slice(0, 60)));
    }
  });

  it("a token fed and taken back leaves the model's next distributions bit-identical (speculation is exact)", async () => {
    const tokens = llama.tokenizeLoose("Once upon a time, there was a little girl named Lily. She loved to play outside.");
    const run = (speculate: boolean) =>
      llama.withPredictor(settings.windowTokens, settings.topK, async (p) => {
        await p.reset();
        const out = [await p.feed(llama.bosToken, true)];
        for (const token of tokens) {
          if (speculate) {
            for (const other of [token, (token + 1) % llama.vocabularySize]) {
              await p.feed(other, true);
              await p.unfeed();
            }
          }
          out.push(await p.feed(token, true));
        }
        return out.map((d) => (d ? { tokens: Array.from(d.tokens), probabilities: Array.from(d.probabilities) } : null));
      });
    const plain = await run(false);
    assert.deepEqual(await run(true), plain);
  });

  it("every segmentation, speculation and mixer setting round-trips (greedy: longest or likely cut, always or never speculating, APM; coded ends)", async () => {
    const texts = ["Once upon a time, there was a little girl named Lily. She loved to play in the park.", "apt-get install -y foo; 中文 text — ok", "  lead spaces"];
    const tunings: MixTuning[] = [
      { ...MIX_TUNING, segmentation: "greedy", cut: "longest", speculate: 0, select: false, apm: true },
      { ...MIX_TUNING, segmentation: "greedy", cut: "likely", speculate: 4097 },
      { ...MIX_TUNING, segmentation: "coded" },
    ];
    for (const tuning of tunings) {
      for (const text of texts) {
        const payload = await encode(text, base, tuning);
        assert.equal(await decode(payload, Buffer.byteLength(text), base, tuning), text, `${JSON.stringify(tuning)} ${text}`);
      }
    }
  });

  it("records are independent: the same text codes to the same bytes before and after others (cm rolled back)", async () => {
    const text = "Tom had a red ball. Tom liked the ball.";
    const first = await encode(text, base);
    await encode("Something else entirely, 中文 too.", base);
    assert.deepEqual(await encode(text, base), first);
  });

  it("a payload decoded with another cm snapshot does not give the text back", async () => {
    const other = loadSnapshot(encodeSnapshot([Buffer.from("zzzz qqqq zzzz qqqq ".repeat(50))], { params: { tableBits: 18, matchBits: 12 } })).model;
    const text = "The dog ran to the park and played with a stick all day.";
    const payload = await encode(text, base);
    let decoded: string | undefined;
    try {
      decoded = await decode(payload, Buffer.byteLength(text), other);
    } catch (error) {
      assert.ok(error instanceof RangeError, String(error));
    }
    assert.notEqual(decoded, text);
  });
});
