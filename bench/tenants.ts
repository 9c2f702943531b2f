/**
 * `npm run bench:tenants [-- --rounds R]`: reads across tenants, each with its own `cm` model. Five namespaces get 300
 * dev-corpus records each (an import trains each one's snapshot, and those memories become `cm-ref`), then 100 more
 * each (coded with `cm` by that snapshot). `memzip serve` then runs as its own process, once per `cmModels` setting
 * (MEMZIP_CM_MODELS: 2, what every process kept before the setting, and the profile's; each with the reads' model loads
 * on the server's event loop, the default, and on a codec worker, MEMZIP_MODEL_LOAD_THREAD=true), and one client recalls the
 * `cm` memories over HTTP in turn across the five namespaces (each id once: no recalled-text cache hit), R rounds of
 * five (default 20); then writes a new text to each tenant in turn as many rounds (POST /v1/memories). Reported: each
 * recall's latency (the first round apart: it loads every model once), each write's after the first round, the slowest
 * `/healthz` answer asked meanwhile (a model load holds the server's event loop), and the server's resident memory.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { stopChild } from "./child.js";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Engine } from "../src/engine.js";
import { devTexts } from "./corpus.js";

const { values } = parseArgs({ options: { rounds: { type: "string" } } });
const ROUNDS = Number(values.rounds ?? 20);
const TENANTS = ["t0", "t1", "t2", "t3", "t4"];
const CLI = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))] as number;
const ms = (x: number) => Number(x.toFixed(1));

const dir = mkdtempSync(join(tmpdir(), "memzip-bench-tenants-"));
const db = join(dir, "tenants.db");
const children: ChildProcess[] = [];

function serve(cmModels: string, loadThread: boolean): Promise<{ child: ChildProcess; url: string }> {
  let stderr = "";
  const env = { ...process.env, MEMZIP_LOG_LEVEL: "warn", MEMZIP_CM_MODELS: cmModels, MEMZIP_MODEL_LOAD_THREAD: String(loadThread) };
  const child = spawn(process.execPath, [CLI, "serve", "--db", db, "--port", "0", "--rate", "0", "--warm", "0"], { env, stdio: ["ignore", "ignore", "pipe"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
      const url = /listening on (http:\/\/\S+)/.exec(stderr)?.[1];
      if (url) resolve({ child, url });
    });
    child.once("exit", (code) => reject(new Error(`memzip serve exited (${String(code)}): ${stderr.slice(-2000)}`)));
  });
}

function residentMiB(pid: number): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb === undefined ? undefined : Math.round(Number(kb) / 1024);
  } catch {
    return undefined;
  }
}

try {
  // 1. The store: 300 records a tenant trains its snapshot; 100 more a tenant are coded with it.
  const records = devTexts().map((text, i) => ({ id: `m${i}`, namespace: TENANTS[i % TENANTS.length] as string, text }));
  const first = join(dir, "first.jsonl");
  const later = join(dir, "later.jsonl");
  const lines = (part: typeof records) => part.map((record) => JSON.stringify(record)).join("\n") + "\n";
  writeFileSync(first, lines(records.slice(0, 300 * TENANTS.length)));
  writeFileSync(later, lines(records.slice(300 * TENANTS.length, 400 * TENANTS.length)));
  const engine = Engine.open({ db });
  let key: string;
  const coded = new Map<string, string[]>(TENANTS.map((tenant) => [tenant, []]));
  try {
    await engine.importJsonl(first);
    await engine.importJsonl(later);
    for (const tenant of TENANTS) {
      for (const memory of await engine.list({ namespace: tenant, limit: 1000 })) if (memory.codec === "cm") coded.get(tenant)?.push(memory.id);
    }
    key = (await engine.keys.create({ role: "write", namespaces: TENANTS })).key;
  } finally {
    await engine.close();
  }
  const rounds = Math.min(ROUNDS, ...TENANTS.map((tenant) => coded.get(tenant)?.length ?? 0));
  console.log(`store: ${TENANTS.length} tenants, ${[...coded.values()].map((ids) => ids.length).join(" / ")} cm memories; ${rounds} rounds; load ${loadavg()[0]?.toFixed(2)}`);

  // 2. One server per setting; recalls in turn across the tenants, /healthz asked every 20 ms meanwhile.
  const rows: string[] = [];
  // cmModels 2 (what every process kept before the setting: with five tenants a load at nearly every read) and the
  // profile's, each with the loads on the event loop (the default) and on a codec worker (MEMZIP_MODEL_LOAD_THREAD=true).
  const settings: [string, boolean][] = [["2", false], ["2", true], ["", false], ["", true]];
  for (const [setting, loadThread] of settings) {
    const { child, url } = await serve(setting, loadThread);
    const headers = { authorization: `Bearer ${key}` };
    let polling = true;
    let slowestHealth = 0;
    const poller = (async () => {
      while (polling) {
        const started = performance.now();
        await (await fetch(`${url}/healthz`)).arrayBuffer();
        slowestHealth = Math.max(slowestHealth, performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const firstRound: number[] = [];
    const steady: number[] = [];
    for (let round = 0; round < rounds; round++) {
      for (const tenant of TENANTS) {
        const id = coded.get(tenant)?.[round] as string;
        const started = performance.now();
        const response = await fetch(`${url}/v1/memories/${encodeURIComponent(id)}?namespace=${tenant}`, { headers });
        await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`recall ${tenant}/${id}: ${response.status}`);
        (round === 0 ? firstRound : steady).push(performance.now() - started);
      }
    }
    // Writes in turn: each a new text (a dev record with a counter appended), coded with its tenant's snapshot.
    const texts = devTexts();
    const writes: number[] = [];
    const writeCodecs = new Map<string, number>();
    for (let round = 0; round < rounds; round++) {
      for (const [t, tenant] of TENANTS.entries()) {
        const text = `${texts[(round * TENANTS.length + t) * 7 % texts.length] as string} (${setting || "auto"} ${String(loadThread)} ${round})`;
        const started = performance.now();
        const response = await fetch(`${url}/v1/memories`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify({ text, namespace: tenant }) });
        const body = (await response.json()) as { codec?: string };
        if (response.status !== 200 && response.status !== 201) throw new Error(`write ${tenant}: ${response.status} ${JSON.stringify(body)}`);
        if (round > 0) writes.push(performance.now() - started);
        writeCodecs.set(body.codec ?? "?", (writeCodecs.get(body.codec ?? "?") ?? 0) + 1);
      }
    }
    polling = false;
    await poller;
    const rss = residentMiB(child.pid as number);
    await stopChild(child);
    const label = setting === "" ? "the profile's (auto)" : setting;
    const codecsWritten = [...writeCodecs].map(([codec, n]) => `${n} ${codec}`).join(", ");
    rows.push(`| ${label} | ${loadThread ? "codec worker" : "event loop"} | ${ms(median(firstRound))} | ${ms(median(steady))} | ${ms(quantile(steady, 0.9))} | ${ms(Math.max(...steady))} | ${ms(median(writes))} (${codecsWritten}) | ${ms(slowestHealth)} | ${rss ?? "—"} |`);
  }
  console.log("\n| cmModels | model loads of reads on | recall, first round: median ms | then: median ms | p90 ms | max ms | write in turn after the first round: median ms (codecs) | slowest /healthz meanwhile, ms | server RSS after, MiB |");
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const row of rows) console.log(row);
} finally {
  for (const child of children) await stopChild(child);
  rmSync(dir, { recursive: true, force: true });
}
