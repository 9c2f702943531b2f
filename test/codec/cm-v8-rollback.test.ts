// Review of stop 28 (model version 8): the byte-above table's rows, the s28 block and mixer 3's new selection must leave
// no trace after a record. These tests compare the frozen model's persistent memory itself, not only payloads: every
// byte from the counters to the above table's row marks and row count is the snapshot's again after any record.
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import type { Asset } from "../../src/codec/codec.js";
import type { ContextModel } from "../../src/codec/cm/context-model.js";
import { readDerivedSnapshot, writeDerivedSnapshot } from "../../src/codec/cm/derived-state.js";
import { encodeSnapshot, loadSnapshot } from "../../src/codec/cm/snapshot.js";
import { memoryDerivedStore } from "../../src/quality/cm-versions-bench.js";
import { devTexts, smallModel } from "./cm-io-cases.js";

const encoder = new TextEncoder();
/** Version 8's layout (asm/context-model.ts): the state block's i64 slots for `counters` and `pristineOrder0`. */
const COUNTERS_SLOT = 24;
const PRISTINE_ORDER0_SLOT = 560;
/** ABOVE_TABLE_BYTES (257 rows × 256 counters × 4): aboveRows() lies there; its marks (257, padded to 260) and the row count (i32) end at +264. */
const ABOVE_ROWS_AT = 257 * 256 * 4;
const ROWS_LIST_AT = 264;

/** The model's persistent memory between records: the counters (orders 0-1, the above table, hashed, scratch), the match tables, every mixer's weights and pristine copies, the APM, the match counters, the above table's frozen copy and its row marks and count. */
function persistent(model: ContextModel): Buffer {
  const { memory, stateAt } = model.saveState();
  const view = new DataView(memory.buffer, memory.byteOffset, memory.byteLength);
  const from = Number(view.getBigInt64(stateAt + COUNTERS_SLOT, true));
  const pristineOrder0 = Number(view.getBigInt64(stateAt + PRISTINE_ORDER0_SLOT, true));
  assert.ok(pristineOrder0 > from);
  return Buffer.from(memory.subarray(from, pristineOrder0 + ABOVE_ROWS_AT + ROWS_LIST_AT));
}

/** Records built to use many rows of the above table: lines of every byte value, long lines, empty lines, CRLF, Chinese. */
function lineRecords(): Uint8Array[] {
  const lines = (count: number, line: (i: number) => string) => encoder.encode(Array.from({ length: count }, (_, i) => line(i)).join(""));
  return [
    lines(40, () => "abcdefgh\n"),
    lines(5, (i) => `${"x".repeat(300 + i)}\n`),
    Uint8Array.from({ length: 4000 }, (_, i) => (i % 17 === 16 ? 10 : (i * 37) & 255)),
    Uint8Array.from({ length: 3000 }, (_, i) => (i % 9 === 8 ? 10 : 0)),
    Uint8Array.from({ length: 3000 }, (_, i) => (i % 9 === 8 ? 10 : 255)),
    lines(60, (i) => `中文行 ${i}\r\n`),
    encoder.encode("a\n\n\n\nb\n".repeat(100)),
    ...devTexts.slice(1500, 1530),
  ];
}

describe("cm model version 8: a record leaves the frozen model's memory as the snapshot's", () => {
  it("after encodes and decodes of line-heavy records, every persistent byte is the snapshot's again (above rows, marks, count)", () => {
    const model = smallModel(8);
    const before = persistent(model);
    const records = lineRecords();
    const payloads = records.map((bytes) => model.encodeRecordBytes(bytes));
    for (const [i, bytes] of records.entries()) assert.ok(Buffer.from(model.decodeRecordBytes(bytes.length, payloads[i] as Uint8Array)).equals(Buffer.from(bytes)), `record ${i}`);
    const after = persistent(model);
    const first = before.findIndex((byte, i) => byte !== after[i]);
    assert.equal(first, -1, `the first byte that differs is at ${first} of ${before.length}`);
  });

  it("after a corrupt payload's overrun and a record over the undo log's 64 KiB, the memory is the snapshot's and payloads are a fresh model's", () => {
    const fresh = smallModel(8);
    const model = smallModel(8);
    const before = persistent(model);
    const records = lineRecords();
    const expected = records.map((bytes) => Buffer.from(fresh.encodeRecordBytes(bytes)));
    // A truncated payload: the decoder reads zeros past its end; where it overruns, the record still ends.
    for (const [i, bytes] of records.entries()) {
      try {
        model.decodeRecordBytes(bytes.length, (expected[i] as Buffer).subarray(0, 2));
      } catch {
        // an overrun (RangeError) is one of the outcomes under test
      }
    }
    assert.equal(persistent(model).compare(before), 0, "after the truncated payloads");
    const long = Buffer.concat(devTexts.slice(1600, 1900)).subarray(0, 70_000);
    const longPayload = model.encodeRecordBytes(long);
    assert.ok(Buffer.from(model.decodeRecordBytes(long.length, longPayload)).equals(long));
    assert.equal(persistent(model).compare(before), 0, "after the long record (the model was rebuilt)");
    for (const [i, bytes] of [...records.entries()].reverse()) assert.ok(Buffer.from(model.encodeRecordBytes(bytes)).equals(expected[i] as Buffer), `record ${i}`);
  });

  it("a model loaded from the derived state codes each record, in any order, to the trained model's payload", () => {
    const samples = devTexts.slice(0, 150);
    const bytes = encodeSnapshot(samples, { params: { tableBits: 18, matchBits: 16 }, version: 8 });
    const asset: Asset = { id: createHash("sha256").update(bytes).digest("hex"), kind: "cm-snapshot", bytes };
    const trained = loadSnapshot(bytes);
    const store = memoryDerivedStore();
    writeDerivedSnapshot(store, asset, trained);
    const loaded = readDerivedSnapshot(store, asset)?.loadModel();
    assert.ok(loaded, "the derived state loads");
    assert.equal(persistent(loaded).compare(persistent(trained.model)), 0, "the loaded model's memory is the trained one's");
    const records = lineRecords();
    const expected = records.map((record) => Buffer.from(trained.model.encodeRecordBytes(record)));
    const order = records.map((_, i) => (i * 7) % records.length);
    assert.equal(new Set(order).size, records.length);
    for (const i of order) {
      const record = records[i] as Uint8Array;
      assert.ok(Buffer.from(loaded.encodeRecordBytes(record)).equals(expected[i] as Buffer), `record ${i} encodes differently from the derived state`);
      assert.ok(Buffer.from(loaded.decodeRecordBytes(record.length, expected[i] as Buffer)).equals(Buffer.from(record)), `record ${i} does not decode from the derived state`);
    }
  });
});
