import { strict as assert } from "node:assert";
import { existsSync, lstatSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { Engine } from "../../src/engine.js";
import { openStore } from "../../src/store/open.js";
import { CLI, SAMPLE, tempDir, spawnBounded, unsealFile } from "../helpers.js";

const ENV = { ...process.env, MEMZIP_DB: "", MEMZIP_CONFIG: "/nonexistent/memzip-config.json" };

function memzip(args: string[], input?: string | Buffer) {
  const result = spawnBounded(process.execPath, [CLI, ...args], { input, env: ENV, maxBuffer: 1 << 28 });
  const killed = result.signal ? `\n(memzip was killed by ${result.signal})` : "";
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString("utf8") + killed, json: () => JSON.parse(result.stdout.toString("utf8")) as Record<string, unknown> };
}

/** memzip under a file-size limit, with SIGXFSZ ignored so writes past it fail with EFBIG. */
function memzipLimited(blocks: number, args: string[]) {
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
  const result = spawnBounded("sh", ["-c", `trap "" XFSZ; ulimit -f ${blocks}; exec ${quoted}`], { env: ENV });
  return { status: result.status, signal: result.signal, stdout: result.stdout.toString("utf8"), stderr: result.stderr.toString("utf8") };
}

function sampleStore(dir: string, name = "s.db"): string {
  const db = join(dir, name);
  const imported = memzip(["import", SAMPLE, "--db", db]);
  assert.equal(imported.status, 0, imported.stderr);
  return db;
}

/** Runs a statement on the raw file, its sealed blocks first moved back into `memories` (import seals by default). */
function sql(db: string, statement: string, ...params: unknown[]): void {
  unsealFile(db);
  const handle = new Database(db);
  try {
    handle.prepare(statement).run(...params);
  } finally {
    handle.close();
  }
}

const sampleRecords = () => readFileSync(SAMPLE, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { id: string; text: string });

describe("issue 12: export never destroys or overwrites", () => {
  it("refuses the store, its -wal/-shm/cache files and links to them, and keeps the store intact", async () => {
    await using dir = tempDir();
    const db = sampleStore(dir.path);
    const before = readFileSync(db);
    symlinkSync(db, join(dir.path, "link.db"));
    for (const [format, out] of [["jsonl", db], ["arrow", db], ["jsonl", `${db}-wal`], ["arrow", `${db}-shm`], ["jsonl", `${db}.cache`], ["jsonl", join(dir.path, "link.db")]] as const) {
      const refused = memzip(["export", "--db", db, "--format", format, "--out", out, "--force"]);
      assert.equal(refused.status, 2, `${format} ${out}: ${refused.stderr}`);
      assert.match(refused.stderr, /is the store or one of its files/);
    }
    assert.ok(readFileSync(db).equals(before), "the store file changed");
    assert.equal(memzip(["verify", "--db", db]).status, 0);
  });

  it("never replaces an existing file without --force, and writes through a temporary file", async () => {
    await using dir = tempDir();
    const db = sampleStore(dir.path);
    const out = join(dir.path, "out.jsonl");
    writeFileSync(out, "precious\n");
    const refused = memzip(["export", "--db", db, "--out", out]);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /already exists[\s\S]*--force/);
    assert.equal(readFileSync(out, "utf8"), "precious\n");
    const forced = memzip(["export", "--db", db, "--out", out, "--force", "--json"]);
    assert.equal(forced.status, 0, forced.stderr);
    assert.equal(forced.json().exported, 40);
    assert.equal(readFileSync(out, "utf8").trim().split("\n").length, 40);
    const arrow = join(dir.path, "out.arrow");
    assert.equal(memzip(["export", "--db", db, "--format", "arrow", "--out", arrow]).status, 0);
    assert.equal(memzip(["export", "--db", db, "--format", "arrow", "--out", arrow]).status, 2);
    // No temporary files are left beside the outputs.
    assert.deepEqual(
      readFileSync(join(dir.path, "out.jsonl")).length > 0 && statSync(arrow).size > 0 && spawnBounded("ls", ["-A", dir.path]).stdout.toString().split("\n").filter((f) => f.includes(".tmp")),
      [],
    );
  });

  it("refuses an --out that is not a regular file (a pipe, or a link to one), even with --force: the rename would replace the node", async () => {
    await using dir = tempDir();
    const db = sampleStore(dir.path);
    const fifo = join(dir.path, "pipe");
    assert.equal(spawnBounded("mkfifo", [fifo]).status, 0);
    symlinkSync(fifo, join(dir.path, "to-pipe"));
    for (const out of [fifo, join(dir.path, "to-pipe")]) {
      const refused = memzip(["export", "--db", db, "--out", out, "--force"]);
      assert.equal(refused.status, 2, `${out}: ${refused.stderr}`);
      assert.match(refused.stderr, /is not a regular file[\s\S]*memzip export > /);
    }
    assert.ok(lstatSync(fifo).isFIFO(), "the pipe is still a pipe");
  });

  it("removes the temporary file an export killed with SIGKILL left, and only that", async () => {
    await using dir = tempDir();
    const db = sampleStore(dir.path);
    const out = join(dir.path, "out.jsonl");
    // A killed export's file: `.NAME.memzip-HOST-PID-RANDOM.tmp`, of a process that has exited.
    const dead = spawnBounded(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
    const deadPid = Number(dead.stdout.toString("utf8"));
    assert.throws(() => process.kill(deadPid, 0), /ESRCH/, "the process has exited");
    const host = hostname().replace(/[^A-Za-z0-9.-]/g, "_");
    const leftover = `.out.jsonl.memzip-${host}-${deadPid}-0a0b0c0d.tmp`;
    // Another machine's, and one of a process still running, are not this export's to judge.
    const foreign = ".out.jsonl.memzip-elsewhere-1-0a0b0c0d.tmp";
    const running = `.out.jsonl.memzip-${host}-${process.pid}-0a0b0c0d.tmp`;
    for (const name of [leftover, foreign, running]) writeFileSync(join(dir.path, name), "half an export");
    const again = memzip(["export", "--db", db, "--out", out]);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /removed .*\.out\.jsonl\.memzip-.*, the temporary file of an export that was killed/);
    assert.equal(readFileSync(out, "utf8").trim().split("\n").length, 40);
    assert.deepEqual(readdirSync(dir.path).filter((f) => f.includes(".memzip-")).sort(), [foreign, running].sort());
  });
});

