/**
 * The look-ups that keep entity extraction linear on long texts (stop 62) answer exactly as the scans they replaced:
 * each is compared with the scan on seeded random inputs.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { seededRandom } from "../../src/core/stats.js";
import { spanContainment } from "../../src/semantic/entities-guide.js";
import { opensSentenceAt, parseEnglish, sharingEnglishParse } from "../../src/semantic/entities-nlp.js";
import { firstOverlappingSpan } from "../../src/semantic/entities-tagger.js";

interface Span {
  start: number;
  end: number;
}

/** Spans over [0, length): most of them short, some long, some empty, some inverted, overlapping at will. */
function randomSpans(random: () => number, count: number, length: number): Span[] {
  return Array.from({ length: count }, () => {
    const start = Math.floor(random() * length);
    const kind = random();
    const size = kind < 0.1 ? 0 : kind < 0.15 ? -1 - Math.floor(random() * 3) : kind < 0.3 ? Math.floor(random() * length) : 1 + Math.floor(random() * 6);
    return { start, end: Math.min(length, start + size) };
  });
}

describe("entity extraction on long texts: linear look-ups", () => {
  it("spanContainment says what a scan for a containing span says", () => {
    const random = seededRandom(62);
    let contained = 0;
    for (let round = 0; round < 200; round++) {
      const spans = randomSpans(random, Math.floor(random() * 30), 80);
      const inSome = spanContainment(spans);
      for (const probe of randomSpans(random, 40, 80)) {
        const expected = spans.some((s) => s.start <= probe.start && probe.end <= s.end);
        assert.equal(inSome(probe), expected, `${JSON.stringify(probe)} in ${JSON.stringify(spans)}`);
        if (expected) contained++;
      }
    }
    assert.ok(contained > 500, `both answers were met (${contained} contained)`);
  });

  it("firstOverlappingSpan finds the first span in array order that overlaps a range, as find did", () => {
    const random = seededRandom(16);
    let found = 0;
    for (let round = 0; round < 200; round++) {
      const length = 60;
      const spans = randomSpans(random, Math.floor(random() * 25), length);
      const first = firstOverlappingSpan(spans, length);
      for (const range of randomSpans(random, 40, length).filter((r) => r.start < r.end)) {
        const expected = spans.findIndex((s) => s.start < range.end && range.start < s.end);
        assert.equal(first(range), expected, `${JSON.stringify(range)} over ${JSON.stringify(spans)}`);
        if (expected > 0) found++;
      }
    }
    assert.ok(found > 500, `later spans were found first too (${found})`);
  });

  it("opensSentenceAt answers as the pattern on the whole text before the position", () => {
    const random = seededRandom(7);
    const alphabet = ["a", "B", " ", "\n", "\t", "\u00a0", "\u3000", ".", "!", "?", ":", ";", ",", "中", "。"];
    let opens = 0;
    for (let round = 0; round < 3000; round++) {
      const text = Array.from({ length: Math.floor(random() * 12) }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");
      for (let start = 0; start <= text.length; start++) {
        const expected = /(?:^|[.!?:;]\s*)$/u.test(text.slice(0, start));
        assert.equal(opensSentenceAt(text, start), expected, `${JSON.stringify(text)} at ${start}`);
        if (expected && start > 0) opens++;
      }
    }
    assert.ok(opens > 1000, `punctuation cases were met (${opens})`);
  });

  it("one compromise parse is shared inside sharingEnglishParse, and only for its text", () => {
    const text = "Alice met Bob in Paris.";
    sharingEnglishParse(text, () => {
      assert.equal(parseEnglish(text), parseEnglish(text), "the same parse for the same text");
      assert.notEqual(parseEnglish("Carol flew to Rome."), parseEnglish("Carol flew to Rome."), "another text is parsed each time");
    });
    assert.notEqual(parseEnglish(text), parseEnglish(text), "outside, each call parses anew (nothing is kept)");
  });
});
