import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeTokens, encodeTokens, maxTokensFor, type LlmCodingSettings, type TokenPredictor } from "../../src/codec/llm.js";
import type { TopTokens } from "../../src/codec/token-frequencies.js";
import { seededRandom } from "../../src/core/stats.js";

/**
 * A deterministic stand-in for a language model: the next distribution is a pure function of the
 * tokens fed since the last reset, so encoder and decoder agree exactly as a real model must.
 * Records every call, so tests can check what the window feeds.
 */
class HashPredictor implements TokenPredictor {
  readonly calls: { token: number; predict: boolean }[] = [];
  resets = 0;
  private state = 0x811c9dc5;

  constructor(
    private readonly vocabularySize: number,
    private readonly topK: number,
  ) {}

  async reset(): Promise<void> {
    this.resets++;
    this.state = 0x811c9dc5;
  }

  async feed(token: number, predict: boolean): Promise<TopTokens | null> {
    this.calls.push({ token, predict });
    this.state = Math.imul(this.state ^ token, 0x01000193) >>> 0;
    if (!predict) return null;
    const random = seededRandom(this.state);
    const size = this.topK || this.vocabularySize;
    const tokens = new Int32Array(size);
    const probabilities = new Float64Array(size);
    const start = this.state % this.vocabularySize;
    for (let i = 0; i < size; i++) {
      tokens[i] = (start + i * 7) % this.vocabularySize;
      probabilities[i] = random() ** 4 + (i === 0 ? 2 : 0);
    }
    return { tokens, probabilities };
  }
}

function settings(overrides: Partial<LlmCodingSettings> = {}): LlmCodingSettings {
  return { vocabularySize: 300, bosToken: 1, topK: 0, windowTokens: 24, carryTokens: 6, prefix: [], ...overrides };
}

describe("llm coding core", () => {
  it("round-trips random token sequences with full and top-K distributions, across window restarts", async () => {
    const random = seededRandom(11);
    for (let trial = 0; trial < 120; trial++) {
      const s = settings({ topK: trial % 2 ? 16 : 0, windowTokens: 8 + (trial % 20), carryTokens: trial % 5, prefix: trial % 3 ? [] : [5, 6] });
      const length = Math.floor(random() * 90);
      // Half the tokens follow the predictor's favourite, half are anything: both table and escape paths run.
      const tokens = Array.from({ length }, () => Math.floor(random() * s.vocabularySize));
      const encoded = await encodeTokens(new HashPredictor(s.vocabularySize, s.topK), tokens, length + 5, s);
      assert.ok(typeof encoded === "object", "encode must succeed without a budget");
      const decoded = await decodeTokens(new HashPredictor(s.vocabularySize, s.topK), encoded.payload, length + 5, s);
      assert.deepEqual(decoded, tokens, `trial ${trial}`);
    }
  });

  it("restarts a full window with BOS, the prefix and the carried tokens, fed one at a time", async () => {
    const s = settings({ windowTokens: 10, carryTokens: 3, prefix: [7] });
    const predictor = new HashPredictor(s.vocabularySize, 0);
    const tokens = Array.from({ length: 20 }, (_, i) => 20 + i);
    await encodeTokens(predictor, tokens, 25, s);
    assert.equal(predictor.resets, 3);
    assert.ok(predictor.calls.length > tokens.length, "the carried tokens are fed again");
    // The window holds BOS, the prefix and 8 tokens (20..27); coding 28's successor restarts with BOS, prefix, 26 27 28.
    const restart = predictor.calls.findIndex((c, i) => i > 0 && c.token === s.bosToken);
    assert.deepEqual(
      predictor.calls.slice(restart, restart + 5).map((c) => c.token),
      [1, 7, 26, 27, 28],
    );
    assert.deepEqual(
      predictor.calls.slice(restart, restart + 5).map((c) => c.predict),
      [false, false, false, false, true],
    );
  });

  it("gives up as soon as the output passes the budget", async () => {
    const s = settings();
    const tokens = Array.from({ length: 400 }, (_, i) => (i * 37) % 300);
    const predictor = new HashPredictor(s.vocabularySize, 0);
    assert.equal(await encodeTokens(predictor, tokens, 400, s, 20), "over-budget");
    assert.ok(predictor.calls.length < 200, `stopped early (${predictor.calls.length} evaluations)`);
  });

  it("refuses a stream claiming more tokens than its bytes can hold, before evaluating them", async () => {
    const s = settings();
    const predictor = new HashPredictor(300, 0);
    // All-ones bytes decode to a count near the top of its range: far more than 3 bytes can hold.
    const payload = new Uint8Array([0xff, 0xff, 0xff]);
    await assert.rejects(() => decodeTokens(predictor, payload, maxTokensFor(payload.length) * 1000, s), /more than it can hold/);
    assert.equal(predictor.calls.length, 0);
  });
});
