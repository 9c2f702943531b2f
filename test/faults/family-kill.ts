import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { copyTemplate, edited, jsonl } from "./fixtures.js";
import type { Oracle } from "./oracle.js";
import type { CaseContext, Family } from "./suite.js";

/** Writes an import file of new records plus some updates of existing ids; all pending in the oracle. */
export function importFile(context: CaseContext, oracle: Oracle, path: string, count: number, updates: number, template = context.fixtures.small): { id: string; text: string }[] {
  const { rng, fixtures } = context;
  const records = rng.sample(fixtures.fresh, count).map((r) => ({ id: r.id, text: r.text }));
  for (const r of rng.sample(template.records, updates)) records.splice(rng.int(0, records.length), 0, { id: r.id, text: edited(r.text, rng) });
  writeFileSync(path, jsonl(records));
  for (const r of records) oracle.pending(r.id, r.text);
  return records;
}

/** An import that exited 0 (or 1 with its report) acknowledged every record it did not reject. */
export function ackImport(oracle: Oracle, records: readonly { id: string; text: string }[], stdout: Buffer, lineHasRecord?: readonly boolean[]): void {
  let rejected = new Set<number>();
  try {
    const report = JSON.parse(stdout.toString("utf8")) as { rejected?: { where: string }[] };
    rejected = new Set((report.rejected ?? []).map((r) => Number(/line (\d+)/.exec(r.where)?.[1])));
  } catch {
    return;
  }
  // Line numbers of the records (1-based); `lineHasRecord` marks which lines carry one when some do not.
  const lineOf: number[] = [];
  if (lineHasRecord) lineHasRecord.forEach((has, i) => has && lineOf.push(i + 1));
  else records.forEach((_, i) => lineOf.push(i + 1));
  const last = new Map<string, string[]>();
  records.forEach((r, i) => {
    if (!rejected.has(lineOf[i] ?? -1)) last.set(r.id, [...(last.get(r.id) ?? []), r.text]);
  });
  for (const [id, texts] of last) oracle.acked(id, ...texts);
}

export const killImport: Family = {
  name: "kill-import",
  summary: "kill -9 at a random moment of an import (new records, updates, auto-training past 200), then reopen; one in five reruns it",
  weight: 5,
  async run(context) {
    const { rng } = context;
    const db = join(context.dir, "store.db");
    const oracle = copyTemplate(context.fixtures.small, db);
    const file = join(context.dir, "in.jsonl");
    const records = importFile(context, oracle, file, rng.int(20, 200), rng.int(0, 8));
    const args = ["import", file, "--db", db, "--json", "--batch", String(rng.int(4, 64))];
    const { result, kind } = await context.cli(args, { killAfterMs: rng.int(700, 4500) });
    if (kind === "ok" || kind === "failures") ackImport(oracle, records, result.stdout);
    if (rng.chance(0.2)) {
      const rerun = await context.cli(args);
      if (rerun.kind === "ok") ackImport(oracle, records, rerun.result.stdout);
    }
    await context.verify(db, oracle, true);
  },
};

export const killRecode: Family = {
  name: "kill-recode",
  summary: "kill -9 at a random moment of `recode` (policy or --to raw/zstd/zstd-dict/cm) on a trained store",
  weight: 3,
  async run(context) {
    const { rng } = context;
    const db = join(context.dir, "store.db");
    const oracle = copyTemplate(context.fixtures.trained, db);
    const to = rng.pick([undefined, "raw", "zstd", "zstd-dict", "cm"]);
    await context.cli(["recode", "--db", db, "--json", ...(to ? ["--to", to] : [])], { killAfterMs: rng.int(700, 5000) });
    await context.verify(db, oracle, true);
  },
};

export const killTrain: Family = {
  name: "kill-train",
  summary: "kill -9 at a random moment of `dict train` / `model train` (training, then the recode it starts)",
  weight: 3,
  async run(context) {
    const { rng } = context;
    const db = join(context.dir, "store.db");
    const oracle = copyTemplate(context.fixtures.trained, db);
    const args = rng.chance(0.5) ? ["dict", "train"] : ["model", "train", "--table-bits", String(rng.int(16, 20))];
    await context.cli([...args, "--db", db, "--json"], { killAfterMs: rng.int(700, 6000) });
    await context.verify(db, oracle, true);
  },
};
