import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { checksum32 } from "../../src/codec/checksum.js";
import { ENVELOPE_VERSION, openEnvelope, readVarint, sealEnvelope, varintLength, writeVarint } from "../../src/codec/envelope.js";
import { seededRandom } from "../../src/core/stats.js";
import { isMemzipError } from "../../src/errors.js";

const bytes = (s: string) => new TextEncoder().encode(s);

describe("checksum32 (XXH32, seed 0)", () => {
  it("matches the reference vectors", () => {
    assert.equal(checksum32(bytes("")), 0x02cc5d05);
    assert.equal(checksum32(bytes("a")), 0x550d7456);
    assert.equal(checksum32(bytes("abc")), 0x32d153ff);
  });
});

describe("varint", () => {
  it("round-trips lengths across byte boundaries", () => {
    for (const value of [0, 1, 127, 128, 16383, 16384, 2 ** 21, 2 ** 28 - 1, 2 ** 32]) {
      const out = new Uint8Array(8);
      const end = writeVarint(out, 0, value);
      assert.equal(end, varintLength(value));
      assert.deepEqual(readVarint(out, 0), [value, end]);
    }
  });

  it("refuses non-minimal and overlong encodings", () => {
    assert.throws(() => readVarint(Uint8Array.of(0x80, 0x00), 0), (e) => isMemzipError(e, "E_FORMAT"));
    assert.throws(() => readVarint(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x01), 0), (e) => isMemzipError(e, "E_FORMAT"));
  });
});

describe("envelope v1 (still read; written only when asked)", () => {
  const original = bytes("hello, 世界");
  const payload = Uint8Array.of(9, 8, 7);
  const asset = Uint8Array.of(1, 2, 3, 4);

  it("round-trips header fields, references and payload", () => {
    const sealed = sealEnvelope(2, original, payload, { asset }, 1);
    const opened = openEnvelope(sealed, 1 << 20);
    assert.equal(opened.codecId, 2);
    assert.equal(opened.originalLength, original.length);
    assert.equal(opened.checksum, checksum32(original));
    assert.deepEqual(opened.asset, asset);
    assert.equal(opened.model, undefined);
    assert.deepEqual([...opened.payload], [...payload]);
    assert.equal(sealed.length, 3 + 1 + 4 + 4 + payload.length);
  });

  it("refuses wrong magic, unknown version and flags, truncation and absurd lengths with typed errors", () => {
    const sealed = sealEnvelope(1, original, payload, { asset }, 1);
    const mutate = (at: number, value: number) => {
      const copy = sealed.slice();
      copy[at] = value;
      return copy;
    };
    assert.throws(() => openEnvelope(mutate(0, 0x00), 1 << 20), (e) => isMemzipError(e, "E_FORMAT"));
    assert.throws(() => openEnvelope(mutate(1, 0x91), 1 << 20), (e) => isMemzipError(e, "E_VERSION"));
    assert.throws(() => openEnvelope(mutate(1, 0x18), 1 << 20), (e) => isMemzipError(e, "E_FORMAT"));
    assert.throws(() => openEnvelope(sealed.subarray(0, 10), 1 << 20), (e) => isMemzipError(e, "E_FORMAT"));
    assert.throws(() => openEnvelope(sealed, 4), (e) => isMemzipError(e, "E_FORMAT"));
  });
});

