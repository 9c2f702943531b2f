import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CLI, closedWithin, spawnBounded, tempDir } from "../helpers.js";
import { redisSkip, startRedis } from "../services/redis.js";

const skip = redisSkip();
const ENV = { ...process.env, MEMZIP_DB: "", MEMZIP_CONFIG: "/nonexistent/memzip-config.json", XDG_DATA_HOME: "" };

/**
 * `import --queue` with no `memzip worker` on the store's queue (none started, or one given the store spelled
 * otherwise: the queue is named after the spelling) waited without a word (trial41: `0% chunks 0/1` for good).
 */
describe("import --queue with no worker on the store's queue", { skip }, () => {
  it("warns once on stderr, naming the queue and what to start, and stops at Ctrl-C with the chunks kept queued", async () => {
    using dir = tempDir();
    await using redis = await startRedis({ evictionPolicy: "noeviction" });
    const file = join(dir.path, "notes.jsonl");
    writeFileSync(file, '{"text":"The backup job moved to 02:00 UTC."}\n{"text":"Rotate the staging keys on Friday."}\n');
    const child = spawn(process.execPath, [CLI, "import", file, "--db", join(dir.path, "store.db"), "--queue", redis.url], { stdio: ["ignore", "ignore", "pipe"], env: ENV });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    const warned = new Promise<void>((resolve) => {
      child.stderr.on("data", (chunk: string) => {
        stderr += chunk;
        if (stderr.includes("fix: start")) resolve();
      });
    });
    const exited = closedWithin(child, "import --queue");
    // Bounded by the child's own bound (closedWithin kills it): no race, the warning comes at the first sweep (5 s).
    await Promise.race([warned, exited]);
    child.kill("SIGINT");
    const { code } = await exited;
    assert.match(stderr, /warning: no worker serves this store's queue \(memzip-import-[0-9a-f]{16}\): the chunks wait in Redis until one does/);
    assert.match(stderr, /fix: start `memzip worker --db DB --queue URL` with the store spelled exactly as this import's --db/);
    assert.equal(stderr.match(/no worker serves/g)?.length, 1, "said once");
    assert.equal(code, 130, stderr);
  });

  it("refuses --codec llm without a model before it enqueues anything, as a local import does (trial: every worker failed every chunk with it)", async () => {
    using dir = tempDir();
    await using redis = await startRedis({ evictionPolicy: "noeviction" });
    const file = join(dir.path, "notes.jsonl");
    writeFileSync(file, '{"text":"The backup job moved to 02:00 UTC."}\n');
    const run = spawnBounded(process.execPath, [CLI, "import", file, "--db", join(dir.path, "store.db"), "--queue", redis.url, "--codec", "llm"], { encoding: "utf8", env: ENV });
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /E_USAGE: the llm codec needs a model/);
    assert.match(run.stderr, /Pass --model NAME\|PATH/);
    assert.doesNotMatch(run.stderr, /no worker serves/, "nothing was queued to wait for a worker");
  });
});
