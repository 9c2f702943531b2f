import { strict as assert } from "node:assert";
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { calibrationPath, hardwareFingerprint, loadCalibration, writeCalibration, type ClassicalCalibration, type HardwareFingerprint, type LlmCalibration } from "../../src/core/calibration.js";
import { hardwareFromOs } from "../../src/core/profiles.js";
import { calibrate, CLASSICAL_MIN_RECORDS } from "../../src/engine/calibrate.js";
import { autoProfile } from "../../src/engine-options.js";
import { CLI, tempDir, spawnBounded } from "../helpers.js";

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
    assert.equal(path, calibrationPath(env));
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

  it("a fingerprint change makes the file stale: ignored, and the next calibration replaces it", () => {
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
      assert.match(read.ignored ?? "", /stale, ignored/);
    }
    const other = { ...fingerprint, cpuCores: fingerprint.cpuCores + 1 };
    writeCalibration(other, { classical: { ...classical, workers: 1 } }, env);
    const file = JSON.parse(readFileSync(calibrationPath(env) ?? "", "utf8")) as { hardware: HardwareFingerprint; llm: Record<string, unknown> };
    assert.equal(file.hardware.cpuCores, other.cpuCores);
    assert.deepEqual(file.llm, {}, "the other machine's model entries are not carried over");
    assert.equal(loadCalibration(other, "", env).classical?.workers, 1);
    assert.match(loadCalibration(fingerprint, "", env).ignored ?? "", /stale/);
  });

  it("a corrupt or foreign file is ignored with a warning, and auto falls back to arithmetic", () => {
    using dir = tempDir();
    const env = { MEMZIP_CACHE_DIR: dir.path };
    const path = calibrationPath(env) ?? "";
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
    assert.match(shown.stderr, /warning: .*calibration\.json is not a memzip calibration/);
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
    const report = await calibrate({ budgetMs: 1, rounds: 1, env });
    assert.equal(report.path, undefined);
    assert.match(report.writeError ?? "", /cannot write the calibration/);
    assert.ok(report.classical.candidates.length >= 2);
  });
});

describe("memzip profile calibrate / show over the CLI", () => {
  it("calibrate --json with a tiny budget writes a calibration that show then names", () => {
    using dir = tempDir();
    const env = { MEMZIP_CACHE_DIR: join(dir.path, "cache") };
    const arithmetic = cli(env, "profile", "show", "--no-gpu-probe");
    assert.equal(arithmetic.status, 0, arithmetic.stderr);
    assert.match(arithmetic.stdout, /codec workers\s+\d+ threads\s+\[arithmetic\]/);
    const run = cli(env, "profile", "calibrate", "--budget", "1", "--json");
    assert.equal(run.status, 0, run.stderr);
    const report = JSON.parse(run.stdout) as {
      hardware: HardwareFingerprint;
      classical: ClassicalCalibration;
      llm?: unknown;
      path: string;
      seconds: number;
    };
    assert.deepEqual(report.hardware, fingerprint);
    assert.equal(report.path, join(dir.path, "cache", "calibration.json"));
    assert.ok(existsSync(report.path));
    assert.equal(report.llm, undefined, "no model given: classical only");
    const { classical: got } = report;
    assert.ok(Number.isInteger(got.workers) && got.workers >= 0 && got.workers <= fingerprint.cpuCores);
    assert.ok(got.concurrency >= 1 && got.batchSize >= 1);
    assert.ok(got.candidates.length >= 2 && got.candidates.every((c) => c.memoriesPerMin > 0 && typeof c.label === "string"));
    assert.ok(got.candidates.some((c) => c.label.startsWith(`workers ${got.workers} (`)));
    assert.equal(got.concurrency, Math.max(1, 2 * got.workers));
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

describe("implicit calibration on a large import", () => {
  it("calibrates before the first import of 4 MiB or more with profile auto, once; never on a small one or with --no-calibrate", () => {
    using dir = tempDir();
    const env = { MEMZIP_CACHE_DIR: join(dir.path, "cache") };
    const small = join(dir.path, "small.jsonl");
    writeFileSync(small, ["alpha note", "beta note", "gamma note"].map((text, i) => JSON.stringify({ id: `s${i}`, text })).join("\n"));
    const big = join(dir.path, "big.jsonl");
    writeFileSync(big, JSON.stringify({ id: "big", text: "memzip calibration filler text ".repeat(Math.ceil((4 << 20) / 31)) }) + "\n");
    const run = (file: string, db: string, ...flags: string[]) => {
      const result = cli(env, "import", file, "--db", join(dir.path, db), "--codec", "zstd", ...flags);
      assert.equal(result.status, 0, result.stderr);
      return result.stderr;
    };
    assert.doesNotMatch(run(small, "a.db"), /calibrating/);
    assert.doesNotMatch(run(big, "b.db", "--no-calibrate"), /calibrating/);
    assert.doesNotMatch(run(big, "c.db", "--profile", "local"), /calibrating/);
    {
      const off = cli({ ...env, MEMZIP_CALIBRATE: "off" }, "import", big, "--db", join(dir.path, "off.db"), "--codec", "zstd");
      assert.equal(off.status, 0, off.stderr);
      assert.doesNotMatch(off.stderr, /calibrating/, "MEMZIP_CALIBRATE=off (the fault harness's children) skips it");
    }
    assert.equal(existsSync(calibrationPath(env) ?? ""), false);
    assert.match(run(big, "d.db"), /calibrating profile auto on this machine first[\s\S]*calibrated: workers \d+/);
    assert.ok(loadCalibration(fingerprint, "", env).classical, "the calibration is kept");
    assert.doesNotMatch(run(big, "e.db"), /calibrating/, "once per machine");
  });
});
