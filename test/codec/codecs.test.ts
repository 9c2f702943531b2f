import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { createHash } from "node:crypto";
import type { Asset, Codec } from "../../src/codec/codec.js";
import { decodeEnvelope, encodeEnvelope, refMatches } from "../../src/codec/envelope-codec.js";
import { createCodecs, type CodecName } from "../../src/codec/registry.js";
import { ASSET_TRAINERS, type TrainableAssetKind } from "../../src/model/asset-trainers.js";
import { seededRandom } from "../../src/core/stats.js";
import { devCorpus, randomTexts } from "../helpers.js";

const encoder = new TextEncoder();
const codecs = createCodecs({ zstdLevel: 19 });
const corpusBytes = devCorpus().map((r) => encoder.encode(r.text));

function assetFor(codec: Codec): Asset | undefined {
  if (!codec.requires) return undefined;
  const bytes = ASSET_TRAINERS[codec.requires as TrainableAssetKind](corpusBytes.slice(0, 1500), {});
  return { id: createHash("sha256").update(bytes).digest("hex"), kind: codec.requires, bytes };
}

/**
 * The shared suite every lossless codec runs — except `cm-ref`, which only stores texts its
 * snapshot learned from and declines the rest (tested in cm.test.ts).
 */
for (const name of [...codecs.byName.keys()].filter((n) => n !== "cm-ref") as CodecName[]) {
  const codec = codecs.byName.get(name) as Codec;
  const asset = assetFor(codec);
  const resolve = (ref: Uint8Array) => (asset && refMatches(asset, ref) ? asset : undefined);
  const roundTrip = (bytes: Uint8Array) => {
    const envelope = encodeEnvelope(codec, bytes, asset);
    assert.ok(envelope, `${name} declined`);
    return { envelope, decoded: decodeEnvelope(envelope, codecs.byId, resolve, 1 << 24) };
  };

  describe(`codec ${name}`, () => {
    it("round-trips every dev-corpus record exactly", () => {
      let stored = 0;
      for (const bytes of corpusBytes) {
        const { envelope, decoded } = roundTrip(bytes);
        assert.ok(Buffer.from(decoded).equals(bytes));
        stored += envelope.length;
      }
      assert.ok(stored > 0);
    });

    it("round-trips random strings (ASCII, CJK, emoji, control characters, long repeats)", () => {
      for (const text of randomTexts(300, seededRandom(name.length * 7919))) {
        const bytes = encoder.encode(text);
        assert.equal(Buffer.from(roundTrip(bytes).decoded).toString("utf8"), text);
      }
    });

    if (asset) {
      it("refuses to decode without its asset", () => {
        const envelope = encodeEnvelope(codec, corpusBytes[0] as Uint8Array, asset) as Uint8Array;
        assert.throws(() => decodeEnvelope(envelope, codecs.byId, () => undefined, 1 << 24), { code: "E_MISSING_ASSET" });
      });
    }
  });
}

describe("codec sizes against references in the same run", () => {
  it("zstd-dict beats plain zstd per record on held-out records", () => {
    const dictCodec = codecs.byName.get("zstd-dict") as Codec;
    const zstd = codecs.byName.get("zstd") as Codec;
    const asset = assetFor(dictCodec);
    const heldOut = corpusBytes.slice(1500);
    const size = (codec: Codec, a?: Asset) => heldOut.reduce((s, b) => s + (encodeEnvelope(codec, b, a) as Uint8Array).length, 0);
    assert.ok(size(dictCodec, asset) < size(zstd) * 0.8);
  });
});
