import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadConfig } from "../../src/config/load.js";
import { isMemzipError } from "../../src/errors.js";
import { CLI, tempDir } from "../helpers.js";

describe("configuration", () => {
  it("reads a JSON file, lets MEMZIP_* variables override it, and skips a missing default file", () => {
    using dir = tempDir();
    const file = join(dir.path, "config.json");
    writeFileSync(file, JSON.stringify({ namespace: "from-file", zstdLevel: 5, codecs: ["raw", "zstd"], cache: "off" }));
    assert.deepEqual(loadConfig({ path: file, env: {} }), { namespace: "from-file", zstdLevel: 5, codecs: ["raw", "zstd"], cache: "off" });
    assert.deepEqual(loadConfig({ path: file, env: { MEMZIP_NAMESPACE: "from-env", MEMZIP_CODECS: "raw, cm" } }), {
      namespace: "from-env",
      zstdLevel: 5,
      codecs: ["raw", "cm"],
      cache: "off",
    });
    assert.deepEqual(loadConfig({ env: { MEMZIP_CONFIG: join(dir.path, "missing.json") } }), {});
  });

  it("names the file or variable and the setting when a value is wrong", () => {
    using dir = tempDir();
    const file = join(dir.path, "config.json");
    const cases: [string, RegExp][] = [
      ["{not json", /cannot read config file/],
      ['{"zstdLevel": "high"}', /"zstdLevel" must be an integer/],
      ['{"colour": "blue"}', /unknown setting "colour"/],
      ['["a"]', /must hold a JSON object/],
    ];
    for (const [content, message] of cases) {
      writeFileSync(file, content);
      assert.throws(() => loadConfig({ path: file, env: {} }), (e) => isMemzipError(e, "E_USAGE") && message.test(e.message) && e.message.includes(file));
    }
    assert.throws(() => loadConfig({ path: join(dir.path, "absent.json"), env: {} }), (e) => isMemzipError(e, "E_USAGE"));
    assert.throws(() => loadConfig({ env: { MEMZIP_BATCH_SIZE: "many" } }), (e) => isMemzipError(e, "E_USAGE") && e.message.includes("MEMZIP_BATCH_SIZE"));
  });

  it("the CLI takes flags over MEMZIP_* variables over the file", () => {
    using dir = tempDir();
    const file = join(dir.path, "config.json");
    writeFileSync(file, JSON.stringify({ namespace: "from-file", db: join(dir.path, "a.db") }));
    const add = (env: Record<string, string>, ...flags: string[]) => {
      const result = spawnSync(process.execPath, [CLI, "add", "hello there", "--json", ...flags], { env: { ...process.env, MEMZIP_DB: "", MEMZIP_CONFIG: file, ...env } });
      assert.equal(result.status, 0, result.stderr.toString());
      return (JSON.parse(result.stdout.toString()) as { namespace: string }).namespace;
    };
    assert.equal(add({}), "from-file");
    assert.equal(add({ MEMZIP_NAMESPACE: "from-env" }), "from-env");
    assert.equal(add({ MEMZIP_NAMESPACE: "from-env" }, "-n", "from-flag"), "from-flag");
  });
});
