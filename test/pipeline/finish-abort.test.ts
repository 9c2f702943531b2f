import { strict as assert } from "node:assert";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import type { FinishStep } from "../../src/engine.js";
import { isMemzipError } from "../../src/errors.js";
import { devCorpus, storeOf, tempDir } from "../helpers.js";

/** 300 records of the dev corpus, past the auto-training threshold of 200: an import of them trains and recodes. */
function corpusFile(dir: string): string {
  const file = join(dir, "records.jsonl");
  writeFileSync(file, devCorpus().slice(0, 300).map((r) => JSON.stringify({ id: r.id, text: r.text })).join("\n") + "\n");
  return file;
}

const OPTIONS = { workers: 0, cache: "off", autoTrainAfter: 200, batchSize: 16 } as const;

describe("a signal while an import ends (training, recoding)", () => {
  it("stops the recode between memories: what was committed stays, every memory reads back, and --resume finishes the recode", async () => {
    using dir = tempDir();
    const file = corpusFile(dir.path);
    await using engine = Engine.open({ db: join(dir.path, "abort.db"), ...OPTIONS });
    const controller = new AbortController();
    const steps: FinishStep["step"][] = [];
    const report = await engine.importJsonl(file, {
      signal: controller.signal,
      onFinishStep: (step) => {
        if (steps.at(-1) !== step.step) steps.push(step.step);
        // Deterministic: the abort comes from the ending's own progress, at its 40th recoded memory.
        if (step.step === "recode" && step.done === 40) controller.abort();
      },
    });
    assert.equal(report.stored, 300);
    assert.ok(report.aborted, "reported as interrupted");
    assert.equal(report.interrupted?.step, "recode", JSON.stringify(report.interrupted));
    assert.equal(report.trained, undefined, "a recode cut short is not reported as done");
    assert.deepEqual(steps, ["train", "recode"], "trained, then stopped in the recode (no compaction)");
    assert.equal((await engine.jobs())[0]?.status, "interrupted");
    // The store is whole: every memory decodes to its text, the trained assets were saved.
    assert.deepEqual(await engine.verify(), { checked: 300, failed: 0, failures: [] });
    const trained = (await storeOf(engine).assets.list()).filter((a) => a.namespace === "default");
    assert.ok(trained.length > 0, "the assets trained before the stop stay");

    // Resuming trains nothing again and finishes the recode; a recode after it has nothing left to do.
    assert.ok(report.jobId);
    const resumed = await engine.importJsonl(file, { resume: report.jobId });
    assert.equal(resumed.read, 0);
    assert.ok(!resumed.aborted && resumed.interrupted === undefined);
    assert.deepEqual(resumed.trained?.assets, [], "nothing trained twice");
    assert.ok((resumed.trained?.recode.recoded ?? 0) > 0, "the rest of the recode ran");
    assert.equal((await engine.jobs())[0]?.status, "done");
    assert.equal((await engine.recode("default")).recoded, 0, "every memory is coded with the trained assets");
    assert.deepEqual(await engine.verify(), { checked: 300, failed: 0, failures: [] });
  });

  it("stops before a training: nothing half-written, and --resume trains", async () => {
    using dir = tempDir();
    const file = corpusFile(dir.path);
    await using engine = Engine.open({ db: join(dir.path, "abort.db"), ...OPTIONS });
    const controller = new AbortController();
    const report = await engine.importJsonl(file, {
      signal: controller.signal,
      onFinishStep: (step) => step.step === "train" && controller.abort(),
    });
    assert.equal(report.stored, 300);
    assert.equal(report.interrupted?.step, "train");
    assert.equal((await engine.jobs())[0]?.status, "interrupted");
    assert.deepEqual(await storeOf(engine).assets.list(), [], "no asset saved");
    assert.equal((await engine.verify()).failed, 0);
    const resumed = await engine.importJsonl(file, { resume: report.jobId });
    assert.ok((resumed.trained?.assets.length ?? 0) > 0);
    assert.equal((await engine.jobs())[0]?.status, "done");
    assert.equal((await engine.verify()).failed, 0);
  });

  it("finishImports itself throws E_ABORTED naming the step", async () => {
    using dir = tempDir();
    await using engine = Engine.open({ db: join(dir.path, "abort.db"), ...OPTIONS });
    await engine.importJsonl(corpusFile(dir.path));
    const controller = new AbortController();
    await assert.rejects(
      engine.finishImports(["default"], { signal: controller.signal, recodeAnyway: true, onStep: () => controller.abort() }),
      (e) => isMemzipError(e, "E_ABORTED") && (e.details.step as FinishStep).step === "recode",
    );
  });
});
