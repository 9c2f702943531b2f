/**
 * `node dist/bench/lock-wait.js [--hold-ms 2000] [--rounds 5] [--build DIST]`: what one process does while another
 * holds its store's write lock. A child process takes the lock (`BEGIN IMMEDIATE`) for `hold-ms`; meanwhile this
 * process starts one write (`remember`) and reads (`recall`) in a loop until the write settles. Per round: how long
 * the write took and how it ended, how many reads were answered while it waited, and the longest stall of the event
 * loop (`monitorEventLoopDelay`). `--build` names another build's `dist` folder (its `src/engine.js` is used): the
 * same rounds against it, for a side-by-side run.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setImmediate, setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { quantile } from "../src/core/stats.js";

const { values } = parseArgs({ options: { "hold-ms": { type: "string" }, rounds: { type: "string" }, build: { type: "string" } } });
const holdMs = Number(values["hold-ms"] ?? 2000);
const rounds = Number(values.rounds ?? 5);
const builds = [{ name: "this build", engine: new URL("../src/engine.js", import.meta.url).href }];
if (values.build) builds.push({ name: values.build, engine: pathToFileURL(join(resolve(values.build), "src", "engine.js")).href });

interface EngineLike {
  remember(input: { id: string; text: string }): Promise<unknown>;
  recall(id: string): Promise<string>;
  close(): Promise<void>;
}

/** A process holding the store's write lock for `ms`; resolves once it holds it, with its exit. */
async function holdLock(db: string, ms: number): Promise<{ released: Promise<unknown> }> {
  const script = `const Database = (await import("better-sqlite3")).default;
    const db = new Database(${JSON.stringify(db)});
    db.exec("BEGIN IMMEDIATE");
    process.stdout.write("held\\n");
    setTimeout(() => { db.exec("COMMIT"); db.close(); }, ${ms});`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"], cwd: new URL("../../", import.meta.url).pathname });
  const exited = once(child, "exit");
  await once(child.stdout, "data");
  return { released: exited };
}

const rows: string[] = [];
for (let round = 0; round < rounds; round++) {
  // Builds interleaved round by round, so a load spike hits both alike.
  for (const build of builds) {
    const { Engine } = (await import(build.engine)) as { Engine: { open(options: object): EngineLike } };
    const dir = mkdtempSync(join(tmpdir(), "memzip-lock-"));
    const db = join(dir, "lock.db");
    const engine = Engine.open({ db, cache: "off", workers: 0 });
    try {
      await engine.remember({ id: "read-me", text: "a memory read while another process holds the lock" });
      const { released } = await holdLock(db, holdMs);
      const loopDelay = monitorEventLoopDelay({ resolution: 5 });
      loopDelay.enable();
      // Its first sample only starts the count: one turn before the write.
      await sleep(20);
      const started = performance.now();
      let settled = false;
      let outcome = "";
      const write = engine.remember({ id: "written", text: "a memory written while another process holds the lock" }).then(
        () => (outcome = "stored"),
        (error: { code?: string }) => (outcome = error.code ?? "error"),
      );
      void write.finally(() => (settled = true));
      const readTimes: number[] = [];
      while (!settled) {
        const at = performance.now();
        await engine.recall("read-me");
        if (!settled) readTimes.push(performance.now() - at);
        // A read answers without I/O (microtasks only): let timers run between reads, as requests arriving do.
        await setImmediate();
      }
      await write;
      const writeMs = performance.now() - started;
      // The monitor's timer records a stall when it next runs: give it a turn after a write that held the thread.
      await sleep(50);
      loopDelay.disable();
      await released;
      rows.push(
        `| ${build.name} | ${round + 1} | ${outcome} | ${writeMs.toFixed(0)} | ${readTimes.length} | ${readTimes.length ? quantile(readTimes, 0.5).toFixed(2) : "—"} | ${(loopDelay.max / 1e6).toFixed(0)} |`,
      );
    } finally {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
console.log(`Another process holds the write lock for ${holdMs} ms; one write and reads in a loop until it settles.\n`);
console.log("| build | round | write | write ms | reads answered meanwhile | read p50 ms | longest event-loop stall ms |");
console.log("| --- | --- | --- | --- | --- | --- | --- |");
for (const row of rows) console.log(row);
