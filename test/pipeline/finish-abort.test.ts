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

// cmBase off: with it, no training of these dev texts would be used (the shipped base learned from them), and these
// tests stop and resume trainings that are.
const OPTIONS = { workers: 0, cache: "off", autoTrainAfter: 200, batchSize: 16, cmBase: false } as const;

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

describe("Engine.close while an import runs", () => {
  for (const workers of [0, 2]) {
    it(`stops it after the batch in progress, as its caller's signal would: the report says aborted, the job is interrupted, every batch committed stays, and --resume finishes it (workers ${workers})`, async () => {
      using dir = tempDir();
      const file = join(dir.path, "records.jsonl");
      writeFileSync(file, devCorpus().slice(0, 120).map((r) => JSON.stringify({ id: r.id, text: r.text })).join("\n") + "\n");
      const db = join(dir.path, "close.db");
      // With workers the batch in progress is coded on the codec threads, which must still start while close waits for it.
      const options = { ...OPTIONS, workers, autoTrainAfter: 0, batchSize: 10 };
      const engine = Engine.open({ db, ...options });
      let closing: Promise<void> | undefined;
      // Deterministic: close comes from the import's own progress, once 20 records are written.
      const report = await engine.importJsonl(file, { onProgress: (p) => void (p.done >= 20 && (closing ??= engine.close())) });
      await closing;
      assert.ok(report.aborted, "reported as stopped, not thrown");
      assert.ok(report.stored >= 20 && report.stored < 120, `stopped part way: ${report.stored} stored`);
      assert.ok(report.jobId);
      await using reopened = Engine.open({ db, ...options });
      assert.equal((await reopened.jobs()).find((job) => job.id === report.jobId)?.status, "interrupted", "marked before the store closed, not left running until stale");
      assert.deepEqual(await reopened.verify(), { checked: report.stored, failed: 0, failures: [] }, "every batch acknowledged is there and reads back");
      const resumed = await reopened.importJsonl(file, { resume: report.jobId });
      assert.ok(!resumed.aborted);
      assert.equal(report.stored + resumed.stored, 120);
      assert.equal((await reopened.jobs()).find((job) => job.id === report.jobId)?.status, "done");
      assert.deepEqual(await reopened.verify(), { checked: 120, failed: 0, failures: [] });
      // A closed engine takes no new import.
      await assert.rejects(engine.importJsonl(file), (e: unknown) => isMemzipError(e, "E_USAGE") && /closed/.test((e as Error).message));
    });
  }

  it("any number of imports may run at once: no MaxListenersExceededWarning from the engine's close signal", async () => {
    using dir = tempDir();
    await using engine = Engine.open({ db: join(dir.path, "many.db"), ...OPTIONS, autoTrainAfter: 0 });
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on("warning", onWarning);
    try {
      const files = Array.from({ length: 14 }, (_, i) => {
        const file = join(dir.path, `part${i}.jsonl`);
        writeFileSync(file, `${JSON.stringify({ id: `p${i}`, text: `memory ${i} of a burst of imports` })}\n`);
        return file;
      });
      const reports = await Promise.all(files.map((file) => engine.importJsonl(file)));
      assert.equal(reports.reduce((n, r) => n + r.stored, 0), 14);
      // A warning is emitted on the next turn of the event loop.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("warning", onWarning);
    }
    assert.deepEqual(warnings.filter((w) => w.startsWith("MaxListenersExceededWarning")), []);
  });

  it("stops an import's ending at its training: the job is interrupted at that step, and --resume trains", async () => {
    using dir = tempDir();
    const file = corpusFile(dir.path);
    const db = join(dir.path, "close-train.db");
    const engine = Engine.open({ db, ...OPTIONS });
    let closing: Promise<void> | undefined;
    const report = await engine.importJsonl(file, { onFinishStep: (step) => void (step.step === "train" && (closing ??= engine.close())) });
    await closing;
    assert.equal(report.stored, 300);
    assert.ok(report.aborted);
    assert.equal(report.interrupted?.step, "train", JSON.stringify(report.interrupted));
    await using reopened = Engine.open({ db, ...OPTIONS });
    assert.equal((await reopened.jobs())[0]?.status, "interrupted");
    assert.deepEqual(await storeOf(reopened).assets.list(), [], "no asset saved");
    const resumed = await reopened.importJsonl(file, { resume: report.jobId });
    assert.ok((resumed.trained?.assets.length ?? 0) > 0, "the resume trains");
    assert.equal((await reopened.jobs())[0]?.status, "done");
    assert.deepEqual(await reopened.verify(), { checked: 300, failed: 0, failures: [] });
  });
});
