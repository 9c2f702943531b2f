import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { extractInParts, type Entity } from "../../src/semantic/entities.js";
import { resolveOverlaps, ruleCandidates, ruleEntityExtractor, type Candidate } from "../../src/semantic/entities-rules.js";

/** The overlap rule as it was written first (each candidate tested against every span taken): the reference. */
function resolveOverlapsNaive(found: readonly Candidate[]): Entity[] {
  const ordered = [...found].sort((a, b) => a.priority - b.priority || b.end - b.start - (a.end - a.start) || a.start - b.start);
  const taken: Entity[] = [];
  for (const candidate of ordered) {
    if (taken.some((t) => candidate.start < t.end && t.start < candidate.end)) continue;
    taken.push({ type: candidate.type, text: candidate.text, start: candidate.start, end: candidate.end });
  }
  return taken.sort((a, b) => a.start - b.start);
}

/** A deterministic generator (mulberry32), so a failure repeats. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("entity extraction in bounded work", () => {
  it("resolveOverlaps keeps what the one-by-one rule kept, on random candidates and on real texts", () => {
    const next = random(16);
    for (let round = 0; round < 300; round++) {
      const candidates: Candidate[] = Array.from({ length: 1 + Math.floor(next() * 40) }, () => {
        const start = Math.floor(next() * 200);
        const end = start + 1 + Math.floor(next() * 30);
        return { type: "number", text: "x".repeat(end - start), start, end, priority: Math.floor(next() * 5) };
      });
      assert.deepEqual(resolveOverlaps(candidates), resolveOverlapsNaive(candidates), `round ${round}`);
    }
    const text = "Ship v2.8.0 to ana@example.com by 2026-03-01; see /srv/app/config.yaml, ENG-4471 and $1,200 for 3.5 GB. Python 3.12 needs at least 3.11.";
    assert.deepEqual(resolveOverlaps(ruleCandidates(text)), resolveOverlapsNaive(ruleCandidates(text)));
  });

  it("a long text is read in parts: the same entities at the right places, each part's found, nothing past the bound", async () => {
    const line = "Mail ana@example.com about ENG-4471 before 2026-03-01.\n";
    const short = line.repeat(3);
    assert.deepEqual(await extractInParts(ruleEntityExtractor, short), ruleEntityExtractor.extract(short), "one part: extracted whole");
    const long = line.repeat(40);
    const bounds = { partChars: 512, maxChars: 1_500 };
    const found = await extractInParts(ruleEntityExtractor, long, bounds);
    for (const entity of found) assert.equal(long.slice(entity.start, entity.end), entity.text, "offsets into the whole text");
    const emails = found.filter((e) => e.type === "email");
    // Lines are cut whole (parts end at a line break), so every line up to the bound gives its address, none after it.
    const linesWithin = Math.ceil(1_500 / line.length);
    assert.ok(emails.length >= linesWithin - 1 && emails.length <= linesWithin, `${emails.length} addresses from the first ${linesWithin} lines`);
    assert.ok(emails.every((e) => e.start < 1_500 + line.length));
  });

  it("hands the event loop back between parts", async () => {
    let turns = 0;
    let done = false;
    const spin = () => {
      turns++;
      if (!done) setImmediate(spin);
    };
    setImmediate(spin);
    await extractInParts(ruleEntityExtractor, "word ".repeat(1_000), { partChars: 1_000, maxChars: 5_000 });
    done = true;
    assert.ok(turns >= 4, `other work ran ${turns} times while 5 parts were read`);
  });
});
