import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { checksum32 } from "../../src/codec/checksum.js";
import { openEnvelope, readVarint, sealEnvelope, varintLength, writeVarint } from "../../src/codec/envelope.js";
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

describe("envelope v1", () => {
  const original = bytes("hello, 世界");
  const payload = Uint8Array.of(9, 8, 7);
  const asset = Uint8Array.of(1, 2, 3, 4);

  it("round-trips header fields, references and payload", () => {
    const sealed = sealEnvelope(2, original, payload, { asset });
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
    const sealed = sealEnvelope(1, original, payload, { asset });
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
