import { strict as assert } from "node:assert";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { loadConfig, resolveConfig } from "../../src/config/load.js";
import { ENGINE_DEFAULTS } from "../../src/engine-options.js";
import { isMemzipError } from "../../src/errors.js";
import { FIRST_SEAL_ROWS } from "../../src/store/sqlite/sealed.js";
import { CLI, DEV_CORPUS, tempDir, spawnBounded } from "../helpers.js";

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
    const absent = join(dir.path, "absent.json");
    assert.throws(() => loadConfig({ path: absent, env: {} }), (e) => isMemzipError(e, "E_NOT_FOUND") && e.message === `no such config file: ${absent}`);
    assert.throws(() => loadConfig({ env: { MEMZIP_BATCH_SIZE: "many" } }), (e) => isMemzipError(e, "E_USAGE") && e.message.includes("MEMZIP_BATCH_SIZE"));
    // The value as typed, not the NaN it reads as (newcomer9: "got null").
    assert.throws(() => loadConfig({ env: { MEMZIP_ZSTD_LEVEL: "abc" } }), (e) => isMemzipError(e, "E_USAGE") && e.message === 'MEMZIP_ZSTD_LEVEL must be an integer, got "abc"');
  });

  it("cmBase (cm with the shipped base model, default on) is a config key and MEMZIP_CM_BASE; false turns it off", () => {
    using dir = tempDir();
    const file = join(dir.path, "config.json");
    assert.equal(ENGINE_DEFAULTS.cmBase, true);
    writeFileSync(file, JSON.stringify({ cmBase: false }));
    assert.deepEqual(loadConfig({ path: file, env: {} }), { cmBase: false });
    assert.deepEqual(loadConfig({ path: file, env: { MEMZIP_CM_BASE: "true" } }), { cmBase: true });
    writeFileSync(file, JSON.stringify({}));
    assert.deepEqual(loadConfig({ path: file, env: { MEMZIP_CM_BASE: "false" } }), { cmBase: false });
    assert.throws(() => loadConfig({ env: { MEMZIP_CONFIG: join(dir.path, "none.json"), MEMZIP_CM_BASE: "maybe" } }), (e) => isMemzipError(e, "E_USAGE") && /MEMZIP_CM_BASE must be true or false/.test(e.message));
  });

  it("seal (sealed blocks, default on) is a config key and MEMZIP_SEAL; the CLI's import keeps the row layout with false", () => {
    using dir = tempDir();
    const file = join(dir.path, "config.json");
    writeFileSync(file, JSON.stringify({ seal: false }));
    assert.deepEqual(loadConfig({ path: file, env: {} }), { seal: false });
    assert.deepEqual(loadConfig({ path: file, env: { MEMZIP_SEAL: "true" } }), { seal: true });
    assert.deepEqual(loadConfig({ env: { MEMZIP_CONFIG: join(dir.path, "none.json"), MEMZIP_SEAL: "0" } }), { seal: false });
    assert.throws(() => loadConfig({ env: { MEMZIP_CONFIG: join(dir.path, "none.json"), MEMZIP_SEAL: "maybe" } }), (e) => isMemzipError(e, "E_USAGE") && /MEMZIP_SEAL must be true or false/.test(e.message));
    writeFileSync(file, JSON.stringify({ seal: "no" }));
    assert.throws(() => loadConfig({ path: file, env: {} }), (e) => isMemzipError(e, "E_USAGE") && /"seal" must be true or false/.test(e.message));
    // More memories than a store's first seal waits for (FIRST_SEAL_ROWS): below it a young store keeps its rows.
    const records = join(dir.path, "records.jsonl");
    writeFileSync(records, readFileSync(DEV_CORPUS, "utf8").split("\n").slice(0, FIRST_SEAL_ROWS + 32).join("\n"));
    const hotRows = (seal: string) => {
      const db = join(dir.path, `seal-${seal}.db`);
      const result = spawnBounded(process.execPath, [CLI, "import", records, "--db", db], { env: { ...process.env, MEMZIP_CONFIG: join(dir.path, "none.json"), MEMZIP_SEAL: seal } });
      assert.equal(result.status, 0, result.stderr.toString());
      const raw = new Database(db, { readonly: true });
      try {
        return raw.prepare("SELECT count(*) FROM memories").pluck().get() as number;
      } finally {
        raw.close();
      }
    };
    assert.ok(hotRows("false") > 0, "MEMZIP_SEAL=false: the rows stay in the row layout");
    assert.equal(hotRows("true"), 0, "sealed");
  });

  it("the CLI takes flags over MEMZIP_* variables over the file", () => {
    using dir = tempDir();
    const file = join(dir.path, "config.json");
    writeFileSync(file, JSON.stringify({ namespace: "from-file", db: join(dir.path, "a.db") }));
    const add = (env: Record<string, string>, ...flags: string[]) => {
      const result = spawnBounded(process.execPath, [CLI, "add", "hello there", "--json", ...flags], { env: { ...process.env, MEMZIP_DB: "", MEMZIP_CONFIG: file, ...env } });
      assert.equal(result.status, 0, result.stderr.toString());
      return (JSON.parse(result.stdout.toString()) as { namespace: string }).namespace;
    };
    assert.equal(add({}), "from-file");
    assert.equal(add({ MEMZIP_NAMESPACE: "from-env" }), "from-env");
    assert.equal(add({ MEMZIP_NAMESPACE: "from-env" }, "-n", "from-flag"), "from-flag");
  });

  it("resolveConfig takes flags over MEMZIP_* variables over the file, merges llm, and checks flags like the file", () => {
    using dir = tempDir();
    const file = join(dir.path, "config.yaml");
    writeFileSync(file, "namespace: from-file\nzstdLevel: 5\nllm:\n  contexts: 2\n  topK: 32\n");
    assert.deepEqual(resolveConfig({ file, env: {} }), { namespace: "from-file", zstdLevel: 5, llm: { contexts: 2, topK: 32 } });
    assert.deepEqual(resolveConfig({ file, env: { MEMZIP_NAMESPACE: "from-env", MEMZIP_WORKERS: "3", MEMZIP_CM_MODELS: "12" } }), {
      namespace: "from-env",
      zstdLevel: 5,
      workers: 3,
      cmModels: 12,
      llm: { contexts: 2, topK: 32 },
    });
    assert.deepEqual(resolveConfig({ file, env: { MEMZIP_NAMESPACE: "from-env" }, flags: { namespace: "from-flag", workers: undefined, llm: { contexts: 4 } } }), {
      namespace: "from-flag",
      zstdLevel: 5,
      llm: { contexts: 4, topK: 32 },
    });
    // Without a file named, $MEMZIP_CONFIG decides, and a missing default file is no error.
    assert.deepEqual(resolveConfig({ env: { MEMZIP_CONFIG: file }, flags: { cache: "off" } }), { namespace: "from-file", zstdLevel: 5, llm: { contexts: 2, topK: 32 }, cache: "off" });
    assert.deepEqual(resolveConfig({ env: { MEMZIP_CONFIG: join(dir.path, "none.json") } }), {});
    const wrong = (flags: Record<string, unknown>, message: RegExp) =>
      assert.throws(() => resolveConfig({ env: {}, flags: flags as never }), (e) => isMemzipError(e, "E_USAGE") && message.test(e.message));
    wrong({ cache: "tape" }, /flag "cache" must be "memory", "disk" or "off"/);
    wrong({ profile: "fast" }, /flag "profile" must be one of auto, local, cloud, hybrid, naive/);
    wrong({ zstdLevel: 2.5 }, /flag "zstdLevel" must be an integer/);
    wrong({ colour: "blue" }, /unknown setting "colour"/);
  });
});
