import { strict as assert } from "node:assert";
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { waitFor } from "../cache/cache-suite.js";
import { CLI, devCorpus, spawnBounded, tempDir } from "../helpers.js";
import { redisSkip, startRedis, type RedisService } from "../services/redis.js";

/**
 * `memzip import --queue -n a`: the namespace is pinned before the chunks go on the queue, as in a
 * local import: a record naming another namespace (plainly or behind an escaped key) is rejected
 * with its reason and written nowhere; the others reach `a` through a worker.
 */
const skip = redisSkip();
const dir = tempDir();
let redis: RedisService | undefined;
let workerChild: ChildProcess | undefined;

before(async () => {
  if (skip) return;
  redis = await startRedis({ evictionPolicy: "noeviction" });
});

after(async () => {
  if (workerChild && workerChild.exitCode === null && workerChild.signalCode === null) {
    const exited = new Promise((done) => workerChild?.once("exit", done));
    workerChild.kill("SIGKILL");
    await exited;
  }
  await redis?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

describe("memzip import --queue: the namespace pin, and a restore to several namespaces", { skip }, () => {
  it("rejects every record naming another namespace, however it is spelled, and writes the rest to the pinned one; without -n every namespace named trains", { timeout: 120_000 }, async () => {
    const url = (redis as RedisService).url;
    const db = join(dir.path, "pin.db");
    const env = { ...process.env, MEMZIP_CONFIG: join(dir.path, "none.json"), MEMZIP_AUTO_TRAIN_AFTER: "0" };
    const file = join(dir.path, "mixed.jsonl");
    writeFileSync(
      file,
      [
        JSON.stringify({ id: "plain", text: "a record that names no namespace" }),
        JSON.stringify({ id: "own", namespace: "a", text: "a record that names the pinned namespace" }),
        JSON.stringify({ id: "other", namespace: "b", text: "a record that names another namespace" }),
        '{"id": "escaped", "namespac\\u0065": "b", "text": "another namespace behind an escaped key"}',
      ].join("\n") + "\n",
    );
    const child = spawn(process.execPath, [CLI, "worker", "--db", db, "--queue", url, "--name", "w1", "--workers", "0"], { stdio: ["ignore", "ignore", "pipe"], env });
    workerChild = child;
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(() => stderr.includes("ready on"), "the worker to be ready", 60_000);

    const imported = spawnBounded(process.execPath, [CLI, "import", file, "--db", db, "--queue", url, "-n", "a", "--json"], { encoding: "utf8", env });
    assert.equal(imported.status, 1, imported.stderr);
    const report = JSON.parse(imported.stdout) as { stored: number; rejected: string[] };
    assert.equal(report.stored, 2);
    assert.equal(report.rejected.length, 2, imported.stdout);
    for (const rejection of report.rejected) assert.match(rejection, /names namespace "b", and this import writes to "a" only/);

    const engine = Engine.open({ db, cache: "off", workers: 0 });
    try {
      assert.equal((await engine.stats("a")).memories, 2);
      assert.equal((await engine.stats("b")).memories, 0);
      assert.equal(await engine.recall("plain", { namespace: "a" }), "a record that names no namespace");
      assert.equal(await engine.recall("own", { namespace: "a" }), "a record that names the pinned namespace");
    } finally {
      await engine.close();
    }

    // Without -n each record goes to the namespace it names, and every one of them ends its import (auto-training).
    const texts = devCorpus().slice(0, 140);
    const restore = join(dir.path, "two.jsonl");
    writeFileSync(restore, texts.map((record, i) => JSON.stringify({ id: `r${i}`, namespace: i % 2 === 0 ? "x" : "y", text: record.text })).join("\n") + "\n");
    const restored = spawnBounded(process.execPath, [CLI, "import", restore, "--db", db, "--queue", url, "--json"], { encoding: "utf8", env: { ...env, MEMZIP_AUTO_TRAIN_AFTER: "60" } });
    assert.equal(restored.status, 0, restored.stderr);
    const restoreReport = JSON.parse(restored.stdout) as { otherNamespaces?: string[]; otherTrained?: Record<string, unknown> };
    assert.deepEqual(restoreReport.otherNamespaces, ["x", "y"]);
    assert.deepEqual(Object.keys(restoreReport.otherTrained ?? {}).sort(), ["x", "y"]);
    const after = Engine.open({ db, cache: "off", workers: 0 });
    try {
      for (const namespace of ["x", "y"]) {
        assert.ok((await after.stats(namespace)).assetBytes > 0, `${namespace} trained on its own text`);
        assert.equal(await after.recall(namespace === "x" ? "r0" : "r1", { namespace }), texts[namespace === "x" ? 0 : 1]?.text);
      }
    } finally {
      await after.close();
    }
  });
});
