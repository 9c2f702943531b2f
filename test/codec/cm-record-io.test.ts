import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import type { ContextModel } from "../../src/codec/cm/context-model.js";
import { RangeDecoder } from "../../src/codec/range-coder.js";
import { seededRandom } from "../../src/core/stats.js";
import { devTexts, jsPayload, smallModel } from "./cm-io-cases.js";

const encoder = new TextEncoder();
const texts = devTexts;
const trainedModel = (version: 5 | 6 | 7 | 8): ContextModel => smallModel(version);

/** What the JavaScript decoding path gives for a payload: the bytes, or the error's class and message. */
function jsDecode(model: ContextModel, length: number, payload: Uint8Array): Buffer | string {
  try {
    return Buffer.from(model.decodeRecord(length, new RangeDecoder(payload)));
  } catch (error) {
    return `${(error as Error).constructor.name}: ${(error as Error).message}`;
  }
}

function wasmDecode(model: ContextModel, length: number, payload: Uint8Array): Buffer | string {
  try {
    return Buffer.from(model.decodeRecordBytes(length, payload));
  } catch (error) {
    return `${(error as Error).constructor.name}: ${(error as Error).message}`;
  }
}

/** Seeded records of every kind the coder must carry: empty, one byte, random bytes, UTF-8 (with broken sequences), repeats of training text, dev records. */
function records(): Uint8Array[] {
  const random = seededRandom(1627);
  const out: Uint8Array[] = [new Uint8Array(0), Uint8Array.of(0), Uint8Array.of(0xff), Uint8Array.of(0x41), ...texts.slice(1500, 1540)];
  for (let i = 0; i < 48; i++) {
    const length = Math.floor(random() * 700);
    const kind = i % 4;
    if (kind === 0) out.push(Uint8Array.from({ length }, () => Math.floor(random() * 256)));
    else if (kind === 1) out.push(encoder.encode(Array.from({ length: Math.floor(length / 3) }, () => String.fromCodePoint(0x4e00 + Math.floor(random() * 400))).join("")));
    else if (kind === 2) out.push(Buffer.concat(Array.from({ length: 1 + Math.floor(random() * 5) }, () => texts[Math.floor(random() * 150)] as Uint8Array)).subarray(0, length));
    else out.push(Buffer.concat([encoder.encode("naïve café — 中文 ✓ "), Uint8Array.from({ length: length % 29 }, () => 0x80 + Math.floor(random() * 128)), Uint8Array.of(0xf0, 0x9f)]));
  }
  // Long runs: the same byte (long runs of pending 0xFF / carries in the coder) and a record over the 64 KiB undo log.
  out.push(new Uint8Array(3000).fill(0x20), new Uint8Array(2000).fill(0xff));
  out.push(Buffer.concat(texts.slice(1600, 1900)).subarray(0, 70_000));
  out.push(texts[1999] as Uint8Array);
  return out;
}

for (const version of [6, 7, 8] as const) {
  describe(`cm: the range coder inside the WebAssembly (model version ${version})`, () => {
    it("codes every record to the JavaScript range coder's payload, byte for byte, and decodes it, record after record", () => {
      const model = trainedModel(version);
      const all = records();
      assert.ok(all.some((r) => r.length > 64 * 1024) && all.some((r) => r.length === 0));
      for (const [i, bytes] of all.entries()) {
        const expected = jsPayload(model, bytes);
        const payload = Buffer.from(model.encodeRecordBytes(bytes));
        assert.ok(payload.equals(expected), `record ${i} (${bytes.length} bytes): ${payload.length} bytes, the JavaScript coder ${expected.length}`);
        assert.ok(Buffer.from(model.decodeRecordBytes(bytes.length, payload)).equals(Buffer.from(bytes)), `record ${i} does not decode`);
        assert.ok(Buffer.from(model.decodeRecord(bytes.length, new RangeDecoder(payload))).equals(Buffer.from(bytes)), `record ${i}: the JavaScript decoder disagrees`);
      }
      // The model was rolled back after each (and rebuilt after the long one): the first records code as before.
      for (const bytes of all.slice(0, 10)) assert.ok(Buffer.from(model.encodeRecordBytes(bytes)).equals(jsPayload(model, bytes)));
    });

    it("a corrupt or truncated payload gives what the JavaScript decoder gives: the same bytes, or the same RangeError; the model is rolled back after it", () => {
      const model = trainedModel(version);
      const random = seededRandom(99);
      const sources = [texts[1550] as Uint8Array, texts[1551] as Uint8Array, Buffer.concat(texts.slice(1560, 1580))];
      let errors = 0;
      for (const bytes of sources) {
        const payload = Buffer.from(model.encodeRecordBytes(bytes));
        const damaged: Uint8Array[] = [
          new Uint8Array(0),
          payload.subarray(0, 1),
          payload.subarray(0, payload.length >> 1),
          payload.subarray(0, payload.length - 1),
          Uint8Array.from(payload, (b, i) => (i === payload.length >> 2 ? b ^ 0x10 : b)),
          Uint8Array.from({ length: payload.length }, () => Math.floor(random() * 256)),
          new Uint8Array(payload.length).fill(0xff),
        ];
        for (const [k, bad] of damaged.entries()) {
          for (const length of [bytes.length, bytes.length * 4 + 100]) {
            const expected = jsDecode(model, length, bad);
            const actual = wasmDecode(model, length, bad);
            if (typeof expected === "string") errors++;
            if (typeof expected === "string" || typeof actual === "string") assert.equal(actual, expected, `damage ${k}, length ${length}`);
            else assert.ok(actual.equals(expected), `damage ${k}, length ${length}: other bytes than the JavaScript decoder's`);
          }
        }
        assert.ok(Buffer.from(model.decodeRecordBytes(bytes.length, payload)).equals(Buffer.from(bytes)), "after the damaged payloads the record no longer decodes");
      }
      assert.ok(errors > 0, "no damaged payload was caught as overrunning");
    });

    if (version === 6) it("older model versions keep the JavaScript coder and the same payloads", () => {
      const model = trainedModel(5);
      for (const bytes of texts.slice(1500, 1510)) {
        const payload = Buffer.from(model.encodeRecordBytes(bytes));
        assert.ok(payload.equals(jsPayload(model, bytes)));
        assert.ok(Buffer.from(model.decodeRecordBytes(bytes.length, payload)).equals(Buffer.from(bytes)));
      }
    });
  });
}
