/**
 * `npm run bench:entities`: precision and recall of the entity extractors (rules alone, rules plus
 * the NLP libraries, and the trained name tagger in its two modes, `rules+tagger` the default) on
 * the team's labelled sets — every test/fixtures/entities-v2-unseen-*.json present, newest last —
 * by language and by type, exact (type, text) matches; replaces the `entities` section of BENCHMARKS.md.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { EntityExtractor } from "../src/semantic/entities.js";
import { entityExtractor } from "../src/semantic/entities-nlp.js";
import { ruleEntityExtractor } from "../src/semantic/entities-rules.js";
import { defaultEntityExtractor, loadTagger, taggedExtractor, TAGGER_ASSET } from "../src/semantic/entities-tagger.js";
import { detectLanguage } from "../src/semantic/language.js";
import { scoreEntities, type EntityCase, type EntityScores } from "../src/quality/entity-scores.js";
import { ENTITY_TRAINING_SETS } from "../src/semantic/entities-train.js";
import { replaceSection } from "./sections.js";

const LOAD_AT_START = loadavg();
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TARGET = 0.9;

type LabelledCase = EntityCase & { language?: string };

const KNOWN_SETS = [
  { file: "entities.json", name: "labelled (v1 rules written against it)" },
  { file: "entities-heldout.json", name: "held out (labelled after v1, never tuned on)" },
  { file: "entities-v2-unseen.json", name: "v2 unseen 1 (written after v2.0 froze; v2.1 to v2.4 were tuned on it)" },
  { file: "entities-v2-unseen-2.json", name: "v2 unseen 2 (written after v2.1 froze; v2.2 to v2.4 were tuned on it)" },
  { file: "entities-v2-unseen-3.json", name: "v2 unseen 3 (written after v2.2 froze; v2.3 and v2.4 were tuned on it)" },
  { file: "entities-v2-unseen-4.json", name: "v2 unseen 4 (written blind while v2.3 was built; v2.4 was tuned on it)" },
  { file: "entities-v2-unseen-5.json", name: "v2 unseen 5 (written blind while v2.4 was built; the tagger v2 is trained on it)" },
  { file: "entities-v2-unseen-6.json", name: "v2 unseen 6 (written blind while the tagger v1 was built; the tagger v2 is trained on it)" },
  { file: "entities-v2-unseen-7.json", name: "v2 unseen 7 (written blind while the tagger v2 was built, measured once: English 0.926 / 0.921, Chinese 0.855 / 0.855; the tagger v3 is trained on it)" },
  { file: "entities-v2-unseen-8.json", name: "v2 unseen 8 (written blind while the tagger v3 was built, measured once: English 0.932 / 0.924, Chinese 0.890 / 0.864; the tagger v4 is trained on it)" },
  { file: "entities-v2-unseen-9.json", name: "v2 unseen 9 (written blind while the tagger v4 was built, measured once: English 0.926 / 0.896, Chinese 0.863 / 0.856; the tagger v5 is trained on it)" },
  { file: "entities-v2-unseen-10.json", name: "v2 unseen 10 (written blind while the tagger v5 was built, measured once: English 0.961 / 0.937, Chinese 0.924 / 0.899; the tagger v6 is trained on it)" },
  { file: "entities-v2-unseen-11.json", name: "v2 unseen 11 (written blind while the tagger v6 was built, measured once: English 0.946 / 0.939, Chinese 0.869 / 0.849; the tagger v7 is trained on it)" },
  { file: "entities-v2-unseen-12.json", name: "v2 unseen 12 (written blind while the tagger v7 was built, measured once: English 0.947 / 0.929, Chinese 0.898 / 0.886; the tagger v8 is trained on it)" },
  { file: "entities-v2-unseen-13.json", name: "v2 unseen 13 (written blind while the tagger v8 was built, measured once: English 0.959 / 0.935, Chinese 0.888 / 0.886; the tagger v10 is trained on it)" },
  { file: "entities-v2-unseen-14.json", name: "v2 unseen 14 (written blind while the tagger v9 = v8 + a second pass over Chinese organisation and place spans was built, measured once: English 0.942 / 0.921, Chinese 0.878 / 0.846; the tagger v10 is trained on it)" },
  {
    file: "entities-v2-unseen-15.json",
    name: "v2 unseen 15 (written blind while the tagger v10 was built, measured once: English 0.871 / 0.841, Chinese 0.799 / 0.777; it labels no number, email or code, and without those answers 0.911 / 0.841, 0.828 / 0.777; the candidate v11 on it 0.905 / 0.833, 0.820 / 0.772, not kept; the tagger v11 of stop 25 is trained on it)",
  },
  {
    file: "entities-v2-unseen-16.json",
    name: "v2 unseen 16 (the first set written to docs/ENTITIES.md, blind while the tagger v11 was built, measured once on 2026-12-02 at 02:44 UTC: English 0.880 / 0.878, Chinese 0.899 / 0.903; main's tagger v10 on it 0.835 / 0.810, 0.780 / 0.786; the tagger v12 is trained on it and its rules read its misses)",
  },
  {
    file: "entities-v2-unseen-17.json",
    name: "v2 unseen 17 (written to docs/ENTITIES.md blind while the tagger v12 was built, measured once on 2026-12-02 at 03:17 UTC on 2042afb: English 0.935 / 0.933, Chinese 0.897 / 0.894; v11 on it 0.915 / 0.896, 0.879 / 0.867; main's v10 0.871 / 0.828, 0.766 / 0.758; later code was changed after that measurement; the tagger v13 of stop 26 is trained on it and its rules read its misses)",
  },
  {
    file: "entities-v2-unseen-18.json",
    name: "v2 unseen 18 (written to docs/ENTITIES.md blind while the tagger v13 was built, measured once on v13 0b591c0: English 0.899 / 0.909, Chinese 0.921 / 0.894; v12 on it 0.887 / 0.901, 0.889 / 0.868; the tagger v14 of stop 26 is trained on it and its rules read its misses)",
  },
  {
    file: "entities-v2-unseen-19.json",
    name: "v2 unseen 19 (written to docs/ENTITIES.md blind after the tagger v13 froze, while v14 was built; measured on 2026-12-02 on v13 0b591c0 at 06:32 UTC: English 0.884 / 0.906, Chinese 0.893 / 0.917, and on v14 c67f70f at 06:53 UTC: English 0.887 / 0.909, Chinese 0.905 / 0.935; v12 on it 0.867 / 0.894, 0.871 / 0.902; the tagger v15 of stop 26 is trained on it and its rules read its misses)",
  },
  {
    file: "entities-v2-unseen-20.json",
    name: "v2 unseen 20 (written to docs/ENTITIES.md with the decisions of sets 18 and 19, after the taggers v14 and v15 froze; measured on 2026-12-02 at 07:23 UTC on v15 ca693df: English 0.935 / 0.923, Chinese 0.934 / 0.937, and on v14 c67f70f: English 0.925 / 0.909, Chinese 0.915 / 0.930; no tagger is trained on it)",
  },
];

const fixture = (file: string) => join(ROOT, "test", "fixtures", file);
const setNumber = (file: string) => Number(/^entities-v2-unseen(?:-(\d+))?\.json$/.exec(file)?.[1] ?? 1);
// Every unseen set present, in order of its number; one not among the known ones was written blind after the tagger v15 froze.
const SETS: { file: string; name: string }[] = [
  ...KNOWN_SETS.filter((set) => !set.file.startsWith("entities-v2-unseen")),
  ...readdirSync(join(ROOT, "test", "fixtures"))
    .filter((file) => /^entities-v2-unseen(?:-\d+)?\.json$/.test(file))
    .sort((a, b) => setNumber(a) - setNumber(b))
    .map((file) => KNOWN_SETS.find((set) => set.file === file) ?? { file, name: `v2 unseen ${setNumber(file)} (written blind by docs/ENTITIES.md after the tagger v14 froze (stop 26); never trained or tuned on; measured once)` }),
];
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
const taggerOnly = defaultEntityExtractor;
const taggerUnion = taggedExtractor(loadTagger, "union");
const taggerStarted = performance.now();
taggerOnly.extract("Sarah met 李娜 in Lisbon.");
const taggerLoadMs = performance.now() - taggerStarted;
const EXTRACTORS = [ruleEntityExtractor, entityExtractor, taggerUnion, taggerOnly] as EntityExtractor[];

/** Tagger v5's cross-validation (static: the bench does not train): held-out sets 7, 8 and 9, each tagged by a tagger trained on every other set (sets 1 to 9). */
const CV_TABLE_V5 = [
  "| setting | EN all | EN person | EN org | EN place | ZH all | ZH person | ZH org | ZH place |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  "| rules+nlp (no tagger; rules before v5) | 0.921 / 0.762 | 0.827 / 0.583 | 0.885 / 0.446 | 0.802 / 0.495 | 0.880 / 0.769 | 0.690 / 0.592 | 0.730 / 0.319 | 0.827 / 0.653 |",
  "| tagger v4 code (before) | 0.937 / 0.926 | 0.947 / 0.910 | 0.853 / 0.818 | 0.893 / 0.931 | 0.895 / 0.887 | 0.851 / 0.911 | 0.697 / 0.639 | 0.886 / 0.854 |",
  "| before, set 9 alone (= the blind figure, exactly) | 0.926 / 0.896 | 0.957 / 0.849 | 0.810 / 0.791 | 0.869 / 0.855 | 0.863 / 0.856 | 0.803 / 0.883 | 0.633 / 0.608 | 0.831 / 0.766 |",
  "| before + organisation spans made whole (rescored, not retrained) | 0.937 / 0.926 | 0.947 / 0.910 | 0.853 / 0.818 | 0.893 / 0.931 | 0.898 / 0.890 | 0.851 / 0.911 | 0.727 / 0.667 | 0.886 / 0.854 |",
  "| + rules (rates, tonnes, 万, relative days) + well-known organisations (zk) + whole spans; minCount 2 (asset 1.09 MB: over) | 0.954 / 0.939 | 0.952 / 0.897 | 0.872 / 0.843 | 0.906 / 0.926 | 0.908 / 0.902 | 0.824 / 0.917 | 0.764 / 0.674 | 0.889 / 0.845 |",
  "| **same, minCount 3 (tagger v5, chosen; 768 KB)** | **0.954 / 0.944** | 0.937 / 0.949 | 0.884 / 0.818 | 0.906 / 0.926 | **0.906 / 0.905** | 0.857 / 0.923 | 0.726 / 0.681 | 0.878 / 0.854 |",
  "| after, set 7 alone | 0.955 / 0.955 | 0.923 / 0.960 | 0.892 / 0.892 | 0.919 / 0.934 | 0.925 / 0.927 | 0.889 / 0.906 | 0.750 / 0.714 | 0.943 / 0.971 |",
  "| after, set 8 alone | 0.951 / 0.954 | 0.929 / 0.981 | 0.914 / 0.780 | 0.901 / 0.985 | 0.919 / 0.905 | 0.857 / 0.964 | 0.795 / 0.686 | 0.882 / 0.811 |",
  "| after, set 9 alone (trained on sets 1 to 8) | 0.955 / 0.923 | 0.960 / 0.906 | 0.850 / 0.791 | 0.898 / 0.855 | 0.876 / 0.885 | 0.831 / 0.900 | 0.647 / 0.647 | 0.813 / 0.792 |",
  "",
  "Tagger mode, no margin threshold, one run each, runs of 2026-12-01 at load 5 to 13 on 2 cores; `CV_SETS=7,8,9 CV_SETTINGS=2000-v SYNTH_MAX=2000",
  "node dist/bench/train-entities.js --cv --no-write` (`2000-v-m2` for minCount 2). In the cross-validation every organisation of sets 7 to 9 is left",
  "out of the well-known organisations (all folds), so the list cannot give the held-out names away; on new text it also finds names it lists",
  "(36 of the 142 Chinese organisations of sets 7 to 9 are in it; the niche names among the misses read were kept out of it, the major ones not).",
];

