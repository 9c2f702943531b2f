/**
 * `node dist/bench/cm-split.js`: the context model alone on the dev corpus in file order —
 * trained on the first 1500 records, coding each of the other 500 on its own — reporting
 * payload bits/byte (no envelope), load time and median coding speed over 5 passes. This is the
 * harness behind the ablation table in docs/CM.md.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createHash } from "node:crypto";
import { createCmCodec } from "../src/codec/cm.js";
import { encodeSnapshot } from "../src/codec/cm/snapshot.js";
import { quantile } from "../src/quality/stats.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const corpus = process.argv[2] ?? join(ROOT, "..", "shared", "corpus", "memories-dev.jsonl");
const encoder = new TextEncoder();
const records = readFileSync(corpus, "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "")
  .map((line) => encoder.encode((JSON.parse(line) as { text: string }).text));
const train = records.slice(0, 1500);
const test = records.slice(1500);
const bytes = encodeSnapshot(train);
const asset = { id: createHash("sha256").update(bytes).digest("hex"), kind: "cm-snapshot" as const, bytes };
const codec = createCmCodec();
let started = performance.now();
codec.prepare?.(asset);
const loadMs = performance.now() - started;
const testBytes = test.reduce((sum, r) => sum + r.length, 0);
const encodeRates: number[] = [];
const decodeRates: number[] = [];
let payloadBytes = 0;
for (let pass = 0; pass < 5; pass++) {
  started = performance.now();
  const payloads = test.map((r) => codec.encode(r, asset) as Uint8Array);
  encodeRates.push(testBytes / 1e6 / ((performance.now() - started) / 1000));
  started = performance.now();
  payloads.forEach((p, i) => codec.decode(p, (test[i] as Uint8Array).length, asset));
  decodeRates.push(testBytes / 1e6 / ((performance.now() - started) / 1000));
  payloadBytes = payloads.reduce((sum, p) => sum + p.length, 0);
}
console.log(
  JSON.stringify({
    payloadBitsPerByte: Number(((payloadBytes * 8) / testBytes).toFixed(4)),
    snapshotBytes: bytes.length,
    loadSeconds: Number((loadMs / 1000).toFixed(2)),
    encodeMBps: Number(quantile(encodeRates, 0.5).toFixed(3)),
    decodeMBps: Number(quantile(decodeRates, 0.5).toFixed(3)),
  }),
);
