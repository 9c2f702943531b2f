import { strict as assert } from "node:assert";
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { waitFor } from "../cache/cache-suite.js";
import { CLI, devCorpus, spawnBounded, storeOf, tempDir } from "../helpers.js";
import { bearer, readEvents, startServer } from "../server/http.js";
import { redisSkip, startRedis, type RedisService } from "../services/redis.js";

/**
 * `memzip import --queue -n a`: the namespace is pinned before the chunks go on the queue, as in a
 * local import: a record naming another namespace (plainly or behind an escaped key) is rejected
 * with its reason and written nowhere; the others reach `a` through a worker.
 */
const skip = redisSkip();
const dir = tempDir();
let redis: RedisService | undefined;
const workerChildren: ChildProcess[] = [];

before(async () => {
  if (skip) return;
  redis = await startRedis({ evictionPolicy: "noeviction" });
});

after(async () => {
  for (const workerChild of workerChildren) {
    if (workerChild.exitCode !== null || workerChild.signalCode !== null) continue;
    const exited = new Promise((done) => workerChild.once("exit", done));
    workerChild.kill("SIGKILL");
    await exited;
  }
  await redis?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

/** A `memzip worker` named w1 on `db` and the queue at `url` (killed when the file ends), once it says it is ready; its stderr so far. */
async function startWorker(db: string, url: string, env: NodeJS.ProcessEnv): Promise<{ stderr: () => string }> {
  const child = spawn(process.execPath, [CLI, "worker", "--db", db, "--queue", url, "--name", "w1", "--workers", "0"], { stdio: ["ignore", "ignore", "pipe"], env });
  workerChildren.push(child);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  await waitFor(() => stderr.includes("ready on"), "the worker to be ready", 60_000);
  return { stderr: () => stderr };
}

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
    await startWorker(db, url, env);

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
        // Trained on its own text (each asset used, or measured larger than what the namespace writes with and removed).
        assert.equal(await storeOf(after).assets.learnedFrom(namespace, "cm-snapshot"), 70, `${namespace} trained on its own text`);
        assert.equal(await after.recall(namespace === "x" ? "r0" : "r1", { namespace }), texts[namespace === "x" ? 0 : 1]?.text);
      }
    } finally {
      await after.close();
    }
  });
});

describe("memzip import --queue: an id on several lines", { skip }, () => {
  it("keeps the last line, as a local import does: the earlier ones are not queued (trial: the chunk committed last won)", { timeout: 120_000 }, async () => {
    const url = (redis as RedisService).url;
    const db = join(dir.path, "last.db");
    const env = { ...process.env, MEMZIP_CONFIG: join(dir.path, "none.json"), MEMZIP_AUTO_TRAIN_AFTER: "0" };
    const file = join(dir.path, "repeated.jsonl");
    const long = devCorpus()
      .slice(0, 200)
      .map((record) => record.text)
      .join("\n");
    writeFileSync(
      file,
      [
        JSON.stringify({ id: "race", text: `FIRST ${long}` }),
        JSON.stringify({ id: "other", text: "a record of its own" }),
        JSON.stringify({ id: "race", namespace: "b", text: "a line naming another namespace replaces nothing" }),
        JSON.stringify({ id: "race", text: "SECOND, the last line of the id" }),
      ].join("\n") + "\n",
    );
    await startWorker(db, url, env);
    const imported = spawnBounded(process.execPath, [CLI, "import", file, "--db", db, "--queue", url, "-n", "a", "--chunk", "1", "--json"], { encoding: "utf8", env });
    assert.equal(imported.status, 1, imported.stderr);
    const report = JSON.parse(imported.stdout) as { records: number; chunks: number; superseded: number; rejected: string[] };
    assert.deepEqual([report.records, report.chunks, report.superseded, report.rejected.length], [2, 2, 1, 1], imported.stdout);
    const engine = Engine.open({ db, cache: "off", workers: 0 });
    try {
      assert.equal(await engine.recall("race", { namespace: "a" }), "SECOND, the last line of the id");
      assert.deepEqual((await engine.history("race", "a")).map((version) => version.text), ["SECOND, the last line of the id"], "the first line was never written");
      assert.equal(await engine.recall("other", { namespace: "a" }), "a record of its own");
    } finally {
      await engine.close();
    }
    const human = spawnBounded(process.execPath, [CLI, "import", file, "--db", db, "--queue", url, "-n", "a", "--chunk", "2"], { encoding: "utf8", env });
    assert.match(human.stdout, /\(1 line not queued: a later line has the same id\)/, human.stdout);
  });
});