describe("issue 12: reads are bound to their row", () => {
  it("a misdirected envelope is E_CHECKSUM on get, export and verify; --skip-bad exports the rest and lists it", async () => {
    await using dir = tempDir();
    const db = sampleStore(dir.path);
    const [first, second] = sampleRecords() as [{ id: string; text: string }, { id: string; text: string }];
    sql(db, "UPDATE memories SET envelope = (SELECT envelope FROM memories WHERE id = ?) WHERE id = ?", first.id, second.id);

    const got = memzip(["get", second.id, "--db", db, "--json"]);
    assert.equal(got.status, 6, got.stderr);
    assert.equal((got.json().error as { code: string }).code, "E_CHECKSUM");
    assert.match(got.stderr, /fix:/);
    assert.equal(memzip(["get", first.id, "--db", db]).stdout.toString("utf8"), first.text);

    assert.equal(memzip(["export", "--db", db]).status, 6);
    const skipping = memzip(["export", "--db", db, "--skip-bad"]);
    assert.equal(skipping.status, 1);
    const lines = skipping.stdout.toString("utf8").trim().split("\n").map((l) => JSON.parse(l) as { id: string });
    assert.equal(lines.length, 39);
    assert.ok(!lines.some((l) => l.id === second.id));
    assert.match(skipping.stderr, new RegExp(`skipped ${second.id}: E_CHECKSUM`));

    const verify = memzip(["verify", "--db", db, "--json"]);
    assert.equal(verify.status, 1);
    assert.deepEqual((verify.json().failures as { id: string; code: string; repairable?: boolean }[]).map((f) => [f.id, f.code, f.repairable]), [[second.id, "E_CHECKSUM", true]]);
    assert.match(memzip(["verify", "--db", db]).stdout.toString("utf8"), /\n1 of them can be repaired by writing their text again with their ids/);
  });

  it("--skip-bad reports every bad row (a damaged id, a misdirected envelope) in the --json report and keeps every good one", async () => {
    await using dir = tempDir();
    const db = sampleStore(dir.path);
    const records = sampleRecords();
    sql(db, "UPDATE memories SET envelope = (SELECT envelope FROM memories WHERE id = ?) WHERE id = ?", records[5]?.id, records[6]?.id);
    sql(db, "UPDATE memories SET id = CAST(id AS BLOB) WHERE id = ?", records[9]?.id);
    for (const format of ["jsonl", "arrow"]) {
      const out = join(dir.path, `out.${format}`);
      const plain = memzip(["export", "--db", db, "--format", format, "--out", out]);
      assert.notEqual(plain.status, 0);
      assert.ok(!existsSync(out), "a failed export left a file behind");
      const report = memzip(["export", "--db", db, "--format", format, "--out", out, "--skip-bad", "--json"]);
      assert.equal(report.status, 1, report.stderr);
      assert.deepEqual((report.json().skipped as { code: string }[]).map((s) => s.code).sort(), ["E_CHECKSUM", "E_FORMAT"]);
      const copy = join(dir.path, `copy-${format}.db`);
      const imported = memzip(["import", out, "--db", copy, "--json"]);
      assert.equal(imported.json().stored, 38, imported.stderr);
    }
    const exported = readFileSync(join(dir.path, "out.jsonl"), "utf8");
    assert.doesNotMatch(exported, /"type":"Buffer"/);
    // The misdirected envelope is mended by writing its text again; the row whose id is damaged cannot be written by id.
    const verify = memzip(["verify", "--db", db]);
    assert.equal(verify.status, 1);
    assert.match(verify.stdout.toString("utf8"), /checked 40, failed 2[\s\S]*\n1 of them can be repaired by writing their text again/);
  });
});

