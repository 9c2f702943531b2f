import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { copyTemplate, edited, type Template } from "./fixtures.js";
import { ackImport, importFile } from "./family-kill.js";
import { Oracle } from "./oracle.js";
import type { CaseContext, Family } from "./suite.js";

/** Starts `run` after `ms` milliseconds. */
async function after<T>(ms: number, run: () => Promise<T>): Promise<T> {
  await sleep(ms);
  return run();
}

/** One writer process: an update by `add`, a `rm`, or a small import; its result goes into the oracle. */
async function writer(context: CaseContext, oracle: Oracle, db: string, template: Template, index: number): Promise<void> {
  const { rng } = context;
  const kind = rng.pick(["update", "rm", "import"] as const);
  if (kind === "update") {
    const target = rng.pick(template.records);
    const text = edited(oracle.current(target.id) ?? target.text, rng);
    oracle.pending(target.id, text);
    const { kind: exit } = await context.cli(["add", "-", "--id", target.id, "--db", db, "--json"], { input: text });
    if (exit === "ok") oracle.acked(target.id, text);
  } else if (kind === "rm") {
    const ids = rng.sample(template.records, rng.int(1, 4)).map((r) => r.id);
    for (const id of ids) oracle.pendingDelete(id);
    const { kind: exit } = await context.cli(["rm", ...ids, "--db", db, "--json"]);
    if (exit === "ok") for (const id of ids) oracle.ackedDelete(id);
  } else {
    const file = join(context.dir, `writer-${index}.jsonl`);
    const records = importFile(context, oracle, file, rng.int(5, 40), rng.int(0, 5), template);
    const { result, kind: exit } = await context.cli(["import", file, "--db", db, "--json", "--batch", String(rng.int(2, 16))]);
    if (exit === "ok" || exit === "failures") ackImport(oracle, records, result.stdout);
  }
}

export const raceOpen: Family = {
  name: "race-fresh-open",
  summary: "2–4 processes add to a store file that does not exist yet, at the same moment",
  weight: 2,
  async run(context) {
    const { rng } = context;
    const db = join(context.dir, "fresh.db");
    const oracle = new Oracle();
    const n = rng.int(2, 4);
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const record = rng.pick(context.fixtures.fresh);
        const id = `race-${i}`;
        oracle.pending(id, record.text);
        const { kind } = await context.cli(["add", "-", "--id", id, "--db", db, "--json"], { input: record.text });
        if (kind === "ok") oracle.acked(id, record.text);
      }),
    );
    await context.verify(db, oracle, true);
  },
};

export const twoWriters: Family = {
  name: "concurrent-writers",
  summary: "two or three writer processes (import / add-update / rm) on one store at once",
  weight: 2,
  async run(context) {
    const { rng } = context;
    const db = join(context.dir, "store.db");
    const oracle = copyTemplate(context.fixtures.small, db);
    const n = rng.int(2, 3);
    // Writers touch disjoint ids: the oracle cannot order two racing writes of one id.
    const slices = splitTemplate(context.fixtures.small, n);
    await Promise.all(slices.map((slice, i) => after(rng.int(0, 800), () => writer(context, oracle, db, slice, i))));
    await context.verify(db, oracle, true);
  },
};

export const readersDuringWrites: Family = {
  name: "readers-during-writes",
  summary: "`export` and `get` processes while an import updates and adds memories",
  weight: 2,
  async run(context) {
    const { rng } = context;
    const db = join(context.dir, "store.db");
    const oracle = copyTemplate(context.fixtures.small, db);
    const file = join(context.dir, "in.jsonl");
    const records = importFile(context, oracle, file, rng.int(20, 120), rng.int(4, 20));
    const importing = context.cli(["import", file, "--db", db, "--json", "--batch", String(rng.int(2, 16))]);
    const readers = Array.from({ length: rng.int(1, 2) }, (_, i) =>
      after(rng.int(0, 2000), async () => {
        if (i === 0 || rng.chance(0.5)) {
          const { result, kind } = await context.cli(["export", "--db", db]);
          if (kind === "ok") checkExport(context, oracle, result.stdout);
        } else {
          const target = rng.pick(context.fixtures.small.records);
          const { result, kind } = await context.cli(["get", target.id, "--db", db]);
          if (kind === "ok" && !oracle.wasWritten(target.id, result.stdout.toString("utf8"))) context.note("wrong", `get ${target.id} during import returned a text never written`);
        }
      }),
    );
    const [imported] = await Promise.all([importing, ...readers]);
    if (imported.kind === "ok" || imported.kind === "failures") ackImport(oracle, records, imported.result.stdout);
    await context.verify(db, oracle, true);
  },
};

const MAINTENANCE: readonly (readonly string[])[] = [
  ["recode"],
  ["recode", "--to", "zstd"],
  ["recode", "--to", "cm"],
  ["recode", "--to", "raw"],
  ["dict", "train"],
  ["model", "train", "--table-bits", "16"],
  ["dict", "prune"],
  ["model", "prune"],
];

export const maintenanceVsWrites: Family = {
  name: "maintenance-vs-writes",
  summary: "recode / dict train / model train / prune beside update (add), rm and import processes",
  weight: 2,
  async run(context) {
    const { rng } = context;
    const template = context.fixtures.trained;
    const db = join(context.dir, "store.db");
    const oracle = copyTemplate(template, db);
    const maintenance = rng.pick(MAINTENANCE);
    const slices = splitTemplate(template, rng.int(1, 2));
    await Promise.all([
      context.cli([...maintenance, "--db", db, "--json"]),
      ...slices.map((slice, i) => after(rng.int(0, 2500), () => writer(context, oracle, db, slice, i))),
    ]);
    await context.verify(db, oracle, true);
  },
};

/** The template's records dealt into `n` disjoint slices (same store, different ids). */
function splitTemplate(template: Template, n: number): Template[] {
  return Array.from({ length: n }, (_, i) => ({ db: template.db, records: template.records.filter((_, j) => j % n === i) }));
}

/** Every exported line's text must be one written under its id. */
export function checkExport(context: CaseContext, oracle: Oracle, stdout: Buffer): void {
  for (const line of stdout.toString("utf8").split("\n")) {
    if (line.trim() === "") continue;
    let record: { id?: unknown; text?: unknown };
    try {
      record = JSON.parse(line) as { id?: unknown; text?: unknown };
    } catch {
      context.note("crash", "export wrote a line that is not JSON");
      continue;
    }
    if (typeof record.id !== "string" || typeof record.text !== "string") context.note("crash", "export line without id/text");
    else if (!oracle.wasWritten(record.id, record.text) && (oracle.has(record.id) || !oracle.knowsText(record.text))) {
      context.note("wrong", `export ${record.id}: a text never written under this id`);
    }
  }
}
