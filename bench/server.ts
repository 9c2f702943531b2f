/**
 * `npm run bench:server [-- --memories N --seconds S --connections C]`: the HTTP server under load on
 * loopback. N synthetic memories (default 10^5, like bench/scale.ts) are imported through the engine
 * directly and the search index is built; then `memzip serve` runs as its own process and autocannon
 * (in this process) measures recall (GET /v1/memories/:id, random ids, 80 % of them from 200 "hot"
 * ones) and search (POST /v1/search, 2–3 vocabulary words), each alone and with a writer posting one
 * memory at a time meanwhile; each scenario at 1 connection and at C (default 8). Before them, writes alone:
 * the server's CPU per write on its main thread and in the whole process (/proc, Linux). Then: recall through the server against `memzip get` per call (a fresh
 * process each), and the first recalls of the hot memories after a restart, with and without warming.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { stopChild } from "./child.js";
import { copyFileSync, createWriteStream, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { once } from "node:events";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { Engine } from "../src/engine.js";
import { seededRandom } from "../src/core/stats.js";

const { values } = parseArgs({
  options: {
    memories: { type: "string" },
    seconds: { type: "string" },
    connections: { type: "string" },
    "cli-runs": { type: "string" },
    // A copy of this store (N memories r0… in namespace "bench", as this bench builds them) instead of importing them.
    store: { type: "string" },
    // The search scenarios only.
    "search-only": { type: "boolean" },
    // The CLI that serves (another build's dist/src/cli/main.js, to compare builds side by side).
    cli: { type: "string" },
  },
});
const N = Number(values.memories ?? 100_000);
const SECONDS = Number(values.seconds ?? 10);
const CONNECTIONS = Number(values.connections ?? 8);
const CLI_RUNS = Number(values["cli-runs"] ?? 20);
const CLI = values.cli ?? fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const SEARCH_ONLY = values["search-only"] === true;
const NS = "bench";
const random = seededRandom(11);
// Memories are windows of the dev corpus (natural text, so keyword terms are as selective as in real notes).
const DEV = fileURLToPath(new URL("../../../shared/corpus/memories-dev.jsonl", import.meta.url));
const devText = readFileSync(DEV, "utf8")
  .split("\n")
  .filter(Boolean)
  .map((line) => (JSON.parse(line) as { text: string }).text)
  .join(" ");
const devWords = devText.split(/\s+/).filter((w) => /^[A-Za-z]{4,}$/.test(w));
const words = devWords;
function memoryText(i: number): string {
  const start = Math.floor(random() * (devText.length - 600));
  const from = devText.indexOf(" ", start) + 1;
  return `${devText.slice(from, from + 80 + Math.floor(random() * 400))} #${i}`;
}
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const HOT = Array.from({ length: 200 }, (_, i) => `r${Math.floor((i * N) / 200)}`);
const randomId = () => (random() < 0.8 ? pick(HOT) : `r${Math.floor(random() * N)}`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const ms = (x: number) => Number(x.toFixed(2));

const dir = mkdtempSync(join(tmpdir(), "memzip-bench-server-"));
const db = join(dir, "server.db");
const children: ChildProcess[] = [];

function serve(warm: number, level = "warn"): Promise<{ child: ChildProcess; url: string; warmed: Promise<string>; searchWarmed: Promise<string> }> {
  let stderr = "";
  const child = spawn(process.execPath, [CLI, "serve", "--db", db, "--port", "0", "--rate", "0", "--warm", String(warm)], { env: { ...process.env, MEMZIP_LOG_LEVEL: level }, stdio: ["ignore", "ignore", "pipe"] });
  child.once("exit", (code, signal) => {
    if (code !== 0) console.error(`memzip serve ended (${String(code ?? signal)}): ${stderr.slice(-3000)}`);
  });
  children.push(child);
  let onWarm: (line: string) => void = () => undefined;
  const warmed = new Promise<string>((resolve) => (onWarm = resolve));
  let onSearchWarm: (line: string) => void = () => undefined;
  const searchWarmed = new Promise<string>((resolve) => (onSearchWarm = resolve));
  return new Promise((resolve, reject) => {
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
      const line = stderr.split("\n").find((l) => l.includes("cache warmed"));
      if (line) onWarm(line);
      const searchLine = stderr.split("\n").find((l) => l.startsWith("search warmed"));
      if (searchLine) onSearchWarm(searchLine);
      const url = /listening on (http:\/\/\S+)/.exec(stderr)?.[1];
      if (url) resolve({ child, url, warmed, searchWarmed });
      if (stderr.length > 1 << 20) stderr = stderr.slice(-4096);
    });
    child.once("exit", (code) => reject(new Error(`memzip serve exited (${String(code)}): ${stderr.slice(-2000)}`)));
  });
}

interface Load {
  connections: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  writesPerSecond?: number;
  /** Server CPU per request (writes included) on its main thread and in the whole process (/proc, Linux). */
  mainCpuMs?: number;
  processCpuMs?: number;
}

