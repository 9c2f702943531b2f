/**
 * `npm run bench:store [-- --rows 10000 --runs 5]`: the read paths of the asynchronous store. One
 * store file of N memories (200-byte envelopes, two namespaces), read through `openStore`: `get` of
 * every row one call at a time, `getMany` in batches of 100, and a full `scan` (keyset pages). The
 * table shows medians of the runs and the cost per row. (The comparison with the synchronous store
 * this contract replaced is in BENCHMARKS.md, measured before that store was deleted.)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { MemoryRef, StoredMemory } from "../src/core/store.js";
import { openStore } from "../src/store/open.js";

const { values } = parseArgs({ options: { rows: { type: "string" }, runs: { type: "string" } } });
const rowCount = Number(values.rows ?? 10_000);
const runs = Number(values.runs ?? 5);
const BATCH = 100;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

const dir = mkdtempSync(join(tmpdir(), "memzip-bench-store-"));
const path = join(dir, "store.db");

function memory(i: number): StoredMemory {
  const envelope = new Uint8Array(200);
  for (let j = 0; j < envelope.length; j++) envelope[j] = (i * 31 + j * 7) & 0xff;
  return { id: `m${i}`, namespace: i % 2 ? "odd" : "even", kind: "note", tags: ["t"], createdAt: i, meta: { i }, codec: "raw", envelope, originalLength: 200, checksum: i, assetId: null };
}

try {
  const writer = openStore(path);
  for (let start = 0; start < rowCount; start += 1000) {
    await writer.memories.put(Array.from({ length: Math.min(1000, rowCount - start) }, (_, k) => memory(start + k)));
  }
  await writer.close();
  const refs: MemoryRef[] = Array.from({ length: rowCount }, (_, i) => ({ namespace: i % 2 ? "odd" : "even", id: `m${i}` }));
  const native = openStore(path);

  const cases: { name: string; async: () => Promise<number> }[] = [
    {
      name: "get (one row a call)",
      async: async () => {
        let n = 0;
        for (const r of refs) if (await native.memories.get(r.namespace, r.id)) n++;
        return n;
      },
    },
    {
      name: `getMany (${BATCH} refs a call)`,
      async: async () => {
        let n = 0;
        for (let i = 0; i < refs.length; i += BATCH) n += (await native.memories.getMany(refs.slice(i, i + BATCH))).filter(Boolean).length;
        return n;
      },
    },
    {
      name: "scan (every row)",
      async: async () => {
        let n = 0;
        for await (const _ of native.memories.scan()) n++;
        return n;
      },
    },
  ];

  const rows: string[] = [];
  for (const c of cases) {
    const times: number[] = [];
    // One warm-up, then the timed runs.
    await c.async();
    for (let run = 0; run < runs; run++) {
      const started = performance.now();
      const read = await c.async();
      times.push(performance.now() - started);
      if (read !== rowCount) throw new Error(`${c.name}: read ${read} rows of ${rowCount}`);
    }
    const n = median(times);
    rows.push(`| ${c.name} | ${n.toFixed(1)} | ${((n * 1000) / rowCount).toFixed(2)} |`);
  }
  await native.close();
  console.log(`${rowCount} rows, median of ${runs} runs (ms)\n`);
  console.log("| operation | ms | µs/row |");
  console.log("|---|---:|---:|");
  for (const row of rows) console.log(row);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
