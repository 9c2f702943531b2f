/**
 * Hostile review of the record I/O path of model version 6 (review 27): `encodeRecordBytes` / `decodeRecordBytes`, the
 * range coder inside the WebAssembly, checked against the JavaScript coder's path (`encodeRecord` / `decodeRecord` with
 * a RangeEncoder / RangeDecoder, which is what the cm codec ran before) on the same model. A small model keeps it quick.
 */
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { ContextModel, type ModelVersion } from "../../src/codec/cm/context-model.js";
import { RangeDecoder, RangeEncoder } from "../../src/codec/range-coder.js";
import { seededRandom } from "../../src/core/stats.js";
import { devTexts, jsPayload, smallModel } from "./cm-io-cases.js";

const encoder = new TextEncoder();
const texts = devTexts;
const trained = (version: ModelVersion = 6, from = 0): ContextModel => smallModel(version, from);

type Outcome = Buffer | string;
function outcome(run: () => Uint8Array): Outcome {
  try {
    return Buffer.from(run());
  } catch (error) {
    return `${(error as Error).constructor.name}: ${(error as Error).message}`;
  }
}
const jsDecode = (model: ContextModel, length: number, payload: Uint8Array): Outcome => outcome(() => model.decodeRecord(length, new RangeDecoder(payload)));
const ioDecode = (model: ContextModel, length: number, payload: Uint8Array): Outcome => outcome(() => model.decodeRecordBytes(length, payload));
function sameOutcome(actual: Outcome, expected: Outcome, what: string): void {
  if (typeof actual === "string" || typeof expected === "string") assert.equal(actual, expected, what);
  else assert.ok(actual.equals(expected), `${what}: other bytes than the JavaScript decoder's`);
}

/** A frozen copy of `model` through its saved state (what src/codec/cm/derived-state.ts stores and reads back). */
function restored(model: ContextModel): ContextModel {
  const { memory, stateAt } = model.saveState();
  const copy = memory.slice();
  const clone = ContextModel.fromState(model.params, model.version, model.trainingTexts, copy.length, stateAt, (view) => {
    view.set(copy);
    return true;
  });
  assert.ok(clone, "the saved state does not load");
  return clone;
}

/** The bytes of the model's linear memory (what a derived state stores). */
const memoryBytes = (model: ContextModel): number => model.saveState().memory.length;

/** Seeded records of the kinds the coder must carry. */
function records(): Uint8Array[] {
  const random = seededRandom(2727);
  const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
  const out: Uint8Array[] = [new Uint8Array(0), Uint8Array.of(0), Uint8Array.of(0xff), Uint8Array.from({ length: 256 }, (_, i) => i), Uint8Array.from({ length: 4096 }, (_, i) => (i * 37) & 255)];
  for (let i = 0; i < 12; i++) out.push(bytes(1 + Math.floor(random() * 3000)));
  for (let i = 0; i < 8; i++) {
    const parts: Uint8Array[] = [];
    for (let k = 0; k < 60; k++) {
      const r = random();
      if (r < 0.5) parts.push(encoder.encode(String.fromCodePoint(0x4e00 + Math.floor(random() * 2000))));
      else if (r < 0.7) parts.push(Uint8Array.of(0x80 + Math.floor(random() * 64))); // a stray continuation byte
      else if (r < 0.8) parts.push(Uint8Array.of(0xe4, 0xb8)); // a cut 3-byte sequence
      else if (r < 0.9) parts.push(encoder.encode("😀"));
      else parts.push(Uint8Array.of(0xf0 + Math.floor(random() * 8)));
    }
    out.push(Buffer.concat(parts));
  }
  for (const byte of [0, 0x20, 0xff]) out.push(new Uint8Array(20_000).fill(byte));
  out.push(Buffer.concat(Array.from({ length: 400 }, () => texts[3] as Uint8Array)));
  const long = Buffer.concat(texts.slice(1000, 2000));
  for (const n of [65535, 65536, 65537, 200 * 1024]) out.push(long.subarray(0, n));
  out.push(...texts.slice(1500, 1540));
  return out;
}

