import { strict as assert } from "node:assert";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { Engine } from "../../src/engine.js";
import { JOB_STALE_AFTER_MS } from "../../src/engine/io.js";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { CLI, ROOT, closedWithin, spawnBounded, storeOf, tempDir } from "../helpers.js";

const ENV = { ...process.env, MEMZIP_CONFIG: "/nonexistent/memzip-config.json" };

/** Imports `file` into `db` in a child process that kills itself (SIGKILL: no finally, no status written) right after its first committed batch. */
function importKilledAfterFirstBatch(db: string, file: string): void {
  const engineUrl = pathToFileURL(join(ROOT, "dist", "src", "engine.js")).href;
  const script = `const { Engine } = await import(${JSON.stringify(engineUrl)});
    const engine = Engine.open({ db: ${JSON.stringify(db)}, workers: 0, cache: "off" });
    await engine.importJsonl(${JSON.stringify(file)}, { batchSize: 5, onProgress: () => process.kill(process.pid, "SIGKILL") });`;
  const child = spawnBounded(process.execPath, ["--input-type=module", "-e", script], { env: ENV, encoding: "utf8" });
  assert.equal(child.signal, "SIGKILL", child.stderr);
}

describe("an import whose process was killed", () => {
  it("is reported stale once its heartbeat is older than the bound where its process cannot be checked (engine and `memzip jobs`), and --resume finishes it", async () => {
    using dir = tempDir();
    const db = join(dir.path, "jobs.db");
    const file = join(dir.path, "records.jsonl");
    writeFileSync(file, Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: `r${i}`, text: `record ${i}: the ledger export of day ${i} balanced.` })).join("\n") + "\n");

    // The producer kills itself right after its first committed batch. Its row then names no process, as a job of an
    // earlier build's (or one whose process cannot be checked from here): only the heartbeat tells.
    importKilledAfterFirstBatch(db, file);
    const unowned = new Database(db);
    try {
      assert.equal(unowned.prepare("UPDATE jobs SET owner = NULL WHERE owner LIKE 'linux:%'").run().changes, 1);
    } finally {
      unowned.close();
    }

    const clock = { now: 0 };
    const engine = Engine.open({ db, workers: 0, cache: "off", clock: () => clock.now });
    try {
      const [row] = await storeOf(engine).jobs.list();
      assert.ok(row && row.status === "running" && row.line > 0 && row.line < 40, JSON.stringify(row));
      clock.now = row.updatedAt + JOB_STALE_AFTER_MS;
      assert.equal((await engine.jobs())[0]?.status, "running", "within the bound: still running");
      clock.now = row.updatedAt + JOB_STALE_AFTER_MS + 1;
      assert.equal((await engine.jobs())[0]?.status, "stale");

      // `memzip jobs` (the real clock) on a row last touched an hour ago.
      const conn = new Database(db);
      try {
        conn.prepare("UPDATE jobs SET updated_at = updated_at - 3600000").run();
      } finally {
        conn.close();
      }
      const listed = spawnBounded(process.execPath, [CLI, "jobs", "--db", db], { env: ENV, encoding: "utf8" });
      assert.equal(listed.status, 0, listed.stderr);
      assert.match(listed.stdout, new RegExp(`${row.id}\\tstale\\t`));
      assert.ok(listed.stdout.includes(`--resume ${row.id}`), listed.stdout);
      const json = spawnBounded(process.execPath, [CLI, "jobs", "--db", db, "--json"], { env: ENV, encoding: "utf8" });
      assert.equal((JSON.parse(json.stdout) as { jobs: { status: string }[] }).jobs[0]?.status, "stale");
      // Where the store is the default one (here MEMZIP_DB), the line names no --db.
      const byDefault = spawnBounded(process.execPath, [CLI, "jobs"], { env: { ...ENV, MEMZIP_DB: db }, encoding: "utf8" });
      assert.ok(byDefault.stdout.includes(`continue with: memzip import ${file} --resume ${row.id}\n`), byDefault.stdout);

      // The printed line, pasted into a shell with no MEMZIP_DB, finishes the job (finding 4: it names --db).
      const pasted = /continue with: memzip (.*)/.exec(listed.stdout)?.[1];
      assert.ok(pasted?.endsWith(` --db ${db}`), listed.stdout);
      const resumed = spawnBounded("sh", ["-c", `exec "$0" "$1" ${pasted}`, process.execPath, CLI], { env: { ...ENV, MEMZIP_DB: "" }, encoding: "utf8" });
      assert.equal(resumed.status, 0, resumed.stderr);
      assert.match(resumed.stdout, new RegExp(`^resumed after line ${row.line} \\(stored before\\): read ${40 - row.line} more: `), "resumed at the saved line");
      assert.equal(await storeOf(engine).memories.count(), 40);
      assert.equal((await engine.jobs())[0]?.status, "done");
    } finally {
      await engine.close();
    }
  });

  it("is resumed by one of two resumes started together (the other is refused with E_BUSY), ending with every record once", async () => {
    using dir = tempDir();
    const db = join(dir.path, "race.db");
    const file = join(dir.path, "records.jsonl");
    writeFileSync(file, Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: `r${i}`, text: `record ${i}: the relay station ${i} reported in.` })).join("\n") + "\n");
    importKilledAfterFirstBatch(db, file);
    const first = Engine.open({ db, workers: 0, cache: "off" });
    const second = Engine.open({ db, workers: 0, cache: "off" });
    try {
      const [job] = await first.jobs();
      assert.equal(job?.status, "stale", "its process was killed");
      // Both read the row before either takes it (each resume's first steps run before the other's claim).
      const outcomes = await Promise.allSettled([first.importJsonl(file, { resume: job.id }), second.importJsonl(file, { resume: job.id })]);
      const ran = outcomes.filter((o) => o.status === "fulfilled");
      const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
      assert.equal(ran.length, 1, JSON.stringify(outcomes.map((o) => o.status)));
      assert.equal((refused[0]?.reason as { code?: string }).code, "E_BUSY");
      assert.equal(await storeOf(first).memories.count(), 40);
      assert.equal((await first.jobs())[0]?.status, "done");
    } finally {
      await second.close();
      await first.close();
    }
  });

  it("is reported superseded, not stale, once a plain rerun of the same file into the same namespace finished (and not by one into another namespace)", async () => {
    using dir = tempDir();
    const db = join(dir.path, "rerun.db");
    const file = join(dir.path, "records.jsonl");
    writeFileSync(file, Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: `r${i}`, text: `record ${i}: the harbour crane ${i} was serviced.` })).join("\n") + "\n");
    importKilledAfterFirstBatch(db, file);
    const conn = new Database(db);
    try {
      conn.prepare("UPDATE jobs SET updated_at = updated_at - 3600000").run();
    } finally {
      conn.close();
    }
    const list = () => JSON.parse(spawnBounded(process.execPath, [CLI, "jobs", "--db", db, "--json"], { env: ENV, encoding: "utf8" }).stdout) as { jobs: { id: string; status: string; supersededBy?: string }[] };
    const killed = list().jobs[0];
    assert.equal(killed?.status, "stale");

    // A rerun into another namespace imports the same file, but not the killed job's memories: still stale.
    const elsewhere = spawnBounded(process.execPath, [CLI, "import", file, "--db", db, "-n", "other"], { env: ENV, encoding: "utf8" });
    assert.equal(elsewhere.status, 0, elsewhere.stderr);
    assert.equal(list().jobs.find((j) => j.id === killed.id)?.status, "stale");

    const rerun = spawnBounded(process.execPath, [CLI, "import", file, "--db", db, "--json"], { env: ENV, encoding: "utf8" });
    assert.equal(rerun.status, 0, rerun.stderr);
    const rerunJob = (JSON.parse(rerun.stdout) as { jobId: string }).jobId;
    const after = list().jobs;
    assert.deepEqual(
      after.find((j) => j.id === killed.id),
      { ...after.find((j) => j.id === killed.id), status: "superseded", supersededBy: rerunJob },
    );
    assert.equal(after.find((j) => j.id === rerunJob)?.status, "done");
    const text = spawnBounded(process.execPath, [CLI, "jobs", "--db", db], { env: ENV, encoding: "utf8" });
    assert.ok(text.stdout.includes(`superseded: ${rerunJob} imported the same file into default since`), text.stdout);
    assert.ok(!text.stdout.includes(`--resume ${killed.id}`), text.stdout);
  });

  it("is refused to a second process while its own process still runs it (E_BUSY, exit 13); once that process is killed it is stale at once and resumes (finding 3)", async () => {
    using dir = tempDir();
    const db = join(dir.path, "busy.db");
    const file = join(dir.path, "records.jsonl");
    writeFileSync(file, Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: `r${i}`, text: `record ${i}: the night shift closed ticket ${i}.` })).join("\n") + "\n");
    // The holder commits its first batch, says so, and then waits (its job "running", just saved) until the test kills it.
    const engineUrl = pathToFileURL(join(ROOT, "dist", "src", "engine.js")).href;
    const script = `const { readFileSync } = await import("node:fs");
      const { Engine } = await import(${JSON.stringify(engineUrl)});
      const engine = Engine.open({ db: ${JSON.stringify(db)}, workers: 0, cache: "off" });
      let held = false;
      await engine.importJsonl(${JSON.stringify(file)}, { batchSize: 5, onProgress: () => { if (held) return; held = true; process.stdout.write("held\\n"); readFileSync(0); } });`;
    const holder = spawn(process.execPath, ["--input-type=module", "-e", script], { env: ENV, stdio: ["pipe", "pipe", "inherit"] });
    const closed = closedWithin(holder, "the process holding the job");
    try {
      const [first] = (await once(holder.stdout, "data")) as [Buffer];
      assert.equal(first.toString(), "held\n");
      const jobs = spawnBounded(process.execPath, [CLI, "jobs", "--db", db, "--json"], { env: ENV, encoding: "utf8" });
      const job = (JSON.parse(jobs.stdout) as { jobs: { id: string; status: string }[] }).jobs[0];
      assert.equal(job?.status, "running", jobs.stdout);

      const refused = spawnBounded(process.execPath, [CLI, "import", file, "--resume", job.id, "--db", db], { env: ENV, encoding: "utf8" });
      assert.equal(refused.status, 13, refused.stderr);
      assert.match(refused.stderr, new RegExp(`E_BUSY: job ${job.id} is running in another process`));
      assert.match(refused.stderr, /fix: .*stale/);
    } finally {
      holder.kill("SIGKILL");
      await closed;
    }
    // Killed (and reaped): the row still says "running" with a heartbeat seconds old, but it names a process of this
    // machine that no longer runs, so the job is stale now (no wait for the heartbeat's bound) and resumes.
    const listed = JSON.parse(spawnBounded(process.execPath, [CLI, "jobs", "--db", db, "--json"], { env: ENV, encoding: "utf8" }).stdout) as { jobs: { id: string; status: string; updatedAt: number }[] };
    const [{ id, status, updatedAt }] = listed.jobs as [{ id: string; status: string; updatedAt: number }];
    assert.equal(status, "stale", JSON.stringify(listed));
    assert.ok(Date.now() - updatedAt < JOB_STALE_AFTER_MS, "the heartbeat is still within its bound");
    assert.equal("owner" in (listed.jobs[0] as object), false, "the process token is not shown");
    const resumed = spawnBounded(process.execPath, [CLI, "import", file, "--resume", id, "--db", db, "--json"], { env: ENV, encoding: "utf8" });
    assert.equal(resumed.status, 0, resumed.stderr);
    const engine = Engine.open({ db, readOnly: true });
    try {
      assert.equal(await storeOf(engine).memories.count(), 40);
      assert.equal((await engine.jobs())[0]?.status, "done");
    } finally {
      await engine.close();
    }
  });
});
