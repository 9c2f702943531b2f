import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CLI, tempDir, spawnBounded } from "../helpers.js";

const ENV = { ...process.env, MEMZIP_DB: "", MEMZIP_CONFIG: "/nonexistent/memzip-config.json" };

/** Arguments given as raw bytes (a Latin-1 terminal): Node decodes them with U+FFFD for what is not UTF-8. */
function memzip(args: (string | Buffer)[]) {
  // Each argument goes through the shell's printf (octal escapes, which every sh takes) so the child's argv holds its bytes.
  const octal = (a: string | Buffer) => [...(typeof a === "string" ? Buffer.from(a, "utf8") : a)].map((b) => `\\${b.toString(8).padStart(3, "0")}`).join("");
  const decode = args.map((a, i) => `a${i}="$(printf '${octal(a)}')"`).join("; ");
  const call = args.map((_, i) => `"$a${i}"`).join(" ");
  const result = spawnBounded("sh", ["-c", `${decode}; exec '${process.execPath}' '${CLI}' ${call}`], { env: ENV });
  return { status: result.status, stdout: result.stdout.toString("utf8"), stderr: result.stderr.toString("utf8") };
}

describe("command-line arguments that are not UTF-8 (hostile trial of stop 63)", () => {
  it("are refused with E_INVALID_INPUT, not stored with U+FFFD in place of their bytes, and two ids of different bytes stay apart", () => {
    using dir = tempDir();
    const db = join(dir.path, "u.db");
    const text = memzip(["add", Buffer.from("caf\xe9 latin-1 bytes", "latin1"), "--id", "t1", "--db", db, "--json"]);
    assert.equal(text.status, 3, text.stderr);
    assert.equal((JSON.parse(text.stdout) as { error: { code: string } }).error.code, "E_INVALID_INPUT");
    assert.match(text.stderr, /the argument "caf\uFFFD latin-1 bytes" is not valid UTF-8/);
    assert.equal(memzip(["add", "one", "--id", Buffer.from("x\xe9", "latin1"), "--db", db]).status, 3);
    assert.equal(memzip(["add", "two", "--id", Buffer.from("x\xe8", "latin1"), "--db", db]).status, 3);
    // Valid UTF-8 goes through, accents and all; nothing of the refused ones was stored.
    assert.equal(memzip(["add", "café", "--id", "x\u00e9", "--db", db]).status, 0);
    const listed = memzip(["ls", "--db", db, "--json"]);
    assert.deepEqual((JSON.parse(listed.stdout) as { memories: { id: string }[] }).memories.map((m) => m.id), ["x\u00e9"]);
  });

  it("takes an argument that holds U+FFFD itself, in valid UTF-8 (an id imported with one is read and removed)", () => {
    using dir = tempDir();
    const db = join(dir.path, "r.db");
    const add = memzip(["add", "a text with \uFFFD in it", "--id", "scan\uFFFD01", "--db", db]);
    assert.equal(add.status, 0, add.stderr);
    assert.equal(memzip(["get", "scan\uFFFD01", "--db", db]).stdout, "a text with \uFFFD in it");
    const found = memzip(["search", "\uFFFD in", "--db", db, "--json"]);
    assert.equal(found.status, 0, found.stderr);
    assert.equal(memzip(["rm", "scan\uFFFD01", "--db", db]).status, 0);
  });
});