/** The sample records in a new store, sealed in blocks of 8 (seqs 1..8, ..., 33..40). */
async function sealedSample(db: string, records: readonly { id: string; text: string }[]): Promise<void> {
  const store = openStore(db, { seal: true, blockRows: 8, firstSealRows: 1 });
  const engine = Engine.create({ store, cache: "off", workers: 0 });
  try {
    await engine.rememberMany(records.map((r) => ({ id: r.id, text: r.text })));
    assert.equal(await store.seal?.(), records.length);
  } finally {
    await engine.close();
  }
}

/** Flips one bit in the middle of the sealed block ending at `lastSeq`. */
function flipBlockBit(db: string, lastSeq: number): void {
  const raw = new Database(db);
  try {
    const data = Buffer.from(raw.prepare("SELECT data FROM memory_blocks WHERE last_seq = ?").pluck().get(lastSeq) as Buffer);
    data[data.length >> 1] = (data[data.length >> 1] as number) ^ 0x04;
    assert.equal(raw.prepare("UPDATE memory_blocks SET data = ? WHERE last_seq = ?").run(data, lastSeq).changes, 1);
  } finally {
    raw.close();
  }
}

describe("trial29 defect 5: export --skip-bad gets past a damaged sealed block", () => {
  it("exports every memory outside the block byte-exact, lists the block's seq range once (stderr, --json), exits 1; without --skip-bad E_STORE and no file", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "s.db");
    const records = sampleRecords();
    // The sample in blocks of 8 (seqs 1..8, ..., 33..40), as `memzip compact` leaves a larger store; then one bit flipped in 9..16.
    await sealedSample(db, records);
    flipBlockBit(db, 16);
    const kept = records.filter((_, i) => i < 8 || i >= 16);
    const block = "(8 memories in the sealed block of seqs 9..16)";
    const verify = memzip(["verify", "--db", db, "--json"]);
    assert.deepEqual([verify.status, verify.json().failed], [1, 8], verify.stderr);

    for (const format of ["jsonl", "arrow"]) {
      const out = join(dir.path, `out.${format}`);
      const plain = memzip(["export", "--db", db, "--format", format, "--out", out]);
      assert.equal(plain.status, 8, plain.stderr);
      assert.match(plain.stderr, /E_STORE[\s\S]*sealed block of seqs 9\.\.16/);
      assert.ok(!existsSync(out), "a failed export left a file behind");
      const report = memzip(["export", "--db", db, "--format", format, "--out", out, "--skip-bad", "--json"]);
      assert.equal(report.status, 1, report.stderr);
      const skipped = report.json().skipped as { id: string; code: string; memories?: number }[];
      assert.deepEqual(skipped.map((s) => [s.id, s.code, s.memories]), [[block, "E_STORE", 8]]);
      if (format === "jsonl") assert.equal(report.json().exported, 32);
      assert.match(report.stderr, /skipped \(8 memories in the sealed block of seqs 9\.\.16\): E_STORE/);
      assert.match(report.stderr, /8 memories could not be read back exactly and were not exported/);
      // What was exported imports whole: the 32 texts, exactly.
      const copy = join(dir.path, `copy-${format}.db`);
      const imported = memzip(["import", out, "--db", copy, "--json"]);
      assert.equal(imported.json().stored, 32, imported.stderr);
      for (const r of [kept[0], kept[8], kept[31]] as { id: string; text: string }[]) assert.equal(memzip(["get", r.id, "--db", copy]).stdout.toString("utf8"), r.text);
    }
    const lines = readFileSync(join(dir.path, "out.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { id: string; text: string });
    assert.deepEqual(lines.map((l) => [l.id, l.text]), kept.map((r) => [r.id, r.text]));

    // To stdout: the same 32 lines (past the block, not stopped at it), the block on stderr, exit 1.
    const streamed = memzip(["export", "--db", db, "--skip-bad"]);
    assert.equal(streamed.status, 1, streamed.stderr);
    assert.deepEqual(streamed.stdout.toString("utf8").trim().split("\n").map((l) => (JSON.parse(l) as { id: string }).id), kept.map((r) => r.id));
    assert.match(streamed.stderr, /skipped \(8 memories in the sealed block of seqs 9\.\.16\): E_STORE/);
    const stopped = memzip(["export", "--db", db]);
    assert.equal(stopped.status, 8, stopped.stderr);
    // Without --skip-bad it stops at the block (what came before it, a page at a time, may have been written).
    const before = stopped.stdout.toString("utf8").split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { id: string }).id);
    assert.deepEqual(before, kept.slice(0, before.length).map((r) => r.id));
    assert.ok(before.length <= 8, `${before.length} lines: none past the block`);
  });
});

