import { strict as assert } from "node:assert";
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Queue } from "bullmq";
import { connectionFor, queueNameFor } from "../../src/fleet/queue.js";
import { CLI, devCorpus, tempDir, spawnBounded } from "../helpers.js";
import { bearer, readEvents, startServer, waitFor, type Running } from "../server/http.js";
import { redisSkip, startRedis, type RedisService } from "../services/redis.js";

/**
 * `memzip serve --queue`: a JSONL upload is cut into chunks on the store's queue, two real
 * `memzip worker` processes code and commit them, the job's SSE progress ends in `done`, a job
 * interrupted by a server restart resumes (the chunks it had enqueued are not enqueued twice), and
 * the import ends with the server's auto-training, once.
 */
const skip = redisSkip();
const dir = tempDir();
const children: ChildProcess[] = [];
let redis: RedisService | undefined;

function worker(db: string, url: string, name: string): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, "worker", "--db", db, "--queue", url, "--name", name, "--workers", "0"], {
    stdio: ["ignore", "ignore", "pipe"],
    // cmBase off here and in the server: with it, no training of these dev texts would be used (the shipped base learned from them).
    env: { ...process.env, MEMZIP_CONFIG: join(dir.path, "none.json"), MEMZIP_AUTO_TRAIN_AFTER: "100", MEMZIP_CM_BASE: "false" },
  });
  children.push(child);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return { child, stderr: () => stderr, exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))) };
}

before(async () => {
  if (skip) return;
  redis = await startRedis({ evictionPolicy: "noeviction" });
});

after(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await Promise.all(children.map((child) => (child.exitCode === null && child.signalCode === null ? new Promise((done) => child.once("exit", done)) : undefined)));
  await redis?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

describe("memzip serve --queue (server imports on the worker fleet)", { skip }, () => {
  it("an uploaded JSONL job goes to two workers in chunks, resumes after a server restart, ends done with every record exact and trained once", { timeout: 180_000 }, async () => {
    const url = (redis as RedisService).url;
    const records = devCorpus()
      .slice(0, 300)
      .map((record, i) => ({ id: `q-${i}`, text: record.text }));
    const body = records.map((record) => JSON.stringify(record)).join("\n") + "\n";

    // First server, no workers yet: the job enqueues its 10 chunks (32 records each) and waits.
    let running: Running = await startServer(dir.path, { queue: url }, { autoTrainAfter: 100, cmBase: false });
    const key = (await running.engine.keys.create({ role: "write", namespaces: ["a"] })).key;
    const queue = new Queue(queueNameFor(running.engine.location), { connection: connectionFor(url) });
    let job = "";
    try {
      const posted = await fetch(`${running.url}/v1/imports`, { method: "POST", headers: bearer(key, { "content-type": "application/x-ndjson" }), body });
      assert.equal(posted.status, 202);
      job = ((await posted.json()) as { job: string }).job;
      await waitFor(async () => ((await queue.getJobCounts("waiting")).waiting === 10 ? true : undefined), "10 chunks on the queue");
      // The server stops (no worker has taken a chunk): the job is interrupted, its chunks stay queued.
      await running.server.close();

      running = await startServer(dir.path, { queue: url }, { autoTrainAfter: 100, cmBase: false });
      assert.equal((await running.engine.stats("a")).memories, 0, "nothing was committed before the workers started");
      const status = (await (await fetch(`${running.url}/v1/imports/${job}`, { headers: bearer(key) })).json()) as { status: string; namespace: string };
      assert.deepEqual(status, { ...status, status: "interrupted", namespace: "a" });

      const workers = [worker(running.db, url, "w1"), worker(running.db, url, "w2")];
      for (const w of workers) await waitFor(() => (w.stderr().includes("ready on") ? true : undefined), "a worker to be ready");
      const resumed = await fetch(`${running.url}/v1/imports/${job}/resume`, { method: "POST", headers: bearer(key) });
      assert.equal(resumed.status, 202);
      const events = await readEvents(await fetch(`${running.url}/v1/imports/${job}/events`, { headers: bearer(key) }));
      const last = events.at(-1) as { event: string; data: { status: string; report: { read: number; stored: number; rejected: number; trained?: string[] } } };
      assert.equal(last.event, "done", JSON.stringify(events.slice(-2)));
      assert.equal(last.data.report.read, 300);
      assert.equal(last.data.report.stored, 300);
      assert.equal(last.data.report.rejected, 0);
      assert.ok((last.data.report.trained ?? []).length > 0, `the import ended with auto-training: ${JSON.stringify(last.data.report)}`);
      const progress = events.filter((e) => e.event === "progress").map((e) => (e.data as { records: number }).records);
      assert.ok(progress.length > 0);
      assert.deepEqual(progress, [...progress].sort((a, b) => a - b), "progress only grows");

      // Each chunk was enqueued once (the resumed run found them queued) and committed by a worker, not by the server.
      const completed = await queue.getJobs(["completed"]);
      assert.equal(completed.length, 10);
      assert.ok(completed.every((chunk) => chunk.processedBy === "w1" || chunk.processedBy === "w2"));
      for (const w of workers) assert.doesNotMatch(w.stderr(), /trained|failed/);

      assert.equal((await running.engine.stats("a")).memories, 300);
      for (const record of records) assert.equal(await running.engine.recall(record.id, { namespace: "a" }), record.text, record.id);
      const verified = await running.engine.verify("a");
      assert.deepEqual({ checked: verified.checked, failed: verified.failed }, { checked: 300, failed: 0 });

      // `memzip import --queue` ends the same way: the importing process trains once, after the last chunk.
      // Other texts than namespace a's: a text already stored elsewhere is kept once, as a reference, and references are no training samples.
      const others = devCorpus()
        .slice(300, 450)
        .map((record, i) => ({ id: `b-${i}`, text: record.text }));
      const file = join(dir.path, "b.jsonl");
      writeFileSync(file, others.map((record) => JSON.stringify(record)).join("\n") + "\n");
      const cliImport = spawnBounded(process.execPath, [CLI, "import", file, "--db", running.db, "--queue", url, "--namespace", "b", "--json"], {
        encoding: "utf8",
        env: { ...process.env, MEMZIP_CONFIG: join(dir.path, "none.json"), MEMZIP_AUTO_TRAIN_AFTER: "100", MEMZIP_CM_BASE: "false" },
      });
      assert.equal(cliImport.status, 0, cliImport.stderr);
      const cliReport = JSON.parse(cliImport.stdout) as { records: number; written: number; trained?: { assets: { kind: string }[]; recode: { recoded: number } } };
      assert.equal(cliReport.written, 150);
      assert.ok((cliReport.trained?.assets.length ?? 0) > 0, `the queued CLI import ended with auto-training: ${cliImport.stdout}`);
      for (const record of others) assert.equal(await running.engine.recall(record.id, { namespace: "b" }), record.text, record.id);
      assert.equal((await running.engine.verify("b")).failed, 0);
      for (const w of workers) assert.doesNotMatch(w.stderr(), /trained|failed/);

      for (const w of workers) w.child.kill("SIGTERM");
      for (const w of workers) assert.equal(await w.exited, 0, w.stderr());
    } finally {
      await queue.close();
      await running.server.close();
    }
  });
});
