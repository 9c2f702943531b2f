/**
 * `npm run train:entities`: trains the name tagger (src/semantic/entities-tagger.ts) on the team's
 * labelled sets (ENTITY_TRAINING_SETS: every set measured so far) and the synthetic texts
 * (src/semantic/entities-synth.ts), and writes assets/entity-tagger.json. With `--cv`, first compares
 * settings by leave-one-set-out cross-validation on held-out sets (CV_SETS, by number; default 9, 10 and 11, the last three; with several, each set's own rows too): each
 * is tagged by a tagger trained on every other set — and prints the tables (per language, and per type for person /
 * organization / place). CV_SETTINGS lists settings ("2000-v": 2000 synthetic texts, Viterbi; "-g" greedy; "-z" without
 * the Chinese list features), CV_BLIND the sets whose names the well-known lists leave out (default CV_SETS), CV_MODES the modes scored (tagger, union), CV_MISSES a file for every error (JSON lines);
 * `--no-write` leaves the asset alone.
 */
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { scoreEntities, type EntityCase } from "../src/quality/entity-scores.js";
import type { Entity, EntityExtractor } from "../src/semantic/entities.js";
import { combine, leaveOutKnownOrgs, leaveOutKnownPlaces, namesOf, type TaggedName, type TaggerMode, type TaggerThresholds } from "../src/semantic/entities-tagger.js";
import { DEFAULT_TRAIN_OPTIONS, ENTITY_TRAINING_SETS, prepare, train, trainingExamples, trainingFingerprint, trainWeights, type LabelledText, type TrainingExample, type TrainOptions } from "../src/semantic/entities-train.js";
import { syntheticTexts } from "../src/semantic/entities-synth.js";
import { syntheticChineseTexts } from "../src/semantic/entities-synth-zh.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const readSet = (file: string) => JSON.parse(readFileSync(join(ROOT, "test", "fixtures", file), "utf8")) as LabelledText[];

const languageOf = (text: string) => (/\p{Script=Han}/u.test(text) ? "zh" : "en");
const pr = (s: { precision: number; recall: number }) => `${s.precision.toFixed(3)} / ${s.recall.toFixed(3)}`;
const NAMES = ["person", "organization", "place"] as const;

interface Setting {
  name: string;
  options: TrainOptions;
  /** Static features left out (to compare feature groups). */
  drop?: RegExp;
}

const without = (examples: readonly TrainingExample[], drop: RegExp | undefined) => (drop ? examples.map((e) => ({ ...e, features: e.features.map((f) => f.filter((x) => !drop.test(x))) })) : examples);

/** Per language: all types P / R, then person, organization, place P / R. */
function scoreRow(cases: readonly LabelledText[], predict: (i: number) => Entity[]): string[] {
  const indexOf = new Map(cases.map((c, i) => [c.text, i]));
  const extractor: EntityExtractor = { name: "cv", extract: (text) => predict(indexOf.get(text) as number) };
  return ["en", "zh"].flatMap((language) => {
    const scores = scoreEntities(extractor, cases.filter((c) => languageOf(c.text) === language) as EntityCase[]);
    return [pr(scores), ...NAMES.map((type) => (scores.byType[type] ? pr(scores.byType[type]) : "–"))];
  });
}

// The held-out sets, by number (CV_SETS=10,11,12 by default): each is tagged by a tagger trained on every other set.
const CV_SETS = (process.env.CV_SETS ?? "10,11,12").split(",").map((n) => `entities-v2-unseen-${n.trim()}.json`);
const CV_MODES = (process.env.CV_MODES ?? "tagger").split(",") as TaggerMode[];
// The sets whose names are left out of the well-known lists (CV_BLIND, by number; default CV_SETS): one fold per process (CV_SETS=10 CV_BLIND=10,11,12) blinds as the three-fold run does.
const CV_BLIND = (process.env.CV_BLIND ?? process.env.CV_SETS ?? "10,11,12").split(",").map((n) => `entities-v2-unseen-${n.trim()}.json`);