describe("a damaged sealed block can be set aside (verify --set-aside-damaged)", () => {
  it("verify names the way; setting it aside lets compact run and an import of a backup store its memories again", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "s.db");
    const records = sampleRecords();
    await sealedSample(db, records);
    flipBlockBit(db, 40);
    const backup = join(dir.path, "backup.jsonl");
    writeFileSync(backup, records.map((r) => JSON.stringify({ id: r.id, text: r.text })).join("\n") + "\n");

    // The damaged block ends every import of its ids, and compact (which seals new rows after a short block with it).
    assert.equal(memzip(["add", "a note written after the damage", "--id", "late", "--db", db]).status, 0);
    const stuck = memzip(["import", backup, "--db", db]);
    assert.equal(stuck.status, 8, stuck.stderr);
    assert.match(stuck.stderr, /sealed block of seqs 33\.\.40/);
    assert.equal(memzip(["compact", "--db", db]).status, 8);
    const verify = memzip(["verify", "--db", db]);
    assert.equal(verify.status, 1, verify.stderr);
    assert.match(verify.stdout.toString("utf8"), /memzip verify --set-aside-damaged/);

    const scoped = memzip(["verify", "--set-aside-damaged", "-n", "default", "--db", db]);
    assert.equal(scoped.status, 2, scoped.stderr);
    assert.match(scoped.stderr, /E_USAGE: --set-aside-damaged works on the whole store/);
    const setAside = memzip(["verify", "--set-aside-damaged", "--db", db, "--json"]);
    assert.equal(setAside.status, 0, setAside.stderr);
    const report = setAside.json() as { checked: number; failed: number; setAside: { memories: number; parts: { where: string }[] } };
    assert.deepEqual([report.checked, report.failed, report.setAside.memories, report.setAside.parts.map((p) => p.where)], [33, 0, 8, ["sealed block of seqs 33..40"]]);

    const restored = memzip(["import", backup, "--db", db, "--json"]);
    assert.equal(restored.status, 0, restored.stderr);
    assert.deepEqual([restored.json().stored, restored.json().unchanged], [8, 32]);
    assert.equal(memzip(["compact", "--db", db]).status, 0);
    assert.deepEqual([memzip(["verify", "--db", db, "--json"]).json().checked, memzip(["verify", "--db", db]).status], [41, 0]);
    const last = records[39] as { id: string; text: string };
    assert.equal(memzip(["get", last.id, "--db", db]).stdout.toString("utf8"), last.text);
  });
});

