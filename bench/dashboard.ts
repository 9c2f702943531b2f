/**
 * `node dist/bench/dashboard.js [--rows 100000 --runs 5]`: how long `GET /v1/dashboard` takes over
 * loopback on a store of N memories (200-byte raw envelopes, two namespaces, 1,000 memories a day),
 * for a key over every namespace ("*": whole-store stats, one scan) and for a key of one namespace.
 * The "ratio over time" panel reads at most 10,000 memories (DAILY_SCAN_CAP); the stats part grows with the store.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { StoredMemory } from "../src/core/store.js";
import { Engine } from "../src/engine.js";
import { createServer } from "../src/server/app.js";
import { openStore } from "../src/store/open.js";

const { values } = parseArgs({ options: { rows: { type: "string" }, runs: { type: "string" } } });
const rowCount = Number(values.rows ?? 100_000);
const runs = Number(values.runs ?? 5);
const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 1);

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function memory(i: number): StoredMemory {
  const envelope = new Uint8Array(200);
  for (let j = 0; j < envelope.length; j++) envelope[j] = (i * 31 + j * 7) & 0xff;
  return { id: `m${i}`, namespace: i % 2 ? "odd" : "even", kind: "note", tags: [], createdAt: START + Math.floor(i / 1000) * DAY + (i % 1000), meta: {}, codec: "raw", envelope, originalLength: 200, checksum: i, assetId: null };
}

const dir = mkdtempSync(join(tmpdir(), "memzip-bench-dashboard-"));
const path = join(dir, "store.db");
try {
  const writer = openStore(path);
  for (let start = 0; start < rowCount; start += 1000) {
    await writer.memories.put(Array.from({ length: Math.min(1000, rowCount - start) }, (_, k) => memory(start + k)));
  }
  await writer.close();

  const engine = Engine.open({ db: path });
  const keys = {
    "* (whole store)": (await engine.keys.create({ role: "read", namespaces: ["*"] })).key,
    "one namespace": (await engine.keys.create({ role: "read", namespaces: ["even"] })).key,
  };
  const server = await createServer({ engine, logLevel: "silent", limits: { ratePerSecond: 0 } });
  try {
    const url = await server.listen("127.0.0.1", 0);
    console.log(`GET /v1/dashboard, ${rowCount.toLocaleString("en-US")} memories, median of ${runs} runs (one warm-up first)`);
    console.log("| key | memories read | ms |");
    console.log("|---|---:|---:|");
    for (const [name, key] of Object.entries(keys)) {
      const times: number[] = [];
      let scanned = 0;
      for (let run = 0; run <= runs; run++) {
        const began = performance.now();
        const response = await fetch(`${url}/v1/dashboard`, { headers: { authorization: `Bearer ${key}` } });
        const body = (await response.json()) as { daily: { scanned: number } };
        if (response.status !== 200) throw new Error(`status ${response.status}: ${JSON.stringify(body)}`);
        if (run > 0) times.push(performance.now() - began);
        scanned = body.daily.scanned;
      }
      console.log(`| ${name} | ${scanned.toLocaleString("en-US")} | ${median(times).toFixed(0)} |`);
    }
  } finally {
    await server.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
