/**
 * A connection string PostgreSQL's client cannot read is refused at open, typed and without its password (trial of
 * stop 62: "…:notaport/…" was an untyped TypeError at the first query, exit 70, with `serve` already listening). No
 * server is needed: nothing connects.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ErrorCode, isMemzipError } from "../../src/errors.js";
import { openStore } from "../../src/store/open.js";
import { ROOT } from "../helpers.js";

const MALFORMED = "postgres://memzip:SecretXYZ@127.0.0.1:notaport/memzip";

describe("a malformed PostgreSQL connection string", () => {
  it("is E_USAGE at open, naming the fix and not the password", () => {
    assert.throws(
      () => openStore(MALFORMED),
      (error: unknown) => isMemzipError(error, ErrorCode.USAGE) && /cannot be read/.test(error.message) && !/SecretXYZ/.test(`${error.message} ${error.hint ?? ""}`) && /MEMZIP_DB/.test(error.hint ?? ""),
    );
  });

  it("is exit 2 for a command and for serve, before anything listens", () => {
    for (const args of [["get", "x"], ["serve", "--port", "0"]]) {
      const run = spawnSync(process.execPath, [join(ROOT, "dist", "src", "cli", "main.js"), ...args, "--db", MALFORMED], { encoding: "utf8", timeout: 60_000 });
      assert.equal(run.status, 2, `${args[0]}: ${run.stderr}`);
      assert.match(run.stderr, /E_USAGE: the PostgreSQL connection string .* cannot be read/);
      assert.doesNotMatch(run.stderr + run.stdout, /SecretXYZ|internal error|listening/i);
    }
  });
});