describe("envelope v2 (written by every new encode)", () => {
  const original = bytes("hello, 世界");
  const payload = Uint8Array.of(9, 8, 7);
  const asset = Uint8Array.of(0xa1, 2, 3, 4);

  it("is the version new encodes write: one magic/flags byte, the codec, length, checksum, a 1-byte asset hint", () => {
    assert.equal(ENVELOPE_VERSION, 2);
    const sealed = sealEnvelope(3, original, payload, { asset });
    assert.equal(sealed[0], 0xb9);
    assert.equal(sealed[1], 3);
    assert.equal(sealed.length, 2 + 1 + 4 + 1 + payload.length);
    assert.equal(sealed.length, sealEnvelope(3, original, payload, { asset }, 1).length - 4);
    const opened = openEnvelope(sealed, 1 << 20);
    assert.equal(opened.version, 2);
    assert.equal(opened.codecId, 3);
    assert.equal(opened.originalLength, original.length);
    assert.equal(opened.checksum, checksum32(original));
    assert.deepEqual([...(opened.asset ?? [])], [0xa1]);
    assert.deepEqual([...opened.payload], [...payload]);
    assert.equal(opened.headerLength, sealed.length - payload.length);
  });

  it("llm envelopes keep 4-byte asset, model and engine references", () => {
    const model = Uint8Array.of(5, 6, 7, 8);
    const engine = Uint8Array.of(9, 10, 11, 12);
    const sealed = sealEnvelope(5, original, payload, { asset, model, engine });
    assert.equal(sealed.length, 2 + 1 + 4 + 12 + payload.length);
    const opened = openEnvelope(sealed, 1 << 20);
    assert.deepEqual(opened.asset, asset);
    assert.deepEqual(opened.model, model);
    assert.deepEqual(opened.engine, engine);
  });

  it("both versions round-trip every flag combination, codec byte and length (seeded property run)", () => {
    const random = seededRandom(16);
    const int = (n: number) => Math.floor(random() * n);
    for (let run = 0; run < 2000; run++) {
      const version = (1 + int(2)) as 1 | 2;
      const codecId = int(256);
      const text = new Uint8Array(1 + (random() < 0.1 ? int(70000) : int(300))).map(() => int(256));
      const body = new Uint8Array(1 + int(40)).map(() => int(256));
      const ref = () => Uint8Array.from({ length: 4 }, () => int(256));
      const refs = { ...(random() < 0.5 ? { asset: ref() } : {}), ...(random() < 0.3 ? { model: ref() } : {}), ...(random() < 0.3 ? { engine: ref() } : {}) };
      const sealed = sealEnvelope(codecId, text, body, refs, version);
      const opened = openEnvelope(sealed, 1 << 20);
      const assetBytes = version === 1 || codecId === 5 ? 4 : 1;
      assert.equal(opened.version, version);
      assert.equal(opened.codecId, codecId);
      assert.equal(opened.originalLength, text.length);
      assert.equal(opened.checksum, checksum32(text));
      assert.deepEqual(opened.asset, refs.asset?.slice(0, assetBytes));
      assert.deepEqual(opened.model, refs.model);
      assert.deepEqual(opened.engine, refs.engine);
      assert.deepEqual([...opened.payload], [...body]);
      const refBytes = (refs.asset ? assetBytes : 0) + (refs.model ? 4 : 0) + (refs.engine ? 4 : 0);
      assert.equal(sealed.length, (version === 1 ? 3 : 2) + varintLength(text.length) + 4 + refBytes + body.length);
    }
  });

  it("a corrupted or truncated version 2 header is a typed error, never another header", () => {
    const sealed = sealEnvelope(3, original, payload, { asset });
    const mutate = (at: number, value: number) => {
      const copy = sealed.slice();
      copy[at] = value;
      return copy;
    };
    // Magic bits other than 10111 (0xb0 is neither version's magic; 0xc0 is past it).
    for (const first of [0x00, 0xb0, 0xb6, 0xc1, 0xf9, 0x39]) assert.throws(() => openEnvelope(mutate(0, first), 1 << 20), (e) => isMemzipError(e, "E_FORMAT"), `first byte ${first}`);
    // The asset flag set with the model flag too: the references no longer fit the bytes.
    assert.throws(() => openEnvelope(mutate(0, 0xbf).subarray(0, 2 + 1 + 4 + 1 + 4), 1 << 20), (e) => isMemzipError(e, "E_FORMAT"));
    // A zero or oversized length, a non-minimal varint, a truncated checksum or hint.
    assert.throws(() => openEnvelope(mutate(2, 0), 1 << 20), (e) => isMemzipError(e, "E_FORMAT"));
    assert.throws(() => openEnvelope(sealed, original.length - 1), (e) => isMemzipError(e, "E_FORMAT"));
    assert.throws(() => openEnvelope(Uint8Array.of(0xb8, 0, 0x8d, 0x00, 1, 2, 3, 4, 5), 1 << 20), (e) => isMemzipError(e, "E_FORMAT"));
    for (let cut = 0; cut < 8; cut++) assert.throws(() => openEnvelope(sealed.subarray(0, cut), 1 << 20), (e) => isMemzipError(e, "E_FORMAT"), `cut at ${cut}`);
    // A version 1 magic with version 2 in its version nibble is not how version 2 is written: E_VERSION.
    assert.throws(() => openEnvelope(Uint8Array.of(0xb7, 0x20, 3, 13, 1, 2, 3, 4, 1, 2), 1 << 20), (e) => isMemzipError(e, "E_VERSION"));
  });
});
