import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import type { CommandContext } from "../../src/cli/command.js";
import { dbFlag } from "../../src/cli/shared.js";

/** A command's context with these flags (no config file: MEMZIP_CONFIG points nowhere while it is read). */
function contextWith(db: string): CommandContext {
  return { values: { db }, positionals: [], json: false, stdout: process.stdout, stderr: process.stderr };
}

describe("the --db of a command memzip prints to be pasted (resume lines)", () => {
  it("leaves a PostgreSQL password out (trial41: `jobs` and an interrupted import printed it), with a shell comment on where it comes from", () => {
    const saved = process.env.MEMZIP_CONFIG;
    process.env.MEMZIP_CONFIG = "/nonexistent/memzip-config.json";
    try {
      const withPassword = dbFlag(contextWith("postgres://app:S3cretPW@db.example:5432/memzip?sslmode=require"));
      assert.ok(!withPassword.includes("S3cretPW"), withPassword);
      assert.match(withPassword, /^ --db 'postgres:\/\/app@db\.example:5432\/memzip\?sslmode=require' {2}# password left out: set PGPASSWORD/);
      const asParameter = dbFlag(contextWith("postgres://app@db.example/memzip?password=S3cretPW"));
      assert.ok(!asParameter.includes("S3cretPW"), asParameter);
      // Without a secret, and a file: as given.
      assert.equal(dbFlag(contextWith("postgres://app@db.example:5432/memzip")), " --db postgres://app@db.example:5432/memzip");
      assert.equal(dbFlag(contextWith("/tmp/my store.db")), " --db '/tmp/my store.db'");
      // The printed line pastes: bash reads the comment as one.
      const echoed = spawnSync("bash", ["-c", `printf '%s\\n' memzip${withPassword}`], { encoding: "utf8" });
      assert.equal(echoed.stdout, "memzip\n--db\npostgres://app@db.example:5432/memzip?sslmode=require\n");
    } finally {
      if (saved === undefined) delete process.env.MEMZIP_CONFIG;
      else process.env.MEMZIP_CONFIG = saved;
    }
  });
});
