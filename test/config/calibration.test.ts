import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";
import { calibrationDir, fingerprintKey, hardwareFingerprint, loadCalibration, readCalibrationFile, writeCalibration, type ClassicalCalibration, type HardwareFingerprint, type LlmCalibration } from "../../src/core/calibration.js";
import { hardwareFromOs } from "../../src/core/profiles.js";
import { calibrate, chooseConcurrency, CLASSICAL_MIN_RECORDS, concurrencyCandidates, LLM_MIN_RECORDS, llmRoundRecords, pairedRatios } from "../../src/engine/calibrate.js";
import { MAX_BAND, MIN_BAND, MIN_RANK_ROUNDS, noiseBand, rankSettings, type Ranking } from "../../src/engine/rank-settings.js";
import { autoProfile } from "../../src/engine-options.js";
import { CHILD_TIMEOUT_MS, CLI, tempDir, spawnBounded } from "../helpers.js";

// Nothing here may write the developer's real cache (~/.cache/memzip): this file's engines and CLI
// children get a temporary one (review23 C3).
const processCache = mkdtempSync(join(tmpdir(), "memzip-calibration-cache-"));
process.env.MEMZIP_CACHE_DIR = processCache;
after(() => rmSync(processCache, { recursive: true, force: true }));

const here = hardwareFromOs();
const fingerprint: HardwareFingerprint = hardwareFingerprint(here.cpuCores, here.ramBytes);
const classical: ClassicalCalibration = {
  workers: 0,
  concurrency: 3,
  batchSize: 48,
  memoriesPerMin: 1234,
  candidates: [
    { label: "workers 0, concurrency 3, batch 48", memoriesPerMin: 1234, cpuMsPerMemory: 2 },
    { label: "workers 1, concurrency 2, batch 32", memoriesPerMin: 1000, cpuMsPerMemory: 3 },
  ],
  sampleRecords: 50,
  rounds: 2,
  calibratedAt: "2026-12-01T10:00:00.000Z",
};

function llmFor(path: string, sha: string): LlmCalibration {
  return {
    contexts: 3,
    threads: 1,
    workers: 1,
    concurrency: 3,
    model: { sha256: sha.repeat(64).slice(0, 64), path, bytes: 4, mtimeMs: 0 },
    memoriesPerMin: 99,
    candidates: [{ label: "3 contexts", memoriesPerMin: 99, cpuMsPerMemory: 100 }],
    sampleRecords: 8,
    rounds: 2,
    calibratedAt: "2026-12-01T11:00:00.000Z",
  };
}

const cli = (env: NodeJS.ProcessEnv, ...args: string[]) =>
  spawnBounded(process.execPath, [CLI, ...args], { encoding: "utf8", env: { ...process.env, MEMZIP_CONFIG: "/nonexistent/memzip.json", ...env } });