describe("memzip import --queue: a record a worker refuses", { skip }, () => {
  it("is rejected with its line; the other records of its chunk are written and the import completes", { timeout: 120_000 }, async () => {
    const url = (redis as RedisService).url;
    const db = join(dir.path, "store.db");
    const env = { ...process.env, MEMZIP_CONFIG: join(dir.path, "none.json"), MEMZIP_AUTO_TRAIN_AFTER: "0" };
    const file = join(dir.path, "records.jsonl");
    const long = (n: number) => `a note too long for this worker, number ${n}: ${"x".repeat(300)}`;
    writeFileSync(
      file,
      [
        JSON.stringify({ id: "r1", text: "the first note" }),
        JSON.stringify({ id: "big2", text: long(2) }),
        "not JSON at all",
        JSON.stringify({ id: "r4", text: "the fourth note" }),
        JSON.stringify({ id: "r5", text: "the fifth note" }),
        JSON.stringify({ id: "r6", text: "the sixth note" }),
        JSON.stringify({ id: "big7", text: long(7) }),
      ].join("\n") + "\n",
    );
    const worker = await startWorker(db, url, { ...env, MEMZIP_MAX_TEXT_BYTES: "200" });

    // Chunks of 4 records: lines 1, 2, 4, 5 and then 6, 7 (line 3 is refused here, before the queue).
    const imported = spawnBounded(process.execPath, [CLI, "import", file, "--db", db, "--queue", url, "--chunk", "4", "--json"], { encoding: "utf8", env });
    assert.equal(imported.status, 1, imported.stderr);
    const report = JSON.parse(imported.stdout) as { records: number; written: number; rejected: string[] };
    assert.equal(report.written, 4, imported.stdout);
    assert.equal(report.rejected.length, 3, imported.stdout);
    // In line order, the reader's rejection (line 3) between the worker's (lines 2 and 7).
    assert.match(report.rejected[0] ?? "", /^line 2: .*\b200\b/);
    assert.match(report.rejected[1] ?? "", /line 3/);
    assert.match(report.rejected[2] ?? "", /^line 7: .*\b200\b/);
    await waitFor(() => worker.stderr().includes("1 rejected"), "the worker's chunk lines", 60_000);
    assert.doesNotMatch(worker.stderr(), /failed/);

    const engine = Engine.open({ db, cache: "off", workers: 0 });
    try {
      assert.deepEqual((await engine.list({ limit: 10 })).map((m) => m.id).sort(), ["r1", "r4", "r5", "r6"]);
      assert.equal(await engine.recall("r6"), "the sixth note");
    } finally {
      await engine.close();
    }

    // A server's queued import (`serve --queue`) on the same worker: its job report names the line.
    const running = await startServer(dir.path, { queue: url }, { autoTrainAfter: 0 });
    try {
      const key = (await running.engine.keys.create({ role: "write", namespaces: ["s"] })).key;
      const body = [JSON.stringify({ id: "s1", text: "a server note" }), JSON.stringify({ id: "s2", text: long(2) }), JSON.stringify({ id: "s3", text: "another server note" })].join("\n") + "\n";
      const posted = await fetch(`${running.url}/v1/imports?namespace=s`, { method: "POST", headers: bearer(key, { "content-type": "application/x-ndjson" }), body });
      assert.equal(posted.status, 202, await posted.clone().text());
      const job = ((await posted.json()) as { job: string }).job;
      const events = await readEvents(await fetch(`${running.url}/v1/imports/${job}/events`, { headers: bearer(key) }));
      const last = events.at(-1) as { event: string; data: { report: { read: number; stored: number; rejected: number; rejections?: { where: string; code: string }[] } } };
      assert.equal(last.event, "done", JSON.stringify(events.slice(-2)));
      assert.deepEqual([last.data.report.read, last.data.report.stored, last.data.report.rejected], [3, 2, 1]);
      assert.deepEqual(last.data.report.rejections?.map(({ where, code }) => ({ where, code })), [{ where: "line 2", code: "E_INVALID_INPUT" }]);
    } finally {
      await running.server.close();
      await running.engine.close();
    }
  });
});