/** Tagger v8's cross-validation (static: the bench does not train): held-out sets 10, 11 and 12, each tagged by a tagger trained on every other set (sets 1 to 12). */
const CV_TABLE_V8 = [
  "| setting | EN all | EN person | EN org | EN place | ZH all | ZH person | ZH org | ZH place |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  "| tagger v7 code, set 12 trained on in the other folds (before) | **0.953 / 0.933** | 0.930 / 0.919 | 0.867 / 0.860 | 0.927 / 0.927 | **0.925 / 0.908** | 0.851 / 0.922 | 0.821 / 0.721 | 0.890 / 0.863 |",
  "| before, set 10 alone | 0.961 / 0.934 | 0.904 / 0.887 | 0.921 / 0.814 | 0.952 / 0.968 | 0.944 / 0.926 | 0.918 / 0.933 | 0.780 / 0.750 | 0.946 / 0.886 |",
  "| before, set 11 alone | 0.946 / 0.936 | 0.961 / 0.925 | 0.837 / 0.878 | 0.871 / 0.915 | 0.935 / 0.924 | 0.879 / 0.983 | 0.820 / 0.732 | 0.935 / 0.923 |",
  "| before, set 12 alone (trained on sets 1 to 11: v7 with the lists blind to sets 10 to 12) | 0.952 / 0.929 | 0.927 / 0.944 | 0.851 / 0.889 | 0.962 / 0.895 | 0.897 / 0.874 | 0.761 / 0.850 | 0.867 / 0.684 | 0.789 / 0.779 |",
  "| **+ counted things and the weakest Chinese persons dropped (tagger v8, chosen; 1,037,760 B)** | **0.953 / 0.933** | 0.930 / 0.919 | 0.867 / 0.860 | 0.927 / 0.927 | **0.930 / 0.908** | 0.878 / 0.922 | 0.821 / 0.721 | 0.890 / 0.863 |",
  "| after, set 10 alone | 0.961 / 0.934 | 0.904 / 0.887 | 0.921 / 0.814 | 0.952 / 0.968 | 0.948 / 0.926 | 0.949 / 0.933 | 0.780 / 0.750 | 0.946 / 0.886 |",
  "| after, set 11 alone | 0.946 / 0.936 | 0.961 / 0.925 | 0.837 / 0.878 | 0.871 / 0.915 | 0.942 / 0.924 | 0.921 / 0.983 | 0.820 / 0.732 | 0.935 / 0.923 |",
  "| after, set 12 alone | 0.952 / 0.929 | 0.927 / 0.944 | 0.851 / 0.889 | 0.962 / 0.895 | 0.899 / 0.874 | 0.773 / 0.850 | 0.867 / 0.684 | 0.789 / 0.779 |",
  "",
  "Tagger mode, one run per fold (one process each: `CV_SETS=N CV_BLIND=10,11,12 CV_SETTINGS=2000-v-c1000 SYNTH_MAX=2000 SYNTH_ZH_MAX=1000",
  "node dist/bench/train-entities.js --cv --no-write`), runs of 2026-12-01 at load 11 to 16 on 2 cores; the two span steps are rescored from the",
  "folds' dumps (CV_DUMP), as they do not change training. Every organisation and place of sets 10 to 12 is left out of the well-known lists in",
  "every fold. The CV models store weights in hundredths; the asset stores tenths (no entity of the labelled sets' texts moved). The set-12 fold",
  "reproduces the blind figure (Chinese 0.898 / 0.886): v7's code was not written on set 12. Blind set 13 is the estimate.",
];

