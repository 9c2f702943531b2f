import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { createHash } from "node:crypto";
import { decodeWith, liftCodec, type AsyncCodec } from "../../src/codec/async-codec.js";
import type { Asset, Codec } from "../../src/codec/codec.js";
import { decodeEnvelope, matchingAssets } from "../../src/codec/envelope-codec.js";
import { sealEnvelope } from "../../src/codec/envelope.js";
import { chooseSmallest, chooseSmallestVerified, type CodecCandidate } from "../../src/codec/policy.js";
import { CodecRegistry, createCodecs } from "../../src/codec/registry.js";
import { MemzipError, ErrorCode } from "../../src/errors.js";
import { ASSET_TRAINERS } from "../../src/model/asset-trainers.js";
import { seededRandom } from "../../src/core/stats.js";
import { devCorpus } from "../helpers.js";

/** How a generated codec behaves on the one input of a trial. */
interface Behaviour {
  /** Payload bytes it produces. */
  size: number;
  outcome: "good" | "corrupt" | "throws-on-decode" | "declines" | "throws-on-encode";
  /** A pure synchronous codec (lifted), or an async one that may honour its budget. */
  sync: boolean;
  honoursBudget: boolean;
}

interface Generated {
  codec: AsyncCodec;
  behaviour: Behaviour;
  budgets: number[];
  decodes: number;
}

/** A codec that does on `original` what `behaviour` says; its decode rebuilds `original` only when the outcome is `good`. */
function generatedCodec(index: number, behaviour: Behaviour, original: Uint8Array): Generated {
  const generated: Generated = { codec: undefined as unknown as AsyncCodec, behaviour, budgets: [], decodes: 0 };
  const id = 100 + index;
  const payload = new Uint8Array(behaviour.size).fill(index);
  const decode = (): Uint8Array => {
    generated.decodes++;
    if (behaviour.outcome === "throws-on-decode") throw new RangeError("cannot decode");
    const out = original.slice();
    if (behaviour.outcome === "corrupt") out[0] = (out[0] as number) ^ 1;
    return out;
  };
  if (behaviour.sync) {
    const core: Codec = {
      name: `g${index}`,
      id,
      encode: () => {
        if (behaviour.outcome === "throws-on-encode") throw new Error("broken asset");
        return behaviour.outcome === "declines" ? null : payload;
      },
      decode,
    };
    generated.codec = liftCodec(core);
  } else {
    generated.codec = {
      name: `g${index}`,
      id,
      async encode(input, { budget }) {
        generated.budgets.push(budget);
        if (behaviour.outcome === "throws-on-encode") throw new Error("model failed");
        if (behaviour.outcome === "declines") return null;
        const envelope = sealEnvelope(id, input, payload);
        return behaviour.honoursBudget && envelope.length > budget ? null : envelope;
      },
      decode: async () => decode(),
    };
  }
  return generated;
}

function randomBehaviour(random: () => number): Behaviour {
  const outcomes: Behaviour["outcome"][] = ["good", "good", "good", "corrupt", "throws-on-decode", "declines", "throws-on-encode"];
  return {
    size: 1 + Math.floor(random() * 60),
    outcome: outcomes[Math.floor(random() * outcomes.length)] as Behaviour["outcome"],
    sync: random() < 0.5,
    honoursBudget: random() < 0.7,
  };
}

function trial(random: () => number) {
  const original = new TextEncoder().encode("x".repeat(20 + Math.floor(random() * 40)));
  const count = Math.floor(random() * 7);
  const generated = Array.from({ length: count }, (_, i) => generatedCodec(i, randomBehaviour(random), original));
  const registry = new CodecRegistry().register(liftCodec(createCodecs({ zstdLevel: 3 }).byName.get("raw") as Codec));
  for (const g of generated) registry.register(g.codec);
  const decode = (envelope: Uint8Array) => decodeWith(registry, envelope, () => undefined, 1 << 20);
  return { original, generated, decode, candidates: generated.map((g): CodecCandidate => ({ codec: g.codec })) };
}

/** Envelope length of a generated output: the sealed header around `size` payload bytes. */
const envelopeLength = (original: Uint8Array, size: number) => sealEnvelope(0, original, new Uint8Array(size)).length;