describe("calibration cache", () => {
  it("auto takes a calibration made on this machine and names it as the source", () => {
    using dir = tempDir();
    const env = { MEMZIP_CACHE_DIR: join(dir.path, "cache") };
    const before = autoProfile("", env);
    assert.deepEqual(before.sources, { classical: "arithmetic", llm: "arithmetic" });
    const path = writeCalibration(fingerprint, { classical }, env);
    assert.equal(path, calibrationDir(env));
    const after = autoProfile("", env);
    assert.deepEqual([after.workers, after.concurrency, after.batchSize], [0, 3, 48]);
    assert.equal(after.sources.classical, "calibrated 2026-12-01T10:00:00.000Z");
    assert.equal(after.sources.llm, "arithmetic", "no model configured: the llm numbers stay arithmetic");
    assert.ok(after.reasons.some((r) => /calibrated 2026-12-01/.test(r)));
  });

  it("a classical calibration does not starve a configured but uncalibrated model of concurrency (review22 C6)", () => {
    using dir = tempDir();
    const env = { MEMZIP_CACHE_DIR: join(dir.path, "cache") };
    writeCalibration(fingerprint, { classical }, env);
    assert.equal(autoProfile("", env).concurrency, 3, "no model: the calibrated concurrency");
    const withModel = autoProfile(join(dir.path, "model.gguf"), env);
    assert.equal(withModel.workers, 0);
    assert.equal(withModel.concurrency, Math.max(3, withModel.llm.contexts), "every arithmetic llm context has a memory in flight");
  });

  it("keeps llm settings per model file and matches the file by path, size and time", () => {
    using dir = tempDir();
    const env = { MEMZIP_CACHE_DIR: join(dir.path, "cache") };
    const model = join(dir.path, "m.gguf");
    writeFileSync(model, "GGUF");
    const entry = llmFor(model, "a");
    writeCalibration(fingerprint, { classical }, env);
    // The test's file has another mtime than the entry claims: not matched.
    assert.equal(loadCalibration(fingerprint, model, env).llm, undefined);
    const { mtimeMs } = statSync(model);
    writeCalibration(fingerprint, { llm: { ...entry, model: { ...entry.model, mtimeMs } } }, env);
    writeCalibration(fingerprint, { llm: llmFor(join(dir.path, "other.gguf"), "b") }, env);
    const loaded = loadCalibration(fingerprint, model, env);
    assert.equal(loaded.classical?.batchSize, 48, "a later llm calibration keeps the classical one");
    assert.equal(loaded.llm?.contexts, 3);
    const profile = autoProfile(model, env);
    assert.deepEqual([profile.llm.contexts, profile.llm.workers], [3, 1]);
    assert.match(profile.sources.llm, /^calibrated /);
    writeFileSync(model, "GGUF changed");
    assert.equal(loadCalibration(fingerprint, model, env).llm, undefined, "another model file is not this calibration's");
  });

  it("a model calibrated with its pipeline (codec workers, batch, in flight) gets that pipeline under auto", () => {
    using dir = tempDir();
    const env = { MEMZIP_CACHE_DIR: join(dir.path, "cache") };
    const model = join(dir.path, "m.gguf");
    writeFileSync(model, "GGUF");
    const { size, mtimeMs } = statSync(model);
    const entry = llmFor(model, "f");
    const measured = { ...entry, contexts: 4, workers: 0, codecWorkers: 1, batchSize: 16, concurrency: 4, classicalCalibratedAt: classical.calibratedAt, model: { ...entry.model, bytes: size, mtimeMs } };
    writeCalibration(fingerprint, { classical, llm: measured }, env);
    const profile = autoProfile(model, env);
    assert.deepEqual([profile.llm.contexts, profile.llm.workers, profile.workers, profile.batchSize, profile.concurrency], [4, 0, 1, 16, 4]);
    assert.ok(profile.reasons.some((r) => /with the model: workers 1, concurrency 4, batch 16/.test(r)), profile.reasons.join("\n"));
    assert.equal(profile.sources.classical, `calibrated with the model ${measured.calibratedAt}`, "profile show names where the pipeline came from (review25 I-5)");
    // Without a model the classical calibration decides.
    const plain = autoProfile("", env);
    assert.deepEqual([plain.workers, plain.batchSize, plain.concurrency], [classical.workers, classical.batchSize, classical.concurrency]);
    // A later classical calibration supersedes the pipeline measured under the earlier one (review25 I-6); the model's part stays.
    writeCalibration(fingerprint, { classical: { ...classical, workers: 2, concurrency: 8, calibratedAt: "2026-12-02T10:00:00.000Z" } }, env);
    const later = autoProfile(model, env);
    assert.deepEqual([later.llm.contexts, later.workers, later.concurrency], [4, 2, 8]);
    assert.match(later.sources.classical, /^calibrated 2026-12-02T10/);
  });

  it("a calibration that could not rank the model's settings removes its earlier result: auto runs its arithmetic (review26 C-1)", () => {
    using dir = tempDir();
    const env = { MEMZIP_CACHE_DIR: join(dir.path, "cache") };
    const model = join(dir.path, "m.gguf");
    const other = join(dir.path, "other.gguf");
    writeFileSync(model, "GGUF");
    writeFileSync(other, "GGUF other");
    const fresh = (path: string, contexts: number): LlmCalibration => {
      const entry = llmFor(path, "c");
      return { ...entry, contexts, workers: 2, model: { ...entry.model, bytes: statSync(path).size, mtimeMs: statSync(path).mtimeMs } };
    };
    writeCalibration(fingerprint, { classical, llm: fresh(model, 8) }, env);
    writeCalibration(fingerprint, { llm: fresh(other, 6) }, env);
    assert.equal(autoProfile(model, env).llm.contexts, 8, "the decided result steers auto");
    // What calibrate() saves when the model's rounds were too noisy to rank: the classical part, and the model forgotten.
    writeCalibration(fingerprint, { classical: { ...classical, calibratedAt: "2026-12-02T11:00:00.000Z" }, forgetModel: model }, env);
    assert.equal(loadCalibration(fingerprint, model, env).llm, undefined);
    const profile = autoProfile(model, env);
    assert.doesNotMatch(profile.sources.llm, /^calibrated /, "no earlier result steers auto");
    assert.equal(profile.llm.contexts, autoProfile("", env).llm.contexts, "the arithmetic, as with no calibration");
    assert.equal(loadCalibration(fingerprint, other, env).llm?.contexts, 6, "another model's result is not touched");
  });

  it("the same model at two paths keeps two calibrations, and any number of models is read (review24 K1, K2)", () => {
    using dir = tempDir();
    const env = { MEMZIP_CACHE_DIR: join(dir.path, "cache") };
    const first = join(dir.path, "a.gguf");
    const second = join(dir.path, "b.gguf");
    writeFileSync(first, "GGUF same bytes");
    writeFileSync(second, "GGUF same bytes");
    const at = (path: string, contexts: number): LlmCalibration => {
      const entry = llmFor(path, "e"); // the same sha256: one model file at two paths
      return { ...entry, contexts, model: { ...entry.model, bytes: statSync(path).size, mtimeMs: statSync(path).mtimeMs } };
    };
    writeCalibration(fingerprint, { llm: at(first, 2) }, env);
    writeCalibration(fingerprint, { llm: at(second, 5) }, env);
    assert.equal(loadCalibration(fingerprint, first, env).llm?.contexts, 2, "calibrating the second path did not replace the first's");
    assert.equal(loadCalibration(fingerprint, second, env).llm?.contexts, 5);
    // More model files than the old cap of 64: the one asked for is still read, whatever its name sorts as.
    for (let i = 0; i < 80; i++) writeCalibration(fingerprint, { llm: llmFor(join(dir.path, `m${i}.gguf`), (i % 16).toString(16)) }, env);
    const last = join(dir.path, "zz-last.gguf");
    writeFileSync(last, "GGUF last");
    writeCalibration(fingerprint, { llm: at(last, 7) }, env);
    assert.equal(loadCalibration(fingerprint, last, env).llm?.contexts, 7);
    assert.equal(Object.keys(readCalibrationFileOf(fingerprint, env).llm).length, 83);
    // The same file through a linked folder is the same model (review25 I-10).
    const linked = join(dir.path, "linked");
    symlinkSync(dir.path, linked);
    assert.equal(loadCalibration(fingerprint, join(linked, "a.gguf"), env).llm?.contexts, 2);
    writeCalibration(fingerprint, { llm: at(join(linked, "b.gguf"), 6) }, env);
    assert.equal(loadCalibration(fingerprint, second, env).llm?.contexts, 6, "calibrated through the link, read by the real path");
  });

  it("an earlier layout's model file is named when it is no longer read, and a partial save says what was kept (review25 I-4, I-8)", async () => {
    using dir = tempDir();
    const env = { MEMZIP_CACHE_DIR: join(dir.path, "cache") };
    const model = join(dir.path, "m.gguf");
    writeFileSync(model, "GGUF");
    mkdirSync(calibrationDir(env) ?? "", { recursive: true });
    writeFileSync(join(calibrationDir(env) ?? "", `${fingerprintKey(fingerprint)}.llm-${"a".repeat(64)}.json`), "{}");
    assert.match(loadCalibration(fingerprint, model, env).ignored ?? "", /earlier layout.*profile calibrate --model/);
    // The model's file cannot be written (a folder in its place): the classical part is kept and said to be.
    writeCalibration(fingerprint, { llm: llmFor(model, "b") }, env);
    const name = readdirSync(calibrationDir(env) ?? "").find((n) => /\.llm-[0-9a-f]{16}\.json$/.test(n)) ?? "";
    rmSync(join(calibrationDir(env) ?? "", name));
    mkdirSync(join(calibrationDir(env) ?? "", name, "x"), { recursive: true });
    assert.throws(
      () => writeCalibration(fingerprint, { classical, llm: llmFor(model, "b") }, env),
      (error: Error & { saved?: string[] }) => error.saved?.join() === "classical",
    );
    assert.equal(loadCalibration(fingerprint, "", env).classical?.batchSize, 48);
  });

  it("another fingerprint's calibration is stale for this machine, and each machine keeps its own (a home shared over NFS, review23 C5)", () => {
    using dir = tempDir();
    const env = { MEMZIP_CACHE_DIR: join(dir.path, "cache") };
    writeCalibration(fingerprint, { classical, llm: llmFor("/models/x.gguf", "c") }, env);
    for (const changed of [
      { ...fingerprint, cpuCores: fingerprint.cpuCores + 1 },
      { ...fingerprint, cpuModel: "Another CPU" },
      { ...fingerprint, ramGiB: fingerprint.ramGiB + 8 },
      { ...fingerprint, node: "v99.0.0" },
      { ...fingerprint, memzip: "9.9.9" },
    ]) {
      const read = loadCalibration(changed, "", env);
      assert.equal(read.classical, undefined);
      assert.match(read.ignored ?? "", /other hardware or software.*stale for this machine/);
    }
    const other = { ...fingerprint, cpuCores: fingerprint.cpuCores + 1 };
    writeCalibration(other, { classical: { ...classical, workers: 1 } }, env);
    assert.equal(loadCalibration(other, "", env).classical?.workers, 1);
    const mine = readCalibrationFileOf(fingerprint, env);
    assert.equal(mine.classical?.workers, 0, "the other machine's calibration did not replace this one's");
    assert.deepEqual(Object.keys(mine.llm), ["/models/x.gguf"], "nor its model entries");
    assert.equal(loadCalibration(other, "", env).ignored, undefined);
  });

  it("calibrations written at once by several processes are all kept (review23 C5)", async () => {
    using dir = tempDir();
    const env = { MEMZIP_CACHE_DIR: join(dir.path, "cache") };
    const module = new URL("../../src/core/calibration.js", import.meta.url).href;
    const start = Date.now() + 1500;
    // Each child writes 8 models' llm settings and the classical part, all starting at the same moment.
    const child = (n: number) =>
      promisify(execFile)(
        process.execPath,
        [
          "--input-type=module",
          "-e",
          `import { writeCalibration } from ${JSON.stringify(module)};
const [fingerprint, classical, llm] = JSON.parse(process.argv[1]);
while (Date.now() < ${start}) {}
for (let i = 0; i < 8; i++) {
  const sha = (${n} * 8 + i).toString(16).padStart(64, "0");
  writeCalibration(fingerprint, { classical, llm: { ...llm, model: { ...llm.model, sha256: sha, path: "/models/m" + sha + ".gguf" } } });
}`,
          JSON.stringify([fingerprint, classical, llmFor("/models/m.gguf", "d")]),
        ],
        { env: { ...process.env, ...env }, timeout: CHILD_TIMEOUT_MS, killSignal: "SIGKILL" },
      );
    await Promise.all([0, 1, 2, 3].map(child));
    const kept = readCalibrationFileOf(fingerprint, env);
    assert.equal(Object.keys(kept.llm).length, 32, "every process's every model is kept");
    assert.equal(kept.classical?.batchSize, 48);
    assert.deepEqual(
      readdirSync(calibrationDir(env) ?? "").filter((name) => name.endsWith(".tmp")),
      [],
      "no temporary file is left",
    );
  });

  it("a corrupt or foreign file is ignored with a warning, and auto falls back to arithmetic", () => {
    using dir = tempDir();
    const env = { MEMZIP_CACHE_DIR: dir.path };
    mkdirSync(calibrationDir(env) ?? "", { recursive: true });
    const path = join(calibrationDir(env) ?? "", `${fingerprintKey(fingerprint)}.classical.json`);
    for (const [content, why] of [
      ["{not json", /not JSON/],
      [JSON.stringify({ format: 1, hardware: fingerprint, classical: { ...classical, workers: -1 } }), /not a memzip calibration.*classical\.workers/],
      [JSON.stringify({ format: 7, hardware: fingerprint }), /not a memzip calibration/],
      [JSON.stringify(["something", "else"]), /not a memzip calibration/],
    ] as const) {
      writeFileSync(path, content);
      const read = loadCalibration(fingerprint, "", env);
      assert.equal(read.classical, undefined);
      assert.match(read.ignored ?? "", why);
      const profile = autoProfile("", env);
      assert.equal(profile.sources.classical, "arithmetic");
      assert.ok(profile.reasons.some((r) => /^calibration not used: /.test(r)));
    }
    const shown = cli(env, "profile", "show", "--no-gpu-probe");
    assert.equal(shown.status, 0, shown.stderr);
    assert.match(shown.stderr, /warning: .*classical\.json is not a memzip calibration/);
    // Not a regular file, or far larger than a calibration: refused, never waited on or read whole (review22 C4).
    rmSync(path);
    spawnBounded("mkfifo", [path], { encoding: "utf8" });
    assert.match(loadCalibration(fingerprint, "", env).ignored ?? "", /not a regular file/, "a FIFO is not read (no writer: a read would hang)");
    rmSync(path);
    writeFileSync(path, `${JSON.stringify({ format: 1, hardware: fingerprint, classical })}${" ".repeat(70_000)}`);
    assert.match(loadCalibration(fingerprint, "", env).ignored ?? "", /more than a calibration's/);
    assert.match(shown.stdout, /codec workers\s+\d+ threads\s+\[arithmetic\]/);
  });

  it("a cache directory that cannot be made or read falls back and never fails", async () => {
    using dir = tempDir();
    const blocker = join(dir.path, "a-file");
    writeFileSync(blocker, "");
    const env = { MEMZIP_CACHE_DIR: join(blocker, "cache") };
    assert.deepEqual(loadCalibration(fingerprint, "", env), {});
    assert.equal(autoProfile("", env).sources.classical, "arithmetic");
    assert.throws(() => writeCalibration(fingerprint, { classical }, env), /ENOTDIR|not a directory/);
    // The engines inside calibrate() keep nothing in the user cache either (review23 C3: the
    // shipped base's trained state went to the real ~/.cache/memzip/derived).
    const userCache = join(dir.path, "user-cache");
    const saved = process.env.MEMZIP_CACHE_DIR;
    process.env.MEMZIP_CACHE_DIR = userCache;
    try {
      const report = await calibrate({ budgetMs: 1, rounds: 1, env });
      assert.equal(report.path, undefined);
      assert.match(report.writeError ?? "", /cannot write the calibration/);
      assert.ok(report.classical.candidates.length >= 2);
    } finally {
      process.env.MEMZIP_CACHE_DIR = saved;
    }
    assert.equal(existsSync(userCache), false, `calibrate wrote ${existsSync(userCache) ? readdirSync(userCache, { recursive: true }).join(", ") : ""} into the user cache`);
    // The command measured but could not keep it: it says so and fails (review24 K4: it exited 0).
    const run = cli(env, "profile", "calibrate", "--budget", "1", "--rounds", "1", "--json");
    assert.equal(run.status, 8, run.stderr);
    assert.match(run.stderr, /E_RESOURCE: cannot write the calibration.*\n  fix: make that folder writable \(or set MEMZIP_CACHE_DIR to one\)/);
    assert.match(JSON.parse(run.stdout).writeError, /cannot write the calibration/, "the measurement is still shown");
  });

  it("paired ratios compare settings within a round; the noise band is the ratios' spread, not the load's drift", () => {
    // The load falls over the rounds (700 -> 1300 memories/min): the second setting swings ±10 % around
    // the first from round to round, the third is half as fast in every round.
    const first = [700, 900, 1000, 1100, 1300];
    const swing = [0.9, 1.1, 0.95, 1.05, 1.0];
    const { ratios, best, band } = pairedRatios([first, first.map((r, i) => r * (swing[i] as number))]);
    assert.equal(best, 0);
    assert.deepEqual(ratios.map((r) => Math.round(r * 100)), [100, 100]);
    assert.equal(Math.round(band * 100), 5, "half the swings: 5 %; the drift of 700 -> 1300 does not widen it");
    const steady = pairedRatios([first, first.map((r) => r * 0.98), first.map((r) => r * 0.5)]);
    assert.deepEqual(steady.ratios.map((r) => Math.round(r * 100)), [100, 98, 50]);
    assert.equal(steady.band, 0.03, "ratios that do not move: the 3 % floor");
    assert.deepEqual(concurrencyCandidates(0), [1]);
    assert.deepEqual(concurrencyCandidates(1), [2, 4, 8]);
    assert.deepEqual(concurrencyCandidates(2), [4, 8, 16]);
    assert.deepEqual(concurrencyCandidates(16), [32, 64]);
    // Within the noise, 4 per worker stands; a setting faster beyond it replaces it.
    assert.equal(chooseConcurrency(2, [4, 8, 16], [0.97, 0.95, 1], 0.1), 8);
    assert.equal(chooseConcurrency(2, [4, 8, 16], [1, 0.8, 0.85], 0.1), 4);
    assert.equal(chooseConcurrency(1, [2, 4, 8], [0.9, 0.96, 1], 0.03), 8);
  });
});

describe("ranking whole settings from paired rounds (invented measurements)", () => {
  const decided = (r: Ranking): Extract<Ranking, { decided: true }> => {
    assert.ok(r.decided, r.decided ? "" : r.reason);
    return r;
  };
  it("a noisy but faster setting wins when every round says so", () => {
    // The cheap setting (cloud-like) steady near 400; the costly one (model threads) swings 470..610
    // from round to round but is ahead in each: its paired ratios' spread is wide, the lead wider.
    const cheap = { cost: 104, rates: [400, 410, 405, 395] };
    const costly = { cost: 2208, rates: [520, 610, 470, 560] };
    const r = decided(rankSettings([cheap, costly]));
    assert.equal(r.fastest, 1);
    assert.equal(r.chosen, 1);
    assert.deepEqual(r.tied, [1]);
    assert.ok((r.ratios[0] as number) < 1 - (r.bands[0] as number), `ratio ${r.ratios[0]} outside band ${r.bands[0]}`);
    // Three rounds suffice when they agree.
    assert.equal(decided(rankSettings([{ cost: 1, rates: [400, 410, 405] }, { cost: 9, rates: [500, 600, 470] }])).chosen, 1);
  });
  it("a tie stays on the cheaper setting, and a lead the rounds' own noise covers is a tie", () => {
    // 1 % apart, steady: within the 3 % floor.
    const close = decided(rankSettings([{ cost: 104, rates: [400, 410, 405] }, { cost: 2208, rates: [404, 414, 409] }]));
    assert.equal(close.fastest, 1);
    assert.equal(close.chosen, 0);
    assert.equal(close.bands[0], MIN_BAND);
    // 5 % ahead by the median, but its rounds swing from 0.95x to 1.18x of the cheap one's: a tie.
    const noisy = decided(rankSettings([{ cost: 104, rates: [400, 400, 400, 400, 400] }, { cost: 2208, rates: [380, 460, 400, 470, 420] }]));
    assert.equal(noisy.fastest, 1);
    assert.ok((noisy.bands[0] as number) > 0.05 && (noisy.bands[0] as number) <= MAX_BAND, `band ${noisy.bands[0]}`);
    assert.equal(noisy.chosen, 0);
    // The same lead with a steady spread is real: the costlier one wins.
    const steady = decided(rankSettings([{ cost: 104, rates: [400, 400, 400, 400, 400] }, { cost: 2208, rates: [436, 444, 440, 438, 442] }]));
    assert.equal(steady.chosen, 1);
    // Equal cost: the faster median.
    assert.equal(decided(rankSettings([{ cost: 5, rates: [400, 400, 400] }, { cost: 5, rates: [401, 402, 401] }])).chosen, 1);
    // Among several tied, the cheapest; one clearly slower is out whatever its cost.
    const three = decided(rankSettings([{ cost: 0, rates: [200, 210, 190] }, { cost: 104, rates: [398, 405, 402] }, { cost: 2208, rates: [403, 406, 404] }]));
    assert.deepEqual([three.fastest, three.chosen, [...three.tied].sort()], [2, 1, [1, 2]]);
    // A load that drifts over the rounds moves both sides of each pair and widens nothing.
    const drift = decided(rankSettings([{ cost: 1, rates: [300, 600, 900] }, { cost: 2, rates: [345, 690, 1035] }]));
    assert.equal(drift.bands[0], MIN_BAND);
    assert.equal(drift.chosen, 1);
  });
  it("too few rounds, or a round that measured nothing, refuse to decide", () => {
    assert.equal(MIN_RANK_ROUNDS, 3);
    const two = rankSettings([{ cost: 1, rates: [400, 410] }, { cost: 2, rates: [600, 620] }]);
    assert.equal(two.decided, false);
    assert.match(two.decided ? "" : two.reason, /2 paired rounds .* at least 3/);
    // Rounds are paired: a setting with fewer rounds limits every one.
    assert.equal(rankSettings([{ cost: 1, rates: [400, 410, 420] }, { cost: 2, rates: [600, 620] }]).decided, false);
    assert.equal(rankSettings([{ cost: 1, rates: [400] }]).decided, false);
    assert.equal(rankSettings([]).decided, false);
    assert.equal(rankSettings([{ cost: 1, rates: [400, 0, 420] }, { cost: 2, rates: [600, 620, 610] }]).decided, false);
    assert.equal(rankSettings([{ cost: 1, rates: [400, Number.NaN, 420] }, { cost: 2, rates: [600, 620, 610] }]).decided, false);
    // Rounds too noisy to tell settings apart (a 2-core machine at load 9, 2026-12-02 05:16-05:21 UTC:
    // naive 383 / 203 / 345 memories/min against the arithmetic's 466 / 394 / 337) are no tie: the
    // ranking refuses (more rounds may decide) instead of keeping the cheapest.
    const busy = rankSettings([{ cost: 1, rates: [383, 203, 345] }, { cost: 2208, rates: [466, 394, 337] }]);
    assert.equal(busy.decided, false);
    assert.equal(busy.decided ? undefined : busy.noisy, true);
    assert.match(busy.decided ? "" : busy.reason, /cannot tell them apart/);
    assert.equal(two.decided ? undefined : two.noisy, false);
    // The same noise around a setting that is not behind is a tie all the same.
    assert.equal(decided(rankSettings([{ cost: 1, rates: [466, 330, 380] }, { cost: 2208, rates: [466, 394, 337] }])).chosen, 0);
    assert.equal(noiseBand([0.1]), Infinity);
    assert.equal(noiseBand([0.1, 0.1, 0.1]), MIN_BAND);
  });
  it("llm rounds are as long as the bench's work per setting, at least 8 memories per context", () => {
    assert.equal(LLM_MIN_RECORDS, 60);
    assert.equal(llmRoundRecords(4, 10, 1000, 7, 3), 60);
    assert.equal(llmRoundRecords(8, 10, 1000, 7, 3), 64);
    assert.equal(llmRoundRecords(16, 10, 0, 7, 3), 128);
    assert.equal(llmRoundRecords(8, 10, 210_000, 7, 3), 100, "10/s for 210 s over 21 runs");
    assert.equal(llmRoundRecords(8, 1000, 3_600_000, 7, 3), 400);
  });
});

describe("memzip profile calibrate / show over the CLI", () => {
  it("calibrate --json with a tiny budget writes a calibration that show then names", () => {
    using dir = tempDir();
    const env = { MEMZIP_CACHE_DIR: join(dir.path, "cache") };
    const arithmetic = cli(env, "profile", "show", "--no-gpu-probe");
    assert.equal(arithmetic.status, 0, arithmetic.stderr);
    assert.match(arithmetic.stdout, /codec workers\s+\d+ threads\s+\[arithmetic\]/);
    const run = cli(env, "profile", "calibrate", "--budget", "1", "--rounds", "1", "--json");
    assert.equal(run.status, 0, run.stderr);
    const report = JSON.parse(run.stdout) as {
      hardware: HardwareFingerprint;
      classical: ClassicalCalibration;
      llm?: unknown;
      path: string;
      seconds: number;
    };
    assert.deepEqual(report.hardware, fingerprint);
    assert.equal(report.path, join(dir.path, "cache", "calibration"));
    assert.ok(existsSync(join(report.path, `${fingerprintKey(fingerprint)}.classical.json`)));
    assert.equal(report.llm, undefined, "no model given: classical only");
    const { classical: got } = report;
    assert.ok(Number.isInteger(got.workers) && got.workers >= 0 && got.workers <= fingerprint.cpuCores);
    assert.ok(got.concurrency >= 1 && got.batchSize >= 1);
    assert.ok(got.candidates.length >= 2 && got.candidates.every((c) => c.memoriesPerMin > 0 && typeof c.label === "string"));
    assert.ok(got.candidates.some((c) => c.label.startsWith(`workers ${got.workers} (`)));
    assert.ok(concurrencyCandidates(got.workers).includes(got.concurrency), `concurrency ${got.concurrency} is one of those measured at ${got.workers} workers`);
    if (got.workers > 0) {
      assert.ok((got.concurrencyRounds ?? 0) >= 4);
      assert.ok(got.candidates.some((c) => c.label.startsWith(`workers ${got.workers}, concurrency ${got.concurrency} (measured`)));
    }
    assert.ok(got.sampleRecords >= CLASSICAL_MIN_RECORDS, "rounds long enough to measure throughput, not start-up");
    assert.ok((got.parallelism ?? 0) >= 1);
    const shown = cli(env, "profile", "show", "--no-gpu-probe", "--json");
    assert.equal(shown.status, 0, shown.stderr);
    const profile = (JSON.parse(shown.stdout) as { profile: { workers: number; sources: { classical: string } } }).profile;
    assert.equal(profile.workers, got.workers);
    assert.equal(profile.sources.classical, `calibrated ${got.calibratedAt}`);
    const text = cli(env, "profile", "show", "--no-gpu-probe");
    assert.match(text.stdout, new RegExp(`codec workers\\s+${got.workers} threads\\s+\\[calibrated ${got.calibratedAt.replace(/\./g, "\\.")}\\]`));
    const bad = cli(env, "profile", "calibrate", "--model", join(dir.path, "missing.gguf"));
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /is not a file/);
  });
});

describe("no implicit calibration", () => {
  it("a large import with profile auto on a machine not calibrated never calibrates it (explicit only)", () => {
    using dir = tempDir();
    const env = { MEMZIP_CACHE_DIR: join(dir.path, "cache") };
    const big = join(dir.path, "big.jsonl");
    writeFileSync(big, JSON.stringify({ id: "big", text: "memzip calibration filler text ".repeat(Math.ceil((4 << 20) / 31)) }) + "\n");
    const result = cli(env, "import", big, "--db", join(dir.path, "big.db"), "--codec", "zstd");
    assert.equal(result.status, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /calibrat/);
    assert.equal(existsSync(calibrationDir(env) ?? ""), false, "nothing was measured or kept");
    assert.equal(loadCalibration(fingerprint, "", env).classical, undefined);
  });
});

/** This machine's calibration as read back (classical and llm entries). */
function readCalibrationFileOf(f: HardwareFingerprint, env: NodeJS.ProcessEnv): { classical?: ClassicalCalibration; llm: Record<string, LlmCalibration> } {
  const { file, ignored } = readCalibrationFile(f, env);
  assert.equal(ignored, undefined);
  return { ...(file?.classical ? { classical: file.classical } : {}), llm: file?.llm ?? {} };
}
