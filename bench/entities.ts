/**
 * `npm run bench:entities`: precision and recall of the entity extractors (rules alone, and v2:
 * rules plus the NLP libraries) on the team's labelled sets, by language and by type, exact
 * (type, text) matches; replaces the `entities` section of BENCHMARKS.md.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { EntityExtractor } from "../src/semantic/entities.js";
import { entityExtractor } from "../src/semantic/entities-nlp.js";
import { ruleEntityExtractor } from "../src/semantic/entities-rules.js";
import { loadTagger, taggedExtractor, TAGGER_ASSET } from "../src/semantic/entities-tagger.js";
import { detectLanguage } from "../src/semantic/language.js";
import { scoreEntities, type EntityCase, type EntityScores } from "../src/quality/entity-scores.js";
import { replaceSection } from "./sections.js";

const LOAD_AT_START = loadavg();
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TARGET = 0.9;

type LabelledCase = EntityCase & { language?: string };

const SETS = [
  { file: "entities.json", name: "labelled (v1 rules written against it)" },
  { file: "entities-heldout.json", name: "held out (labelled after v1, never tuned on)" },
  { file: "entities-v2-unseen.json", name: "v2 unseen 1 (written after v2.0 froze; v2.1 to v2.4 were tuned on it)" },
  { file: "entities-v2-unseen-2.json", name: "v2 unseen 2 (written after v2.1 froze; v2.2 to v2.4 were tuned on it)" },
  { file: "entities-v2-unseen-3.json", name: "v2 unseen 3 (written after v2.2 froze; v2.3 and v2.4 were tuned on it)" },
  { file: "entities-v2-unseen-4.json", name: "v2 unseen 4 (written blind while v2.3 was built; v2.4 was tuned on it)" },
  { file: "entities-v2-unseen-5.json", name: "v2 unseen 5 (written blind while v2.4 was built, never tuned on; measured once with the tagger after its settings froze)" },
  { file: "entities-v2-unseen-6.json", name: "v2 unseen 6 (written blind while the tagger was built; neither rules nor tagger ever saw it)" },
] as const;

const fixture = (file: string) => join(ROOT, "test", "fixtures", file);
const load = (file: string) => JSON.parse(readFileSync(fixture(file), "utf8")) as LabelledCase[];
// A set not written yet is skipped; the by-type table is for the newest set present.
const present = SETS.filter((set) => existsSync(fixture(set.file)));
const newest = present.at(-1) as (typeof SETS)[number];
const languageOf = (c: LabelledCase) => c.language ?? (/\p{Script=Han}/u.test(c.text) ? "zh" : "en");
const pr = (s: { precision: number; recall: number }) => `${s.precision.toFixed(3)} / ${s.recall.toFixed(3)}`;

// The libraries load on first use: time it once, apart from the scoring.
const loadStarted = performance.now();
entityExtractor.extract("Sarah met 李娜 in Lisbon.");
const loadMs = performance.now() - loadStarted;

// The trained name tagger (assets/entity-tagger.json, `npm run train:entities`), in both modes.
const taggerOnly = taggedExtractor(loadTagger, "tagger");
const taggerUnion = taggedExtractor(loadTagger, "union");
const taggerStarted = performance.now();
taggerOnly.extract("Sarah met 李娜 in Lisbon.");
const taggerLoadMs = performance.now() - taggerStarted;
const EXTRACTORS = [ruleEntityExtractor, entityExtractor, taggerUnion, taggerOnly] as EntityExtractor[];

const summary: string[] = [];
const byType: string[] = [];
const unseenBy = new Map<EntityExtractor, Record<string, EntityScores>>();
for (const set of present) {
  const cases = load(set.file);
  for (const extractor of EXTRACTORS) {
    const started = performance.now();
    const scores: Record<string, EntityScores> = {};
    for (const language of ["en", "zh"]) scores[language] = scoreEntities(extractor, cases.filter((c) => languageOf(c) === language));
    const all = scoreEntities(extractor, cases);
    const msPerText = (performance.now() - started) / 2 / cases.length;
    summary.push(`| ${set.name} | ${extractor.name} | ${cases.length} | ${pr(scores.en as EntityScores)} | ${pr(scores.zh as EntityScores)} | ${pr(all)} | ${msPerText.toFixed(2)} |`);
    if (set === newest) unseenBy.set(extractor, scores);
  }
}
const unseen = unseenBy.get(entityExtractor) ?? {};
const types = [...new Set([...unseenBy.values()].flatMap((by) => Object.values(by).flatMap((s) => Object.keys(s.byType))))].sort();
const cellOf = (by: Record<string, EntityScores> | undefined, language: string, type: string) => {
  const t = by?.[language]?.byType[type];
  return t ? `${t.precision.toFixed(2)} / ${t.recall.toFixed(2)} (${t.expected})` : "–";
};
for (const type of types) {
  const cells = ["en", "zh"].flatMap((language) => [entityExtractor, taggerUnion, taggerOnly].map((extractor) => cellOf(unseenBy.get(extractor), language, type)));
  byType.push(`| ${type} | ${cells.join(" | ")} |`);
}
const met = (language: string, extractor: EntityExtractor = entityExtractor) => {
  const s = unseenBy.get(extractor)?.[language] as EntityScores;
  return s.precision >= TARGET && s.recall >= TARGET;
};
const verdict = (extractor: EntityExtractor) => `${extractor.name}: English ${met("en", extractor) ? "met" : "not met"}, Chinese ${met("zh", extractor) ? "met" : "not met"}`;
// Language detection against the dev corpus's labels (en, zh).
const devCorpus = join(ROOT, "..", "shared", "corpus", "memories-dev.jsonl");
const languageRows: string[] = [];
if (existsSync(devCorpus)) {
  const records = readFileSync(devCorpus, "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as { text: string; lang: string });
  for (const lang of ["en", "zh"]) {
    const subset = records.filter((r) => r.lang === lang);
    const answers = new Map<string, number>();
    for (const r of subset) {
      const got = detectLanguage(r.text);
      answers.set(got, (answers.get(got) ?? 0) + 1);
    }
    const others = [...answers].filter(([code]) => code !== lang).sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} ${n}`).join(", ");
    languageRows.push(`| ${lang} | ${subset.length} | ${((answers.get(lang) ?? 0) / subset.length).toFixed(3)} | ${others || "–"} |`);
  }
}

const body = [
  "### Entity extraction",
  "",
  "Command: `npm run bench:entities` — `test/fixtures/entities*.json`, English and Chinese, exact (type, text) matches as multisets per text.",
  "`rules` is the rule-based extractor alone; `rules+nlp` (v2, the default) adds people, organisations and places from compromise (English) and",
  "jieba part-of-speech tags (Chinese). Four rounds, each set written after the code it measures was committed, then run once:",
  "v2.0 on unseen set 1: English 0.919 / 0.868, Chinese 0.755 / 0.781 (P / R, commit b859ce1); v2.1 (tuned on set 1) on unseen set 2:",
  "English 0.946 / 0.871, Chinese 0.908 / 0.836 (commit c7a2391); v2.2 (tuned on sets 1 and 2) on unseen set 3: English 0.914 / 0.833,",
  "Chinese 0.902 / 0.858; v2.3 (tuned on sets 1 to 3; a world gazetteer of places, context cues for organisations and people) on unseen set 4:",
  "English 0.916 / 0.843, Chinese 0.929 / 0.809; v2.4 (tuned on sets 1 to 4; the Hundred Family Surnames, jieba's word frequencies, companies by",
  "trade word, first names and surnames of every @faker-js/faker locale, ISO 4217 currency codes) on unseen set 5: the figures for the targets",
  "below, where set 5 is present. Rows for the sets the code was tuned on are no longer unseen figures.",
  "",
  "| set | extractor | texts | English P / R | Chinese P / R | all P / R | ms per text |",
  "| --- | --- | --- | --- | --- | --- | --- |",
  ...summary,
  "",
  "`rules+nlp+tagger` and `rules+tagger` add the trained name tagger (src/semantic/entities-tagger.ts: an averaged perceptron over BIO labels for person,",
  "organisation and place, reading word shapes, neighbours, compromise's tags, gazetteers, jieba's words and part-of-speech tags, the surname table and the",
  "rules+nlp proposal; trained by `npm run train:entities` on the labelled set, the held-out set and unseen sets 1 to 4 only, settings chosen by",
  "cross-validation inside them). `rules+nlp+tagger` keeps every rules+nlp entity and adds the tagger's names that overlap none; `rules+tagger` keeps the",
  "rules+nlp structured types and lets the tagger decide the names. Set 5 was measured once with the tagger, after its settings were frozen: recall rose",
  "(all 0.839 → 0.882) and precision fell (0.943 → 0.908), so the default stays `rules+nlp`; the tagger is `taggerEntityExtractor`, off by default.",
  "",
  `On ${newest.name}, by type — precision / recall (expected entities). Target 0.90 / 0.90: ${[entityExtractor, taggerUnion, taggerOnly].map(verdict).join("; ")}.`,
  "",
  "| type | English rules+nlp | English rules+nlp+tagger | English rules+tagger | Chinese rules+nlp | Chinese rules+nlp+tagger | Chinese rules+tagger |",
  "| --- | --- | --- | --- | --- | --- | --- |",
  ...byType,
  "",
  "Language detection (`detectLanguage`, stored per memory) against the labels of the shared dev corpus:",
  "",
  "| label | memories | detected as labelled | detected otherwise |",
  "| --- | --- | --- | --- |",
  ...languageRows,
  "",
  `Loading the libraries on first use: ${(loadMs / 1000).toFixed(1)} s; the tagger's weights (${(statSync(TAGGER_ASSET).size / 1024).toFixed(0)} KB) ${(taggerLoadMs / 1000).toFixed(2)} s.`,
  `Load average at the start of the run: ${LOAD_AT_START.map((x) => x.toFixed(2)).join(", ")}.`,
  `Machine: ${cpus()[0]?.model ?? "unknown"}, ${cpus().length} cores, Node ${process.version}; ${new Date().toISOString().slice(0, 10)}.`,
].join("\n");
replaceSection("entities", body);
console.log(body);
if (process.argv.includes("--misses")) {
  for (const language of ["en", "zh"]) for (const miss of unseen[language]?.misses ?? []) console.log(JSON.stringify(miss));
}