describe("cm record I/O (model version 6) under hostile use", () => {
  it("codes seeded records (every byte value, broken UTF-8, long runs, 0 and 1 byte, 64 KiB ± 1, 200 KiB, dev records) to the JavaScript coder's payloads, with carries through pending 0xFF bytes exercised", () => {
    // Count the JavaScript encoder's carries into pending 0xFF bytes while it codes (its private state, read here only).
    const proto = RangeEncoder.prototype as unknown as { shiftLow(this: { low: number; pendingFFs: number }): void };
    const shiftLow = proto.shiftLow;
    let carriesThroughPending = 0;
    proto.shiftLow = function (this: { low: number; pendingFFs: number }) {
      if (this.low >= 2 ** 48 && this.pendingFFs > 0) carriesThroughPending++;
      shiftLow.call(this);
    };
    try {
      const model = trained();
      for (const [i, bytes] of records().entries()) {
        const expected = jsPayload(model, bytes);
        const payload = Buffer.from(model.encodeRecordBytes(bytes));
        assert.ok(payload.equals(expected), `record ${i} (${bytes.length} bytes)`);
        assert.ok(Buffer.from(model.decodeRecordBytes(bytes.length, payload)).equals(Buffer.from(bytes)), `record ${i} does not decode`);
      }
    } finally {
      proto.shiftLow = shiftLow;
    }
    assert.ok(carriesThroughPending > 10, `only ${carriesThroughPending} carries through pending 0xFF bytes`);
  });

  it("hostile payloads decode to what the JavaScript decoder gives (bytes, or the same RangeError): empty, 1 byte, 0xFF fills, random, every truncation, other lengths, another snapshot's payloads, 10 MiB with a tiny payload", () => {
    const model = trained();
    const other = trained(6, 300);
    const random = seededRandom(27);
    const source = texts[1510] as Uint8Array;
    const good = jsPayload(model, source);
    const cases: [number, Uint8Array][] = [];
    for (let cut = 0; cut <= good.length; cut++) cases.push([source.length, good.subarray(0, cut)]);
    for (const length of [0, 1, 2, source.length - 1, source.length + 1, source.length * 2, 5000, 65536]) cases.push([length, good]);
    const fills = [new Uint8Array(0), Uint8Array.of(0), Uint8Array.of(0xff), new Uint8Array(6).fill(0xff), new Uint8Array(4096).fill(0xff)];
    const randoms = [7, 300, 5000].map((n) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256)));
    for (const payload of [...fills, ...randoms]) for (const length of [0, 1, 100, 3000]) cases.push([length, payload]);
    for (const bytes of texts.slice(1700, 1710)) cases.push([bytes.length, jsPayload(other, bytes)]);
    cases.push([10 * 1024 * 1024, Uint8Array.of(1, 2, 3)], [10 * 1024 * 1024, new Uint8Array(0)]);
    let errors = 0;
    for (const [k, [length, payload]] of cases.entries()) {
      const expected = jsDecode(model, length, payload);
      if (typeof expected === "string") errors++;
      sameOutcome(ioDecode(model, length, payload), expected, `case ${k}: length ${length}, payload ${payload.length} bytes`);
    }
    assert.ok(errors > 50, `only ${errors} cases were caught as overrunning`);
    // The same hostile calls again do not grow the memory further (the I/O area is laid out from the same place).
    for (const [length, payload] of cases.slice(0, 40)) ioDecode(model, length, payload);
    const high = memoryBytes(model);
    for (const [length, payload] of cases.slice(0, 40)) ioDecode(model, length, payload);
    assert.equal(memoryBytes(model), high);
    // After all of them (two rebuilds included) the model codes as a fresh one does.
    const fresh = trained();
    for (const bytes of texts.slice(1500, 1510)) assert.ok(Buffer.from(model.encodeRecordBytes(bytes)).equals(jsPayload(fresh, bytes)));
  });

  it("a saved state taken after records of growing sizes (the history and undo log regrown, a > 64 KiB record that rebuilds the model) loads and codes the same payloads", () => {
    const model = trained();
    const heldOut = [...texts.slice(1520, 1530), new Uint8Array(0)];
    const expected = heldOut.map((bytes) => jsPayload(model, bytes));
    const long = Buffer.concat(texts.slice(200, 1400));
    for (const n of [1, 1000, 30_000, 65_536, 65_537, 200 * 1024, 3000]) {
      const record = long.subarray(0, n);
      assert.ok(Buffer.from(model.decodeRecordBytes(n, model.encodeRecordBytes(record))).equals(record), `${n} bytes`);
      for (const copy of [restored(model), restored(restored(model))]) {
        heldOut.forEach((bytes, i) => {
          const payload = Buffer.from(copy.encodeRecordBytes(bytes));
          assert.ok(payload.equals(expected[i] as Buffer), `restored after ${n} bytes: held-out record ${i}`);
          assert.ok(Buffer.from(copy.decodeRecordBytes(bytes.length, payload)).equals(Buffer.from(bytes)));
        });
      }
    }
  });

  it("two models of one snapshot, interleaved, with failing decodes between records, stay correct", () => {
    const a = trained();
    const b = restored(a);
    const fresh = trained();
    let errors = 0;
    for (const [i, bytes] of texts.slice(1540, 1560).entries()) {
      const payload = Buffer.from(a.encodeRecordBytes(bytes));
      assert.ok(payload.equals(jsPayload(fresh, bytes)), `record ${i}`);
      const truncated = payload.subarray(0, payload.length >> 1);
      const expected = jsDecode(fresh, bytes.length + 500, truncated);
      if (typeof expected === "string") errors++;
      sameOutcome(ioDecode(b, bytes.length + 500, truncated), expected, `record ${i} truncated`);
      assert.ok(Buffer.from(b.decodeRecordBytes(bytes.length, payload)).equals(Buffer.from(bytes)), `record ${i} on the other model`);
      sameOutcome(ioDecode(a, 4000, Uint8Array.of(0x55)), jsDecode(fresh, 4000, Uint8Array.of(0x55)), "4000 bytes from 1");
      sameOutcome(ioDecode(a, 4000, payload), jsDecode(fresh, 4000, payload), `record ${i} as 4000 bytes`);
    }
    assert.ok(errors > 0, "no decode failed in between");
  });

  it("older model versions (2-5) keep the JavaScript coder's payloads through encodeRecordBytes / decodeRecordBytes", () => {
    for (const version of [2, 3, 4, 5] as const) {
      const model = trained(version);
      for (const bytes of [...texts.slice(1500, 1504), new Uint8Array(0), Uint8Array.of(0xff)]) {
        const payload = Buffer.from(model.encodeRecordBytes(bytes));
        assert.ok(payload.equals(jsPayload(model, bytes)), `version ${version}`);
        assert.ok(Buffer.from(model.decodeRecordBytes(bytes.length, payload)).equals(Buffer.from(bytes)));
      }
    }
  });

  // Review27 F1 (MEDIUM, fixed): the whole payload was copied into the model's linear memory, which never shrinks: a
  // 32 MiB payload for a 1-byte record grew it by 32 MiB for the life of the model (and a derived state saved afterwards
  // carried it). The decoder cannot read past 6 + 16 × length bytes (every probability is in 1..65535, so a bit shifts at
  // most two bytes), so no more is copied; the JavaScript path kept nothing.
  it("a huge payload for a short record does not grow the model's memory (the decoder reads at most 6 + 16 bytes a byte of it)", () => {
    const model = trained();
    ioDecode(model, 1, Uint8Array.of(0x20)); // the I/O area laid out once
    const before = memoryBytes(model);
    const payload = Uint8Array.from({ length: 32 << 20 }, (_, i) => (i * 2654435761) >>> 24);
    sameOutcome(ioDecode(model, 1, payload), jsDecode(model, 1, payload), "1 byte from 32 MiB");
    const grown = memoryBytes(model) - before;
    assert.ok(grown < 1 << 20, `the model's memory grew by ${grown} bytes and keeps them`);
  });

  // Review27 F2 (LOW, fixed): a length of 2^31 or more reached the WebAssembly as a negative i32: nothing was decoded,
  // recordIO grew the memory by the length, and decodeRecordBytes returned `length` bytes of raw linear memory (earlier
  // records' I/O areas included) with no error. F3 (LOW, older than the record I/O): a length near 2^30 overflowed the
  // history's capacity doubling and hung the thread. Lengths are checked before anything is reserved.
  it("a length of 2^30, 2^31 or one that is not a whole number is refused with a RangeError before anything is reserved, on every entry point", () => {
    const model = trained();
    const secret = encoder.encode("review27 secret ".repeat(500));
    model.encodeRecordBytes(secret);
    const before = memoryBytes(model);
    for (const length of [2 ** 30, 2 ** 31, 2 ** 32 + 5, -1, 1.5, Number.NaN]) {
      const result = ioDecode(model, length, Uint8Array.of(1, 2, 3));
      assert.equal(typeof result, "string", `${length} bytes came back with no error`);
      assert.match(result as string, /^RangeError: a cm record is 0 to \d+ bytes long/);
      assert.match(jsDecode(model, length, Uint8Array.of(1, 2, 3)) as string, /^RangeError: a cm record/);
      assert.throws(() => model.openRecord(length), RangeError);
    }
    assert.equal(memoryBytes(model), before, "a refused length reserved memory");
    // The model codes as before afterwards.
    assert.ok(Buffer.from(model.decodeRecordBytes(secret.length, model.encodeRecordBytes(secret))).equals(Buffer.from(secret)));
  });
});
