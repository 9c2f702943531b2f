/**
 * `npm run bench:fleet [-- --workers 1,2,4 --chunk 32 --recalls N]`: issue 15's fleet numbers, in
 * one run on one corpus (the dev corpus), against a throwaway loopback Redis.
 *
 * 1. Import throughput: one `memzip import` process on SQLite (no queue) against 1, 2 and 4 `memzip
 *    worker` processes on the same SQLite file (fresh per run), fed by a running `memzip serve --queue`
 *    that receives the corpus as an upload (the headline rows) and by `memzip import --queue`.
 *    Workers are started and ready before the clock starts; the clock stops when the import
 *    command exits (every chunk committed). Every process runs with `--workers 0` (one coding
 *    thread each) and auto-training off, so every run does the same work.
 *    Each process's CPU seconds (user + system, all its threads, from /proc) are read just before it
 *    exits, and Redis's from `INFO cpu`: CPU per 1,000 records per role shows whether every run does
 *    the same work, whether a worker uses more than one core (CPU / wall > 1), and what the producer
 *    and Redis cost. `--quick` is `--workers 1,2 --recalls 100` (a few minutes on a loaded 2-core box).
 *    Also two independent one-process imports at once (a file each): CPU per record against the one
 *    process alone says whether this machine's cores work independently (a rise there caps the
 *    fleet's scaling here, whatever memzip does).
 * 2. The Redis tier on repeated recalls: per-recall latency of an in-process LRU hit, a Redis hit
 *    (a second engine on the store whose in-process tier is empty) and no cache (decoding).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir, cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { MemoryLruCache } from "../src/cache/memory-lru.js";
import { RedisCache, redisPrefixFor } from "../src/cache/redis.js";
import { SharedTierCache } from "../src/cache/shared-tier.js";
import { quantile } from "../src/core/stats.js";
import { Engine } from "../src/engine.js";
import { CLI, DEV_CORPUS, devCorpus } from "../test/helpers.js";
import { startRedis } from "../test/services/redis.js";
import { Queue } from "bullmq";
import { connectionFor, queueNameFor } from "../src/fleet/queue.js";

const { values } = parseArgs({ options: { workers: { type: "string" }, chunk: { type: "string" }, recalls: { type: "string" }, quick: { type: "boolean" } } });
const workerCounts = (values.workers ?? (values.quick ? "1,2" : "1,2,4")).split(",").map(Number);
const recallCount = Number(values.recalls ?? (values.quick ? 100 : 500));
const chunk = values.chunk ?? "32";
const dir = mkdtempSync(join(tmpdir(), "memzip-bench-fleet-"));
const env = { ...process.env, MEMZIP_CONFIG: join(dir, "none.json"), MEMZIP_AUTO_TRAIN_AFTER: "0" };
const children: ChildProcess[] = [];

function run(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"], env });
  children.push(child);
  let output = "";
  child.stdout?.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
  return { child, output: () => output, exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))) };
}

/** CPU seconds (user + system, every thread) a live process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Redis's own CPU seconds so far (`INFO cpu`). */
function redisCpu(port: number): number {
  const info = spawnSync("redis-cli", ["-p", String(port), "info", "cpu"], { encoding: "utf8" }).stdout ?? "";
  const get = (key: string) => Number(new RegExp(`${key}:([\\d.]+)`).exec(info)?.[1] ?? NaN);
  return get("used_cpu_user") + get("used_cpu_sys");
}

async function until(condition: () => boolean, what: string, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 20));
  }
}

