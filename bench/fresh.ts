/**
 * `npm run bench:fresh` (`node dist/bench/fresh.js [--runs 3] [--skip-canterbury]`): young namespaces
 * and long memories with the base model shipped with memzip (docs/CM.md "Base model").
 *
 * 1. The first 10 / 100 / 1000 memories of a fresh namespace: the dev corpus's odd records in file
 *    order (the base learned from the even ones), each written with `remember` into a new store,
 *    with `cmBase` on (the default) and off (what memzip did before: raw / zstd, no `cm` before a snapshot);
 *    stored bytes (envelopes; no asset is stored either way) against each record alone under
 *    zstd -19 and brotli -11 (bare frames, no envelope) and what the base's `cm` payload alone costs.
 *    zstd-dict has no dictionary at that age (none is trained before `autoTrainAfter`).
 * 2. Each Canterbury text as one memory in a new store (cmBase on, then off), bits/byte of its
 *    envelope, against PPMd order 8 (the corpus README's figures). The base never saw these texts.
 * 3. What the base costs: package bytes, load CPU cold (training from the asset) and from the derived
 *    state (an in-memory store here), the derived state's bytes; medians of `--runs`.
 * 4. The first write into a new store, each in a new process (bench/first-write.ts): cold (the
 *    per-user cache, MEMZIP_CACHE_DIR, empty: the base is trained and its state written there),
 *    warm (the state is read from that cache) and cmBase off, interleaved per run; the process's
 *    CPU, the CPU and wall from open to close, the bytes left beside the store and in the cache.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir, loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { brotliCompressSync, constants as zlib } from "node:zlib";
import { currentBaseAsset } from "../src/codec/cm/base.js";
import { readDerivedSnapshot, writeDerivedSnapshot } from "../src/codec/cm/derived-state.js";
import { loadSnapshot } from "../src/codec/cm/snapshot.js";
import type { DerivedFile, DerivedStore } from "../src/codec/derived.js";
import { RangeEncoder } from "../src/codec/range-coder.js";
import { ZstdFrames } from "../src/codec/zstd-native.js";
import { quantile } from "../src/core/stats.js";
import { Engine } from "../src/engine.js";
import { devTexts } from "./corpus.js";

const { values } = parseArgs({ options: { runs: { type: "string" }, "skip-canterbury": { type: "boolean" } } });
const runs = Number(values.runs ?? 3);
const CANTERBURY = { "alice29.txt": 2.05, "asyoulik.txt": 2.32, "lcet10.txt": 1.8, "plrabn12.txt": 2.21 } as const;
const SHARED = join(fileURLToPath(new URL("../../", import.meta.url)), "..", "shared");
const encoder = new TextEncoder();
const bpb = (bytes: number, original: number) => Number(((bytes * 8) / original).toFixed(3));
const cpuMs = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};

function memoryStore(): DerivedStore & { bytes(): number } {
  const files = new Map<string, Buffer>();
  return {
    open(name): DerivedFile | undefined {
      const bytes = files.get(name);
      if (!bytes) return undefined;
      return { size: bytes.length, read: (target, position) => bytes.copy(target, 0, position, position + target.length), close: () => undefined };
    },
    write: (name, content) => void files.set(name, Buffer.concat(content())),
    bytes: () => [...files.values()].reduce((sum, b) => sum + b.length, 0),
  };
}

/** Writes `texts` one by one into a new store; its stored bytes and codecs. */
async function storeOf(texts: readonly string[], cmBase: boolean): Promise<{ storedBytes: number; originalBytes: number; byCodec: Record<string, number>; cpuMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), "memzip-fresh-"));
  // cmBase is on by default: the "on" rows are memzip's default settings.
  const engine = Engine.open({ db: join(dir, "s.db"), ...(cmBase ? {} : { cmBase: false }), cache: "off", workers: 0, autoTrainAfter: 1_000_000 });
  try {
    const started = process.cpuUsage();
    for (const [i, text] of texts.entries()) await engine.remember({ id: `m${i}`, text });
    const took = cpuMs(started);
    const stats = await engine.stats();
    return { storedBytes: stats.storedBytes, originalBytes: stats.originalBytes, byCodec: Object.fromEntries(Object.entries(stats.byCodec).map(([k, v]) => [k, v.memories])), cpuMs: Math.round(took) };
  } finally {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const base = currentBaseAsset();
console.log(JSON.stringify({ machine: { load: loadavg().map((l) => Number(l.toFixed(2))) }, base: { id: base.id.slice(0, 16), packageBytes: base.bytes.length } }));

// 3. Load costs first (the process is fresh: nothing of the base is loaded yet).
const cold: number[] = [];
const fromState: number[] = [];
let stateBytes = 0;
for (let r = 0; r < runs; r++) {
  let started = process.cpuUsage();
  const loaded = loadSnapshot(base.bytes);
  cold.push(cpuMs(started));
  const store = memoryStore();
  writeDerivedSnapshot(store, base, loaded);
  stateBytes = store.bytes();
  started = process.cpuUsage();
  const model = readDerivedSnapshot(store, base)?.loadModel();
  fromState.push(cpuMs(started));
  if (!model) throw new Error("the derived state did not load");
}
console.log(JSON.stringify({ load: { runs, coldCpuMsMedian: Math.round(quantile(cold, 0.5)), derivedCpuMsMedian: Math.round(quantile(fromState, 0.5)), derivedStateBytes: stateBytes, load: loadavg()[0]?.toFixed(2) } }));

// 1. Fresh namespaces.
const heldOut = devTexts().filter((_, i) => i % 2 === 1);
const zstd = new ZstdFrames(19);
const model = loadSnapshot(base.bytes).model;
for (const n of [10, 100, 1000]) {
  const texts = heldOut.slice(0, n);
  const bytes = texts.map((t) => encoder.encode(t));
  const original = bytes.reduce((sum, b) => sum + b.length, 0);
  const zstdBytes = bytes.reduce((sum, b) => sum + zstd.compress(b).length, 0);
  const brotliBytes = bytes.reduce((sum, b) => sum + brotliCompressSync(b, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: b.length } }).length, 0);
  const cmPayload = bytes.reduce((sum, b) => {
    const e = new RangeEncoder(b.length);
    model.encodeRecord(b, e);
    return sum + e.finish().length;
  }, 0);
  const on = await storeOf(texts, true);
  const off = await storeOf(texts, false);
  console.log(
    JSON.stringify({
      fresh: n,
      originalBytes: original,
      memzipBase: { storedBytes: on.storedBytes, bpb: bpb(on.storedBytes, original), ratio: Number((original / on.storedBytes).toFixed(3)), byCodec: on.byCodec, writeCpuMs: on.cpuMs },
      memzipNoBase: { storedBytes: off.storedBytes, bpb: bpb(off.storedBytes, original), ratio: Number((original / off.storedBytes).toFixed(3)), byCodec: off.byCodec, writeCpuMs: off.cpuMs },
      perRecordFrames: { zstd19: bpb(zstdBytes, original), brotli11: bpb(brotliBytes, original), baseCmPayload: bpb(cmPayload, original) },
    }),
  );
}

