import { strict as assert } from "node:assert";
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Queue } from "bullmq";
import { Engine } from "../../src/engine.js";
import { connectionFor, queueNameFor } from "../../src/fleet/queue.js";
import { waitFor } from "../cache/cache-suite.js";
import { CLI, DEV_CORPUS, devCorpus, tempDir } from "../helpers.js";
import { redisSkip, startRedis, type RedisService } from "../services/redis.js";

/**
 * The killed-worker scenario of issue 15, on the store `makeDb` gives (a SQLite file, or a
 * PostgreSQL database): one file per store kind keeps each under a minute.
 */
export function fleetScenario(kind: string, makeDb: (dir: string) => Promise<string>, skipStore: string | false = false, cleanup: () => Promise<void> = async () => undefined): void {
const skip = redisSkip() || skipStore;
let redis: RedisService | undefined;
const dir = tempDir();
const children: ChildProcess[] = [];

interface Running {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  exited: Promise<number | null>;
}

function cli(args: string[]): Running {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    // Auto-training after the import (a recode of 2,000 memories) is tested in serve-queue.test.ts on a smaller store.
    env: { ...process.env, MEMZIP_CONFIG: join(dir.path, "none.json"), MEMZIP_AUTO_TRAIN_AFTER: "0" },
  });
  children.push(child);
  let stderr = "";
  let stdout = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, stderr: () => stderr, stdout: () => stdout, exited };
}

before(async () => {
  if (skip) return;
  redis = await startRedis({ evictionPolicy: "noeviction" });
});

after(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await Promise.all(children.map((child) => (child.exitCode === null && child.signalCode === null ? new Promise((done) => child.once("exit", done)) : undefined)));
  await redis?.[Symbol.asyncDispose]();
  await cleanup();
  dir[Symbol.dispose]();
});

describe(`worker fleet on BullMQ (${kind} store)`, { skip }, () => {
  it("3 workers, one killed with SIGKILL mid-chunk: every record of the dev corpus is present once and exact, verify clean", { timeout: 240_000 }, async () => {
    const url = (redis as RedisService).url;
    const db = await makeDb(dir.path);
    // The store exists before the workers open it (three processes do not race to create its schema).
    const created = Engine.open({ db });
    await created.stats(); // creates the schema (a server store migrates at its first call)
    const location = created.location; // names the queue, as in the workers
    await created.close();
    const workers = ["w1", "w2", "w3"].map((name) =>
      cli(["worker", "--db", db, "--queue", url, "--name", name, "--workers", "0", "--lock-ms", "2000", "--stalled-ms", "500"]),
    );
    for (const worker of workers) await waitFor(() => worker.stderr().includes("ready on"), "a worker to be ready", 60_000);

    const importer = cli(["import", DEV_CORPUS, "--db", db, "--queue", url, "--chunk", "100", "--json"]);
    const queue = new Queue(queueNameFor(location), { connection: connectionFor(url) });
    const victim = workers[0] as Running;
    let killedJob = "";
    try {
      // Freeze w1, then read the queue: a chunk active under w1 cannot finish while w1 is stopped, so the kill lands mid-chunk.
      await waitFor(async () => {
        victim.child.kill("SIGSTOP");
        const active = await queue.getJobs(["active"]);
        const held = active.find((job) => job.processedBy === "w1");
        if (held?.id) {
          killedJob = held.id;
          victim.child.kill("SIGKILL");
          return true;
        }
        victim.child.kill("SIGCONT");
        return false;
      }, "w1 to hold an active chunk", 120_000);
      await victim.exited;

      const code = await importer.exited;
      assert.equal(code, 0, importer.stderr());
      const report = JSON.parse(importer.stdout()) as { records: number; chunks: number; byWorker: Record<string, number> };
      assert.equal(report.records, 2000);
      assert.equal(report.chunks, 20);
      const retried = await queue.getJob(killedJob);
      assert.equal(await retried?.getState(), "completed");
      assert.notEqual(retried?.processedBy, "w1", "the killed worker's chunk was finished by another worker");
    } finally {
      await queue.close();
    }

    const engine = Engine.open({ db });
    const corpus = devCorpus();
    assert.equal((await engine.stats()).memories, corpus.length, "every record once");
    for (const record of corpus) assert.equal(await engine.recall(record.id), record.text, record.id);
    const verified = await engine.verify();
    assert.deepEqual({ checked: verified.checked, failed: verified.failed }, { checked: corpus.length, failed: 0 });

    // Resume: the same import again finds every chunk done and enqueues nothing.
    const again = cli(["import", DEV_CORPUS, "--db", db, "--queue", url, "--chunk", "100", "--json"]);
    assert.equal(await again.exited, 0, again.stderr());
    const rerun = JSON.parse(again.stdout()) as { skippedChunks: number; written: number };
    assert.equal(rerun.skippedChunks, 20);
    for (const worker of workers.slice(1)) worker.child.kill("SIGTERM");
    for (const worker of workers.slice(1)) assert.equal(await worker.exited, 0, worker.stderr());
    await engine.close();
  });
});
}