async function load(url: string, key: string, kind: "recall" | "search", withWriter: boolean, connections: number): Promise<Load> {
  const auth = { authorization: `Bearer ${key}`, "content-type": "application/json" };
  let writing = withWriter;
  let writes = 0;
  const writer = (async () => {
    let i = 0;
    while (writing) {
      const text = `${memoryText(N + i)} written during the load ${i++}`;
      const response = await fetch(`${url}/v1/memories`, { method: "POST", headers: auth, body: JSON.stringify({ text, namespace: NS }) });
      await response.arrayBuffer();
      if (response.status === 201) writes++;
    }
  })();
  const started = performance.now();
  const result = await autocannon({
    url,
    connections,
    duration: SECONDS,
    timeout: 60,
    headers: auth,
    requests: [
      kind === "recall"
        ? { method: "GET", setupRequest: (request: Record<string, unknown>) => ({ ...request, path: `/v1/memories/${randomId()}?namespace=${NS}` }) }
        : {
            method: "POST",
            setupRequest: (request: Record<string, unknown>) => ({
              ...request,
              path: "/v1/search",
              body: JSON.stringify({ query: Array.from({ length: 2 + Math.floor(random() * 2) }, () => pick(words)).join(" "), namespace: NS, limit: 10 }),
            }),
          },
    ],
  });
  writing = false;
  await writer;
  const seconds = (performance.now() - started) / 1000;
  // Which requests failed: socket errors and timeouts apart from each non-2xx status.
  if (result.errors + result.non2xx > 0) console.error(`${kind}${withWriter ? " + writer" : ""}, ${connections}: errors ${result.errors} (timeouts ${(result as unknown as { timeouts?: number }).timeouts ?? "?"}), non-2xx ${result.non2xx}, statuses ${JSON.stringify((result as unknown as { statusCodeStats?: unknown }).statusCodeStats ?? {})}`);
  return {
    connections,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
    ...(withWriter ? { writesPerSecond: Math.round(writes / seconds) } : {}),
  };
}

/** CPU seconds (user + system) a thread of `pid` (the main thread when `tid` is the pid) or the whole process has used; undefined off Linux. */
function cpuSeconds(pid: number, tid?: number): number | undefined {
  try {
    const fields = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks (USER_HZ, 100 on Linux)
  } catch {
    return undefined;
  }
}

/**
 * Writes alone, one at a time for SECONDS: the server's CPU per write on its main thread (the event
 * loop every read waits on) and in the whole process (worker threads too), from /proc: CPU time
 * does not count waiting for a core, so a loaded machine changes these less than latencies.
 */
