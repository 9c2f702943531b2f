import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { decodeWith } from "../../src/codec/async-codec.js";
import type { Asset } from "../../src/codec/codec.js";
import { openEnvelope, sealEnvelope } from "../../src/codec/envelope.js";
import { CODEC_IDS } from "../../src/codec/ids.js";
import { chooseSmallest } from "../../src/codec/policy.js";
import { CodecRegistry } from "../../src/codec/registry.js";
import type { RegisteredModel } from "../../src/core/store.js";
import { isMemzipError } from "../../src/errors.js";
import { createLlmCodec, LLM_BUDGET_SLACK, type LlmCodecBackend } from "../../src/model/llm-codec.js";
import { LLM_DEFAULTS } from "../../src/model/llm-coder.js";

const model: RegisteredModel = { fingerprint: "ab".repeat(32), name: "fake", path: "/nowhere.gguf", size: 1, mtime: 1, architecture: "llama", vocabularySize: 256, contextLength: 512, addedAt: 1 };
const prefix: Asset = { id: "cd".repeat(32), kind: "llm-prefix", bytes: new TextEncoder().encode("once upon a time") };

/** A stand-in for LlmCoder: "codes" a text as its first byte when the text is one repeated byte, and records every call. */
function fakeCoder(verified = false) {
  const calls: { budget: number; prefix: Asset | undefined; signal: AbortSignal | undefined }[] = [];
  const decodes: (Asset | undefined)[] = [];
  const coder: LlmCodecBackend = {
    options: LLM_DEFAULTS,
    async encode(_text, original, _model, budget = Infinity, asset, signal) {
      calls.push({ budget, prefix: asset, signal });
      if (!original.every((b) => b === original[0])) return null;
      const envelope = sealEnvelope(CODEC_IDS.llm, original, Uint8Array.of(original[0] as number), { model: new Uint8Array(4), engine: new Uint8Array(4), ...(asset ? { asset: Buffer.from(asset.id.slice(0, 8), "hex") } : {}) });
      return envelope.length > budget ? null : { envelope, tokens: 1, escapes: 0, crossEntropyBits: 1, tableBits: 1, ...(verified ? { verified: true } : {}) };
    },
    async decode(opened, resolveAsset) {
      decodes.push(opened.asset ? await resolveAsset(opened.asset) : undefined);
      return new Uint8Array(opened.originalLength).fill(opened.payload[0] as number);
    },
  };
  return { coder, calls, decodes };
}

describe("the llm codec (LlmCoder inside the codec abstraction)", () => {
  it("passes budget, priming asset and signal to the coder, and declines without a model", async () => {
    const { coder, calls } = fakeCoder();
    const original = new Uint8Array(40).fill(7);
    const signal = new AbortController().signal;
    assert.equal(await createLlmCodec(coder).encode(original, { budget: Infinity }), null);
    assert.equal(calls.length, 0);
    const codec = createLlmCodec(coder, model);
    assert.equal(codec.id, 5);
    assert.equal(codec.budgetSlack, LLM_BUDGET_SLACK);
    const envelope = await codec.encode(original, { asset: prefix, budget: 100, signal });
    assert.ok(envelope);
    assert.deepEqual(calls, [{ budget: 100, prefix, signal }]);
    assert.equal(codec.proven?.(envelope), false, "not proven unless the coder's worker decoded it");
    assert.equal(await codec.encode(new TextEncoder().encode("not one repeated byte"), { budget: 100 }), null);
  });

  it("trusts the proof of a model worker that decoded its envelope", async () => {
    const codec = createLlmCodec(fakeCoder(true).coder, model);
    const envelope = (await codec.encode(new Uint8Array(40).fill(1), { budget: Infinity })) as Uint8Array;
    assert.equal(codec.proven?.(envelope), true);
  });

  it("decodes through the registry with its optional priming asset; a missing one is E_MISSING_ASSET", async () => {
    const { coder, decodes } = fakeCoder();
    const registry = CodecRegistry.builtIn({ zstdLevel: 3 }).register(createLlmCodec(coder));
    const writer = createLlmCodec(coder, model);
    const original = new Uint8Array(50).fill(9);
    const primed = (await writer.encode(original, { asset: prefix, budget: Infinity })) as Uint8Array;
    const plain = (await writer.encode(original, { budget: Infinity })) as Uint8Array;
    const resolve = (ref: Uint8Array) => (Buffer.from(ref).toString("hex") === prefix.id.slice(0, 8) ? prefix : undefined);
    assert.deepEqual(await decodeWith(registry, primed, resolve, 1 << 20), original);
    assert.deepEqual(await decodeWith(registry, plain, resolve, 1 << 20), original);
    assert.deepEqual(decodes, [prefix, undefined]);
    await assert.rejects(decodeWith(registry, primed, () => undefined, 1 << 20), (e: unknown) => isMemzipError(e, "E_MISSING_ASSET"));
    assert.equal(openEnvelope(primed, 1 << 20).codecId, CODEC_IDS.llm);
  });

  it("takes part in the policy loop like any codec: the smallest proven envelope wins, raw otherwise", async () => {
    const { coder, calls } = fakeCoder();
    const registry = CodecRegistry.builtIn({ zstdLevel: 3 }).register(createLlmCodec(coder));
    const writer = createLlmCodec(coder, model);
    const decode = (e: Uint8Array) => decodeWith(registry, e, () => undefined, 1 << 20);
    const zstd = { codec: registry.named("zstd")! };
    const raw = { codec: registry.named("raw")! };
    const runs = new Uint8Array(300).fill(65);
    const won = await chooseSmallest(runs, [zstd, raw, { codec: writer }], { rawBelow: 16, decode });
    assert.equal(won.codec.name, "llm");
    const zstdSize = (await zstd.codec.encode(runs, { budget: Infinity }))!.length;
    assert.equal(calls[0]?.budget, zstdSize - 1, "the model gets the smallest proven size so far, less one");
    const text = new TextEncoder().encode("an ordinary sentence that the fake model cannot code");
    assert.equal((await chooseSmallest(text, [zstd, raw, { codec: writer }], { rawBelow: 16, decode })).codec.name, "raw");
  });
});
