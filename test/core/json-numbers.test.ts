import { strict as assert } from "node:assert";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { inexactInteger } from "../../src/core/json-numbers.js";
import { readJsonlRecords } from "../../src/pipeline/jsonl.js";
import { tempDir } from "../helpers.js";

/** A deterministic stream of 64-bit draws (xorshift), so a failure names its case and reruns the same. */
function* draws(seed: bigint, count: number): Generator<bigint> {
  let x = seed;
  for (let i = 0; i < count; i++) {
    x ^= (x << 13n) & 0xffffffffffffffffn;
    x ^= x >> 7n;
    x ^= (x << 17n) & 0xffffffffffffffffn;
    yield x;
  }
}

describe("JSON integers memzip cannot keep (trial56: a snowflake id in meta lost its last digits without a word)", () => {
  it("names exactly the integer literals JSON.parse changes, outside strings, whatever their length", () => {
    for (const draw of draws(0x9e3779b97f4a7c15n, 5_000)) {
      // Lengths from 1 to 20 digits, either sign.
      const digits = Number(draw % 20n) + 1;
      const magnitude = (draw >> 8n) % 10n ** BigInt(digits);
      const literal = `${draw & 1n ? "-" : ""}${magnitude}`;
      // Changed: neither its exact value nor the shortest text of the double it reads as (what JSON.stringify writes).
      const changes = BigInt(Number(literal)) !== BigInt(literal) && String(Number(literal)) !== literal;
      const text = `{"meta":{"n":${literal},"s":"${literal}"},"text":"t"}`;
      assert.equal(inexactInteger(text), changes ? literal.replace(/^-0$/, "0") : undefined, text);
    }
  });

  it("leaves strings, escapes, fractions and exponents alone", () => {
    assert.equal(inexactInteger(`{"id":"1234567890123456789","q":"say \\"1234567890123456789\\""}`), undefined);
    assert.equal(inexactInteger(`[12345678901234567.5, 1234567890123456789e0, 1e400, 9007199254740992, -9007199254740992]`), undefined);
    assert.equal(inexactInteger(`[9007199254740993]`), "9007199254740993");
    assert.equal(inexactInteger(`{"a":[1,{"b":-12345678901234567891}]}`), "-12345678901234567891");
    assert.equal(inexactInteger(`[${"9".repeat(400)}]`), "9".repeat(400), "past a double's range");
    // What JavaScript writes reads back as the same double: an export of such a value imports again (review of stop 56).
    for (const value of [2 ** 60, 1.7335000001234568e18, -(2 ** 55) - 8, Number.MAX_SAFE_INTEGER + 1]) {
      assert.equal(inexactInteger(JSON.stringify({ n: value })), undefined, JSON.stringify({ n: value }));
    }
  });

  it("a JSONL line holding one is rejected, naming the number; the other lines are read", async () => {
    using dir = tempDir();
    const file = join(dir.path, "snowflakes.jsonl");
    writeFileSync(file, ['{"id":"a","text":"kept","meta":{"discord":"1234567890123456789"}}', '{"id":"b","text":"refused","meta":{"discord":1234567890123456789}}', '{"id":"c","text":"kept too","meta":{"n":9007199254740991}}'].join("\n"));
    const items = [];
    for await (const item of readJsonlRecords(file)) items.push(item);
    assert.deepEqual(
      items.map((item) => (item.ok ? item.record.id : `${item.error.code}: ${item.error.message}`)),
      ["a", "E_INVALID_INPUT: line 2: the number 1234567890123456789 cannot be kept exactly: JSON numbers are doubles, exact only up to ±2^53 (it would read back as 1234567890123456800)", "c"],
    );
  });
});
