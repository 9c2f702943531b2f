/**
 * `node dist/bench/cm-shape.js [VERSION] [ROUNDS]`: where a model version's per-record bits and time go (docs/CM.md,
 * "Where version 8's bits and time go"). A default-size model trained on dev records 0–1499 (the dev split's) and
 * frozen; then
 *
 * - **bits by position**: each of the other 500 records' prefixes of 8, 16, … bytes coded alone (payload bytes, the
 *   range coder's last byte included), so the bits spent on bytes 9–16, 17–32, … of a record are the differences of
 *   prefix sizes summed over the records;
 * - **time by record length**: slices of 32 B to 8 KiB cut from the held-out records joined end to end (the same
 *   ~400 KB of text for every length) each encoded alone, in ROUNDS rounds (default 3) with the lengths in turn;
 *   this process's CPU per record and MB/s, median of the rounds. A fixed cost per record (rollback, scratch wipe,
 *   setup) shows as MB/s falling at short lengths.
 */
import { ContextModel, CONTEXT_MODEL_DEFAULTS, isModelVersion } from "../src/codec/cm/context-model.js";
import { devTexts } from "./corpus.js";

const [versionArg, roundsArg] = process.argv.slice(2);
const version = Number(versionArg ?? 8);
if (!isModelVersion(version)) throw new Error("usage: cm-shape.js [VERSION] [ROUNDS]");
const rounds = Math.max(1, Number(roundsArg ?? 3));
const encoder = new TextEncoder();
const texts = devTexts().map((text) => encoder.encode(text));
const model = new ContextModel(CONTEXT_MODEL_DEFAULTS, version);
for (const bytes of texts.slice(0, 1500)) model.train(bytes);
model.freeze();
const held = texts.slice(1500);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

console.log(`version ${version}: trained on dev records 0-1499, ${held.length} held-out records`);
console.log("\nbits by position (payload bits per byte of the bytes in the range, over every record that reaches it):");
console.log("| bytes of the record | bytes | bits/byte |\n| --- | --- | --- |");
const ends = [8, 16, 32, 64, 128, 256, 512, 1024, Infinity];
const payload = ends.map(() => 0);
const original = ends.map(() => 0);
for (const record of held) {
  ends.forEach((end, i) => {
    const prefix = record.subarray(0, Math.min(end, record.length));
    payload[i] = (payload[i] as number) + model.encodeRecordBytes(prefix).length;
    original[i] = (original[i] as number) + prefix.length;
  });
}
ends.forEach((end, i) => {
  const from = i === 0 ? 0 : (ends[i - 1] as number);
  const bytes = (original[i] as number) - (i === 0 ? 0 : (original[i - 1] as number));
  const bits = ((payload[i] as number) - (i === 0 ? 0 : (payload[i - 1] as number))) * 8;
  const label = i === 0 ? `1–${end} (with each payload's last byte)` : end === Infinity ? `${from + 1}–end` : `${from + 1}–${end}`;
  console.log(`| ${label} | ${bytes} | ${(bits / bytes).toFixed(3)} |`);
});
console.log(`| whole records | ${original.at(-1)} | ${(((payload.at(-1) as number) * 8) / (original.at(-1) as number)).toFixed(3)} |`);

const joined = new Uint8Array(held.reduce((n, r) => n + r.length, 0));
held.reduce((at, r) => (joined.set(r, at), at + r.length), 0);
const lengths = [32, 128, 512, 2048, 8192];
const slices = (length: number) => Array.from({ length: Math.floor(joined.length / length) }, (_, k) => joined.subarray(k * length, (k + 1) * length));
const cpu = new Map<number, number[]>(lengths.map((length) => [length, []]));
for (let round = 0; round < rounds; round++) {
  for (const length of round % 2 ? [...lengths].reverse() : lengths) {
    const records = slices(length);
    for (const record of records.slice(0, 4)) model.encodeRecordBytes(record);
    const started = process.cpuUsage();
    for (const record of records) model.encodeRecordBytes(record);
    const used = process.cpuUsage(started);
    cpu.get(length)?.push((used.user + used.system) / 1000 / records.length);
  }
}
console.log(`\ntime by record length (encode only, this process's CPU, median of ${rounds} rounds):`);
console.log("| record length | records | CPU µs / record | MB/s |\n| --- | --- | --- | --- |");
for (const length of lengths) {
  const ms = median(cpu.get(length) as number[]);
  console.log(`| ${length} B | ${slices(length).length} | ${(ms * 1000).toFixed(0)} | ${(length / ms / 1000).toFixed(3)} |`);
}