describe("policy loop (seeded property tests)", () => {
  it("returns the smallest verified envelope (the earlier candidate on equal sizes), else raw, and never an unverified one", async () => {
    const random = seededRandom(1313);
    for (let t = 0; t < 400; t++) {
      const { original, generated, decode, candidates } = trial(random);
      const choice = await chooseSmallest(original, candidates, { rawBelow: 16, decode });
      const rawLength = envelopeLength(original, original.length);
      const good = generated.filter((g) => g.behaviour.outcome === "good");
      const smallest = Math.min(...good.map((g) => envelopeLength(original, g.behaviour.size)));
      const expected = smallest < Infinity ? good.find((g) => envelopeLength(original, g.behaviour.size) === smallest)?.codec.name : "raw";
      assert.equal(choice.codec.name, expected, `trial ${t}`);
      assert.equal(choice.envelope.length, smallest < Infinity ? smallest : rawLength, `trial ${t}`);
      assert.ok(Buffer.from(await decode(choice.envelope)).equals(original), `trial ${t}: the choice decodes back`);
      // Only codecs that failed are reported, and every codec whose encode threw is.
      const failed = new Set(generated.filter((g) => g.behaviour.outcome !== "good" && g.behaviour.outcome !== "declines").map((g) => g.codec.name));
      for (const name of choice.verifyFailures) assert.ok(failed.has(name), `trial ${t}: ${name} reported but did not fail`);
      for (const g of generated) if (g.behaviour.outcome === "throws-on-encode") assert.ok(choice.verifyFailures.includes(g.codec.name), `trial ${t}`);
    }
  });

  it("gives each codec that uses a budget the smallest proven size so far, less one (unlimited before anything is proven)", async () => {
    const random = seededRandom(77);
    for (let t = 0; t < 300; t++) {
      const { original, generated, decode, candidates } = trial(random);
      // Replays the rule: outputs that decode back wait until an async codec runs (or the end); then the smallest is proven.
      let proven = Infinity;
      let pending: number[] = [];
      const expectedBudgets = generated.map((g) => {
        const budgets: number[] = [];
        if (!g.behaviour.sync) {
          proven = Math.min(proven, ...pending);
          pending = [];
          budgets.push(proven === Infinity ? Infinity : proven - 1);
        }
        const length = envelopeLength(original, g.behaviour.size);
        const withinBudget = g.behaviour.sync || !g.behaviour.honoursBudget || length <= (budgets[0] as number);
        if (g.behaviour.outcome === "good" && withinBudget && length < proven) pending.push(length);
        return budgets;
      });
      await chooseSmallest(original, candidates, { rawBelow: 16, decode });
      generated.forEach((g, i) => assert.deepEqual(g.budgets, expectedBudgets[i], `trial ${t}, codec ${i}`));
    }
  });

  it("proves pure codecs lazily: only the smallest output is decoded when it holds", async () => {
    const original = new TextEncoder().encode("a text long enough for the candidates");
    const generated = [30, 10, 20].map((size, i) => generatedCodec(i, { size, outcome: "good", sync: true, honoursBudget: false }, original));
    const registry = new CodecRegistry();
    for (const g of generated) registry.register(g.codec);
    const choice = await chooseSmallest(original, generated.map((g) => ({ codec: g.codec })), { rawBelow: 16, decode: (e) => decodeWith(registry, e, () => undefined, 1 << 20) });
    assert.equal(choice.codec.name, "g1");
    assert.deepEqual(generated.map((g) => g.decodes), [0, 1, 0]);
  });

  it("a codec's budget against its own envelope carries its slack; a forced list without raw gives the first an unlimited budget", async () => {
    const original = new TextEncoder().encode("y".repeat(30));
    const budgets: number[] = [];
    const sizes = [40, 38, 45];
    const slackCodec: AsyncCodec = {
      name: "model",
      id: 150,
      budgetSlack: 8,
      async encode(input, { budget }) {
        budgets.push(budget);
        return sealEnvelope(150, input, new Uint8Array(sizes[budgets.length - 1] as number));
      },
      decode: async () => original.slice(),
    };
    const registry = new CodecRegistry().register(slackCodec);
    const decode = (e: Uint8Array) => decodeWith(registry, e, () => undefined, 1 << 20);
    const choice = await chooseSmallest(original, [{ codec: slackCodec }, { codec: slackCodec }, { codec: slackCodec }], { rawBelow: 16, decode });
    const header = envelopeLength(original, 0);
    assert.deepEqual(budgets, [Infinity, header + 40 + 8, header + 38 + 8]);
    assert.equal(choice.envelope.length, header + 38, "the smaller of its own envelopes wins; a larger one never does");
    assert.ok(choice.envelope.length > envelopeLength(original, original.length), "forced: it wins over raw although raw is smaller");
  });

  it("stores raw below rawBelow without trying any candidate, and starts from a proven choice when given one", async () => {
    const original = new TextEncoder().encode("short");
    const g = generatedCodec(0, { size: 1, outcome: "good", sync: false, honoursBudget: true }, original);
    const registry = new CodecRegistry().register(g.codec).register(liftCodec(createCodecs({ zstdLevel: 3 }).byName.get("raw") as Codec));
    const decode = (e: Uint8Array) => decodeWith(registry, e, () => undefined, 1 << 20);
    assert.equal((await chooseSmallest(original, [{ codec: g.codec }], { rawBelow: 16, decode })).codec.name, "raw");
    assert.deepEqual(g.budgets, []);
    const start = { codec: registry.named("raw") as AsyncCodec, asset: undefined, envelope: new Uint8Array(7), verifyFailures: ["zstd"] };
    const choice = await chooseSmallest(original, [{ codec: g.codec }], { rawBelow: 0, decode, start });
    assert.deepEqual(g.budgets, [6]);
    assert.equal(choice.codec.name, "raw", "an 8-byte (version 2) envelope does not beat the 7-byte start");
    assert.deepEqual(choice.verifyFailures, ["zstd"]);
  });

  it("rethrows what classify calls fatal, and leaves skipped failures out of verifyFailures", async () => {
    const original = new TextEncoder().encode("a text long enough for the candidates");
    const thrower = generatedCodec(0, { size: 5, outcome: "throws-on-encode", sync: false, honoursBudget: true }, original);
    const registry = new CodecRegistry().register(liftCodec(createCodecs({ zstdLevel: 3 }).byName.get("raw") as Codec)).register(thrower.codec);
    const decode = (e: Uint8Array) => decodeWith(registry, e, () => undefined, 1 << 20);
    const fatal = new MemzipError(ErrorCode.MISSING_MODEL, "gone");
    await assert.rejects(chooseSmallest(original, [{ codec: thrower.codec }], { rawBelow: 16, decode, attempt: () => Promise.reject(fatal), classify: () => "fatal" }), (e) => e === fatal);
    const skipped = await chooseSmallest(original, [{ codec: thrower.codec }], { rawBelow: 16, decode, classify: () => "skip" });
    assert.deepEqual(skipped.verifyFailures, []);
    assert.equal(skipped.codec.name, "raw");
  });
});

