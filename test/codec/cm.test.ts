import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Asset, Codec } from "../../src/codec/codec.js";
import { createCmCodec } from "../../src/codec/cm.js";
import { CONTEXT_MODEL_DEFAULTS } from "../../src/codec/cm/context-model.js";
import { encodeSnapshot, loadSnapshot } from "../../src/codec/cm/snapshot.js";
import { createCmRefCodec } from "../../src/codec/cm-ref.js";
import { decodeEnvelope, encodeEnvelope, refMatches } from "../../src/codec/envelope-codec.js";
import { createCodecs } from "../../src/codec/registry.js";
import { RangeDecoder, RangeEncoder } from "../../src/codec/range-coder.js";
import { isMemzipError } from "../../src/errors.js";
import { trainZstdDictionary } from "../../src/model/zstd-dictionary.js";
import { seededRandom } from "../../src/core/stats.js";
import { ROOT, devCorpus, tempDir, spawnBounded } from "../helpers.js";

const encoder = new TextEncoder();
const corpus = devCorpus().map((r) => encoder.encode(r.text));

function snapshotAsset(samples: readonly Uint8Array[]): Asset {
  const bytes = encodeSnapshot(samples);
  return { id: createHash("sha256").update(bytes).digest("hex"), kind: "cm-snapshot", bytes };
}

describe("range coder", () => {
  it("round-trips random binary decisions and frequency symbols, extreme probabilities included", () => {
    const random = seededRandom(11);
    for (let trial = 0; trial < 300; trial++) {
      const ops: [number, number, number][] = [];
      for (let i = Math.floor(random() * 2000); i > 0; i--) {
        if (random() < 0.7) {
          const p = random() < 0.2 ? (random() < 0.5 ? 1 : 65535) : 1 + Math.floor(random() * 65535);
          ops.push([0, p, random() < p / 65536 ? 1 : 0]);
        } else {
          const bits = 1 + Math.floor(random() * 24);
          const cumulative = Math.floor(random() * 2 ** bits);
          ops.push([bits, cumulative, 1 + Math.floor(random() * (2 ** bits - cumulative))]);
        }
      }
      const rc = new RangeEncoder();
      for (const [bits, a, b] of ops) {
        if (bits === 0) rc.encodeBit(a, b);
        else rc.encodeFrequency(a, b, bits);
      }
      const decoder = new RangeDecoder(rc.finish());
      for (const [bits, a, b] of ops) {
        if (bits === 0) assert.equal(decoder.decodeBit(a), b);
        else {
          const at = decoder.peekFrequency(bits);
          assert.ok(at >= a && at < a + b);
          decoder.consume(a, b, bits);
        }
      }
    }
  });

  it("costs within 0.1 % of the ideal code length", () => {
    const random = seededRandom(5);
    const rc = new RangeEncoder();
    let ideal = 0;
    for (let i = 0; i < 200_000; i++) {
      const p = 1 + Math.floor(random() * 65535);
      const bit = random() < p / 65536 ? 1 : 0;
      rc.encodeBit(p, bit);
      ideal -= Math.log2(bit ? p / 65536 : 1 - p / 65536);
    }
    const actual = rc.finish().length * 8;
    assert.ok(actual < ideal * 1.001 + 64, `${actual} bits vs ideal ${ideal.toFixed(0)}`);
  });
});

