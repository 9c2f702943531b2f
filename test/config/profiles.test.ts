import { strict as assert } from "node:assert";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadConfig } from "../../src/config/load.js";
import { resolveProfile, type Hardware } from "../../src/core/profiles.js";
import { Engine } from "../../src/engine.js";
import { isMemzipError } from "../../src/errors.js";
import { CLI, tempDir, spawnBounded } from "../helpers.js";

const cpuOnly: Hardware = { cpuCores: 2, ramBytes: 24 * 2 ** 30, gpu: false, gpuNames: [], vramTotalBytes: 0, vramFreeBytes: 0, gpuProbed: true };
const withGpu: Hardware = { ...cpuOnly, cpuCores: 16, gpu: "cuda", gpuNames: ["NVIDIA H100"], vramTotalBytes: 80 * 2 ** 30, vramFreeBytes: 2 * 2 ** 30 };

describe("profiles", () => {
  it("carry the original system's numbers", () => {
    const local = resolveProfile("local", cpuOnly);
    assert.deepEqual([local.batchSize, local.concurrency, local.similarityThreshold, local.cache.maxEntries, local.cache.ttlMs, local.llm.vramFraction], [32, 8, 0.85, 50_000, 7_200_000, 0.9]);
    const cloud = resolveProfile("cloud", cpuOnly);
    assert.deepEqual([cloud.batchSize, cloud.concurrency, cloud.similarityThreshold, cloud.cache.maxEntries, cloud.cache.ttlMs], [16, 4, 0.8, 10_000, 3_600_000]);
    assert.ok(cloud.rateLimit.perSecond > 0 && cloud.retries > 0);
    const naive = resolveProfile("naive", cpuOnly);
    assert.deepEqual([naive.batchSize, naive.concurrency, naive.workers, naive.cache.maxEntries], [1, 1, 0, 0]);
  });

  it("auto sizes contexts and workers from the hardware and says why", () => {
    const cpu = resolveProfile("auto", cpuOnly);
    assert.equal(cpu.llm.contexts, 8);
    assert.equal(resolveProfile("auto", { ...cpuOnly, ramBytes: 4 * 2 ** 30 }).llm.contexts, 2, "an eighth of 4 GiB holds 2 contexts");
    assert.equal(cpu.llm.gpuLayers, 0);
    assert.equal(cpu.workers, 2);
    assert.ok(cpu.concurrency >= cpu.llm.contexts);
    assert.ok(cpu.reasons.some((r) => /no usable GPU/.test(r)));
    const gpu = resolveProfile("auto", withGpu, 512 * 2 ** 20);
    // 0.9 × 2 GiB free − 512 MiB of model leaves room for 20 contexts of 64 MiB, capped at 16.
    assert.equal(gpu.llm.contexts, 16);
    assert.equal(gpu.llm.gpuLayers, "auto");
    const tight = resolveProfile("auto", { ...withGpu, vramFreeBytes: 1 * 2 ** 30 }, 700 * 2 ** 20);
    assert.equal(tight.llm.contexts, Math.floor((0.9 * 2 ** 30 - 700 * 2 ** 20) / (64 * 2 ** 20)));
    assert.ok(gpu.reasons.some((r) => /NVIDIA H100/.test(r)));
  });

  it("auto keeps cm models loaded per thread within a sixteenth of RAM over the main thread and the workers, 2 to 16; the presets name theirs", () => {
    // 64 MiB a model: 24 GiB / 16 holds 24, over 3 threads (2 workers) 8; 96 GiB 32, capped at 16; 4 GiB still keeps 2.
    assert.equal(resolveProfile("auto", cpuOnly).cmModels, 8);
    assert.equal(resolveProfile("auto", { ...cpuOnly, ramBytes: 96 * 2 ** 30 }).cmModels, 16);
    assert.equal(resolveProfile("auto", { ...cpuOnly, cpuCores: 8, ramBytes: 96 * 2 ** 30 }).cmModels, 10, "96 GiB / 16 / 64 MiB = 96 models over 9 threads");
    assert.equal(resolveProfile("auto", { ...cpuOnly, ramBytes: 4 * 2 ** 30 }).cmModels, 2);
    assert.ok(resolveProfile("auto", cpuOnly).reasons.some((r) => /cm models 8 per thread/.test(r)));
    assert.deepEqual(["local", "cloud", "hybrid", "naive"].map((name) => resolveProfile(name as "local", cpuOnly).cmModels), [8, 4, 8, 2]);
  });

  it("an engine takes the profile's settings unless an option says otherwise", async () => {
    {
      await using engine = Engine.open({ db: ":memory:", profile: "cloud" });
      assert.equal(engine.options.batchSize, 16);
      assert.equal(engine.options.llm.contexts, 4);
      assert.equal(engine.options.similarityThreshold, 0.8);
    }
    await using engine = Engine.open({ db: ":memory:", profile: "cloud", batchSize: 100, llm: { contexts: 2 } });
    assert.equal(engine.options.batchSize, 100);
    assert.equal(engine.options.llm.contexts, 2);
    assert.equal(engine.options.cmModels, 4, "cloud's");
    assert.throws(() => Engine.open({ db: ":memory:", cmModels: 1 }), (e: unknown) => isMemzipError(e) && /cmModels must be a whole number from 2 to 256, got 1/.test(e.message));
    assert.throws(() => Engine.open({ db: ":memory:", profile: "turbo" as never }), (e: unknown) => isMemzipError(e) && /unknown profile "turbo"/.test(e.message));
    assert.throws(() => Engine.open({ db: ":memory:", similarityThreshold: 1.5 }), /similarityThreshold/);
  });

  it("reads profile and pipeline settings from YAML, with MEMZIP_* over them", () => {
    using dir = tempDir();
    const file = join(dir.path, "config.yaml");
    writeFileSync(file, "profile: cloud\nbatchSize: 64\nsimilarityThreshold: 0.9\nllm:\n  contexts: 3\n");
    assert.deepEqual(loadConfig({ path: file, env: {} }), { profile: "cloud", batchSize: 64, similarityThreshold: 0.9, llm: { contexts: 3 } });
    assert.deepEqual(loadConfig({ path: file, env: { MEMZIP_PROFILE: "local", MEMZIP_WORKERS: "3" } }), {
      profile: "local",
      batchSize: 64,
      similarityThreshold: 0.9,
      llm: { contexts: 3 },
      workers: 3,
    });
    writeFileSync(file, "profile: turbo\n");
    assert.throws(() => loadConfig({ path: file, env: {} }), /"profile" must be one of auto, local, cloud, hybrid, naive/);
    writeFileSync(file, "batchSize: [1\n");
    assert.throws(() => loadConfig({ path: file, env: {} }), /cannot read config file/);
  });

  it("`memzip profile show` prints the choice and why, as text and JSON", () => {
    using cache = tempDir();
    const env = { ...process.env, MEMZIP_CONFIG: "/nonexistent/memzip.json", MEMZIP_CACHE_DIR: cache.path };
    const text = spawnBounded(process.execPath, [CLI, "profile", "show", "--profile", "cloud"], { encoding: "utf8", env });
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /profile cloud/);
    assert.match(text.stdout, /batch size\s+16/);
    assert.match(text.stdout, /why:/);
    const json = spawnBounded(process.execPath, [CLI, "profile", "show", "--no-gpu-probe", "--json"], { encoding: "utf8", env });
    assert.equal(json.status, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as { profile: { name: string; reasons: string[]; workers: number }; hardware: { cpuCores: number } };
    assert.equal(parsed.profile.name, "auto");
    assert.ok(parsed.profile.reasons.length >= 3);
    assert.equal(parsed.profile.workers, Math.min(parsed.hardware.cpuCores, 16));
    const bad = spawnBounded(process.execPath, [CLI, "profile", "show", "--profile", "fast"], { encoding: "utf8", env });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown profile "fast"/);
  });
});