describe("policy loop on the real codecs", () => {
  it("chooses exactly what the synchronous fast path (the worker pool's) chooses, with assets", async () => {
    const encoder = new TextEncoder();
    const corpus = devCorpus().map((r) => encoder.encode(r.text));
    const codecs = createCodecs({ zstdLevel: 19 });
    const assets: Asset[] = (["zstd-dictionary", "cm-snapshot"] as const).map((kind) => {
      const bytes = ASSET_TRAINERS[kind](corpus.slice(0, 300), {});
      return { id: createHash("sha256").update(bytes).digest("hex"), kind, bytes };
    });
    const resolve = (ref: Uint8Array) => matchingAssets(assets, ref);
    const sync = [...codecs.byName.values()].map((codec) => ({ codec, ...(codec.requires ? { asset: assets.find((a) => a.kind === codec.requires) as Asset } : {}) }));
    const registry = CodecRegistry.builtIn({ zstdLevel: 19 });
    const lifted = sync.map(({ codec, asset }) => ({ codec: registry.named(codec.name) as AsyncCodec, ...(asset ? { asset } : {}) }));
    const won = new Set<string>();
    for (const original of [...corpus.slice(0, 40), ...corpus.slice(300, 340), encoder.encode("tiny")]) {
      const local = chooseSmallestVerified(original, sync, (e) => decodeEnvelope(e, codecs.byId, resolve, 1 << 24), 16);
      const looped = await chooseSmallest(original, lifted, { rawBelow: 16, decode: (e) => decodeWith(registry, e, resolve, 1 << 24) });
      assert.equal(looped.codec.name, local.codec.name);
      assert.equal(looped.asset?.id, local.asset?.id);
      assert.deepEqual(Buffer.from(looped.envelope), Buffer.from(local.envelope));
      won.add(looped.codec.name);
    }
    assert.ok(won.has("cm-ref") && won.has("raw") && won.size >= 3, `winners: ${[...won].join(", ")}`);
  });
});
