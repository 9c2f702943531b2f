import type { EntityExtractor, EntityType } from "../semantic/entities.js";
import { f1Of, type PrecisionRecall } from "./text-metrics.js";

/** A hand-labelled text: the entities a careful reader finds in it. */
export interface EntityCase {
  text: string;
  entities: { type: EntityType; text: string }[];
}

export interface EntityScores extends PrecisionRecall {
  cases: number;
  expected: number;
  found: number;
  correct: number;
  byType: Record<string, PrecisionRecall & { expected: number; found: number; correct: number }>;
  /** Cases where the extractor missed or invented something, for inspection. */
  misses: { text: string; missing: string[]; extra: string[] }[];
}

/** Precision and recall of (type, text) pairs, matched as multisets per case. */
export function scoreEntities(extractor: EntityExtractor, cases: readonly EntityCase[]): EntityScores {
  const tally = new Map<string, { expected: number; found: number; correct: number }>();
  const bump = (type: string, key: "expected" | "found" | "correct") => {
    const entry = tally.get(type) ?? { expected: 0, found: 0, correct: 0 };
    entry[key]++;
    tally.set(type, entry);
  };
  const misses: EntityScores["misses"] = [];
  for (const example of cases) {
    const expected = example.entities.map((e) => `${e.type}:${e.text}`);
    const found = extractor.extract(example.text).map((e) => `${e.type}:${e.text}`);
    const unmatched = [...found];
    const missing: string[] = [];
    for (const key of expected) {
      bump(key.slice(0, key.indexOf(":")), "expected");
      const at = unmatched.indexOf(key);
      if (at >= 0) {
        unmatched.splice(at, 1);
        bump(key.slice(0, key.indexOf(":")), "correct");
      } else {
        missing.push(key);
      }
    }
    for (const key of found) bump(key.slice(0, key.indexOf(":")), "found");
    if (missing.length > 0 || unmatched.length > 0) misses.push({ text: example.text, missing, extra: unmatched });
  }
  const totals = { expected: 0, found: 0, correct: 0 };
  const byType: EntityScores["byType"] = {};
  for (const [type, t] of [...tally].sort(([a], [b]) => a.localeCompare(b))) {
    totals.expected += t.expected;
    totals.found += t.found;
    totals.correct += t.correct;
    byType[type] = { ...t, ...f1Of(t.found ? t.correct / t.found : 0, t.expected ? t.correct / t.expected : 0) };
  }
  return {
    cases: cases.length,
    ...totals,
    ...f1Of(totals.found ? totals.correct / totals.found : 0, totals.expected ? totals.correct / totals.expected : 0),
    byType,
    misses,
  };
}
