/**
 * `node dist/bench/mcp.js [--records 2000 --calls 200]` (after `npx tsc -p tsconfig.json`): what an
 * agent waits for one MCP tool call, over stdio (`memzip mcp`, one process kept open) and over
 * Streamable HTTP (`/mcp` on a server on loopback, stateless: a fresh MCP server per request), and
 * how large the answers get at their bounds.
 *
 * Imports the first N dev-corpus records into one namespace, then from the SDK's own client:
 * `recall` of random ids and `search_memories` of words taken from random records, interleaved
 * by transport (so a load spike hits both alike). Wall time per call at the client, p50 / p99.
 * Answer sizes: characters of the JSON text of the largest answers each bounded tool gives.
 * Prints a table; writes nothing else.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { quantile } from "../src/core/stats.js";
import { Engine } from "../src/engine.js";
import { createServer } from "../src/server/app.js";

const { values } = parseArgs({ options: { records: { type: "string" }, calls: { type: "string" } } });
const recordCount = Number(values.records ?? 2000);
const calls = Number(values.calls ?? 200);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = join(ROOT, "dist", "src", "cli", "main.js");
const records = readFileSync(join(ROOT, "..", "shared", "corpus", "memories-dev.jsonl"), "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "")
  .slice(0, recordCount)
  .map((line) => JSON.parse(line) as { id: string; text: string });

let seed = 42;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

const dir = mkdtempSync(join(tmpdir(), "memzip-mcp-bench-"));
const db = join(dir, "mcp.db");
try {
  writeFileSync(join(dir, "in.jsonl"), records.map((r) => JSON.stringify({ id: r.id, text: r.text })).join("\n"));
  const engine = Engine.open({ db, namespace: "bench" });
  const importStarted = performance.now();
  await engine.importJsonl(join(dir, "in.jsonl"), { namespace: "bench" });
  const importMs = performance.now() - importStarted;
  const { key } = await engine.keys.create({ role: "write", namespaces: ["bench"] });
  const server = await createServer({ engine, logLevel: "silent", limits: { ratePerSecond: 0 } });
  const url = await server.listen("127.0.0.1", 0);

  const stdio = new Client({ name: "bench", version: "1" });
  await stdio.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, "mcp", "--db", db, "--namespace", "bench", "--role", "read"], stderr: "ignore" }));
  const http = new Client({ name: "bench", version: "1" });
  await http.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
  const clients = { stdio, http } as const;

  const call = async (client: Client, name: string, args: Record<string, unknown>): Promise<{ ms: number; chars: number }> => {
    const started = performance.now();
    const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
    const ms = performance.now() - started;
    if (result.isError) throw new Error(`${name}: ${JSON.stringify(result.content)}`);
    const first = result.content[0];
    return { ms, chars: first && first.type === "text" ? first.text.length : 0 };
  };

  // The first calls build the search index and warm the caches: not measured.
  for (const client of Object.values(clients)) {
    await call(client, "search_memories", { query: "release" });
    await call(client, "recall", { id: (records[0] as { id: string }).id });
  }
  const times: Record<string, number[]> = {};
  const add = (label: string, ms: number) => (times[label] ??= []).push(ms);
  for (let i = 0; i < calls; i++) {
    const id = pick(records).id;
    const words = pick(records).text.split(/\s+/).filter((w) => /^\p{L}{4,}$/u.test(w));
    const query = words.slice(0, 3).join(" ") || "release";
    for (const [name, client] of Object.entries(clients)) {
      add(`${name} recall`, (await call(client, "recall", { id })).ms);
      add(`${name} search_memories`, (await call(client, "search_memories", { query })).ms);
    }
  }

  const longest = records.reduce((a, b) => (b.text.length > a.text.length ? b : a));
  const sizes = {
    "recall, longest record (default page)": (await call(http, "recall", { id: longest.id })).chars,
    "recall, one page of 100,000": (await call(http, "recall", { id: longest.id, maxChars: 100_000 })).chars,
    "search_memories, limit 50": (await call(http, "search_memories", { query: "the and of to", limit: 50 })).chars,
    "list_memories, limit 100": (await call(http, "list_memories", { limit: 100 })).chars,
    "memory_stats": (await call(http, "memory_stats", {})).chars,
  };

  await stdio.close();
  await http.close();
  await server.close();

  const fmt = (ms: number) => ms.toFixed(2);
  console.log(`${records.length} dev-corpus records (${records.reduce((n, r) => n + Buffer.byteLength(r.text), 0)} bytes of text), imported in ${(importMs / 1000).toFixed(1)} s; ${calls} calls each, interleaved\n`);
  console.log("| call | p50 ms | p99 ms |\n|---|---:|---:|");
  for (const [label, samples] of Object.entries(times)) console.log(`| ${label} | ${fmt(quantile(samples, 0.5))} | ${fmt(quantile(samples, 0.99))} |`);
  console.log(`\nlongest record: ${longest.text.length} characters\n\n| answer | characters of JSON |\n|---|---:|`);
  for (const [label, chars] of Object.entries(sizes)) console.log(`| ${label} | ${chars} |`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