/**
 * The second pass over Chinese organisation and place spans (session 23, on the tagger v8 weights, not retrained): rescored from the CV
 * dumps of v8 (held-out sets 10, 11 and 12) and from the frozen v8 run on set 13 (the blind measurement's own predictions).
 */
const SECOND_PASS_TABLE = [
  "| setting | EN all | ZH all | ZH person | ZH org | ZH place |",
  "| --- | --- | --- | --- | --- | --- |",
  "| tagger v8 (before), sets 10 to 13 | **0.954 / 0.933** | **0.915 / 0.902** | 0.861 / 0.921 | 0.799 / 0.731 | 0.862 / 0.834 |",
  "| before, set 10 | 0.961 / 0.934 | 0.944 / 0.926 | 0.918 / 0.933 | 0.780 / 0.750 | 0.946 / 0.886 |",
  "| before, set 11 | 0.946 / 0.936 | 0.935 / 0.924 | 0.879 / 0.983 | 0.820 / 0.732 | 0.935 / 0.923 |",
  "| before, set 12 | 0.952 / 0.929 | 0.897 / 0.874 | 0.761 / 0.850 | 0.867 / 0.684 | 0.789 / 0.779 |",
  "| before, set 13 (the blind run) | 0.959 / 0.935 | 0.888 / 0.886 | 0.892 / 0.921 | 0.746 / 0.759 | 0.779 / 0.750 |",
  "| **+ second pass (chosen)**, sets 10 to 13 | **0.954 / 0.933** | **0.925 / 0.912** | 0.864 / 0.921 | 0.830 / 0.767 | 0.891 / 0.860 |",
  "| after, set 10 | 0.961 / 0.934 | 0.944 / 0.926 | 0.918 / 0.933 | 0.780 / 0.750 | 0.946 / 0.886 |",
  "| after, set 11 | 0.946 / 0.936 | 0.937 / 0.927 | 0.879 / 0.983 | 0.840 / 0.750 | 0.935 / 0.923 |",
  "| after, set 12 | 0.952 / 0.929 | 0.913 / 0.890 | 0.773 / 0.850 | 0.915 / 0.754 | 0.840 / 0.818 |",
  "| after, set 13 | 0.959 / 0.935 | 0.905 / 0.904 | 0.892 / 0.921 | 0.797 / 0.810 | 0.844 / 0.813 |",
  "",
  "The ending lists and the cut rules were written after reading the Chinese errors of sets 12 and 13 by shape: on those two sets the gain is",
  "in-sample. Sets 10 and 11 were not read for it: set 11 gains 0.002 / 0.003 (a leading 在 cut off), set 10 is unchanged. English is untouched.",
];