async function writeCost(url: string, key: string, pid: number): Promise<{ writes: number; writesPerSecond: number; mainCpuMsPerWrite?: number; processCpuMsPerWrite?: number }> {
  const auth = { authorization: `Bearer ${key}`, "content-type": "application/json" };
  const post = async (text: string) => {
    const response = await fetch(`${url}/v1/memories`, { method: "POST", headers: auth, body: JSON.stringify({ text, namespace: NS }) });
    await response.arrayBuffer();
    if (response.status !== 201) throw new Error(`write: ${response.status}`);
  };
  for (let i = 0; i < 20; i++) await post(`${memoryText(3 * N + i)} warming the write path ${i}`);
  const [main0, all0] = [cpuSeconds(pid, pid), cpuSeconds(pid)];
  const started = performance.now();
  let writes = 0;
  while (performance.now() - started < SECONDS * 1000) await post(`${memoryText(4 * N + writes)} written alone ${writes++}`);
  const seconds = (performance.now() - started) / 1000;
  const [main1, all1] = [cpuSeconds(pid, pid), cpuSeconds(pid)];
  const perWrite = (from?: number, to?: number) => (from === undefined || to === undefined ? undefined : ms(((to - from) * 1000) / writes));
  const main = perWrite(main0, main1);
  const all = perWrite(all0, all1);
  return { writes, writesPerSecond: Math.round(writes / seconds), ...(main === undefined ? {} : { mainCpuMsPerWrite: main }), ...(all === undefined ? {} : { processCpuMsPerWrite: all }) };
}

/** Recalls `ids` one at a time on a just-started server: the first one's latency and the median. */
async function firstRecalls(url: string, key: string, ids: readonly string[]): Promise<{ first: number; median: number }> {
  const times: number[] = [];
  for (const id of ids) {
    const started = performance.now();
    const response = await fetch(`${url}/v1/memories/${id}?namespace=${NS}`, { headers: { authorization: `Bearer ${key}` } });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`recall ${id}: ${response.status}`);
    times.push(performance.now() - started);
  }
  return { first: ms(times[0] as number), median: ms(median(times)) };
}

