import { test } from "node:test";
import assert from "node:assert/strict";
import { matchedLanguages } from "../../src/quality/bench-markdown.js";

const figures = (originalBytes: number, storedBytes: number) => ({ records: 1, originalBytes, storedBytes, bitsPerByte: (storedBytes * 8) / originalBytes });

test("matchedLanguages weights English to the Chinese mix of the kinds both languages have", () => {
  const matched = matchedLanguages({
    "manpage-en": figures(1000, 250), // 2.0 bits/byte
    "manpage-zh": figures(300, 90), // 2.4
    "fortunes-en": figures(100, 50), // 4.0
    "fortunes-zh": figures(100, 40), // 3.2
    "debian-changelog": figures(5000, 500), // no language: left out
    "git-commit-en": figures(800, 100), // English only: left out
  });
  assert.ok(matched);
  assert.deepEqual(matched.kinds, ["fortunes", "manpage"]);
  // English at the Chinese mix (3/4 manpage, 1/4 fortunes): 0.75 · 2.0 + 0.25 · 4.0 = 2.5; Chinese over both: 130 · 8 / 400 = 2.6.
  assert.ok(Math.abs(matched.en - 2.5) < 1e-12, String(matched.en));
  assert.ok(Math.abs(matched.zh - 2.6) < 1e-12, String(matched.zh));
});

test("matchedLanguages joins a kind's regional sources and needs a kind in both languages", () => {
  const joined = matchedLanguages({ "debian-reference-en": figures(200, 50), "debian-reference-zh-cn": figures(100, 30), "debian-reference-zh-tw": figures(100, 20) });
  assert.ok(joined);
  assert.deepEqual(joined.kinds, ["debian-reference"]);
  assert.ok(Math.abs(joined.zh - 2.0) < 1e-12);
  assert.ok(Math.abs(joined.en - 2.0) < 1e-12);
  assert.equal(matchedLanguages({ "manpage-en": figures(10, 5), "fortunes-zh": figures(10, 5) }), undefined);
  assert.equal(matchedLanguages({}), undefined);
});