/** Tagger v11's cross-validation (static: the bench does not train): held-out sets 13, 14 and 15, one per process, each tagged by a tagger trained on every other set (sets 1 to 15), the names of all three left out of the well-known lists. */
const CV_TABLE_V11 = [
  "| setting | EN all | EN person | EN org | EN place | ZH all | ZH person | ZH org | ZH place |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  "| tagger v10 (before), set 13: v10's CV row | 0.962 / 0.943 | 0.914 / 0.981 | 0.952 / 0.889 | 0.946 / 0.930 | 0.908 / 0.890 | 0.885 / 0.857 | 0.827 / 0.741 | 0.838 / 0.838 |",
  "| tagger v10 (before), set 14: v10's CV row | 0.950 / 0.929 | 0.965 / 1.000 | 0.911 / 0.932 | 0.981 / 0.929 | 0.875 / 0.838 | 0.782 / 0.859 | 0.720 / 0.621 | 0.808 / 0.738 |",
  "| tagger v10 (before), set 15: its blind figure | 0.871 / 0.841 | – | – | – | 0.799 / 0.777 | – | – | – |",
  "| rules+nlp (no tagger), v11 rules, set 13 | 0.907 / 0.760 | 0.756 / 0.630 | 0.833 / 0.556 | 0.654 / 0.298 | 0.852 / 0.730 | 0.755 / 0.635 | 0.619 / 0.224 | 0.600 / 0.450 |",
  "| rules+nlp (no tagger), v11 rules, set 14 | 0.892 / 0.812 | 0.840 / 0.764 | 0.690 / 0.659 | 0.853 / 0.518 | 0.854 / 0.739 | 0.671 / 0.662 | 0.810 / 0.293 | 0.621 / 0.450 |",
  "| rules+nlp (no tagger), v11 rules, set 15 | 0.856 / 0.709 | 0.837 / 0.719 | 0.686 / 0.400 | 0.750 / 0.240 | 0.799 / 0.644 | 0.577 / 0.500 | 0.708 / 0.258 | 0.174 / 0.075 |",
  "| **tagger v11** (guide spans, rules, set 15 trained on in the other folds), set 13 | 0.959 / 0.938 | 0.877 / 0.926 | 0.953 / 0.911 | 0.962 / 0.895 | 0.870 / 0.840 | 0.864 / 0.905 | 0.846 / 0.759 | 0.838 / 0.838 |",
  "| **tagger v11**, set 14 | 0.945 / 0.935 | 0.914 / 0.964 | 0.909 / 0.909 | 0.981 / 0.929 | 0.863 / 0.810 | 0.824 / 0.859 | 0.787 / 0.638 | 0.813 / 0.762 |",
  "| **tagger v11**, set 15 (trained on sets 1 to 14) | 0.882 / 0.886 | 0.883 / 0.930 | 0.788 / 0.867 | 0.951 / 0.780 | 0.871 / 0.849 | 0.825 / 0.783 | 0.803 / 0.742 | 0.709 / 0.736 |",
];

/** Tagger v10's cross-validation (static: the bench does not train): held-out sets 13 and 14, one at a time, each tagged by a tagger trained on every other set (sets 1 to 14), the names of both left out of the well-known lists; v9 (the frozen asset, trained on sets 1 to 12) with the same lists. */
const CV_TABLE_V10 = [
  "| setting | EN all | EN person | EN org | EN place | ZH all | ZH person | ZH org | ZH place |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  "| tagger v9 (before), set 13 | 0.959 / 0.935 | 0.912 / 0.963 | 0.930 / 0.889 | 0.944 / 0.895 | 0.901 / 0.897 | 0.879 / 0.921 | 0.789 / 0.776 | 0.831 / 0.800 |",
  "| tagger v9 (before), set 14 | 0.942 / 0.921 | 0.917 / 1.000 | 0.889 / 0.909 | 1.000 / 0.893 | 0.873 / 0.835 | 0.769 / 0.845 | 0.717 / 0.569 | 0.805 / 0.775 |",
  "| sets 13 and 14 trained on, minCount 4 (asset 1,092,385 B: over 1 MiB), set 13 | 0.962 / 0.943 | 0.914 / 0.981 | 0.952 / 0.889 | 0.946 / 0.930 | 0.916 / 0.906 | 0.851 / 0.905 | 0.852 / 0.793 | 0.895 / 0.850 |",
  "| minCount 4, set 14 | 0.944 / 0.926 | 0.948 / 1.000 | 0.891 / 0.932 | 0.981 / 0.911 | 0.877 / 0.835 | 0.782 / 0.859 | 0.766 / 0.621 | 0.784 / 0.725 |",
  "| **sets 13 and 14 trained on, minCount 5 (chosen: asset 941,538 B)**, set 13 | 0.962 / 0.943 | 0.914 / 0.981 | 0.952 / 0.889 | 0.946 / 0.930 | 0.908 / 0.890 | 0.885 / 0.857 | 0.827 / 0.741 | 0.838 / 0.838 |",
  "| minCount 5, set 14 | 0.950 / 0.929 | 0.965 / 1.000 | 0.911 / 0.932 | 0.981 / 0.929 | 0.875 / 0.838 | 0.782 / 0.859 | 0.720 / 0.621 | 0.808 / 0.738 |",
];

/** Tagger v7's cross-validation (static: the bench does not train): held-out sets 9, 10 and 11, each tagged by a tagger trained on every other set (sets 1 to 11). */
const CV_TABLE_V7 = [
  "| setting | EN all | EN person | EN org | EN place | ZH all | ZH person | ZH org | ZH place |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  "| tagger v6 code, set 11 trained on in the other folds (before) | **0.954 / 0.939** | 0.912 / 0.918 | 0.872 / 0.858 | 0.929 / 0.923 | **0.914 / 0.889** | 0.840 / 0.911 | 0.779 / 0.667 | 0.850 / 0.778 |",
  "| before, set 9 alone | 0.961 / 0.945 | 0.980 / 0.943 | 0.854 / 0.814 | 0.905 / 0.919 | 0.935 / 0.915 | 0.889 / 0.933 | 0.864 / 0.745 | 0.889 / 0.831 |",
  "| before, set 10 alone | 0.966 / 0.942 | 0.904 / 0.887 | 0.925 / 0.860 | 0.984 / 0.984 | 0.936 / 0.901 | 0.864 / 0.850 | 0.809 / 0.731 | 0.915 / 0.823 |",
  "| before, set 11 alone (trained on sets 1 to 10: v6 with the lists blind to set 11) | 0.935 / 0.930 | 0.860 / 0.925 | 0.841 / 0.902 | 0.895 / 0.864 | 0.871 / 0.851 | 0.778 / 0.949 | 0.667 / 0.536 | 0.746 / 0.679 |",
  "| + 1000 Chinese shape texts | 0.953 / 0.936 | 0.911 / 0.906 | 0.887 / 0.866 | 0.912 / 0.907 | 0.937 / 0.924 | 0.894 / 0.939 | 0.814 / 0.742 | 0.921 / 0.897 |",
  "| **+ a place right before an organisation joins it (tagger v7, chosen; 1,045,961 B)** | **0.953 / 0.936** | 0.911 / 0.906 | 0.887 / 0.866 | 0.912 / 0.907 | **0.938 / 0.924** | 0.894 / 0.939 | 0.821 / 0.748 | 0.925 / 0.897 |",
  "| after, set 9 alone | 0.961 / 0.937 | 0.960 / 0.906 | 0.897 / 0.814 | 0.889 / 0.903 | 0.938 / 0.927 | 0.905 / 0.950 | 0.848 / 0.765 | 0.905 / 0.870 |",
  "| after, set 10 alone | 0.969 / 0.948 | 0.923 / 0.906 | 0.951 / 0.907 | 0.968 / 0.968 | 0.941 / 0.922 | 0.915 / 0.900 | 0.771 / 0.712 | 0.935 / 0.911 |",
  "| after, set 11 alone (trained on sets 1 to 10; optimistic, see below) | 0.930 / 0.922 | 0.857 / 0.906 | 0.818 / 0.878 | 0.877 / 0.847 | 0.935 / 0.924 | 0.864 / 0.966 | 0.843 / 0.768 | 0.934 / 0.910 |",
  "",
  "Tagger mode, no margin threshold, one run per fold (one process each: `CV_SETS=N CV_BLIND=9,10,11 CV_SETTINGS=2000-v-c1000 SYNTH_MAX=2000",
  "SYNTH_ZH_MAX=1000 node dist/bench/train-entities.js --cv --no-write`; `2000-v` for the rows before), runs of 2026-12-01 at load 7 to 17 on 2",
  "cores; the place-before-organisation step is rescored from the folds' dumps (CV_DUMP), as it does not change training. Every organisation and",
  "place of sets 9 to 11 is left out of the well-known lists in every fold. The CV models keep weights of |w| <= 0.02, which the asset leaves out.",
  "The set-11 fold is optimistic: set 11's Chinese errors were read before the generator's syllable lists and frames were written, and several",
  "frames take the sentence shapes of its misses (no name from a set is in the generator). Sets 9 and 10, not read for it, moved less: Chinese",
  "+0.003 / +0.012 and +0.005 / +0.021, mostly places and persons.",
];