describe("issue 12: verify keeps going", () => {
  it("reports every bad row (damaged meta, damaged tags, a damaged id, a misdirected envelope) without a stack trace", async () => {
    await using dir = tempDir();
    const db = sampleStore(dir.path);
    const ids = sampleRecords().map((r) => r.id);
    // Tags and meta are stored once per value (memory_values): each damaged row gets a damaged value of its own.
    sql(db, "INSERT INTO memory_values (hash, json) VALUES (0, '{not json')");
    sql(db, "UPDATE memories SET meta_ref = (SELECT max(n) FROM memory_values) WHERE id = ?", ids[3]);
    sql(db, "INSERT INTO memory_values (hash, json) VALUES (0, '[1,')");
    sql(db, "UPDATE memories SET tags_ref = (SELECT max(n) FROM memory_values) WHERE id = ?", ids[20]);
    sql(db, "UPDATE memories SET id = CAST(id AS BLOB) WHERE id = ?", ids[30]);
    sql(db, "UPDATE memories SET envelope = (SELECT envelope FROM memories WHERE id = ?) WHERE id = ?", ids[0], ids[39]);
    const verify = memzip(["verify", "--db", db, "--json"]);
    assert.equal(verify.status, 1, verify.stderr);
    assert.doesNotMatch(verify.stderr, /internal error|SyntaxError/);
    assert.equal(verify.json().checked, 40);
    const failures = (verify.json().failures as { id: string; code: string }[]).map((f) => [f.id, f.code]);
    assert.deepEqual(failures, [
      [ids[3], "E_FORMAT"],
      [ids[20], "E_FORMAT"],
      [`blob:${Buffer.from(ids[30] as string).toString("hex")}`, "E_FORMAT"],
      [ids[39], "E_CHECKSUM"],
    ]);
    const exported = memzip(["export", "--db", db, "--skip-bad"]);
    assert.equal(exported.status, 1);
    assert.equal(exported.stdout.toString("utf8").trim().split("\n").length, 36);
    // The text of a row with damaged metadata is intact, and importing it again with its metadata repairs the row.
    assert.equal(memzip(["get", ids[3] as string, "--db", db]).status, 0);
    assert.equal(memzip(["import", SAMPLE, "--db", db]).status, 0);
    const after = (memzip(["verify", "--db", db, "--json"]).json().failures as { id: string }[]).map((f) => f.id);
    assert.ok(!after.includes(ids[3] as string) && !after.includes(ids[20] as string), after.join());
  });
});

