import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { describe, it } from "node:test";
import { loadTagger, TAGGER_ASSET, taggedExtractor, taggerEntityExtractor, tagNames } from "../../src/semantic/entities-tagger.js";
import { DEFAULT_TRAIN_OPTIONS, ENTITY_TRAINING_SETS, prepare, train, trainWeights, type LabelledText } from "../../src/semantic/entities-train.js";

const fixture = (file: string) => JSON.parse(readFileSync(new URL(`../../../test/fixtures/${file}`, import.meta.url), "utf8")) as LabelledText[];
const names = (text: string) => taggerEntityExtractor.extract(text).filter((e) => ["person", "organization", "place"].includes(e.type)).map((e) => [e.type, e.text]);

describe("entity tagger", () => {
  it("trains to the same weights, byte for byte, from the same texts and seed", () => {
    const texts = [...fixture("entities.json").slice(0, 40), ...fixture("entities-v2-unseen-4.json").slice(-40)];
    const examples = texts.map(prepare);
    const first = JSON.stringify(train(examples));
    assert.equal(JSON.stringify(train(examples)), first);
    assert.notEqual(JSON.stringify(train(examples, { ...DEFAULT_TRAIN_OPTIONS, seed: 2 })), first, "the seed drives the order of training");
    // What it learned: the names of a text it was trained on.
    const model = trainWeights(examples);
    const trained = texts.find((t) => t.entities.filter((e) => e.type === "person").length >= 1 && /\p{Script=Han}/u.test(t.text)) as LabelledText;
    const found = tagNames(model, trained.text).names.map((e) => `${e.type}:${e.text}`);
    for (const e of trained.entities.filter((x) => x.type === "person")) assert.ok(found.includes(`person:${e.text}`), `${e.text} in ${trained.text}: ${found.join(", ")}`);
  });

  it("the committed weights are what training on the labelled sets rebuilds", () => {
    const texts = ENTITY_TRAINING_SETS.flatMap(fixture);
    assert.equal(`${JSON.stringify(train(texts.map(prepare)))}\n`, readFileSync(TAGGER_ASSET, "utf8"), "run npm run train:entities and commit assets/entity-tagger.json");
  });

  it("loads the committed weights and tags English and Chinese offline", () => {
    assert.ok(statSync(TAGGER_ASSET).size < 400 * 1024);
    assert.ok(loadTagger().weights.size > 1000);
    assert.deepEqual(names("Sarah met Tom Baker of Helios Energy in Lisbon on Monday."), [
      ["person", "Sarah"],
      ["person", "Tom Baker"],
      ["organization", "Helios Energy"],
      ["place", "Lisbon"],
    ]);
    assert.deepEqual(names("李强和刘洋下周去成都见华为的客户。"), [
      ["person", "李强"],
      ["person", "刘洋"],
      ["place", "成都"],
      ["organization", "华为"],
    ]);
    for (const extractor of [taggerEntityExtractor, taggedExtractor(loadTagger, "tagger")]) {
      for (const text of ["Refund of EUR 240 approved for invoice INV-2026-0193 by Priya Raman.", "王芳把 v2.8.0 部署到了杭州机房。"]) {
        const entities = extractor.extract(text);
        for (const entity of entities) assert.equal(text.slice(entity.start, entity.end), entity.text);
        assert.ok(entities.some((e) => e.type === "person"), `${extractor.name}: a person in ${text}`);
      }
    }
  });
});