/** Tagger v6's cross-validation (static: the bench does not train): held-out sets 8, 9 and 10, each tagged by a tagger trained on every other set (sets 1 to 10). */
const CV_TABLE_V6 = [
  "| setting | EN all | EN person | EN org | EN place | ZH all | ZH person | ZH org | ZH place |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  "| tagger v5 code, set 10 trained on in the other folds (before) | **0.960 / 0.944** | 0.942 / 0.925 | 0.893 / 0.850 | 0.942 / 0.942 | **0.912 / 0.900** | 0.862 / 0.920 | 0.790 / 0.708 | 0.867 / 0.822 |",
  "| before, set 8 alone | 0.962 / 0.957 | 0.981 / 0.962 | 0.897 / 0.854 | 0.926 / 0.969 | 0.912 / 0.905 | 0.855 / 0.946 | 0.800 / 0.706 | 0.845 / 0.811 |",
  "| before, set 9 alone | 0.963 / 0.942 | 0.943 / 0.943 | 0.900 / 0.837 | 0.933 / 0.903 | 0.894 / 0.896 | 0.833 / 0.917 | 0.750 / 0.647 | 0.833 / 0.844 |",
  "| before, set 10 alone (trained on sets 1 to 9: v5 with the list blind to set 10) | 0.955 / 0.932 | 0.902 / 0.868 | 0.881 / 0.860 | 0.967 / 0.952 | 0.931 / 0.899 | 0.900 / 0.900 | 0.816 / 0.769 | 0.928 / 0.810 |",
  "| + rules (currencies in Chinese, N 个工作日, 月底, 后年 N 月, dates in paths) + well-known places (zl) | 0.960 / 0.948 | 0.936 / 0.925 | 0.901 / 0.858 | 0.927 / 0.947 | 0.925 / 0.911 | 0.872 / 0.926 | 0.800 / 0.727 | 0.870 / 0.817 |",
  "| **+ place spans made whole (tagger v6, chosen; 800 KB)** | **0.960 / 0.948** | 0.936 / 0.925 | 0.901 / 0.858 | 0.927 / 0.947 | **0.927 / 0.914** | 0.872 / 0.926 | 0.800 / 0.727 | 0.884 / 0.830 |",
  "| after, set 8 alone | 0.957 / 0.959 | 0.962 / 0.962 | 0.895 / 0.829 | 0.901 / 0.985 | 0.920 / 0.920 | 0.859 / 0.982 | 0.787 / 0.725 | 0.857 / 0.811 |",
  "| after, set 9 alone | 0.966 / 0.945 | 0.962 / 0.943 | 0.902 / 0.860 | 0.917 / 0.887 | 0.926 / 0.918 | 0.875 / 0.933 | 0.841 / 0.725 | 0.868 / 0.857 |",
  "| after, set 10 alone (trained on sets 1 to 9) | 0.958 / 0.940 | 0.885 / 0.868 | 0.905 / 0.884 | 0.968 / 0.968 | 0.936 / 0.903 | 0.881 / 0.867 | 0.776 / 0.731 | 0.929 / 0.823 |",
  "",
  "Tagger mode, no margin threshold, one run per fold (one process each: `CV_SETS=N CV_BLIND=8,9,10 CV_SETTINGS=2000-v SYNTH_MAX=2000 node",
  "dist/bench/train-entities.js --cv --no-write`), runs of 2026-12-01 at load 10 to 30 on 2 cores; the place-span step is rescored from the",
  "folds' dumps (CV_DUMP), as it does not change training. Every organisation and place of sets 8 to 10 is left out of the well-known lists in",
  "every fold, so the lists cannot give the held-out names away: the rows measure the list features on unlisted names only. On new text the",
  "place list also finds what it lists: with jieba's cities it holds 76 %, 61 % and 68 % of the Chinese places of sets 8, 9 and 10 (jieba's",
  "cities alone 51 %, 43 %, 49 %); it was written after reading set 9's and 10's misses, with the niche names among them kept out.",
];