// 2. Canterbury texts, each one memory in a new store.
if (!values["skip-canterbury"]) {
  for (const [file, ppmd] of Object.entries(CANTERBURY)) {
    const text = readFileSync(join(SHARED, "corpus", "canterbury", file), "utf8");
    const on = await storeOf([text], true);
    const off = await storeOf([text], false);
    const withBase = bpb(on.storedBytes, on.originalBytes);
    console.log(JSON.stringify({ canterbury: file, bytes: on.originalBytes, cmBase: withBase, codec: Object.keys(on.byCodec)[0], noBase: bpb(off.storedBytes, off.originalBytes), noBaseCodec: Object.keys(off.byCodec)[0], ppmd8: ppmd, vsPpmd: `${(((withBase - ppmd) / ppmd) * 100).toFixed(1)} %`, writeCpuMs: on.cpuMs }));
  }
}
// 4. The first write into a new store, in a new process: cold cache, warm cache, no base; interleaved.
{
  const scratch = mkdtempSync(join(tmpdir(), "memzip-first-"));
  const cache = join(scratch, "cache");
  const child = fileURLToPath(new URL("./first-write.js", import.meta.url));
  const folderBytes = (path: string): number => {
    try {
      return readdirSync(path).reduce((sum, name) => sum + statSync(join(path, name)).size, 0);
    } catch {
      return 0;
    }
  };
  const firstWrite = (name: string, base: "on" | "off") => {
    const run = spawnSync(process.execPath, [child, join(scratch, `${name}.db`), base], { env: { ...process.env, MEMZIP_CACHE_DIR: cache }, encoding: "utf8", timeout: 120_000 });
    if (run.status !== 0) throw new Error(`first-write ${name} failed: ${run.stderr}`);
    return JSON.parse(run.stdout.trim().split("\n").pop() as string) as { codec: string; processCpuMs: number; writeCpuMs: number; writeWallMs: number; besideStoreBytes: number };
  };
  const rows: Record<"cold" | "warm" | "off", ReturnType<typeof firstWrite>[]> = { cold: [], warm: [], off: [] };
  let cacheBytes = 0;
  for (let r = 0; r < runs; r++) {
    rmSync(cache, { recursive: true, force: true });
    rows.cold.push(firstWrite(`cold${r}`, "on"));
    cacheBytes = folderBytes(join(cache, "derived"));
    rows.warm.push(firstWrite(`warm${r}`, "on"));
    rows.off.push(firstWrite(`off${r}`, "off"));
  }
  const median = (list: ReturnType<typeof firstWrite>[], key: "processCpuMs" | "writeCpuMs" | "writeWallMs") => Math.round(quantile(list.map((row) => row[key]), 0.5));
  for (const [variant, list] of Object.entries(rows)) {
    console.log(
      JSON.stringify({
        firstWrite: variant,
        runs,
        codec: list[0]?.codec,
        processCpuMsMedian: median(list, "processCpuMs"),
        writeCpuMsMedian: median(list, "writeCpuMs"),
        writeWallMsMedian: median(list, "writeWallMs"),
        besideStoreBytes: Math.max(...list.map((row) => row.besideStoreBytes)),
        ...(variant === "cold" ? { userCacheBytes: cacheBytes } : {}),
      }),
    );
  }
  rmSync(scratch, { recursive: true, force: true });
}
console.log(JSON.stringify({ end: { load: loadavg().map((l) => Number(l.toFixed(2))) } }));
