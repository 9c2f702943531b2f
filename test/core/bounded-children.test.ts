import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { startRedis } from "../services/redis.js";
import { closedWithin, spawnBounded, tempDir } from "../helpers.js";

/** The test helpers never wait for a child process without bound, and never leave one running. */
describe("bounded child processes in tests", () => {
  it("spawnBounded kills a child that never ends and fails with the command's name", () => {
    // The child never exits on its own: only the bound ends it.
    const forever = "setInterval(() => {}, 1000)";
    assert.throws(
      () => spawnBounded(process.execPath, ["-e", forever], { timeout: 500 }),
      (error: Error) => error.message.includes(`${process.execPath} -e ${forever}`) && /ran past 0.5 s and was killed/.test(error.message),
    );
    const done = spawnBounded(process.execPath, ["-e", "process.stdout.write('ok')"], { encoding: "utf8" });
    assert.equal(done.status, 0);
    assert.equal(done.stdout, "ok");
  });

  it("closedWithin kills a spawned child that never ends and fails naming it; a child that ends resolves with its code", async () => {
    const forever = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: ["ignore", "pipe", "pipe"] });
    await assert.rejects(closedWithin(forever, "the endless child", 500), /the endless child ran past 0.5 s and was killed/);
    assert.equal(forever.signalCode, "SIGKILL");
    const quick = spawn(process.execPath, ["-e", "process.exit(3)"], { stdio: ["ignore", "pipe", "pipe"] });
    assert.deepEqual(await closedWithin(quick, "the quick child"), { code: 3, signal: null });
  });

  it("startRedis kills every server that did not get ready, then fails (none is left to keep the process alive)", async () => {
    using dir = tempDir();
    // A stand-in for redis-server that records its pid and never says it is ready.
    const pids = join(dir.path, "pids");
    const fake = join(dir.path, "fake-redis");
    writeFileSync(fake, `#!/bin/sh\necho $$ >> '${pids}'\nexec tail -f /dev/null\n`);
    chmodSync(fake, 0o755);
    await assert.rejects(startRedis({ binary: fake, readyTimeoutMs: 3000 }), /not ready after 3000 ms/);
    const started = readFileSync(pids, "utf8").trim().split("\n").map(Number);
    assert.equal(started.length, 4, "four attempts, each on a newly probed port");
    for (const pid of started) assert.throws(() => process.kill(pid, 0), { code: "ESRCH" }, `the fake server ${pid} was killed`);
  });
});
