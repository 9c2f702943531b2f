import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CLI, tempDir } from "../helpers.js";

const ENV = { ...process.env, MEMZIP_DB: "", MEMZIP_CONFIG: "/nonexistent/memzip-config.json", XDG_DATA_HOME: "" };

/** Runs the CLI (asynchronously: the test's own TCP server must keep answering), killed after 120 s if it hangs. */
function memzip(args: string[]): Promise<{ code: number | null; stderr: string; killed: boolean }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args], { env: ENV, encoding: "utf8", timeout: 120_000, killSignal: "SIGKILL" }, (error, _stdout, stderr) => {
      resolve({ code: child.exitCode, stderr, killed: error?.killed === true || child.signalCode !== null });
    });
  });
}

/**
 * `memzip worker` and `import --queue` pointed at a Redis that is not there: BullMQ's
 * clients retry forever, and these commands waited without a word, printing raw stack traces (trial38).
 * Two addresses: one where a listener hangs up on every connection (not a Redis), and one with no
 * listener at all (this test's own server, closed).
 */
describe("a queue whose Redis cannot be reached", () => {
  it("worker and import --queue stop with E_BACKEND_UNAVAILABLE naming the address, without its password or a stack trace", async () => {
    using dir = tempDir();
    const file = join(dir.path, "notes.jsonl");
    writeFileSync(file, '{"text":"The backup job moved to 02:00 UTC."}\n');
    const hangUp: Server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => hangUp.listen(0, "127.0.0.1", resolve));
    const closed: Server = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const closedPort = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    try {
      const hangUpPort = (hangUp.address() as { port: number }).port;
      for (const port of [hangUpPort, closedPort]) {
        const queue = `redis://agent:s3cret-pass@127.0.0.1:${port}`;
        const db = join(dir.path, `store-${port}.db`);
        for (const args of [
          ["worker", "--queue", queue, "--db", db],
          ["import", file, "--queue", queue, "--db", db],
        ]) {
          const what = `${args[0] as string} on port ${port}`;
          const run = await memzip(args);
          assert.equal(run.killed, false, `${what} hung: ${run.stderr}`);
          assert.notEqual(run.code, 0, what);
          assert.match(run.stderr, new RegExp(`E_BACKEND_UNAVAILABLE: cannot reach the queue's Redis at redis://127\\.0\\.0\\.1:${port}`), what);
          assert.match(run.stderr, /fix: Start Redis there/, what);
          assert.doesNotMatch(run.stderr, /s3cret-pass|\n\s+at /, `${what}: a password or a stack trace: ${run.stderr}`);
        }
      }
    } finally {
      await new Promise<void>((resolve) => hangUp.close(() => resolve()));
    }
  });
});
