import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { HELP_OPTION, type Command } from "../command.js";
import { Engine } from "../../engine.js";
import { isMemzipError } from "../../errors.js";
import { readJsonlRecords } from "../../pipeline/jsonl.js";
import type { MemoryInput } from "../../pipeline/records.js";
import { BASELINES } from "../../quality/baselines.js";
import { bitsPerByte } from "../../core/stats.js";
import { EXIT_FAILURES_FOUND } from "../exit-codes.js";
import { emit, inputFileSize, usage } from "../shared.js";
import { describe } from "./stats.js";

const SAMPLE = fileURLToPath(new URL("../../../../examples/memories.jsonl", import.meta.url));
const encoder = new TextEncoder();

export const demoCommand: Command = {
  name: "demo",
  positionals: 0,
  summary: "the main job on the built-in sample: learn from older memories, compress newer ones, verify (npm start)",
  usage: "memzip demo [--sample FILE.jsonl] [--db DB | --keep] [--json]",
  help: `Plays a namespace's life on a sample: the older two thirds of its memories are stored, the
namespace's assets (zstd dictionary, context model) are trained on them and the older memories
recoded with them, then the newer third arrives and is compressed with those assets. Prints the newer memories' per-record size beside
gzip, brotli and zstd on the same texts, proves every memory comes back byte for byte, and
shows the store's stats with the assets' bytes counted apart. Offline.`,
  options: {
    sample: { type: "string", value: "FILE", help: "JSONL to use (default: examples/memories.jsonl)" },
    db: { type: "string", value: "FILE", help: "store to write and keep (default: a new folder under the temp directory,\nremoved at the end unless --keep)" },
    keep: { type: "boolean", help: "keep the demo's temporary store (its path is printed first)" },
    json: { type: "boolean", help: "the whole report as JSON" },
    ...HELP_OPTION,
  },
  async run(context) {
    const sample = typeof context.values.sample === "string" ? context.values.sample : SAMPLE;
    if (sample !== SAMPLE) inputFileSize(sample, "--sample");
    // Without --db the store is a scratch folder, removed at the end (a run leaves nothing) unless --keep.
    const scratch = typeof context.values.db === "string" ? undefined : mkdtempSync(join(tmpdir(), "memzip-demo-"));
    const db = scratch === undefined ? (context.values.db as string) : join(scratch, "demo.db");
    const log = (line: string) => context.json || context.stderr.write(`${line}\n`);
    const records: MemoryInput[] = [];
    for await (const item of readJsonlRecords(sample)) {
      if (!item.ok) throw item.error;
      records.push(item.record);
    }
    if (records.length < 12) throw usage(`the demo needs at least 12 memories, ${sample} has ${records.length}`);
    const older = records.slice(0, Math.round((records.length * 2) / 3));
    const newer = records.slice(older.length);
    const engine = Engine.open({ db, autoTrainAfter: 0 });
    try {
      log(`store: ${db}`);
      await engine.rememberMany(older);
      log(`stored ${older.length} older memories`);
      const assets: Record<string, unknown> = {};
      let used = false;
      for (const kind of await engine.assetKindsToTrain()) {
        try {
          const trained = await engine.trainAsset(kind);
          assets[kind] = trained;
          used ||= trained.activated;
          const measured = trained.comparison ? ` (~${trained.comparison.trainedBytes} bytes with it against ~${trained.comparison.activeBytes} without)` : "";
          log(
            `trained a ${trained.bytes}-byte ${kind} on them in ${(trained.trainMs / 1000).toFixed(2)}s: ` +
              (trained.activated ? `used${measured}` : `not used, it would store them larger${measured}`),
          );
        } catch (error) {
          if (!isMemzipError(error)) throw error;
          assets[kind] = { skipped: error.message };
          log(`${kind} skipped: ${error.message}`);
        }
      }
      const recode = await engine.recode();
      if (used) log(`recoded ${recode.recoded} older memories with them (${recode.bytesBefore} -> ${recode.bytesAfter} bytes of envelopes)`);
      const arrivals = await engine.rememberMany(newer);
      const newerTexts = newer.map((r) => encoder.encode(r.text));
      const newerBytes = newerTexts.reduce((s, b) => s + b.length, 0);
      const memzipBpb = bitsPerByte(arrivals.reduce((s, r) => s + r.storedBytes, 0), newerBytes);
      const wins = arrivals.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.codec]: (acc[r.codec] ?? 0) + 1 }), {});
      const baselines = BASELINES.map((b) => ({ name: b.name, bitsPerByte: bitsPerByte(newerTexts.reduce((s, t) => s + b.compress(t).length, 0), newerBytes) }));

      const verify = await engine.verify();
      const originals = new Map(records.map((r) => [r.id, r.text]));
      let exact = 0;
      for await (const memory of engine.exportMemories()) if (originals.get(memory.id) === memory.text) exact++;
      const stats = await engine.stats();
      const query = "allergic vegetarian restaurant";
      const search = (await engine.searchMemories(query, { limit: 3 })).map((h) => ({ id: h.id, score: h.score }));
      log(`search "${query}": ${search.map((h) => h.id).join(", ") || "no matches"} (memzip search QUERY)`);
      const ok = verify.failed === 0 && exact === records.length;
      const human = [
        `${newer.length} newer memories (${newerBytes} bytes), per record: memzip ${memzipBpb.toFixed(3)} bits/byte ` +
          `(${Object.entries(wins).map(([codec, n]) => `${codec} ×${n}`).join(", ")}); ` +
          baselines.map((b) => `${b.name} ${b.bitsPerByte.toFixed(3)}`).join(", "),
        `round trip: ${exact}/${records.length} memories came back byte for byte; verify: ${verify.checked} checked, ${verify.failed} failed`,
        describe(stats),
        ...(stats.assets.some((asset) => asset.kind === "cm-snapshot")
          ? [
              "(the older memories are now references into the context model's snapshot, which holds their text model-coded;",
              " the stats count the snapshot's bytes once, beside the envelopes — BENCHMARKS.md has a 2000-record corpus)",
            ]
          : ["(cm coded them with the base model shipped with memzip; a model trained on a namespace's own memories takes", " over once it measures smaller there — BENCHMARKS.md has a 2000-record corpus)"]),
      ].join("\n");
      emit(context, { db, sample, assets, recode, newer: { memories: newer.length, bytes: newerBytes, bitsPerByte: memzipBpb, wins, baselines }, verify, exact, total: records.length, stats, search }, human);
      return ok ? 0 : EXIT_FAILURES_FOUND;
    } finally {
      await engine.close();
      if (scratch !== undefined && context.values.keep !== true) {
        rmSync(scratch, { recursive: true, force: true });
        log(`removed the demo store ${scratch} (--keep keeps it)`);
      }
    }
  },
};