describe("memzip import --queue: a file of thousands of rejected records", { skip }, () => {
  it("lists the first 1,000 rejections in line order and counts them all (the reader's and the workers'); the summary prints 20", { timeout: 180_000 }, async () => {
    const url = (redis as RedisService).url;
    const db = join(dir.path, "many.db");
    const env = { ...process.env, MEMZIP_CONFIG: join(dir.path, "none.json"), MEMZIP_AUTO_TRAIN_AFTER: "0" };
    // 2,400 lines: odd ones a note too long for the worker (refused there), even ones not JSON (refused by the reader).
    const lines: string[] = [];
    for (let i = 0; i < 1200; i++) lines.push(JSON.stringify({ id: `big${i}`, text: `a note too long for this worker, number ${i}: ${"x".repeat(300)}` }), `not JSON ${i}`);
    const body = lines.join("\n") + "\n";
    const file = join(dir.path, "many.jsonl");
    writeFileSync(file, body);
    await startWorker(db, url, { ...env, MEMZIP_MAX_TEXT_BYTES: "200" });

    const imported = spawnBounded(process.execPath, [CLI, "import", file, "--db", db, "--queue", url, "--chunk", "100", "--json"], { encoding: "utf8", env });
    assert.equal(imported.status, 1, imported.stderr);
    const report = JSON.parse(imported.stdout) as { written: number; rejected: string[]; rejectedCount: number };
    assert.deepEqual([report.written, report.rejectedCount, report.rejected.length], [0, 2400, 1000]);
    report.rejected.forEach((rejection, k) => assert.match(rejection, new RegExp(`^line ${k + 1}\\b`), `rejection ${k}`));

    // The summary: 20 of them, then how many more (another file: the same one would resume the finished import).
    const copy = join(dir.path, "many-again.jsonl");
    writeFileSync(copy, body);
    const human = spawnBounded(process.execPath, [CLI, "import", copy, "--db", db, "--queue", url, "--chunk", "100"], { encoding: "utf8", env });
    assert.equal(human.status, 1, human.stderr);
    assert.equal(human.stdout.split("\n").filter((line) => line.startsWith("  rejected ")).length, 20, human.stdout);
    assert.match(human.stdout, /\.\.\. and 2380 more rejected \(--json lists the first 1000\)/);

    // A server's queued import of the same upload counts them all too, and names the first ones by line.
    const running = await startServer(dir.path, { queue: url }, { autoTrainAfter: 0 }, "many.db");
    try {
      const key = (await running.engine.keys.create({ role: "write", namespaces: ["s"] })).key;
      const posted = await fetch(`${running.url}/v1/imports?namespace=s`, { method: "POST", headers: bearer(key, { "content-type": "application/x-ndjson" }), body });
      assert.equal(posted.status, 202, await posted.clone().text());
      const job = ((await posted.json()) as { job: string }).job;
      const events = await readEvents(await fetch(`${running.url}/v1/imports/${job}/events`, { headers: bearer(key) }));
      const last = events.at(-1) as { event: string; data: { report: { read: number; stored: number; rejected: number; rejections?: { where: string }[] } } };
      assert.equal(last.event, "done", JSON.stringify(events.slice(-2)));
      assert.deepEqual([last.data.report.read, last.data.report.stored, last.data.report.rejected], [2400, 0, 2400]);
      assert.deepEqual(
        last.data.report.rejections?.map((r) => r.where),
        Array.from({ length: 100 }, (_, k) => `line ${k + 1}`),
      );
    } finally {
      await running.server.close();
      await running.engine.close();
    }
  });
});
