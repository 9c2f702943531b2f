import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { createHash } from "node:crypto";
import type { Asset, Codec } from "../../src/codec/codec.js";
import { decodeEnvelope, matchingAssets, encodeEnvelope } from "../../src/codec/envelope-codec.js";
import { createCodecs } from "../../src/codec/registry.js";
import { isMemzipError } from "../../src/errors.js";
import { ASSET_TRAINERS } from "../../src/model/asset-trainers.js";
import { seededRandom } from "../../src/core/stats.js";
import { devCorpus } from "../helpers.js";

const MUTATIONS = 12_000;

describe("envelope fuzzing", () => {
  it(`${MUTATIONS} random mutations and truncations end in a typed error or the exact original`, () => {
    const encoder = new TextEncoder();
    const corpus = devCorpus().map((r) => encoder.encode(r.text));
    const codecs = createCodecs({ zstdLevel: 19 });
    const assets = new Map<string, Asset>();
    for (const kind of Object.keys(ASSET_TRAINERS) as (keyof typeof ASSET_TRAINERS)[]) {
      const bytes = ASSET_TRAINERS[kind](corpus.slice(0, 400), {});
      assets.set(kind, { id: createHash("sha256").update(bytes).digest("hex"), kind, bytes });
    }
    const resolve = (ref: Uint8Array) => matchingAssets(assets.values(), ref);
    const random = seededRandom(42);
    const valid = [...codecs.byName.values()].flatMap((codec: Codec) =>
      corpus
        .slice(380, 420)
        .map((original) => ({ original, envelope: encodeEnvelope(codec, original, codec.requires ? assets.get(codec.requires) : undefined) }))
        .flatMap(({ original, envelope }) => (envelope ? [{ original, envelope }] : [])),
    );
    const outcomes = { error: 0, exact: 0 };
    for (let i = 0; i < MUTATIONS; i++) {
      const { original, envelope } = valid[Math.floor(random() * valid.length)] as { original: Uint8Array; envelope: Uint8Array };
      const mutated = mutate(envelope, random);
      try {
        const decoded = decodeEnvelope(mutated, codecs.byId, resolve, 1 << 24);
        assert.ok(Buffer.from(decoded).equals(original), "a mutated envelope decoded to other text");
        outcomes.exact++;
      } catch (error) {
        assert.ok(isMemzipError(error), `untyped error: ${String(error)}`);
        outcomes.error++;
      }
    }
    assert.equal(outcomes.error + outcomes.exact, MUTATIONS);
    assert.ok(outcomes.error > MUTATIONS / 2);
  });
});

function mutate(envelope: Uint8Array, random: () => number): Uint8Array {
  const copy = envelope.slice();
  switch (Math.floor(random() * 4)) {
    case 0:
      return copy.subarray(0, Math.floor(random() * copy.length));
    case 1: {
      const at = Math.floor(random() * copy.length);
      copy[at] = (copy[at] as number) ^ (1 << Math.floor(random() * 8));
      return copy;
    }
    case 2: {
      for (let n = 1 + Math.floor(random() * 8); n > 0; n--) copy[Math.floor(random() * copy.length)] = Math.floor(random() * 256);
      return copy;
    }
    default: {
      const extra = new Uint8Array(copy.length + 1 + Math.floor(random() * 16));
      extra.set(copy);
      for (let i = copy.length; i < extra.length; i++) extra[i] = Math.floor(random() * 256);
      return extra;
    }
  }
}