/** Measured by `npm run train:entities -- --cv` (static: the bench does not train): held-out sets 6, 7 and 8, each tagged by a tagger trained on every other set (sets 1 to 8). */
const CV_TABLE_V4 = [
  "| setting | EN all | EN person | EN org | EN place | ZH all | ZH person | ZH org | ZH place |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  "| rules+nlp (no tagger) | 0.932 / 0.784 | 0.853 / 0.612 | 0.885 / 0.466 | 0.861 / 0.565 | 0.896 / 0.791 | 0.718 / 0.610 | 0.776 / 0.346 | 0.856 / 0.695 |",
  "| tagger v3 code (before) | 0.940 / 0.930 | 0.958 / 0.895 | 0.803 / 0.810 | 0.927 / 0.957 | 0.909 / 0.895 | 0.803 / 0.903 | 0.804 / 0.631 | 0.911 / 0.883 |",
  "| before, set 8 alone (= the blind figure) | 0.932 / 0.924 | 0.980 / 0.906 | 0.825 / 0.805 | 0.900 / 0.969 | 0.890 / 0.864 | 0.750 / 0.911 | 0.800 / 0.549 | 0.853 / 0.784 |",
  "| + context words of organisations, brands without a trade word in the synthetic texts (25 %), 24 frames | 0.940 / 0.931 | 0.950 / 0.875 | 0.847 / 0.810 | 0.910 / 0.978 | 0.905 / 0.901 | 0.826 / 0.896 | 0.754 / 0.685 | 0.906 / 0.883 |",
  "| + more context words, institution / service endings, generic company words as negatives | 0.942 / 0.931 | 0.958 / 0.895 | 0.848 / 0.819 | 0.913 / 0.957 | 0.911 / 0.904 | 0.864 / 0.909 | 0.740 / 0.700 | 0.916 / 0.883 |",
  "| same with brands at 10 % (not chosen) | 0.945 / 0.937 | 0.952 / 0.908 | 0.845 / 0.845 | 0.938 / 0.968 | 0.909 / 0.901 | 0.869 / 0.903 | 0.724 / 0.685 | 0.915 / 0.878 |",
  "| + companies before one-character verbs (asset 1.13 MB: over the 1 MiB bound) | 0.932 / 0.930 | 0.932 / 0.895 | 0.812 / 0.819 | 0.903 / 0.952 | 0.915 / 0.904 | 0.874 / 0.903 | 0.760 / 0.731 | 0.919 / 0.868 |",
  "| − the duplicate Chinese bigram features (10 epochs; 988 KB) | 0.942 / 0.934 | 0.938 / 0.901 | 0.873 / 0.828 | 0.909 / 0.962 | 0.916 / 0.907 | 0.870 / 0.909 | 0.785 / 0.731 | 0.911 / 0.878 |",
  "| same, 6 epochs | 0.942 / 0.935 | 0.944 / 0.895 | 0.867 / 0.845 | 0.909 / 0.968 | 0.909 / 0.905 | 0.867 / 0.890 | 0.754 / 0.731 | 0.897 / 0.883 |",
  "| **same, 15 epochs (tagger v4, chosen; 992 KB)** | **0.940 / 0.934** | 0.939 / 0.908 | 0.865 / 0.828 | 0.904 / 0.957 | **0.918 / 0.912** | 0.877 / 0.922 | 0.800 / 0.738 | 0.907 / 0.893 |",
  "| after, set 8 alone (set 8 is in the other folds' training, not its own) | 0.927 / 0.927 | 0.926 / 0.943 | 0.886 / 0.756 | 0.877 / 0.985 | 0.906 / 0.891 | 0.825 / 0.929 | 0.881 / 0.725 | 0.831 / 0.797 |",
  "",
  "Tagger mode, no margin threshold, one run each, runs of 2026-12-01 at load 4 to 9 on 2 cores; `CV_SETS=6,7,8 CV_SETTINGS=2000-v SYNTH_MAX=2000",
  "node dist/bench/train-entities.js --cv --no-write`. Rows after the first change draw different synthetic texts, so English moves by chance too.",
];

