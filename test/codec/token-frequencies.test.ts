import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { RangeDecoder, RangeEncoder } from "../../src/codec/range-coder.js";
import { decodeToken, encodeToken, quantizeTopTokens } from "../../src/codec/token-frequencies.js";
import { seededRandom } from "../../src/core/stats.js";

function randomTop(random: () => number, vocabulary: number, k: number) {
  const tokens = new Set<number>();
  while (tokens.size < k) tokens.add(Math.floor(random() * vocabulary));
  const probabilities = [...tokens].map(() => random() ** 4);
  return { tokens: [...tokens], probabilities };
}

describe("token frequency tables", () => {
  it("give every top token a non-zero frequency and sum to the power-of-two total", () => {
    const random = seededRandom(9);
    for (let trial = 0; trial < 200; trial++) {
      const top = randomTop(random, 32000, 1 + Math.floor(random() * 64));
      const table = quantizeTopTokens(top, { totalBits: 16 });
      for (let i = 0; i < table.tokens.length; i++) assert.ok((table.cumulative[i + 1] as number) > (table.cumulative[i] as number));
      assert.equal((table.cumulative[table.tokens.length] as number) + table.escape, 2 ** 16);
      assert.ok(table.escape > 0);
      assert.deepEqual([...table.tokens].sort((a, b) => a - b), [...top.tokens].sort((a, b) => a - b));
    }
  });

  it("round-trip token sequences through the range coder, escapes included, close to the ideal cost", () => {
    const random = seededRandom(10);
    for (const vocabulary of [512, 32000]) {
      const steps: { top: ReturnType<typeof randomTop>; token: number }[] = [];
      let ideal = 0;
      for (let i = 0; i < 3000; i++) {
        const top = randomTop(random, vocabulary, 32);
        const escape = random() < 0.02;
        let token: number;
        if (escape) {
          do token = Math.floor(random() * vocabulary);
          while (top.tokens.includes(token));
        } else {
          // Draw from the top-K distribution, so the ideal cost is meaningful.
          const mass = top.probabilities.reduce((s, p) => s + p, 0);
          let pick = random() * mass;
          let index = 0;
          while (index < top.tokens.length - 1 && (pick -= top.probabilities[index] as number) > 0) index++;
          token = top.tokens[index] as number;
          ideal -= Math.log2((top.probabilities[index] as number) / mass);
        }
        steps.push({ top, token });
      }
      const encoder = new RangeEncoder();
      for (const { top, token } of steps) encodeToken(encoder, quantizeTopTokens(top), token, vocabulary);
      const bytes = encoder.finish();
      const decoder = new RangeDecoder(bytes);
      for (const { top, token } of steps) assert.equal(decodeToken(decoder, quantizeTopTokens(top), vocabulary), token);
      const escapes = steps.filter(({ top, token }) => !top.tokens.includes(token)).length;
      const escapeCost = escapes * (Math.ceil(Math.log2(vocabulary)) + 16);
      assert.ok(bytes.length * 8 < (ideal + escapeCost) * 1.01 + 64, `${bytes.length * 8} bits vs ideal ${(ideal + escapeCost).toFixed(0)}`);
    }
  });

  it("refuses an empty table and a token outside the vocabulary", () => {
    assert.throws(() => quantizeTopTokens({ tokens: [], probabilities: [] }), RangeError);
    const table = quantizeTopTokens({ tokens: [1, 2], probabilities: [0.5, 0.5] });
    assert.throws(() => encodeToken(new RangeEncoder(), table, 600, 512), RangeError);
  });
});