function crossValidate(sets: Map<string, TrainingExample[]>, synthetic: TrainingExample[], shapes: TrainingExample[], settings: readonly Setting[], thresholdsToTry: readonly TaggerThresholds[]): void {
  const held = CV_SETS.flatMap((file) => sets.get(file) as TrainingExample[]);
  const cases: LabelledText[] = CV_SETS.flatMap(readSet);
  const header = "| setting | mode | thresholds | EN all | EN person | EN org | EN place | ZH all | ZH person | ZH org | ZH place |";
  const rows = [header, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"];
  const row = (cells: string[]) => {
    rows.push(`| ${cells.join(" | ")} |`);
    console.log(rows.at(-1));
  };
  row(["rules+nlp (no tagger)", "–", "–", ...scoreRow(cases, (i) => (held[i] as TrainingExample).proposal)]);
  for (const setting of settings) {
    const predictions: TaggedName[][] = [];
    for (const file of CV_SETS) {
      const rest = [...sets].filter(([f]) => f !== file).flatMap(([, e]) => e);
      const model = trainWeights(without([...rest, ...synthetic.slice(0, setting.options.synthetic), ...shapes.slice(0, setting.options.syntheticZh)], setting.drop), setting.options);
      for (const e of without(sets.get(file) as TrainingExample[], setting.drop)) predictions.push(namesOf(model, e.text, e.tokens, e.features));
    }
    for (const mode of CV_MODES) {
      for (const thresholds of thresholdsToTry) {
        const label = Object.keys(thresholds).length === 0 ? "none" : Object.entries(thresholds).map(([t, v]) => `${t.slice(0, 3)} ${String(v)}`).join(", ");
        const predict = (i: number) => combine((held[i] as TrainingExample).proposal, predictions[i] ?? [], mode, thresholds, (held[i] as TrainingExample).text);
        row([setting.name, mode, label, ...scoreRow(cases, predict)]);
        // With more than one held-out set, each set's own row too (the newest set alone reproduces its blind figure, but for the rules changed since).
        if (CV_SETS.length > 1) {
          let offset = 0;
          for (const file of CV_SETS) {
            const own = readSet(file);
            const first = offset;
            row([`${setting.name} (set ${/(\d+)\.json$/.exec(file)?.[1] ?? file})`, mode, label, ...scoreRow(own, (i) => predict(first + i))]);
            offset += own.length;
          }
        }
        // CV_DUMP=file: every held-out text's tagger names and rules proposal (JSON lines), to try span-level steps without retraining.
        if (process.env.CV_DUMP) {
          appendFileSync(process.env.CV_DUMP, cases.map((c, i) => JSON.stringify({ setting: setting.name, mode, text: c.text, entities: c.entities, names: predictions[i] ?? [], proposal: (held[i] as TrainingExample).proposal })).join("\n") + "\n");
        }
        // CV_MISSES=file: every held-out text the setting got wrong (one JSON line each), to read the errors.
        if (process.env.CV_MISSES) {
          const indexOf = new Map(cases.map((c, i) => [c.text, i]));
          const misses = scoreEntities({ name: "cv", extract: (text) => predict(indexOf.get(text) as number) }, cases as EntityCase[]).misses;
          appendFileSync(process.env.CV_MISSES, misses.map((m) => JSON.stringify({ setting: setting.name, mode, ...m })).join("\n") + "\n");
        }
      }
    }
  }
  console.log(rows.join("\n"));
}

const started = performance.now();
// In cross-validation the held-out sets' organisations are left out of the well-known organisations (the `zk` feature), for every fold: the list cannot give them away.
const blind = process.argv.includes("--cv") ? CV_BLIND.flatMap(readSet).flatMap((c) => c.entities.filter((e) => e.type === "organization").map((e) => e.text)) : [];
leaveOutKnownOrgs(blind);
if (blind.length > 0) console.log(`well-known organisations: the held-out sets' ${new Set(blind).size} left out`);
// The same for the well-known places (the `zl` feature).
const blindPlaces = process.argv.includes("--cv") ? CV_BLIND.flatMap(readSet).flatMap((c) => c.entities.filter((e) => e.type === "place").map((e) => e.text)) : [];
leaveOutKnownPlaces(blindPlaces);
if (blindPlaces.length > 0) console.log(`well-known places: the held-out sets' ${new Set(blindPlaces).size} left out`);
const sets = new Map(ENTITY_TRAINING_SETS.map((file) => [file, readSet(file).map(prepare)] as const));
const texts = [...sets.values()].flat();
console.log(`${texts.length} texts, ${texts.reduce((n, e) => n + e.unaligned, 0)} gold names off token boundaries; features in ${((performance.now() - started) / 1000).toFixed(1)} s`);
if (process.argv.includes("--cv")) {
  const most = Number(process.env.SYNTH_MAX ?? 3000);
  const t0 = performance.now();
  const synthetic = syntheticTexts(most).map((t) => ({ ...prepare(t), synthetic: true }));
  console.log(`${most} synthetic texts prepared in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // SYNTH_ZH_MAX: the Chinese shape texts prepared (settings take the first N of them with "-cN").
  const shapes = syntheticChineseTexts(Number(process.env.SYNTH_ZH_MAX ?? 0)).map((t) => ({ ...prepare(t), synthetic: true }));
  // "1000", "1000-z" (without the Chinese list features zo/zp/zcs), "1000-v" (constrained Viterbi, trained as a structured perceptron), "1000-g" (greedy), "1000-v-e15" (15 epochs).
  const settings: Setting[] = (process.env.CV_SETTINGS ?? "0,1000,3000").split(",").map((n) => ({
    name: `synthetic ${n}`,
    options: {
      ...DEFAULT_TRAIN_OPTIONS,
      synthetic: Number.parseInt(n, 10),
      ...(n.includes("-v") ? { decoder: "viterbi" as const } : n.includes("-g") ? { decoder: "greedy" as const } : {}),
      // "-e15": 15 epochs.
      ...(/-e(\d+)/.exec(n) ? { epochs: Number(/-e(\d+)/.exec(n)?.[1]) } : {}),
      // "-c1000": 1000 Chinese shape texts (src/semantic/entities-synth-zh.ts).
      ...(/-c(\d+)/.exec(n) ? { syntheticZh: Number(/-c(\d+)/.exec(n)?.[1]) } : {}),
      // "-m3": features seen at least 3 times.
      ...(/-m(\d+)/.exec(n) ? { minCount: Number(/-m(\d+)/.exec(n)?.[1]) } : {}),
    },
    ...(n.includes("-z") ? { drop: /^z(?:o|p|cs)/ } : {}),
  }));
  const thresholds: TaggerThresholds[] = JSON.parse(process.env.CV_THRESHOLDS ?? "[{}]") as TaggerThresholds[];
  crossValidate(sets, synthetic, shapes, settings, thresholds);
}
if (process.argv.includes("--no-write")) process.exit(0);
leaveOutKnownOrgs();
leaveOutKnownPlaces();
const file = train([...(blind.length > 0 || blindPlaces.length > 0 ? ENTITY_TRAINING_SETS.flatMap((f) => readSet(f).map(prepare)) : texts), ...trainingExamples([], DEFAULT_TRAIN_OPTIONS.synthetic, DEFAULT_TRAIN_OPTIONS.syntheticZh)], DEFAULT_TRAIN_OPTIONS);
const json = JSON.stringify({ version: file.version, labels: file.labels, scale: file.scale, ...(file.decoder ? { decoder: file.decoder } : {}), fingerprint: trainingFingerprint(ENTITY_TRAINING_SETS.map(readSet)), weights: file.weights });
writeFileSync(join(ROOT, "assets", "entity-tagger.json"), `${json}\n`);
// The file's own size in bytes (UTF-8, with the newline written after the JSON), as the size test and the 1.2 MB bound count it.
console.log(`assets/entity-tagger.json: ${Object.keys(file.weights).length} features, ${Buffer.byteLength(`${json}\n`).toLocaleString("en-US")} B`);
