import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "../command.js";
import { Engine } from "../../engine.js";
import { isMemzipError } from "../../errors.js";
import { readJsonlRecords } from "../../pipeline/jsonl.js";
import { BASELINES } from "../../quality/baselines.js";
import { bitsPerByte } from "../../quality/stats.js";
import { EXIT_FAILURES_FOUND } from "../exit-codes.js";
import { emit } from "../shared.js";
import { describe } from "./stats.js";

const SAMPLE = fileURLToPath(new URL("../../../../examples/memories.jsonl", import.meta.url));

export const demoCommand: Command = {
  name: "demo",
  summary: "the main job on the built-in sample: import, train, verify, stats (what `npm start` runs)",
  usage: "memzip demo [--sample FILE.jsonl] [--db DB] [--json]",
  help: `Imports the sample into a fresh store, trains the namespace's assets, proves every memory
comes back byte for byte, and prints sizes beside gzip, brotli and zstd per record. Offline.
  --sample FILE      JSONL to use (default: examples/memories.jsonl)
  --db FILE          store to write (default: a new file under the temp directory)
  --json             the whole report as JSON`,
  options: { sample: { type: "string" }, db: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
  async run(context) {
    const sample = typeof context.values.sample === "string" ? context.values.sample : SAMPLE;
    const db = typeof context.values.db === "string" ? context.values.db : join(mkdtempSync(join(tmpdir(), "memzip-demo-")), "demo.db");
    const log = (line: string) => context.json || context.stderr.write(`${line}\n`);
    const engine = Engine.open({ db, autoTrainAfter: 0 });
    try {
      log(`store: ${db}`);
      const imported = await engine.importJsonl(sample);
      log(`imported ${imported.stored + imported.updated + imported.unchanged} memories from ${sample} (${imported.rejected.length} rejected)`);
      const assets: Record<string, unknown> = {};
      try {
        const trained = engine.trainDictionary();
        const recode = engine.recode();
        assets.dictionary = { ...trained, recode };
        log(`trained a ${trained.bytes}-byte zstd dictionary; recoded ${recode.recoded} memories`);
      } catch (error) {
        if (!isMemzipError(error)) throw error;
        assets.dictionary = { skipped: error.message };
        log(`dictionary skipped: ${error.message}`);
      }
      const verify = engine.verify();
      const originals = new Map<string, string>();
      for await (const item of readJsonlRecords(sample)) if (item.ok && item.record.id) originals.set(item.record.id, item.record.text);
      let exact = 0;
      for (const memory of engine.exportMemories()) if (originals.get(memory.id) === memory.text) exact++;
      const stats = engine.stats();
      const baselines = baselineFigures([...originals.values()]);
      const ok = verify.failed === 0 && exact === originals.size;
      const human = [
        `round trip: ${exact}/${originals.size} memories came back byte for byte; verify: ${verify.checked} checked, ${verify.failed} failed`,
        describe(stats),
        "per record, same texts: " + baselines.map((b) => `${b.name} ${b.bitsPerByte.toFixed(3)}`).join(", ") + " bits/byte",
      ].join("\n");
      emit(context, { db, sample, imported, assets, verify, exact, total: originals.size, stats, baselines }, human);
      return ok ? 0 : EXIT_FAILURES_FOUND;
    } finally {
      engine.close();
    }
  },
};

function baselineFigures(texts: readonly string[]): { name: string; bitsPerByte: number }[] {
  const encoded = texts.map((t) => new TextEncoder().encode(t));
  const original = encoded.reduce((s, b) => s + b.length, 0);
  return BASELINES.map((b) => ({ name: b.name, bitsPerByte: bitsPerByte(encoded.reduce((s, bytes) => s + b.compress(bytes).length, 0), original) }));
}
