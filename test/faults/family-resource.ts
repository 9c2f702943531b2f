import { chmodSync, mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { CLI } from "../helpers.js";
import { ackImport, importFile } from "./family-kill.js";
import { copyTemplate, edited } from "./fixtures.js";
import type { CaseContext, Family } from "./suite.js";

export const diskFull: Family = {
  name: "disk-full",
  summary: "import / recode --to raw / model train under `ulimit -f` (SIGXFSZ ignored): writes past a random limit fail with EFBIG",
  weight: 4,
  async run(context) {
    const { rng } = context;
    const db = join(context.dir, "store.db");
    const oracle = copyTemplate(context.fixtures.small, db);
    const limit = Math.ceil(statSync(db).size / 1024) + rng.int(0, 192);
    const what = rng.pick(["import", "import", "import", "recode", "train"] as const);
    if (what === "import") {
      const file = join(context.dir, "in.jsonl");
      const records = importFile(context, oracle, file, rng.int(20, 200), rng.int(0, 8));
      const { result, kind } = await context.cli(["import", file, "--db", db, "--json", "--batch", String(rng.int(4, 32))], { fileLimitKiB: limit });
      if (kind === "ok" || kind === "failures") ackImport(oracle, records, result.stdout);
    } else if (what === "recode") await context.cli(["recode", "--to", "raw", "--db", db, "--json"], { fileLimitKiB: limit });
    else await context.cli(["model", "train", "--table-bits", "16", "--db", db, "--json"], { fileLimitKiB: limit });
    await context.verify(db, oracle, true);
  },
};

/** Running as root, permissions do not bind: the command then runs as `nobody`. */
const AS_USER = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

/**
 * `nobody` must be able to load the CLI: every folder above it searchable by others and the file readable.
 * A clone inside a private folder (`mktemp -d` is 0700) fails every case here in a way that looks like a store
 * defect, so say what is wrong instead.
 */
function assertCliReadableByOthers(): void {
  if (!("uid" in AS_USER)) return;
  if ((statSync(CLI).mode & 0o004) === 0) throw new Error(`the read-only family runs the CLI as nobody, who cannot read ${CLI}: make the clone readable by others (chmod -R a+rX)`);
  for (let dir = dirname(CLI); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) throw new Error(`the read-only family runs the CLI as nobody, who cannot enter ${dir}: clone into a folder others can search (chmod o+x ${dir})`);
    if (dirname(dir) === dir) break;
  }
}

export const readOnly: Family = {
  name: "read-only",
  summary: "store file 0444 and/or folder 0555 (as an unprivileged user): reads must work or fail typed, writes fail typed, nothing changes",
  weight: 4,
  async run(context: CaseContext) {
    assertCliReadableByOthers();
    const { rng } = context;
    const folder = join(context.dir, "ro");
    mkdirSync(folder);
    const db = join(folder, "store.db");
    const oracle = copyTemplate(context.fixtures.small, db);
    const mode = rng.pick(["file", "folder", "both"] as const);
    chmodSync(context.dir, 0o755);
    chmodSync(db, mode === "folder" ? 0o644 : 0o444);
    chmodSync(folder, mode === "file" ? 0o777 : 0o555);
    const target = rng.pick(context.fixtures.small.records);
    const command = rng.pick(["get", "export", "ls", "verify", "stats", "add", "rm", "import"] as const);
    try {
      if (command === "get") {
        const { result, kind } = await context.cli(["get", target.id, "--db", db], AS_USER);
        if (kind === "ok" && result.stdout.toString("utf8") !== target.text) context.note("wrong", `get ${target.id} on a read-only store returned another text`);
      } else if (command === "add") {
        const text = edited(target.text, rng);
        oracle.pending(target.id, text);
        const { kind } = await context.cli(["add", "-", "--id", target.id, "--db", db, "--json"], { ...AS_USER, input: text });
        if (kind === "ok") oracle.acked(target.id, text);
      } else if (command === "rm") {
        oracle.pendingDelete(target.id);
        const { kind } = await context.cli(["rm", target.id, "--db", db, "--json"], AS_USER);
        if (kind === "ok") oracle.ackedDelete(target.id);
      } else if (command === "import") {
        const file = join(context.dir, "in.jsonl");
        const records = importFile(context, oracle, file, rng.int(5, 30), rng.int(0, 4));
        chmodSync(file, 0o644);
        const { result, kind } = await context.cli(["import", file, "--db", db, "--json"], AS_USER);
        if (kind === "ok" || kind === "failures") ackImport(oracle, records, result.stdout);
      } else await context.cli([command, "--db", db, "--json"], AS_USER);
    } finally {
      chmodSync(folder, 0o755);
      chmodSync(db, 0o644);
    }
    await context.verify(db, oracle, true);
  },
};
