import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { Bool, Field, Float64, Int64, List, Struct, Table, TimestampMicrosecond, Utf8, makeData, makeVector, tableToIPC, vectorFromArray } from "apache-arrow";
import { memoriesFromArrow } from "../../src/pipeline/arrow.js";
import { parseMemoryRecord } from "../../src/pipeline/records.js";

/** What an import makes of each row: the record, or the error's code and message. */
function read(table: Table) {
  return [...memoriesFromArrow(tableToIPC(table, "file"))].map((item) => ("record" in item ? item.record : `${item.error.code}: ${item.error.message}`));
}

/** A Utf8 column from raw bytes per row (apache-arrow's builders only take valid strings). */
function utf8FromBytes(rows: Uint8Array[]) {
  const offsets = new Int32Array(rows.length + 1);
  rows.forEach((row, i) => (offsets[i + 1] = (offsets[i] as number) + row.length));
  const values = new Uint8Array(offsets[rows.length] as number);
  rows.forEach((row, i) => values.set(row, offsets[i] as number));
  return makeVector(makeData({ type: new Utf8(), length: rows.length, nullCount: 0, valueOffsets: offsets, data: values }));
}

describe("Arrow import: the columns pyarrow writes, read as written or refused (trial56)", () => {
  it("refuses a text that is not UTF-8 instead of storing U+FFFD", () => {
    const table = new Table({ id: vectorFromArray(["ok", "bad"], new Utf8()), text: utf8FromBytes([Buffer.from("fine"), Uint8Array.of(0xff, 0xfe, 0xc0, 0xaf)]) });
    const rows = read(table);
    assert.deepEqual((rows[0] as { text: string }).text, "fine");
    assert.match(String(rows[1]), /^E_INVALID_INPUT: row 1: the text column is not valid UTF-8/);
  });

  it("reads tags as a list of strings, meta as a struct, timestamps in any unit, and keeps other columns in meta", () => {
    const table = new Table({
      id: vectorFromArray(["a"], new Utf8()),
      text: vectorFromArray(["a memory"], new Utf8()),
      tags: vectorFromArray([["x", "y"]], new List(new Field("item", new Utf8(), true))),
      meta: vectorFromArray([{ team: "core", n: 2 }], new Struct([new Field("team", new Utf8(), true), new Field("n", new Float64(), true)])),
      // apache-arrow takes and gives ms whatever the unit; the file holds microseconds.
      created_at: vectorFromArray([1_700_000_000_123], new TimestampMicrosecond()),
      source: vectorFromArray(["import"], new Utf8()),
      score: vectorFromArray([0.5], new Float64()),
      reviewed: vectorFromArray([true], new Bool()),
      count: vectorFromArray([12n], new Int64()),
    });
    const [record] = read(table);
    assert.deepEqual(record, { id: "a", text: "a memory", tags: ["x", "y"], meta: { source: "import", score: 0.5, reviewed: true, count: 12, team: "core", n: 2 }, createdAt: 1_700_000_000_123 });
  });

  it("refuses a 64-bit integer a double cannot keep, in a column or in meta's JSON text", () => {
    const big = new Table({ text: vectorFromArray(["t"], new Utf8()), snowflake: vectorFromArray([1234567890123456789n], new Int64()) });
    assert.match(String(read(big)[0]), /^E_INVALID_INPUT: row 0: column snowflake holds 1234567890123456789, which a JSON number/);
    const inText = new Table({ text: vectorFromArray(["t"], new Utf8()), meta: vectorFromArray(['{"id":1234567890123456789}'], new Utf8()) });
    assert.match(String(read(inText)[0]), /^E_INVALID_INPUT: row 0: the meta column: the number 1234567890123456789 cannot be kept exactly/);
  });

  it("reads meta as pyarrow infers it (int64, nested structs, lists), passes over columns of other types and missing values (review of stop 56)", () => {
    const struct = new Struct([
      new Field("n", new Int64(), true),
      new Field("inner", new Struct([new Field("ok", new Bool(), true)]), true),
      new Field("list", new List(new Field("item", new Utf8(), true)), true),
    ]);
    const table = new Table({
      text: vectorFromArray(["first", "second"], new Utf8()),
      meta: vectorFromArray([{ n: 2n, inner: { ok: true }, list: ["a"] }, { n: 3n, inner: { ok: false }, list: [] }], struct),
      // An embedding column is not imported (as before), and refuses no row.
      embedding: vectorFromArray([[0.5, 0.25], [1, 2]], new List(new Field("item", new Float64(), true))),
      // Missing values (null, pandas' NaN) name no key: no clash with meta's own "source".
      source: vectorFromArray([null, "csv"], new Utf8()),
      score: vectorFromArray([Number.NaN, 1.5], new Float64()),
    });
    const rows = read(table);
    assert.deepEqual(rows[0], { text: "first", meta: { n: 2, inner: { ok: true }, list: ["a"] } });
    assert.deepEqual(rows[1], { text: "second", meta: { source: "csv", score: 1.5, n: 3, inner: { ok: false }, list: [] } });
  });

  it("refuses a column named as a JSONL field (createdAt, expiresAt), and text that is not UTF-8 in any column", () => {
    const misnamed = new Table({ text: vectorFromArray(["t"], new Utf8()), expiresAt: vectorFromArray([5], new Float64()) });
    assert.throws(() => read(misnamed), /column expiresAt, which memzip would not read as meta/);
    const extra = new Table({ text: vectorFromArray(["t"], new Utf8()), src: utf8FromBytes([Uint8Array.of(0x61, 0xff)]) });
    assert.match(String(read(extra)[0]), /^E_INVALID_INPUT: row 0: the src column is not valid UTF-8/);
  });
});

describe("a record's field that its meta also names (trial56: the field was dropped without a word)", () => {
  it("is refused, naming the key; distinct names still go to meta", () => {
    assert.throws(() => parseMemoryRecord({ text: "t", source: "s", meta: { source: "m" } }, "line 1"), (error: Error & { code?: string }) => {
      assert.equal(error.code, "E_INVALID_INPUT");
      assert.match(error.message, /"source" is both a field of the record and a key of its "meta"/);
      return true;
    });
    assert.deepEqual(parseMemoryRecord({ text: "t", source: "s", meta: { team: "m" } }, "line 1").meta, { source: "s", team: "m" });
  });
});
