import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { HashedNgramEmbedder, cosine } from "../../src/search/similarity.js";
import { VECTOR_ENCODINGS, VECTOR_ENCODING_NAMES } from "../../src/search/vector-encoding.js";
import { devCorpus } from "../helpers.js";

describe("search vector encodings", () => {
  const embedder = new HashedNgramEmbedder(256);
  const texts = devCorpus().slice(0, 60).map((r) => r.text);
  const vectors = texts.map((t) => embedder.embedOne(t));
  /** Least cosine of a vector with its own decoded form, over the sample (measured: 1.0, 0.99996, 0.89, 0.53). */
  const floor = { float16: 0.9999, int8: 0.999, ternary: 0.85, binary: 0.5 } as const;

  for (const name of VECTOR_ENCODING_NAMES) {
    it(`${name}: takes its size, decodes to unit length near the original, and keeps each text nearest itself`, () => {
      const encoding = VECTOR_ENCODINGS[name];
      const decoded = vectors.map((v) => {
        const bytes = encoding.encode(v);
        assert.equal(bytes.length, encoding.bytes(256));
        const out = new Float32Array(256);
        encoding.decode(bytes, out);
        return out;
      });
      for (let i = 0; i < vectors.length; i++) {
        const d = decoded[i] as Float32Array;
        assert.ok(Math.abs(cosine(d, d) - 1) < 1e-5);
        let norm = 0;
        for (const x of d) norm += x * x;
        assert.ok(Math.abs(norm - 1) < 1e-4, `${name} decodes to unit length`);
        assert.ok(cosine(vectors[i] as Float32Array, d) >= floor[name], `${name} keeps the direction of vector ${i}`);
      }
      // Asymmetric ranking (float query, decoded rows): every text's own row ranks first.
      for (let q = 0; q < vectors.length; q++) {
        const query = vectors[q] as Float32Array;
        let best = -1;
        let bestScore = -Infinity;
        decoded.forEach((row, r) => {
          let dot = 0;
          for (let k = 0; k < 256; k++) dot += (row[k] as number) * (query[k] as number);
          if (dot > bestScore) [best, bestScore] = [r, dot];
        });
        assert.equal(best, q, `${name}: text ${q} finds itself first`);
      }
    });
  }

  it("gives odd dimension counts whole bytes and leaves zero vectors zero", () => {
    assert.deepEqual(VECTOR_ENCODING_NAMES.map((n) => VECTOR_ENCODINGS[n].bytes(10)), [20, 10, 3, 2]);
    const out = new Float32Array(10).fill(7);
    VECTOR_ENCODINGS.ternary.decode(VECTOR_ENCODINGS.ternary.encode(new Float32Array(10)), out);
    assert.deepEqual(Array.from(out), new Array(10).fill(0));
  });
});