try {
  // 1. The store: N synthetic memories through the engine (classical codecs, as bench/scale.ts), then the search index.
  const file = join(dir, "synthetic.jsonl");
  const out = createWriteStream(file);
  for (let i = 0; i < N; i++) {
    if (!out.write(`${JSON.stringify({ id: `r${i}`, text: memoryText(i) })}\n`)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
  if (values.store !== undefined) copyFileSync(values.store, db);
  let key: string;
  let importSeconds: number;
  let indexSeconds: number;
  {
    const engine = Engine.open({ db, codecs: ["raw", "zstd"], autoTrainAfter: 0, namespace: NS });
    let started = performance.now();
    if (values.store === undefined) await engine.importJsonl(file, { batchSize: 1000 });
    importSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    await engine.searchIndex();
    await engine.searchMemories("warm up the index", { namespace: NS, limit: 1 });
    indexSeconds = (performance.now() - started) / 1000;
    key = (await engine.keys.create({ role: "write", namespaces: [NS] })).key;
    await engine.close();
  }
  console.error(`store: ${N} memories imported in ${importSeconds.toFixed(1)} s, index built in ${indexSeconds.toFixed(1)} s; load average ${loadavg().map((x) => x.toFixed(1)).join(" ")}`);

  // 2. Load: recall alone and with a writer; one recall per fresh CLI process; then search alone and with a writer.
  const server = await serve(0);
  // The server warms search after it listens (vectors, the most common terms' keyword rows: a few seconds at 10^5), as
  // every start of a real deployment does; the rows measure the server after that (a CLI that does not warm: 20 s wait).
  const serverStarted = performance.now();
  const searchWarmed = await Promise.race([server.searchWarmed, new Promise<string>((resolve) => setTimeout(() => resolve("no search warming line (an older CLI)"), 20_000))]);
  console.error(`${searchWarmed}; ${((performance.now() - serverStarted) / 1000).toFixed(1)} s after listening`);
  const rows: Record<string, Load> = {};
  const measure = async (kind: "recall" | "search", withWriter: boolean) => {
    for (const connections of [...new Set([1, CONNECTIONS])]) {
      const name = `${kind}${withWriter ? " + writer" : ""}, ${connections} connection${connections === 1 ? "" : "s"}`;
      const pid = server.child.pid as number;
      const [main0, all0] = [cpuSeconds(pid, pid), cpuSeconds(pid)];
      const row = await load(server.url, key, kind, withWriter, connections);
      const [main1, all1] = [cpuSeconds(pid, pid), cpuSeconds(pid)];
      const requests = row.rps * SECONDS;
      if (main0 !== undefined && main1 !== undefined && all0 !== undefined && all1 !== undefined && requests > 0) {
        row.mainCpuMs = ms(((main1 - main0) * 1000) / requests);
        row.processCpuMs = ms(((all1 - all0) * 1000) / requests);
      }
      rows[name] = row;
      console.error(name, JSON.stringify(rows[name]), `load average ${loadavg().map((x) => x.toFixed(1)).join(" ")}`);
    }
  };
  if (SEARCH_ONLY) {
    await measure("search", false);
    await measure("search", true);
    await stopChild(server.child);
    console.log(JSON.stringify({ memories: N, seconds: SECONDS, connections: CONNECTIONS, cli: CLI, load: rows, loadAverage: loadavg().map((x) => Number(x.toFixed(1))), node: process.version }));
    console.log(`\n| load (autocannon, ${SECONDS} s each) | req/s | p50 ms | p99 ms | errors | writes/s | server CPU ms a request (main / process) |`);
    console.log("|---|---:|---:|---:|---:|---:|---:|");
    for (const [name, row] of Object.entries(rows)) console.log(`| ${name} | ${row.rps} | ${row.p50} | ${row.p99} | ${row.errors} | ${row.writesPerSecond ?? "–"} | ${row.mainCpuMs ?? "?"} / ${row.processCpuMs ?? "?"} |`);
    process.exitCode = 0;
  } else {
  const writesAlone = await writeCost(server.url, key, server.child.pid as number);
  console.error("writes alone, 1 at a time", JSON.stringify(writesAlone), `load average ${loadavg().map((x) => x.toFixed(1)).join(" ")}`);
  await measure("recall", false);
  await measure("recall", true);
  const cli: number[] = [];
  for (let i = 0; i < CLI_RUNS; i++) {
    const started = performance.now();
    const run = spawnSync(process.execPath, [CLI, "get", randomId(), "-n", NS, "--db", db], { stdio: ["ignore", "ignore", "pipe"] });
    if (run.status !== 0) throw new Error(`memzip get: ${run.stderr.toString()}`);
    cli.push(performance.now() - started);
  }
  const serverOne = await firstRecalls(server.url, key, Array.from({ length: CLI_RUNS }, randomId));
  console.error(`one recall: server median ${serverOne.median} ms, CLI median ${ms(median(cli))} ms`);
  await measure("search", false);
  await measure("search", true);
  await stopChild(server.child);

  // 4. First recalls of the hot memories after a restart: no warming, then warming (the server's recall counts of the runs above).
  const probe = HOT.slice(0, 50);
  const cold = await serve(0);
  const coldRecalls = await firstRecalls(cold.url, key, probe);
  await stopChild(cold.child);
  const warmServer = await serve(500, "info");
  const warmLine = await warmServer.warmed;
  const warmRecalls = await firstRecalls(warmServer.url, key, probe);
  await stopChild(warmServer.child);

  const report = {
    memories: N,
    seconds: SECONDS,
    connections: CONNECTIONS,
    importSeconds: Number(importSeconds.toFixed(1)),
    indexSeconds: Number(indexSeconds.toFixed(1)),
    load: rows,
    writesAlone,
    recallServerMedianMs: serverOne.median,
    recallCliMedianMs: ms(median(cli)),
    firstRecallsAfterRestart: { cold: coldRecalls, warm: warmRecalls, warming: (JSON.parse(warmLine) as { warm: unknown }).warm },
    loadAverage: loadavg().map((x) => Number(x.toFixed(1))),
    node: process.version,
  };
  console.log(JSON.stringify(report));
  console.log(`\nload average ${loadavg().map((x) => x.toFixed(1)).join(" ")}`);
  console.log(`\n| load (autocannon, ${SECONDS} s each) | req/s | p50 ms | p99 ms | errors | writes/s |`);
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const [name, row] of Object.entries(rows)) console.log(`| ${name} | ${row.rps} | ${row.p50} | ${row.p99} | ${row.errors} | ${row.writesPerSecond ?? "–"} |`);
  console.log(
    `\nwrites alone, one at a time: ${writesAlone.writesPerSecond} writes/s; server CPU per write ${writesAlone.mainCpuMsPerWrite ?? "?"} ms on the main thread, ${writesAlone.processCpuMsPerWrite ?? "?"} ms in the whole process (worker threads too)`,
  );
  }
} finally {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
}