describe("cm codec", () => {
  const asset = snapshotAsset(corpus.slice(0, 1500));

  it("snapshots keep their training records and model sizes, coded smaller than zstd would", () => {
    const { model, samples } = loadSnapshot(asset.bytes);
    assert.deepEqual(model.params, CONTEXT_MODEL_DEFAULTS);
    assert.equal(samples.length, 1500);
    samples.forEach((sample, i) => assert.ok(Buffer.from(sample).equals(corpus[i] as Uint8Array)));
    const text = corpus.slice(0, 1500).reduce((sum, r) => sum + r.length, 0);
    assert.ok(asset.bytes.length * 8 < text * 2.3, `${((asset.bytes.length * 8) / text).toFixed(3)} bits/byte`);
    assert.throws(() => loadSnapshot(asset.bytes.subarray(0, asset.bytes.length - 200)), RangeError);
    const flipped = asset.bytes.slice();
    flipped[flipped.length - 1000] = (flipped[flipped.length - 1000] as number) ^ 0x10;
    assert.throws(() => loadSnapshot(flipped), RangeError);
  });

  it("cm-ref stores a text the snapshot learned from as its position, and declines others", () => {
    const ref = createCmRefCodec();
    const payload = ref.encode(corpus[1234] as Uint8Array, asset) as Uint8Array;
    assert.ok(payload.length <= 2);
    assert.ok(Buffer.from(ref.decode(payload, (corpus[1234] as Uint8Array).length, asset)).equals(corpus[1234] as Uint8Array));
    assert.equal(ref.encode(corpus[1600] as Uint8Array, asset), null);
    assert.throws(() => ref.decode(Uint8Array.of(0xff, 0x7f), 10, asset), RangeError);
  });

  it("codes each record from the frozen snapshot: the same payload alone, after others, in another instance", () => {
    const first = createCmCodec();
    const heldOut = corpus.slice(1500, 1560);
    const payloads = heldOut.map((r) => first.encode(r, asset) as Uint8Array);
    const again = createCmCodec();
    const reversed = [...heldOut].reverse().map((r) => again.encode(r, asset) as Uint8Array).reverse();
    payloads.forEach((p, i) => assert.ok(Buffer.from(p).equals(reversed[i] as Uint8Array)));
    for (let i = heldOut.length - 1; i >= 0; i--) {
      assert.ok(Buffer.from(first.decode(payloads[i] as Uint8Array, (heldOut[i] as Uint8Array).length, asset)).equals(heldOut[i] as Uint8Array));
    }
  });

  it("beats zstd-dict trained on the same records, per record on held-out text", () => {
    const codecs = createCodecs({ zstdLevel: 19 });
    const dictBytes = trainZstdDictionary(corpus.slice(0, 1500));
    const dictionary: Asset = { id: createHash("sha256").update(dictBytes).digest("hex"), kind: "zstd-dictionary", bytes: dictBytes };
    const heldOut = corpus.slice(1500, 1700);
    const size = (name: "cm" | "zstd-dict", a: Asset) => heldOut.reduce((s, r) => s + (encodeEnvelope(codecs.byName.get(name) as Codec, r, a) as Uint8Array).length, 0);
    assert.ok(size("cm", asset) < size("zstd-dict", dictionary) * 0.85);
  });

  it("codes a record too long to roll back, then codes the next one as a fresh model would", () => {
    const codec = createCmCodec();
    const long = Buffer.concat(corpus.slice(1500, 1800));
    assert.ok(long.length > 64 * 1024);
    const payload = codec.encode(long, asset) as Uint8Array;
    assert.ok(Buffer.from(codec.decode(payload, long.length, asset)).equals(long));
    const short = corpus[1900] as Uint8Array;
    assert.ok(Buffer.from(codec.encode(short, asset) as Uint8Array).equals(createCmCodec().encode(short, asset) as Uint8Array));
  });

  it("a payload written by one process decodes in another", () => {
    using dir = tempDir();
    const snapshotFile = join(dir.path, "snapshot.bin");
    writeFileSync(snapshotFile, asset.bytes);
    const script = `
      import { readFileSync, writeFileSync } from "node:fs";
      import { createCmCodec } from ${JSON.stringify(join(ROOT, "dist/src/codec/cm.js"))};
      import { encodeEnvelope } from ${JSON.stringify(join(ROOT, "dist/src/codec/envelope-codec.js"))};
      const bytes = readFileSync(${JSON.stringify(snapshotFile)});
      const asset = { id: ${JSON.stringify(asset.id)}, kind: "cm-snapshot", bytes };
      const lines = readFileSync(0, "utf8").split("\\n").filter(Boolean);
      const codec = createCmCodec();
      const out = lines.map((l) => Buffer.from(encodeEnvelope(codec, Buffer.from(l, "base64"), asset)).toString("base64"));
      writeFileSync(${JSON.stringify(join(dir.path, "out.txt"))}, out.join("\\n"));`;
    const records = corpus.slice(1700, 1740);
    const child = spawnBounded(process.execPath, ["--input-type=module", "-e", script], { input: records.map((r) => Buffer.from(r).toString("base64")).join("\n") });
    assert.equal(child.status, 0, child.stderr.toString());
    const envelopes = readFileSync(join(dir.path, "out.txt"), "utf8").split("\n").map((l) => Buffer.from(l, "base64"));
    const codecs = createCodecs({ zstdLevel: 19 });
    const resolve = (ref: Uint8Array) => (refMatches(asset, ref) ? asset : undefined);
    envelopes.forEach((envelope, i) => assert.ok(Buffer.from(decodeEnvelope(envelope, codecs.byId, resolve, 1 << 24)).equals(records[i] as Uint8Array)));
  });

  it("a different snapshot with the same reference fails the checksum instead of returning text", () => {
    const codecs = createCodecs({ zstdLevel: 19 });
    const other = snapshotAsset(corpus.slice(500, 1500));
    const envelope = encodeEnvelope(codecs.byName.get("cm") as Codec, corpus[1800] as Uint8Array, asset) as Uint8Array;
    assert.throws(() => decodeEnvelope(envelope, codecs.byId, () => other, 1 << 24), (e) => isMemzipError(e, "E_CHECKSUM") || isMemzipError(e, "E_FORMAT"));
  });
});
