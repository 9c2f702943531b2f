import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { Engine } from "../../src/engine.js";
import { CLI, DEV_CORPUS, devCorpus, tempDir, storeOf } from "../helpers.js";

function rowCount(db: string): number {
  if (!existsSync(db)) return 0;
  try {
    const conn = new Database(db, { readonly: true, fileMustExist: true });
    try {
      return (conn.prepare("SELECT count(*) AS n FROM memories").get() as { n: number }).n;
    } finally {
      conn.close();
    }
  } catch {
    return 0;
  }
}

describe("kill -9 during import", () => {
  it("leaves whole records only; a rerun completes with exactly 2000 and verify passes", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "crash.db");
    const child = spawn(process.execPath, [CLI, "import", DEV_CORPUS, "--db", db, "--batch", "37", "--json"], { stdio: "ignore", env: { ...process.env, MEMZIP_CONFIG: "/nonexistent/memzip-config.json" } });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    const target = 200 + Math.floor(Math.random() * 1200);
    while (rowCount(db) < target && child.exitCode === null) await sleep(5);
    child.kill("SIGKILL");
    await exited;
    const survived = rowCount(db);
    assert.ok(survived > 0 && survived < 2000, `killed with ${survived} rows stored`);

    {
      await using engine = Engine.open({ db });
      assert.deepEqual(await engine.verify(), { checked: survived, failed: 0, failures: [] });
      const [job] = (await engine.jobs());
      assert.ok(job && (job.status === "running" || job.status === "stale") && job.line <= survived, "the job saved progress up to a committed batch (stale: a slow verify can pass its heartbeat bound)");
      // Killed: its row still says "running" until the heartbeat bound passes (a live one is refused, E_BUSY): aged here.
      const conn = new Database(db);
      try {
        conn.prepare("UPDATE jobs SET updated_at = updated_at - 3600000").run();
      } finally {
        conn.close();
      }
      const report = await engine.importJsonl(DEV_CORPUS, { resume: job.id });
      assert.ok(report.unchanged <= 37, `resumed at the last checkpoint, rechecked ${report.unchanged}`);
      assert.equal(report.stored, 2000 - survived);
      assert.equal((await engine.jobs())[0]?.status, "done");
    }
    await using engine = Engine.open({ db });
    assert.equal((await storeOf(engine).memories.count()), 2000);
    assert.equal((await engine.verify()).failed, 0);
    const texts = new Map(devCorpus().map((r) => [r.id, r.text]));
    for await (const memory of engine.exportMemories()) assert.equal(memory.text, texts.get(memory.id));
  });
});