describe("damage outside the memories' rows (trial43)", () => {
  it("a damaged asset row and a damaged schema are E_STORE (exit 8) without a stack trace; --skip-bad lists what needs the asset", async () => {
    await using dir = tempDir();
    const db = sampleStore(dir.path);
    // Forced: on the 40 sample notes a dictionary is measured larger than the codecs without one, and not used.
    const trained = memzip(["dict", "train", "--force", "--db", db, "--json"]);
    assert.equal(trained.status, 0, trained.stderr);
    const users = (memzip(["ls", "--db", db, "--json", "--limit", "100"]).json().memories as { id: string; codec: string }[]).filter((m) => m.codec === "zstd-dict");
    assert.ok(users.length > 0, "memories coded with the namespace's dictionary");
    sql(db, "UPDATE assets SET meta = '{not json' WHERE kind = 'zstd-dictionary'");
    // It was "internal error: SyntaxError: … is not valid JSON", exit 70.
    const get = memzip(["get", (users[0] as { id: string }).id, "--db", db]);
    assert.equal(get.status, 8, get.stderr);
    assert.match(get.stderr, /E_STORE: the store file is damaged: asset \S+'s meta is not a JSON object/);
    assert.doesNotMatch(get.stderr, /internal error|SyntaxError/);
    const skipping = memzip(["export", "--db", db, "--skip-bad", "--json", "--out", join(dir.path, "out.jsonl")]);
    assert.equal(skipping.status, 1, skipping.stderr);
    const skipped = (skipping.json().skipped as { id: string; code: string }[]).map((s) => [s.id, s.code]);
    assert.deepEqual(skipped.sort(), users.map((u) => [u.id, "E_STORE"]).sort());
    assert.equal(readFileSync(join(dir.path, "out.jsonl"), "utf8").trim().split("\n").length, 40 - users.length);

    // A flipped bit in a trigger's SQL (new.seq → new.req): every command crashed with "no such column", exit 70.
    const schema = sampleStore(dir.path, "schema.db");
    // In the file's bytes, as the trial's flipped bit did (better-sqlite3's defensive mode keeps sqlite_schema read-only).
    const bytes = readFileSync(schema);
    const at = bytes.indexOf("new.seq");
    assert.ok(at > 0, "a trigger names new.seq");
    bytes[at + 4] = "r".charCodeAt(0);
    writeFileSync(schema, bytes);
    for (const command of [["ls"], ["stats"], ["verify"], ["add", "one more"]]) {
      const out = memzip([...command, "--db", schema]);
      assert.equal(out.status, 8, `${command.join(" ")}: ${out.stderr}`);
      assert.match(out.stderr, /E_STORE: the store file is damaged \(SQLITE_ERROR: no such column: new\.req\)[\s\S]*its schema/);
      assert.doesNotMatch(out.stderr, /internal error|at /);
    }
  });
});

describe("issue 12: exports carry checksums", () => {
  it("a text changed in a JSONL or Arrow export is refused on import; a truncated Arrow file is E_FORMAT", async () => {
    await using dir = tempDir();
    const db = sampleStore(dir.path);
    const [first] = sampleRecords() as [{ id: string; text: string }];
    const jsonl = join(dir.path, "e.jsonl");
    assert.equal(memzip(["export", "--db", db, "--out", jsonl]).status, 0);
    const lines = readFileSync(jsonl, "utf8").trim().split("\n");
    assert.ok(lines.every((l) => typeof (JSON.parse(l) as { checksum: unknown }).checksum === "number"));
    const edited = join(dir.path, "edited.jsonl");
    writeFileSync(edited, readFileSync(jsonl, "utf8").replace(JSON.stringify(first.text), JSON.stringify(`${first.text.slice(0, -1)}!`)));
    const fromJsonl = memzip(["import", edited, "--db", join(dir.path, "j.db"), "--json"]);
    assert.equal(fromJsonl.status, 1);
    assert.equal(fromJsonl.json().stored, 39);
    assert.deepEqual((fromJsonl.json().rejected as { code: string; where: string }[]).map((r) => [r.where, r.code]), [["line 1", "E_CHECKSUM"]]);

    const arrow = join(dir.path, "e.arrow");
    assert.equal(memzip(["export", "--db", db, "--format", "arrow", "--out", arrow]).status, 0);
    const bytes = readFileSync(arrow);
    const at = bytes.indexOf(Buffer.from(first.text.slice(0, 20), "utf8"));
    assert.ok(at > 0);
    const damaged = Buffer.from(bytes);
    damaged[at + 3] = (damaged[at + 3] as number) ^ 0x20;
    writeFileSync(join(dir.path, "damaged.arrow"), damaged);
    const fromArrow = memzip(["import", join(dir.path, "damaged.arrow"), "--db", join(dir.path, "a.db"), "--json"]);
    assert.equal(fromArrow.status, 1);
    assert.equal(fromArrow.json().stored, 39);
    assert.deepEqual((fromArrow.json().rejected as { code: string }[]).map((r) => r.code), ["E_CHECKSUM"]);

    writeFileSync(join(dir.path, "cut.arrow"), bytes.subarray(0, bytes.length >> 1));
    const cut = memzip(["import", join(dir.path, "cut.arrow"), "--db", join(dir.path, "c.db"), "--json"]);
    assert.equal(cut.status, 5, cut.stderr);
    assert.equal((cut.json().error as { code: string }).code, "E_FORMAT");
  });
});

describe("issue 12: limits and resources are typed errors, never stack traces", () => {
  it("a text on --file or stdin is read only up to the text limit: an endless input is E_INVALID_INPUT, not all memory", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "z.db");
    const limited = { ...ENV, MEMZIP_MAX_TEXT_BYTES: "4096" };
    const endless = spawnBounded(process.execPath, [CLI, "add", "--file", "/dev/zero", "--db", db], { env: limited });
    assert.equal(endless.status, 3, endless.stderr.toString("utf8"));
    assert.match(endless.stderr.toString("utf8"), /E_INVALID_INPUT: the text given as \/dev\/zero is over the limit of 4096 bytes/);
    const piped = spawnBounded(process.execPath, [CLI, "add", "-", "--db", db], { env: limited, input: Buffer.alloc(5000, 0x61) });
    assert.equal(piped.status, 3, piped.stderr.toString("utf8"));
    assert.match(piped.stderr.toString("utf8"), /standard input is over the limit of 4096 bytes/);
    const fits = spawnBounded(process.execPath, [CLI, "add", "-", "--id", "fits", "--db", db], { env: limited, input: Buffer.alloc(4096, 0x62) });
    assert.equal(fits.status, 0, fits.stderr.toString("utf8"));
    assert.equal(memzip(["get", "fits", "--db", db]).stdout.toString("utf8"), "b".repeat(4096));
  });

  it("output that cannot be written (a file past the file-size limit) is E_RESOURCE with exit 8, not Node's stack", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "big.db");
    const text = join(dir.path, "big.txt");
    writeFileSync(text, "a long memory, line after line\n".repeat(8000));
    const added = memzip(["add", "--file", text, "--id", "big", "--db", db]);
    assert.equal(added.status, 0, added.stderr);
    const out = join(dir.path, "out.txt");
    // 200 blocks of 512 bytes: room for the store's shared-memory file (32 KiB), not for the 256,000-byte text;
    // SIGXFSZ ignored, so the write past it fails with EFBIG.
    const quoted = [process.execPath, CLI, "get", "big", "--db", db].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
    const result = spawnBounded("sh", ["-c", `trap "" XFSZ; ulimit -f 200; exec ${quoted} > '${out}'`], { env: ENV });
    const stderr = result.stderr.toString("utf8");
    assert.equal(result.status, 8, stderr);
    assert.match(stderr, /E_RESOURCE: cannot write the output: the file-size limit was reached/);
    assert.doesNotMatch(stderr, /internal error|at .*\.js:\d+/);
  });

  it("a tag with a control character is refused; a key's label shows its control characters escaped (hostile trial s59)", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "c.db");
    // A line break and a tab in a tag forged a second row of `memzip ls`; an escape sequence cleared the terminal.
    const forged = memzip(["add", "hello", "--id", "row1", "--tag", "urgent\nrow2\tt\tnote", "--db", db]);
    assert.equal(forged.status, 3, forged.stderr);
    assert.match(forged.stderr, /E_INVALID_INPUT: .*a tag holds a control character/);
    // An export of an earlier build (which stored such tags) re-imports whole; ls shows the characters escaped.
    const old = join(dir.path, "old.jsonl");
    writeFileSync(old, [{ id: "m1", text: "a", tags: ["a\tb\nrow2"] }, { id: "m2", text: "b", tags: [""] }, { id: "m3", text: "c" }].map((r) => JSON.stringify(r)).join("\n") + "\n");
    const imported = memzip(["import", old, "--db", db, "--json"]);
    assert.equal(imported.status, 0, imported.stderr);
    assert.equal(imported.json().stored, 3);
    const rows = memzip(["ls", "--db", db]).stdout.toString("utf8").trim().split("\n");
    assert.equal(rows.length, 4, `a header and three memories: ${rows.join(" | ")}`);
    assert.match(rows.find((row) => row.startsWith("m1\t")) ?? "", /\ta\\u0009b\\u000arow2\t/);
    const created = memzip(["keys", "create", "--namespace", "a", "--role", "read", "--label", "ops\tteam\u001b[2J\nrow", "--db", db]);
    assert.equal(created.status, 0, created.stderr);
    const listed = memzip(["keys", "ls", "--db", db]).stdout.toString("utf8");
    assert.equal(listed.trim().split("\n").length, 2, `a header and one key: ${listed}`);
    assert.match(listed, /\tops\\u0009team\\u001b\[2J\\u000arow$/m);
    assert.doesNotMatch(listed, /\u001b/);
  });

  it("a record with deeply nested meta is E_INVALID_INPUT for that record; its neighbours are stored", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "n.db");
    const file = join(dir.path, "nested.jsonl");
    const deep = `${"[".repeat(200_000)}${"]".repeat(200_000)}`;
    const lines = Array.from({ length: 21 }, (_, i) => (i === 10 ? `{"id":"deep","text":"deep","meta":{"x":${deep}}}` : JSON.stringify({ id: `n${i}`, text: `neighbour ${i}` })));
    writeFileSync(file, `${lines.join("\n")}\n`);
    for (let run = 0; run < 2; run++) {
      const imported = memzip(["import", file, "--db", db, "--json"]);
      assert.equal(imported.status, 1, imported.stderr);
      assert.doesNotMatch(imported.stderr, /internal error|RangeError/);
      assert.equal((imported.json().rejected as { code: string; where: string }[]).map((r) => `${r.where} ${r.code}`).join(), "line 11 E_INVALID_INPUT");
      assert.equal((imported.json().stored as number) + (imported.json().unchanged as number), 20);
    }
  });

  it("a full disk (file-size limit) is E_RESOURCE, exit 8, with a hint; batches committed before it are kept", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "full.db");
    const file = join(dir.path, "big.jsonl");
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const text = (n: number) => Array.from({ length: n }, () => "abcdefghijklmnopqrstuvwxyz ."[Math.floor(random() * 28)]).join("");
    writeFileSync(file, Array.from({ length: 1500 }, (_, i) => JSON.stringify({ id: `b${i}`, text: text(2000) })).join("\n"));
    const limited = memzipLimited(1024, ["import", file, "--db", db, "--codec", "raw", "--batch", "50"]);
    assert.equal(limited.signal, null, "SIGXFSZ killed memzip: the trap did not hold");
    assert.equal(limited.status, 8, limited.stderr);
    assert.match(limited.stderr, /E_RESOURCE/);
    assert.match(limited.stderr, /fix: .*(disk space|file-size limit)/);
    assert.doesNotMatch(limited.stderr, /internal error|    at /);
    const verify = memzip(["verify", "--db", db, "--json"]);
    assert.equal(verify.status, 0, verify.stderr);
    assert.ok((verify.json().checked as number) > 0);

    const out = join(dir.path, "out.jsonl");
    const exported = memzipLimited(64, ["export", "--db", db, "--out", out]);
    assert.equal(exported.status, 8, exported.stderr);
    assert.match(exported.stderr, /E_RESOURCE/);
    assert.ok(!existsSync(out));
  });
});

