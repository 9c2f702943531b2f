import { existsSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkExport } from "./family-concurrent.js";
import { ackImport, importFile } from "./family-kill.js";
import { copyTemplate, templateOracle } from "./fixtures.js";
import type { Oracle } from "./oracle.js";
import type { Rng } from "./rng.js";
import { envelopeRows, moveEnvelope } from "./sql.js";
import type { CaseContext, Family } from "./suite.js";

/** Flips one random bit in each of `count` bytes of `bytes`, inside [from, to) when given. */
function flip(bytes: Buffer, rng: Rng, count: number, from = 0, to = bytes.length): void {
  if (to <= from) return;
  for (let i = 0; i < count; i++) {
    const at = rng.int(from, to - 1);
    bytes[at] = (bytes[at] as number) ^ (1 << rng.int(0, 7));
  }
}

/** Share of damaged-store cases that also read through a CLI process (the rest read with the library only). */
const CLI_READ_SHARE = 0.6;

/** One CLI reader over a damaged store: `export`, `get` of a random memory, or `verify`; what it returns is checked. */
async function cliRead(context: CaseContext, oracle: Oracle, db: string): Promise<void> {
  const { rng } = context;
  const which = rng.pick(["export", "get", "verify"] as const);
  if (which === "export") {
    const { result, kind } = await context.cli(["export", "--db", db]);
    if (kind === "ok") checkExport(context, oracle, result.stdout);
  } else if (which === "get") {
    const id = rng.pick(oracle.settledIds());
    const { result, kind } = await context.cli(["get", id, "--db", db]);
    if (kind === "ok" && !oracle.wasWritten(id, result.stdout.toString("utf8"))) context.note("wrong", `get ${id} returned a text never written under this id`);
  } else {
    await context.cli(["verify", "--db", db, "--json"]);
  }
}

export const dbFlips: Family = {
  name: "db-byte-flips",
  summary: "1–8 random bit flips in the .db file (60 % aimed inside a memory's envelope), then a CLI reader and a library read-back",
  weight: 10,
  async run(context) {
    const { rng } = context;
    const db = join(context.dir, "store.db");
    const oracle = copyTemplate(context.fixtures.small, db);
    const bytes = readFileSync(db);
    const count = rng.int(1, 8);
    if (rng.chance(0.6)) {
      const rows = envelopeRows(db);
      for (let i = 0; i < count; i++) {
        const row = rng.pick(rows);
        const at = bytes.indexOf(row.envelope);
        if (at >= 0) flip(bytes, rng, 1, at, at + row.envelope.length);
      }
    } else flip(bytes, rng, count);
    writeFileSync(db, bytes);
    if (rng.chance(CLI_READ_SHARE)) await cliRead(context, oracle, db);
    await context.verify(db, oracle, false);
  },
};

export const dbTruncate: Family = {
  name: "db-truncate",
  summary: "the .db file cut at a random length (page-aligned or not), then a CLI reader and a library read-back",
  weight: 4,
  async run(context) {
    const { rng } = context;
    const db = join(context.dir, "store.db");
    const oracle = copyTemplate(context.fixtures.small, db);
    const size = statSync(db).size;
    const cut = rng.int(0, size - 1);
    truncateSync(db, rng.chance(0.5) ? cut - (cut % 4096) : cut);
    if (rng.chance(CLI_READ_SHARE)) await cliRead(context, oracle, db);
    await context.verify(db, oracle, false);
  },
};

export const walFaults: Family = {
  name: "wal-faults",
  summary: "kill -9 during an import, then the -wal file deleted (WAL loss), bit-flipped or truncated; CLI reader and library read-back",
  weight: 4,
  async run(context) {
    const { rng } = context;
    const db = join(context.dir, "store.db");
    const oracle = copyTemplate(context.fixtures.small, db);
    const file = join(context.dir, "in.jsonl");
    const records = importFile(context, oracle, file, rng.int(20, 200), rng.int(0, 10));
    const { result, kind } = await context.cli(["import", file, "--db", db, "--json", "--batch", String(rng.int(4, 32))], { killAfterMs: rng.int(900, 4000) });
    if (kind === "ok" || kind === "failures") ackImport(oracle, records, result.stdout);
    const wal = `${db}-wal`;
    const fault = rng.pick(["loss", "flip", "truncate"] as const);
    if (existsSync(wal)) {
      if (fault === "loss") {
        rmSync(wal);
        if (rng.chance(0.5)) rmSync(`${db}-shm`, { force: true });
      } else if (fault === "flip") {
        const bytes = readFileSync(wal);
        flip(bytes, rng, rng.int(1, 8));
        writeFileSync(wal, bytes);
      } else truncateSync(wal, rng.int(0, Math.max(0, statSync(wal).size - 1)));
    }
    if (rng.chance(CLI_READ_SHARE)) await cliRead(context, oracle, db);
    await context.verify(db, oracle, false);
  },
};

export const envelopeSwap: Family = {
  name: "envelope-swap",
  summary: "one memory's envelope written into another row (swapped or copied) by direct SQL; `get` of that row and a read-back",
  weight: 5,
  async run(context) {
    const { rng } = context;
    const db = join(context.dir, "store.db");
    const oracle = copyTemplate(context.fixtures.small, db);
    const rows = envelopeRows(db).filter((r) => oracle.current(r.id) !== undefined);
    const [from, to] = rng.sample(rows, 2);
    if (!from || !to || oracle.current(from.id) === oracle.current(to.id)) return;
    moveEnvelope(db, from, to, rng.chance(0.5));
    const { result, kind } = await context.cli(["get", to.id, "--db", db]);
    if (kind === "ok" && result.stdout.toString("utf8") !== oracle.current(to.id)) context.note("wrong", `get ${to.id} returned ${from.id}'s text`);
    await context.verify(db, oracle, false);
  },
};

export const arrowCorrupt: Family = {
  name: "arrow-corrupt",
  summary: "an Arrow export with 1–8 bit flips or cut short, imported into a fresh store; read-back against the exported texts",
  weight: 6,
  async run(context) {
    const { rng, fixtures } = context;
    const bytes = Buffer.from(fixtures.arrow);
    const file = join(context.dir, "in.arrow");
    if (rng.chance(0.75)) {
      // Half the flips land in the second half, where the text and id buffers sit.
      flip(bytes, rng, rng.int(1, 8), rng.chance(0.5) ? Math.floor(bytes.length / 2) : 0);
      writeFileSync(file, bytes);
    } else writeFileSync(file, bytes.subarray(0, rng.int(0, bytes.length - 1)));
    const db = join(context.dir, "fresh.db");
    await context.cli(["import", file, "--db", db, "--json"]);
    if (existsSync(db)) await context.verify(db, templateOracle(fixtures.small), false);
  },
};
