import { strict as assert } from "node:assert";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CLI, tempDir, spawnBounded } from "../helpers.js";

const ENV = { ...process.env, MEMZIP_DB: "", MEMZIP_CONFIG: "/nonexistent/memzip-config.json" };

/** `memzip ARGS | head -c 10`: memzip's exit status and its stderr (the pipe's reader stops long before memzip has written all). */
function intoHead(args: string[]): { status: number; stderr: string } {
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
  const result = spawnBounded("bash", ["-c", `${quoted} 2>"$ERR" | head -c 10 >/dev/null; echo "\${PIPESTATUS[0]}"; cat "$ERR"`], { env: { ...ENV, ERR: `${args[args.length - 1]}.stderr` } });
  const [status, ...stderr] = result.stdout.toString("utf8").split("\n");
  return { status: Number(status), stderr: stderr.join("\n") };
}

describe("a reader that stops early", () => {
  it("ends get, get --json and history quietly (exit 0, no stack trace) when the pipe closes (trial29)", () => {
    using dir = tempDir();
    const db = join(dir.path, "s.db");
    const file = join(dir.path, "long.txt");
    // 256 KiB: far more than a pipe holds, so memzip is still writing when head exits.
    writeFileSync(file, "A long memory that fills the pipe. ".repeat(7_500));
    const added = spawnBounded(process.execPath, [CLI, "add", "--file", file, "--id", "long", "--db", db], { env: ENV });
    assert.equal(added.status, 0, added.stderr.toString());
    for (const args of [["get", "long"], ["get", "long", "--json"], ["history", "long"]]) {
      const { status, stderr } = intoHead([...args, "--db", db]);
      assert.equal(status, 0, `memzip ${args.join(" ")}: ${stderr}`);
      assert.doesNotMatch(stderr, /EPIPE|internal error|at /, `memzip ${args.join(" ")}`);
    }
  });
});
