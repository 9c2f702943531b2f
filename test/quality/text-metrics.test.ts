import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { bleu, rougeL, tokenize } from "../../src/quality/text-metrics.js";

const close = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} != ${expected}`);

describe("tokenize", () => {
  it("splits words, numbers and punctuation, and Chinese per character", () => {
    assert.deepEqual(tokenize("The cat's 2.5 kg, OK?"), ["the", "cat's", "2.5", "kg", ",", "ok", "?"]);
    assert.deepEqual(tokenize("周五前完成 SQLite 迁移"), ["周", "五", "前", "完", "成", "sqlite", "迁", "移"]);
  });
});

describe("ROUGE-L", () => {
  it("matches hand-computed cases", () => {
    // LCS("the cat sat on the mat", "the cat is on the mat") = the cat on the mat = 5 of 6 and 6.
    const r = rougeL("the cat sat on the mat", "the cat is on the mat");
    close(r.precision, 5 / 6);
    close(r.recall, 5 / 6);
    close(r.f1, 5 / 6);
    // candidate "a b c d", reference "a c e": LCS = a c → P 2/4, R 2/3, F1 = 2·(1/2·2/3)/(1/2+2/3) = 4/7.
    const s = rougeL("a b c d", "a c e");
    close(s.precision, 0.5);
    close(s.recall, 2 / 3);
    close(s.f1, 4 / 7);
    // Chinese per character: 李强负责迁移 vs 李强负责数据库迁移: LCS 6 of 6 and 9.
    const z = rougeL("李强负责迁移", "李强负责数据库迁移");
    close(z.precision, 1);
    close(z.recall, 6 / 9);
    assert.deepEqual(rougeL("", "x"), { precision: 0, recall: 0, f1: 0 });
  });
});

describe("BLEU", () => {
  it("is 1 for an identical text and matches hand-computed cases", () => {
    close(bleu("the quick brown fox jumps", "the quick brown fox jumps"), 1);
    // unigram-only, candidate "the the the the" vs reference "the cat": clipped 1/4, brevity 1 → 0.25.
    close(bleu("the the the the", "the cat", { maxOrder: 1 }), 0.25);
    // bigram BLEU, candidate "a b c" vs reference "a b d e": p1 = 2/3, p2 = 1/2 (ab of ab, bc),
    // brevity exp(1 - 4/3); BLEU = exp(1 - 4/3) · sqrt(2/3 · 1/2).
    close(bleu("a b c", "a b d e", { maxOrder: 2 }), Math.exp(1 - 4 / 3) * Math.sqrt((2 / 3) * (1 / 2)));
    // No 4-gram in common → 0 without smoothing, > 0 with it.
    assert.equal(bleu("a b c d", "a b c e"), 0);
    // smoothed: p1 = 3/4, p2 = (2+1)/(3+1), p3 = (1+1)/(2+1), p4 = (0+1)/(1+1).
    close(bleu("a b c d", "a b c e", { smooth: true }), Math.pow((3 / 4) * (3 / 4) * (2 / 3) * (1 / 2), 1 / 4));
  });
});