/** Tagger v3's cross-validation on held-out sets 5, 6 and 7 (before set 8 was written). */
const CV_TABLE = [
  "| setting | EN all | EN person | EN org | EN place | ZH all | ZH person | ZH org | ZH place |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  "| rules+nlp (no tagger) | 0.946 / 0.817 | 0.888 / 0.682 | 0.910 / 0.535 | 0.898 / 0.622 | 0.910 / 0.813 | 0.736 / 0.594 | 0.763 / 0.385 | 0.893 / 0.763 |",
  "| tagger v2 (greedy, 2000 synthetic; before) | 0.928 / 0.923 | 0.894 / 0.841 | 0.756 / 0.842 | 0.933 / 0.908 | 0.887 / 0.884 | 0.722 / 0.787 | 0.689 / 0.530 | 0.878 / 0.930 |",
  "| constrained Viterbi, trained as a structured perceptron | 0.937 / 0.936 | 0.931 / 0.887 | 0.792 / 0.868 | 0.930 / 0.930 | 0.915 / 0.907 | 0.808 / 0.871 | 0.787 / 0.598 | 0.908 / 0.952 |",
  "| + Chinese synthetic v3 (30 more frames, wider organisation names and endings, given names beyond faker's, fewer titles) | 0.932 / 0.931 | 0.920 / 0.841 | 0.766 / 0.860 | 0.931 / 0.946 | 0.917 / 0.912 | 0.786 / 0.852 | 0.824 / 0.718 | 0.930 / 0.925 |",
  "| + character classes around Chinese characters | 0.939 / 0.934 | 0.910 / 0.868 | 0.824 / 0.860 | 0.935 / 0.941 | 0.918 / 0.912 | 0.796 / 0.858 | 0.822 / 0.709 | 0.925 / 0.925 |",
  "| **+ names before one-character verbs, 老/小 + surname (tagger v3, chosen)** | **0.935 / 0.935** | 0.912 / 0.894 | 0.831 / 0.860 | 0.905 / 0.924 | **0.921 / 0.920** | 0.793 / 0.890 | 0.842 / 0.726 | 0.940 / 0.930 |",
  "",
  "Tagger mode, no margin threshold; one run each (the rows differ in training only; the synthetic texts change with the generator, so rows after it",
  "also differ by chance in which English texts are drawn). Earlier settings (tagger v2) were compared on sets 5 and 6 alone; see git history.",
];

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
    summary.push(`| ${set.name} | ${extractor.name}${extractor === defaultEntityExtractor ? " (default)" : ""} | ${cases.length} | ${pr(scores.en as EntityScores)} | ${pr(scores.zh as EntityScores)} | ${pr(all)} | ${msPerText.toFixed(2)} |`);
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
  "`rules` is the rule-based extractor alone; `rules+nlp` adds people, organisations and places from compromise (English) and",
  "jieba part-of-speech tags (Chinese). Four rounds, each set written after the code it measures was committed, then run once:",
  "v2.0 on unseen set 1: English 0.919 / 0.868, Chinese 0.755 / 0.781 (P / R, commit b859ce1); v2.1 (tuned on set 1) on unseen set 2:",
  "English 0.946 / 0.871, Chinese 0.908 / 0.836 (commit c7a2391); v2.2 (tuned on sets 1 and 2) on unseen set 3: English 0.914 / 0.833,",
  "Chinese 0.902 / 0.858; v2.3 (tuned on sets 1 to 3; a world gazetteer of places, context cues for organisations and people) on unseen set 4:",
  "English 0.916 / 0.843, Chinese 0.929 / 0.809; v2.4 (tuned on sets 1 to 4) on unseen set 5: English 0.948 / 0.849, Chinese 0.939 / 0.830;",
  "on unseen set 6 (with the tagger v1 beside it, off by default): rules+nlp English 0.945 / 0.803, Chinese 0.899 / 0.809; rules+nlp+tagger",
  "0.907 / 0.846 and 0.869 / 0.839. Rows for the sets the code was tuned or trained on are no longer unseen figures: every set up to 7 is now.",
  "Unseen set 8 (300 texts, written blind while the tagger v3 was built, measured once on 2026-12-01): the default rules+tagger with tagger v3",
  "English 0.932 / 0.924, Chinese 0.890 / 0.864; main's build of the same day (tagger v2) on the same file English 0.915 / 0.897, Chinese 0.851 / 0.830.",
  "Unseen set 9 (300 texts, written blind while the tagger v4 was built, measured once on 2026-12-01 at 03:15 UTC): the default rules+tagger with",
  "tagger v4 English 0.926 / 0.896, Chinese 0.863 / 0.856; main's build of the same day (tagger v3) on the same file English 0.906 / 0.876, Chinese",
  "0.869 / 0.859. The tagger v4 gained in English and not in Chinese (its cross-validation said Chinese 0.918 / 0.912: optimistic again, see README).",
  "Unseen set 10 (300 texts, written blind while the tagger v5 was built, measured once on 2026-12-01 at 06:40 UTC): the default rules+tagger with",
  "tagger v5 English 0.961 / 0.937, Chinese 0.924 / 0.899 (391 of the 435 Chinese entities found; 392 would have been 0.901); main's build of the",
  "same day (tagger v4) on the same file English 0.935 / 0.907, Chinese 0.900 / 0.867. Chinese by type, v5 (v4): organisations 0.86 / 0.85",
  "(0.75 / 0.75), persons 0.86 / 0.85 (0.86 / 0.82), places 0.89 / 0.80 (0.89 / 0.78). The tagger v6 is trained on set 10.",
  "",
  "| set | extractor | texts | English P / R | Chinese P / R | all P / R | ms per text |",
  "| --- | --- | --- | --- | --- | --- | --- |",
  ...summary,
  "",
  "`rules+tagger` is the default (`defaultEntityExtractor`, used by `memzip entities`, `memzip quality` and the semantic layer): the rules+nlp",
  "structured types, and the names (person, organisation, place) decided by a trained tagger (src/semantic/entities-tagger.ts: an averaged",
  "perceptron over BIO labels reading word shapes, neighbours, compromise's tags, gazetteers, jieba's words and part-of-speech tags, surname tables,",
  "Chinese organisation endings, places and compound surnames, and the rules+nlp proposal). `rules+nlp+tagger` keeps every rules+nlp entity and adds",
  "the tagger's names that overlap none. Tagger v6 is trained by `npm run train:entities` (seeded, byte for byte) on every labelled set up to 10 and",
  "2000 synthetic agent-memory texts (src/semantic/entities-synth.ts: templates in both languages filled with names from @faker-js/faker, city-timezones,",
  "jieba's place words and built organisation names). Tagger v3 (set 7 added to training; constrained Viterbi decoding; Chinese synthetic texts",
  "widened) was chosen by leave-one-set-out cross-validation on unseen sets 5, 6 and 7 (each set tagged by a tagger trained on all the others):",
  "`CV_SETTINGS=2000-v SYNTH_MAX=2000 node dist/bench/train-entities.js --cv --no-write` (`-g` greedy; CV_SETS, CV_MODES, CV_MISSES=file",
  "for the errors; runs of 2026-11-30, load 7 to 9 on 2 cores; P / R, names by type):",
  "",
  ...CV_TABLE,
  "",
  "The cross-validation overstates unseen text: some of the Chinese synthetic frames and organisation endings were written from these sets'",
  "misses (review of stop 17), and every fold trains on them. Blind set 8, written while tagger v3 was built and never seen by it, is the",
  "estimate: Chinese 0.890 / 0.864 against the CV's 0.921 / 0.920, Chinese organisations 0.80 / 0.55 against 0.84 / 0.73.",
  "",
  "Tagger v4 (set 8 added to training; context words around Chinese organisations — what a company does or has after its name, 发布, 收购,",
  "旗下, 的客服, 专业版, and what takes one before it, 加入, 入职, 跳槽到, 改用 — within four characters; more institution and service endings;",
  "synthetic brands without a trade word and frames around them, generic company words as negatives; the duplicate Chinese bigram features",
  "dropped; 15 epochs instead of 10) was chosen by the same cross-validation on sets 6, 7 and 8. The context words, endings and frames were written from general usage,",
  "but chosen after reading the kinds of organisation the set-8 fold missed (no name from a set was written into them); the CV is",
  "optimistic for that, and blind set 9 is the estimate:",
  "",
  ...CV_TABLE_V4,
  "",
  "Tagger v5 (set 9 added to training; a feature for well-known Chinese organisations, src/semantic/zh-orgs.ts, about 680 names written from",
  "general knowledge — banks, airlines, carriers, internet companies and apps, makers, food and shop chains, couriers, state bodies, universities —",
  "with their short forms; Chinese organisation spans made whole after decoding, taking in an ending word right after the span (七牛 + 云) or starting",
  "where jieba's word starts; rules for rates per second of any unit, tonnes, L/100 km, counts in 万, last night, weekdays, 昨晚, 工作日; features",
  "seen at least 3 times) was chosen by the same cross-validation on sets 7, 8 and 9, the last three. The kinds of error were read on set 9's",
  "misses; no name from a set was written into the rules, and the set-9 fold is optimistic for that. Blind set 10 is the estimate:",
  "",
  ...CV_TABLE_V5,
  "",
  "Tagger v6 (set 10 added to training; a feature for about 1,230 well-known places written in Chinese, src/semantic/zh-places.ts, from general",
  "knowledge — provinces and regions, the districts of the large cities, business districts and landmarks, scenic areas, mountains, lakes, islands,",
  "old towns, countries and cities abroad — beside jieba's cities; Chinese place spans made whole after decoding, taking in an ending right after",
  "the span (花鸟 + 岛, 桐木 + 关, 古镇, 新区); rules for money in currencies written in Chinese, N 个工作日, 月底, 后年 N 月 and dates inside paths)",
  "was chosen by the same cross-validation on sets 8, 9 and 10, the last three. The kinds of error were read on set 10's misses; no name from a",
  "set was written into the rules or the span step. Blind set 11 is the estimate:",
  "",
  ...CV_TABLE_V6,
  "",
  "Measured once on blind set 11 (2026-12-01, the frozen tagger v6): English 0.946 / 0.939, Chinese 0.869 / 0.849 (tagger v5 on the same set:",
  "0.932 / 0.922 and 0.872 / 0.844). The cross-validation was optimistic again by 0.06 in Chinese: the set's Chinese organisations (0.70 / 0.55),",
  "places (0.75 / 0.71) and person precision (0.73) are the gap — names outside any list, which the features of a perceptron trained on ten",
  "sets do not reach. The Chinese target is not met.",
  "",
  "Tagger v7 (set 11 added to training; a change of method for Chinese: 1000 synthetic Chinese texts whose names are built in code from the",
  "shapes of names, src/semantic/entities-synth-zh.ts — persons from surname and given-name characters, Tibetan, Uyghur, Mongolian and Vietnamese",
  "syllables and nicknames; organisations as [place] + stem + industry word + organisation ending, shops and restaurants, apps, media, and names",
  "nested in another labelled whole (…市第六人民医院, …驻…总领事馆); places as invented stems with an ending, bare stems and transliterations —",
  "in 50 frames written for it; and a Chinese place right before a Chinese organisation joined to it) was chosen by the same cross-validation on",
  "sets 9, 10 and 11, the last three. Blind set 12 is the estimate:",
  "",
  ...CV_TABLE_V7,
  "",
  "Measured once on blind set 12 (2026-12-01, the frozen tagger v7): English 0.947 / 0.929, Chinese 0.898 / 0.886 — Chinese persons 0.73 / 0.87,",
  "organisations 0.86 / 0.74, places 0.84 / 0.79. Tagger v8 adds set 12 to training, drops a Chinese person span right after a quantity and 的",
  "(\"120 立方米的红松\") and Chinese person spans whose margin is below -60, and stores its weights in tenths to stay under 1 MiB; chosen by the",
  "cross-validation on sets 10, 11 and 12, the last three:",
  "",
  ...CV_TABLE_V8,
  "",
  "Measured once on blind set 13 (2026-12-01, the frozen tagger v8): English 0.959 / 0.935, Chinese 0.888 / 0.886 — organisations 0.75 / 0.76",
  "and places 0.78 / 0.75, cut before a multi-character ending (户外, 气象台, 群岛, 草原, 观景台), run on into a verb (…岛订民宿) or started on a",
  "preposition (在…). A second pass over Chinese organisation and place spans (src/semantic/entities-tagger.ts, `secondPass`) cuts a leading",
  "preposition, cuts a place that runs on into a verb or a locative after its ending, and takes in a multi-character ending right after a span:",
  "",
  ...SECOND_PASS_TABLE,
  "",
  "Measured once on blind set 14 (2026-12-01, the frozen tagger v9): English 0.942 / 0.921, Chinese 0.878 / 0.846. Tagger v10 adds sets 13",
  "and 14 to training and keeps features seen at least 5 times (4 left the asset over 1 MiB); checked by holding out sets 13 and 14 one at a time:",
  "",
  ...CV_TABLE_V10,
  "",
  "Measured once on blind set 15 (2026-12-01, the frozen tagger v10): English 0.871 / 0.841, Chinese 0.799 / 0.777. From set 16 on every set",
  "is labelled by docs/ENTITIES.md. Tagger v11 (stop 25) follows it: `followGuide` (src/semantic/entities-guide.ts) after the tagger keeps",
  "approximations, prepositions and articles out of spans, puts a title before a person's name in and a kinship word out, makes a Chinese surname",
  "with a title a person, writes a date and a time that stand together as one span, drops numbers inside names and types a number after a ticket",
  "or order word as an id; the rules add the guide's other forms (end of May, weekend, next month, nights, 三月底, 农历, 两晚, 一公斤, 600块, 4.x,",
  "host names, folders, flags, class names, booking codes, 22号, years, holidays; URLs stop at Chinese text); set 15 is trained on, the English",
  "name labels of every set mapped to one convention for training (`namesForTraining`: titles, kinship words, possessives out; the fixtures",
  "unchanged). Of 61 texts written from the guide's rules and examples (`node dist/bench/entities-guide.js`), v10 wrote 41 as the guide does,",
  "v11 60 (the guide's name examples come from set 15). Leave-one-set-out on sets 13, 14 and 15, one fold per process, the names of all three",
  "left out of the well-known lists (`CV_SETS=15 CV_BLIND=13,14,15 CV_SETTINGS=2000-v SYNTH_MAX=2000 SYNTH_ZH_MAX=1000 node dist/bench/train-entities.js",
  "--cv --no-write`, then 14, then 13; 2026-12-02 02:17-02:32 UTC, load 6 to 9 on 2 cores). Sets 13 and 14 write a date and its time apart",
  "(周三 + 晚上 8 点, 32 pairs in sets 13 to 15), the guide one span: most of their Chinese drop is that rule. The rules were written after reading",
  "set 15's misses, so its fold is optimistic; blind set 16 is the estimate.",
  "",
  ...CV_TABLE_V11,
  "",
  `On ${newest.name}, by type — precision / recall (expected entities). Target 0.90 / 0.90: ${[entityExtractor, taggerUnion, taggerOnly].map(verdict).join("; ")}.${
    (ENTITY_TRAINING_SETS as readonly string[]).includes(newest.file)
      ? " The tagger is trained on this set: these are not unseen figures."
      : KNOWN_SETS.some((set) => set.file === newest.file)
        ? " The tagger is not trained on this set, but it has been seen (its blind figures are in its name)."
        : ""
  }`,
  "",
  "| type | English rules+nlp | English rules+nlp+tagger | English rules+tagger (default) | Chinese rules+nlp | Chinese rules+nlp+tagger | Chinese rules+tagger (default) |",
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