const corpusFile = DEV_CORPUS;
const records = devCorpus().length;
const redis = await startRedis({ evictionPolicy: "noeviction" });
const rows: string[] = [];
try {
  // 1. Import throughput.
  const cpu: string[] = [];
  /**
   * One import of the dev corpus, timed. `via`: "import" is one `memzip import` process (no queue,
   * `workers` 0) or `memzip import --queue` (a fresh producer process per run); "serve" is a
   * `memzip serve --queue` process, started and ready before the clock like the workers, that
   * receives the corpus as an upload (POST /v1/imports) and enqueues it: the clock runs from the
   * upload's first byte to the job's `done` event (SSE), and the server's CPU is the producer's.
   */
  const timeImport = async (label: string, workers: number, via: "import" | "serve" = "import") => {
    const db = join(dir, `import-${label.replace(/\W+/g, "-")}.db`);
    const setup = Engine.open({ db });
    const key = via === "serve" ? (await setup.keys.create({ role: "write", namespaces: ["default"] })).key : "";
    await setup.close();
    let server: ReturnType<typeof run> | undefined;
    let serverUrl = "";
    if (via === "serve") {
      const started = run(["serve", "--db", db, "--queue", redis.url, "--host", "127.0.0.1", "--port", "0", "--rate", "0"]);
      server = started;
      await until(() => /listening on (http:\/\/\S+)/.test(started.output()), "the server");
      serverUrl = /listening on (http:\/\/\S+)/.exec(started.output())?.[1] ?? "";
    }
    const upload = via === "serve" ? readFileSync(corpusFile) : undefined;
    const started = [];
    for (let i = 0; i < workers; i++) started.push(run(["worker", "--db", db, "--queue", redis.url, "--name", `w${i + 1}`, "--workers", "0"]));
    for (const worker of started) await until(() => worker.output().includes("ready on"), "a worker");
    const workerCpuBefore = started.map((worker) => cpuSeconds(worker.child.pid));
    const redisBefore = redisCpu(redis.port);
    const load = loadavg()[0] ?? 0;
    const begin = process.hrtime.bigint();
    const beginMs = Date.now();
    let importerCpu = 0;
    if (server) {
      const serverCpuBefore = cpuSeconds(server.child.pid);
      const headers = { authorization: `Bearer ${key}` };
      const posted = await fetch(`${serverUrl}/v1/imports`, { method: "POST", headers: { ...headers, "content-type": "application/x-ndjson" }, body: upload });
      if (posted.status !== 202) throw new Error(`${label}: the upload was answered ${posted.status}: ${await posted.text()}`);
      const { job } = (await posted.json()) as { job: string };
      const events = await (await fetch(`${serverUrl}/v1/imports/${job}/events`, { headers })).text();
      importerCpu = cpuSeconds(server.child.pid) - serverCpuBefore;
      const end = events.trim().split("\n\n").at(-1) ?? "";
      const report = (JSON.parse(/^data: (.*)$/m.exec(end)?.[1] ?? "{}") as { report?: { read: number; stored: number; rejected: number } }).report;
      if (!end.startsWith("event: done") || report?.read !== records || report.rejected !== 0) throw new Error(`${label}: the job did not end done with every record read: ${end}\n${server.output()}`);
    } else {
      const importer = workers === 0 ? run(["import", corpusFile, "--db", db, "--workers", "0", "--json"]) : run(["import", corpusFile, "--db", db, "--queue", redis.url, "--chunk", chunk, "--json"]);
      // The importer's CPU is read while it lives: polled, the last reading before it exits counts.
      const poll = setInterval(() => {
        const now = cpuSeconds(importer.child.pid);
        if (Number.isFinite(now)) importerCpu = now;
      }, 50);
      const code = await importer.exited;
      clearInterval(poll);
      if (code !== 0) throw new Error(`${label}: import exited ${String(code)}\n${importer.output()}`);
    }
    const seconds = Number(process.hrtime.bigint() - begin) / 1e9;
    const workerCpu = started.map((worker, i) => cpuSeconds(worker.child.pid) - (workerCpuBefore[i] ?? 0));
    // The workers' own span, from BullMQ's timestamps: the first chunk taken to the last committed.
    // It leaves out the importer's start-up and its reading and enqueueing ahead of the workers.
    let span = seconds;
    let timeline = "";
    if (workers > 0) {
      const queue = new Queue(queueNameFor(db), { connection: connectionFor(redis.url) });
      const jobs = await queue.getJobs(["completed"], 0, -1);
      await queue.close();
      const first = Math.min(...jobs.map((job) => job.processedOn ?? Infinity));
      const last = Math.max(...jobs.map((job) => job.finishedOn ?? 0));
      if (jobs.length && Number.isFinite(first) && last > first) span = (last - first) / 1000;
      // Where the wall time goes, from BullMQ's own timestamps (ms, this machine's clock): the first
      // chunk enqueued and taken, the last enqueued and committed (after the clock started), and per
      // worker its chunks, its busy time (taken to committed), its idle time between its first chunk
      // and its last (waiting for the next chunk), and its wait before its first chunk.
      const at = (ms: number) => `+${((ms - beginMs) / 1000).toFixed(2)}`;
      const enqueued = jobs.map((job) => job.timestamp);
      timeline = `first chunk enqueued ${at(Math.min(...enqueued))} s, taken ${at(first)}; last enqueued ${at(Math.max(...enqueued))}, committed ${at(last)}; import ended +${seconds.toFixed(2)}`;
      const byWorker = new Map<string, { processedOn: number; finishedOn: number }[]>();
      for (const job of jobs) {
        const name = job.processedBy ?? "?";
        byWorker.set(name, [...(byWorker.get(name) ?? []), { processedOn: job.processedOn ?? 0, finishedOn: job.finishedOn ?? 0 }]);
      }
      for (const [name, own] of [...byWorker].sort()) {
        own.sort((a, b) => a.processedOn - b.processedOn);
        const busy = own.reduce((sum, j) => sum + (j.finishedOn - j.processedOn), 0);
        const ownFirst = own[0]?.processedOn ?? first;
        const ownLast = Math.max(...own.map((j) => j.finishedOn));
        timeline += `\n  ${name}: ${own.length} chunks, busy ${(busy / 1000).toFixed(2)} s, idle between chunks ${((ownLast - ownFirst - busy) / 1000).toFixed(2)} s, waited ${((ownFirst - beginMs) / 1000).toFixed(2)} s before its first, done ${((last - ownLast) / 1000).toFixed(2)} s before the last commit`;
      }
    }
    const redisUsed = redisCpu(redis.port) - redisBefore;
    for (const child of [...started, ...(server ? [server] : [])]) child.child.kill("SIGTERM");
    await Promise.all([...started, ...(server ? [server] : [])].map((child) => child.exited));
    const rate = records / seconds;
    const spanRate = records / span;
    const per1k = (s_: number) => ((s_ * 1000) / records).toFixed(2);
    const workersLine = workerCpu.length ? `workers ${workerCpu.map((c) => `${c.toFixed(1)} s (${(c / seconds).toFixed(2)} cores)`).join(", ")}; ` : "";
    process.stderr.write(`${label}: ${seconds.toFixed(1)} s, ${rate.toFixed(0)} records/s (workers' span ${span.toFixed(1)} s, ${spanRate.toFixed(0)} records/s), load ${load.toFixed(1)}; CPU: importer ${importerCpu.toFixed(1)} s, ${workersLine}redis ${redisUsed.toFixed(1)} s\n${timeline ? `  ${timeline}\n` : ""}`);
    const workerTotal = workerCpu.reduce((a, b) => a + b, 0);
    cpu.push(`| ${label} | ${seconds.toFixed(1)} | ${per1k(importerCpu)} | ${workerCpu.length ? per1k(workerTotal) : "—"} | ${workerCpu.length ? workerCpu.map((c) => (c / seconds).toFixed(2)).join(" + ") : "—"} | ${workerCpu.length ? per1k(redisUsed) : "—"} | ${load.toFixed(1)} |`);
    return { rate, spanRate };
  };
  const single = await timeImport("one process, SQLite, no queue", 0);
  // The machine itself: two independent single-process imports at once (a SQLite file each, no
  // queue: nothing shared but the machine). If each needs more CPU per record than the one above
  // did alone, the two cores do not work independently (shared caches, memory bandwidth, SMT
  // siblings on the host) and that rise caps what two workers can reach here, whatever memzip does.
  {
    const dbs = [0, 1].map((i) => join(dir, `pair-${i}.db`));
    for (const db of dbs) await Engine.open({ db }).close();
    const load = loadavg()[0] ?? 0;
    const begin = process.hrtime.bigint();
    const pair = dbs.map((db) => run(["import", corpusFile, "--db", db, "--workers", "0", "--json"]));
    const pairCpu = [0, 0];
    const poll = setInterval(() => {
      pair.forEach((p, i) => {
        const now = cpuSeconds(p.child.pid);
        if (Number.isFinite(now)) pairCpu[i] = now;
      });
    }, 50);
    const codes = await Promise.all(pair.map((p) => p.exited));
    clearInterval(poll);
    const seconds = Number(process.hrtime.bigint() - begin) / 1e9;
    if (codes.some((code) => code !== 0)) throw new Error(`two imports at once: exit codes ${codes.join(", ")}\n${pair.map((p) => p.output()).join("\n")}`);
    const per1k = (s_: number) => ((s_ * 1000) / records).toFixed(2);
    process.stderr.write(`two one-process imports at once: ${seconds.toFixed(1)} s, load ${load.toFixed(1)}; CPU ${pairCpu.map((c) => `${c.toFixed(1)} s`).join(" + ")}\n`);
    cpu.push(`| two one-process imports at once (a file each, nothing shared) | ${seconds.toFixed(1)} | ${pairCpu.map(per1k).join(" + ")} | — | — | — | ${load.toFixed(1)} |`);
  }
  rows.push(
    `| import of the dev corpus (2,000 records; chunks of ${chunk}) | records/s, end to end | vs 1 worker | records/s, workers' span | vs 1 worker |`,
    "|---|---:|---:|---:|---:|",
  );
  rows.push(`| one \`memzip import\` process (no queue) | ${single.rate.toFixed(0)} | | | |`);
  const vs = (a: number, b: number) => (b ? `${(a / b).toFixed(2)}x` : "");
  // Per worker count, the producer as a running server first (the headline: no producer start in
  // the clock), then as a fresh `memzip import --queue` process; the rows keep that order.
  const served: string[] = [];
  const cliRows: string[] = [];
  let oneServed = { rate: 0, spanRate: 0 };
  let oneCli = { rate: 0, spanRate: 0 };
  for (const count of workerCounts) {
    const plural = count > 1 ? "es" : "";
    const viaServer = await timeImport(`serve --queue + ${count} worker(s)`, count, "serve");
    if (count === 1) oneServed = viaServer;
    served.push(`| \`memzip serve --queue\` (running) + ${count} \`memzip worker\` process${plural} | ${viaServer.rate.toFixed(0)} | ${vs(viaServer.rate, oneServed.rate)} | ${viaServer.spanRate.toFixed(0)} | ${vs(viaServer.spanRate, oneServed.spanRate)} |`);
    const viaCli = await timeImport(`import --queue + ${count} worker(s)`, count);
    if (count === 1) oneCli = viaCli;
    cliRows.push(`| \`memzip import --queue\` (a fresh process) + ${count} \`memzip worker\` process${plural} | ${viaCli.rate.toFixed(0)} | ${vs(viaCli.rate, oneCli.rate)} | ${viaCli.spanRate.toFixed(0)} | ${vs(viaCli.spanRate, oneCli.spanRate)} |`);
  }
  rows.push(...served, ...cliRows);
  rows.push("", "| run | wall s | producer CPU s / 1k records (importer or server) | workers' CPU s / 1k records | each worker's cores (CPU / wall) | Redis CPU s / 1k records | load at start |", "|---|---:|---:|---:|---|---:|---:|", ...cpu);

  // 2. The Redis tier on repeated recalls.
  const db = join(dir, "recall.db");
  const sample = devCorpus()
    .slice(0, recallCount)
    .map(({ id, text }) => ({ id, text }));
  const latencies = async (engine: Engine): Promise<number[]> => {
    const times: number[] = [];
    for (const { id } of sample) {
      const t = process.hrtime.bigint();
      await engine.recall(id);
      times.push(Number(process.hrtime.bigint() - t) / 1e3);
    }
    return times.sort((a, b) => a - b);
  };
  const tier = new SharedTierCache(new MemoryLruCache(), new RedisCache(redis.url, { prefix: redisPrefixFor(db) }));
  const fill = Engine.open({ db, cache: tier, workers: 0 });
  await fill.rememberMany(sample);
  await latencies(fill);
  await fill.close();
  // The fill engine's writes reach Redis in the background: wait for them before the second engine reads.
  await tier.settled();
  tier.close();
  const viaRedis = Engine.open({ db, cache: redis.url, workers: 0 });
  const redisHits = await latencies(viaRedis);
  const memoryHits = await latencies(viaRedis);
  const redisStats = viaRedis.cacheStats();
  await viaRedis.close();
  const uncached = Engine.open({ db, cache: "off", workers: 0 });
  await latencies(uncached);
  const decoded = await latencies(uncached);
  await uncached.close();
  const us = (values_: number[], q: number) => quantile(values_, q).toFixed(0);
  rows.push("", `| repeated recall of ${sample.length} memories | p50 µs | p99 µs |`, "|---|---:|---:|");
  rows.push(`| in-process LRU hit | ${us(memoryHits, 0.5)} | ${us(memoryHits, 0.99)} |`);
  rows.push(`| Redis hit (loopback; in-process tier empty) | ${us(redisHits, 0.5)} | ${us(redisHits, 0.99)} |`);
  rows.push(`| no cache (decode from the store) | ${us(decoded, 0.5)} | ${us(decoded, 0.99)} |`);
  rows.push("", `(${cpus().length} cores; Redis tier: ${redisStats.hits} hits, ${redisStats.failures ?? 0} failures)`);
  process.stdout.write(`${rows.join("\n")}\n`);
} finally {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  await redis[Symbol.asyncDispose]();
  rmSync(dir, { recursive: true, force: true });
}
