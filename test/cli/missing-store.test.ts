import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CLI, ROOT, SAMPLE, spawnBounded, tempDir } from "../helpers.js";

const ENV = { ...process.env, MEMZIP_DB: "", MEMZIP_CONFIG: "/nonexistent/memzip-config.json", XDG_DATA_HOME: "" };

function memzip(args: string[], env: NodeJS.ProcessEnv = ENV) {
  const result = spawnBounded(process.execPath, [CLI, ...args], { env, encoding: "utf8", input: "" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr + (result.signal ? `\n(killed by ${result.signal})` : "") };
}

/**
 * Every command that opens a store, with arguments that reach the store, when it must find one.
 * Commands that may make a store are in CREATORS; a new command must be added to one of the two.
 */
const NEEDS_A_STORE: Record<string, string[][]> = {
  import: [["import", SAMPLE, "--resume", "job-x"]],
  jobs: [["jobs"]],
  update: [["update", "x", "--tag", "a"]],
  get: [["get", "x"]],
  history: [["history", "x"]],
  ls: [["ls"]],
  rm: [["rm", "x"], ["rm", "--where", "--all"]],
  export: [["export"]],
  verify: [["verify"]],
  stats: [["stats"]],
  compact: [["compact"]],
  dict: [["dict", "ls"], ["dict", "train"], ["dict", "prune"]],
  model: [["model", "ls"], ["model", "train"], ["model", "prune"]],
  models: [["models", "ls"]],
  recode: [["recode", "--to", "zstd"]],
  search: [["search", "green", "tea"]],
  related: [["related", "x"]],
  quality: [["quality"]],
  mcp: [["mcp", "--role", "read"]],
  keys: [["keys", "ls"], ["keys", "revoke", "mzk_x"]],
};

/** Commands that add memories (or set up a store for the writes that follow) and so may make a store. */
const CREATORS = ["import", "add", "serve", "mcp", "worker", "keys", "models", "demo"];

describe("issue 11 item 6: a command that needs a store never creates one", () => {
  it("every command that opens a store is listed here", () => {
    // Read from the commands' source (tests do not import the CLI): every command of a file that declares --db.
    const folder = join(ROOT, "src", "cli", "commands");
    const opening = readdirSync(folder)
      .map((f) => readFileSync(join(folder, f), "utf8"))
      .filter((source) => /\bSTORE_OPTIONS\b|^ {4}db: \{/m.test(source))
      .flatMap((source) => [...source.matchAll(/^ {2}name: "([a-z]+)",$/gm)].map((m) => m[1] as string));
    assert.ok(opening.includes("search") && opening.includes("related") && opening.includes("demo"), opening.join(" "));
    for (const name of opening) assert.ok(name in NEEDS_A_STORE || CREATORS.includes(name), `memzip ${name} takes --db: list it in NEEDS_A_STORE or CREATORS`);
  });

  it("on a missing --db: E_NOT_FOUND naming the path, exit 4, and nothing made (no file, no folder, no .derived)", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "typo", "memorie.db");
    for (const args of Object.values(NEEDS_A_STORE).flat()) {
      const result = memzip([...args, "--db", db]);
      const shown = `memzip ${args.join(" ")}: ${result.stderr}`;
      assert.equal(result.status, 4, shown);
      assert.ok(result.stderr.includes(`E_NOT_FOUND: there is no store at ${db}`), shown);
      assert.deepEqual(readdirSync(dir.path), [], `memzip ${args.join(" ")} left something behind`);
    }
  });

  it("on an empty file or a folder as --db: a read says there is no store (exit 4) and leaves the file empty; a folder is E_USAGE (trial41)", async () => {
    await using dir = tempDir();
    const empty = join(dir.path, "empty.db");
    writeFileSync(empty, "");
    for (const args of [["ls"], ["stats"], ["get", "x"], ["export"], ["verify"]]) {
      const result = memzip([...args, "--db", empty]);
      const shown = `memzip ${args.join(" ")}: ${result.stderr}`;
      assert.equal(result.status, 4, shown);
      assert.ok(result.stderr.includes(`E_NOT_FOUND: there is no store at ${empty} (the file is empty)`), shown);
      assert.ok(!result.stderr.includes("created a new store"), shown);
      assert.equal(statSync(empty).size, 0, `memzip ${args.join(" ")} wrote into the empty file`);
      const folder = memzip([...args, "--db", dir.path]);
      assert.equal(folder.status, 2, `memzip ${args.join(" ")} --db FOLDER: ${folder.stderr}`);
      assert.ok(folder.stderr.includes(`E_USAGE: ${dir.path} is a folder, not a store file`), folder.stderr);
    }
  });

  it("on the default store of an empty home: the same, and the home stays empty", async () => {
    await using dir = tempDir();
    const home = join(dir.path, "home");
    mkdirSync(home);
    const env = { ...ENV, HOME: home };
    const db = join(home, ".local", "share", "memzip", "memzip.db");
    for (const args of [["search", "foo"], ["rm", "x1"], ["compact"], ["models", "ls"], ["import", SAMPLE, "--resume", "job-x"]]) {
      const result = memzip(args, env);
      assert.equal(result.status, 4, `memzip ${args.join(" ")}: ${result.stderr}`);
      assert.ok(result.stderr.includes(`there is no store at ${db}`), result.stderr);
      assert.deepEqual(readdirSync(home), [], `memzip ${args.join(" ")} left something in the home`);
    }
  });

  it("a command that adds memories makes the store, and says where", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "new", "fresh.db");
    // A refused text makes no store (`add ""` made an empty one: trial43).
    const empty = memzip(["add", "", "--db", db]);
    assert.equal(empty.status, 3, empty.stderr);
    assert.match(empty.stderr, /E_INVALID_INPUT: text is empty/);
    assert.equal(existsSync(db), false, "no store made for a refused text");
    // An id over the limit says what an id is (in UTF-16 units: 257 emoji are 514), not what a JSONL record is, and
    // shows its start without cutting an emoji in half (trial43).
    const long = memzip(["add", "x", "--id", "😀".repeat(257), "--db", db]);
    assert.equal(long.status, 3, long.stderr);
    assert.match(long.stderr, /"id" must be 1–512 UTF-16 code units/);
    assert.doesNotMatch(long.stderr, /\uFFFD|Each record is a JSON object/);
    assert.equal(existsSync(db), false);
    const added = memzip(["add", "the user prefers tea", "--db", db]);
    assert.equal(added.status, 0, added.stderr);
    assert.ok(added.stderr.includes(`created a new store at ${db}`), added.stderr);
    assert.ok(existsSync(db));
    // One memory is "1 memory" (section 14's grammar).
    assert.match(memzip(["stats", "--db", db]).stdout, /^1 memory, /m);
    // The second write finds it: nothing more is said.
    const again = memzip(["add", "the user prefers green tea", "--db", db]);
    assert.equal(again.status, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /created a new store/);
    // With -n the file line names no bits/byte: the whole file over one namespace's text means nothing (finding 12).
    const whole = memzip(["stats", "--db", db]).stdout;
    assert.match(whole, /^store file .* on disk \([\d.]+ bits\/byte of the store's text;/m);
    const one = memzip(["stats", "--db", db, "-n", "default"]).stdout;
    assert.match(one, /^store file .* on disk \(the whole store, every namespace; search index/m);
    // A two-memory store's file is thousands of times its text: the human stats says why (newcomer10 finding 4), not with -n.
    assert.match(whole, /^ {2}\(a small store's file is mostly fixed cost: /m);
    assert.doesNotMatch(one, /fixed cost/);
    assert.match(one, /^2 memories, /m);
    const imported = memzip(["import", SAMPLE, "--db", join(dir.path, "other.db")]);
    assert.equal(imported.status, 0, imported.stderr);
    assert.match(imported.stderr, /created a new store at /);
  });

  it("of several imports into one new store at once, exactly the one that made it says so; an empty file made into a store is said too", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "raced.db");
    // Four imports started together (a shell's background jobs): each its own stderr file.
    const runs = [0, 1, 2, 3].map((k) => `"$0" "$1" import "$2" --db "$3" -n ns${k} 2>"$4/err${k}" >/dev/null; echo $? >"$4/rc${k}"`);
    const raced = spawnBounded("sh", ["-c", `${runs.map((run) => `(${run}) &`).join(" ")} wait`, process.execPath, CLI, SAMPLE, db, dir.path], { env: ENV, encoding: "utf8" });
    assert.equal(raced.status, 0, raced.stderr);
    const results = [0, 1, 2, 3].map((k) => ({ rc: readFileSync(join(dir.path, `rc${k}`), "utf8").trim(), stderr: readFileSync(join(dir.path, `err${k}`), "utf8") }));
    assert.deepEqual(results.map((r) => r.rc), ["0", "0", "0", "0"], JSON.stringify(results));
    assert.equal(results.filter((r) => r.stderr.includes(`created a new store at ${db}`)).length, 1, JSON.stringify(results));

    // A file that exists but is empty (touched) becomes a store: that open made it, and says so.
    const touched = join(dir.path, "touched.db");
    writeFileSync(touched, "");
    const added = memzip(["add", "the user prefers tea", "--db", touched]);
    assert.equal(added.status, 0, added.stderr);
    assert.ok(added.stderr.includes(`created a new store at ${touched}`), added.stderr);
  });

  it("read commands leave an existing store's file as it was: no WAL frame, same bytes (newcomer10 finding 2)", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "read.db");
    assert.equal(memzip(["import", SAMPLE, "--db", db]).status, 0);
    const added = memzip(["add", "the user prefers tea", "--id", "tea", "--db", db]);
    assert.equal(added.status, 0, added.stderr);
    const digest = () => createHash("sha256").update(readFileSync(db)).digest("hex");
    const wal = () => (existsSync(`${db}-wal`) ? statSync(`${db}-wal`).size : 0);
    const before = { digest: digest(), wal: wal() };
    assert.equal(before.wal, 0, "a closed store has no WAL frames");
    const reads = [["stats"], ["stats", "--json"], ["ls"], ["get", "tea"], ["history", "tea"], ["verify"], ["export"], ["jobs"], ["dict", "ls"], ["model", "ls"]];
    for (const args of reads) {
      const result = memzip([...args, "--db", db]);
      assert.equal(result.status, 0, `memzip ${args.join(" ")}: ${result.stderr}`);
      assert.deepEqual({ digest: digest(), wal: wal() }, before, `memzip ${args.join(" ")} changed the store file`);
    }
  });

  it("an SQLite file of another program is refused by every command (E_STORE naming its tables) and left as it was (hostile trial s59)", async () => {
    using dir = tempDir();
    const db = join(dir.path, "app.db");
    // Another program's database: one table, the default journal mode, user_version 0.
    const Database = (await import("better-sqlite3")).default;
    const other = new Database(db);
    other.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('alice')");
    other.close();
    const digest = () => createHash("sha256").update(readFileSync(db)).digest("hex");
    const before = digest();
    for (const args of [["ls"], ["stats"], ["add", "a note"], ["import", SAMPLE], ["search", "green", "tea"]]) {
      const result = memzip([...args, "--db", db]);
      assert.notEqual(result.status, 0, `memzip ${args.join(" ")}: ${result.stdout}`);
      assert.match(result.stderr, /E_STORE: .*app\.db is an SQLite database that is not a memzip store \(its tables: users; schema version 0\)/, args.join(" "));
      assert.equal(digest(), before, `memzip ${args.join(" ")} changed the other program's file`);
      assert.deepEqual(readdirSync(dir.path), ["app.db"], "no -wal, -shm or .derived beside it");
    }
    // A file with memzip's version but no memories table (another program using user_version) too.
    const versioned = new Database(db);
    versioned.pragma("user_version = 3");
    versioned.close();
    assert.match(memzip(["ls", "--db", db]).stderr, /not a memzip store \(its tables: users; schema version 3\)/);
    // Another agent-memory tool's table named "memories", with a version: still not memzip's (it was migrated and called damaged).
    const tool = new Database(db);
    tool.exec("CREATE TABLE memories (id INTEGER PRIMARY KEY, content TEXT); INSERT INTO memories (content) VALUES ('x')");
    tool.close();
    const toolBefore = digest();
    assert.match(memzip(["ls", "--db", db]).stderr, /not a memzip store \(its tables: users, memories; schema version 3\)/);
    assert.equal(digest(), toolBefore);
    // memzip's own tables with version 0 in the header: a damaged store, said so.
    const own = join(dir.path, "own.db");
    assert.equal(memzip(["add", "a note", "--db", own]).status, 0);
    const damaged = new Database(own);
    damaged.pragma("wal_checkpoint(TRUNCATE)");
    damaged.pragma("user_version = 0");
    damaged.close();
    assert.match(memzip(["ls", "--db", own]).stderr, /E_STORE: the store at .*own\.db is damaged: it has memzip's tables but schema version 0/);
  });
});