describe("a meta key named __proto__ is refused at every door", () => {
  it("import rejects the record, update --meta __proto__=… is E_INVALID_INPUT (it said unchanged and dropped the change)", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "p.db");
    const file = join(dir.path, "proto.jsonl");
    writeFileSync(file, ['{"id":"p1","text":"proto meta","meta":{"__proto__":{"polluted":1},"k":1}}', '{"id":"p2","text":"nested","meta":{"a":{"__proto__":{"x":1}}}}', '{"id":"p3","text":"plain","meta":{"k":1}}'].join("\n") + "\n");
    const imported = memzip(["import", file, "--db", db, "--json"]);
    assert.equal(imported.status, 1, imported.stderr);
    const report = imported.json() as { stored: number; rejected: { message: string }[] };
    assert.equal(report.stored, 1);
    assert.equal(report.rejected.length, 2);
    assert.ok(report.rejected.every((r) => /key named __proto__/.test(r.message)), JSON.stringify(report.rejected));
    for (const value of ["", '{"x":2}']) {
      const updated = memzip(["update", "p3", "--meta", `__proto__=${value}`, "--db", db]);
      assert.equal(updated.status, 3, updated.stderr);
      assert.match(updated.stderr, /E_INVALID_INPUT: .*__proto__/);
    }
    assert.deepEqual((memzip(["get", "p3", "--db", db, "--json"]).json() as { meta: unknown }).meta, { k: 1 });
  });
});
