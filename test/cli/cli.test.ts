import { strict as assert } from "node:assert";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CLI, ROOT, SAMPLE, SHARED, tempDir, spawnBounded } from "../helpers.js";

function memzip(args: string[], input?: string | Buffer, env: Record<string, string> = {}) {
  const result = spawnBounded(process.execPath, [CLI, ...args], { input, env: { ...process.env, MEMZIP_DB: "", MEMZIP_CONFIG: "/nonexistent/memzip-config.json", ...env } });
  const killed = result.signal ? `\n(memzip was killed by ${result.signal})` : "";
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString("utf8") + killed, json: () => JSON.parse(result.stdout.toString("utf8")) as Record<string, unknown> };
}

describe("memzip CLI", () => {
  it("imports, gets exact bytes, verifies, reports stats and exports", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "cli.db");
    const imported = memzip(["import", SAMPLE, "--db", db, "--json"]);
    assert.equal(imported.status, 0, imported.stderr);
    assert.equal(imported.json().stored, 40);

    const original = readFileSync(SAMPLE, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { id: string; text: string });
    for (const record of original.slice(0, 12)) {
      const got = memzip(["get", record.id, "--db", db]);
      assert.equal(got.status, 0, got.stderr);
      assert.ok(got.stdout.equals(Buffer.from(record.text, "utf8")), `get ${record.id} is not byte-exact`);
    }

    const verify = memzip(["verify", "--db", db, "--json"]);
    assert.equal(verify.status, 0);
    assert.deepEqual({ checked: verify.json().checked, failed: verify.json().failed }, { checked: 40, failed: 0 });

    const stats = memzip(["stats", "--db", db, "--json"]).json() as { memories: number; originalBytes: number; storedBytes: number; bitsPerByte: number; byCodec: Record<string, { memories: number }> };
    assert.equal(stats.memories, 40);
    assert.ok(Math.abs(stats.bitsPerByte - (stats.storedBytes * 8) / stats.originalBytes) < 1e-9);
    assert.equal(Object.values(stats.byCodec).reduce((s, c) => s + c.memories, 0), 40);

    const exported = memzip(["export", "--db", db]).stdout.toString("utf8").trim().split("\n").map((l) => JSON.parse(l) as { id: string; text: string });
    assert.deepEqual(exported.map((r) => [r.id, r.text]), original.map((r) => [r.id, r.text]));

    const arrowFile = join(dir.path, "out.arrow");
    const arrowExport = memzip(["export", "--db", db, "--format", "arrow", "--out", arrowFile, "--json"]);
    assert.equal(arrowExport.status, 0);
    // Counted as the JSONL export counts (it had no "exported": trial42).
    assert.equal(arrowExport.json().exported, 40);
    const copy = join(dir.path, "copy.db");
    assert.equal(memzip(["import", arrowFile, "--db", copy, "--json"]).json().stored, 40);

    // The export names its namespace ("default"): imported with -n into another, every row is rejected and
    // nothing in "default" is touched (without the pin the rows went back to "default", over newer memories).
    const staging = memzip(["import", arrowFile, "--db", copy, "-n", "staging", "--json"]);
    assert.equal(staging.status, 1, staging.stderr);
    assert.deepEqual([staging.json().stored, staging.json().updated, (staging.json().rejected as unknown[]).length], [0, 0, 40]);
    assert.equal((memzip(["stats", "--db", copy, "-n", "staging", "--json"]).json() as { memories: number }).memories, 0);

    // A restore without -n writes each record to the namespace it names: the summary has a line for each.
    const mixed = join(dir.path, "mixed.jsonl");
    const lines = [{ id: "m1", namespace: "x", text: "first of x" }, { id: "m2", namespace: "x", text: "second of x" }, { id: "m3", namespace: "y", text: "only one of y" }];
    writeFileSync(mixed, lines.map((line) => JSON.stringify(line)).join("\n") + "\n");
    const restored = memzip(["import", mixed, "--db", copy]);
    assert.equal(restored.status, 0, restored.stderr);
    const summary = restored.stdout.toString("utf8");
    assert.match(summary, /^namespace default: 40 memories/m);
    assert.match(summary, /^namespace x: 2 memories/m);
    assert.match(summary, /^namespace y: 1 memory,/m);
  });

  it("codes a new store's first notes with the base model shipped with memzip (the default), counts them in stats, and MEMZIP_CM_BASE=false turns it off", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "notes.db");
    const env = { MEMZIP_CACHE_DIR: join(dir.path, "cache") };
    const notes = ["Met with Sarah about the Q3 roadmap; she wants the search API first.", "User prefers dark mode and short answers in the morning.", "The deploy to staging failed because the Redis URL was missing from the env file."];
    for (const [i, text] of notes.entries()) {
      const added = memzip(["add", text, "--id", `n${i}`, "--db", db, "--json"], undefined, env);
      assert.equal(added.status, 0, added.stderr);
      assert.equal(added.json().codec, "cm");
    }
    const stats = memzip(["stats", "--db", db, "--json"], undefined, env).json() as { ratio: number; assetBytes: number; baseCodedMemories: number; baseCodedByNamespace: unknown };
    assert.deepEqual([stats.baseCodedMemories, stats.baseCodedByNamespace, stats.assetBytes], [3, [{ namespace: "default", memories: 3 }], 0]);
    assert.ok(stats.ratio > 1, `three notes: ratio ${stats.ratio}`);
    const text = memzip(["stats", "--db", db], undefined, env).stdout.toString("utf8");
    assert.match(text, /^ {2}base model v1 for cm \(.+\): shipped with memzip, not in the store, not counted$/m);
    assert.match(text, /^ {2}3 memories coded with the shipped base model \(default 3\)$/m);
    // A new text (the same text again would share its holder's envelope, whatever the setting).
    const off = memzip(["add", "Lunch order for Friday's standup: two coffees, one tea and a bagel.", "--id", "off", "--db", db, "--json"], undefined, { ...env, MEMZIP_CM_BASE: "false" });
    assert.equal(off.status, 0, off.stderr);
    assert.notEqual(off.json().codec, "cm");
    for (const [i, note] of notes.entries()) assert.equal(memzip(["get", `n${i}`, "--db", db], undefined, { ...env, MEMZIP_CM_BASE: "false" }).stdout.toString("utf8"), note);
  });

  it("adds from stdin, lists, removes, and maps errors to exit codes", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "cli.db");
    const added = memzip(["add", "-", "--id", "x1", "--kind", "chat", "--tag", "t", "--db", db, "--json"], "从标准输入来的记忆\n");
    assert.equal(added.status, 0, added.stderr);
    assert.equal(memzip(["get", "x1", "--db", db]).stdout.toString("utf8"), "从标准输入来的记忆\n");
    assert.equal((memzip(["ls", "--db", db, "--json"]).json().memories as unknown[]).length, 1);
    // A count flag is decimal digits, as HTTP's limit (0x10 and 1e1 were read as numbers).
    for (const limit of ["0x10", "1e1", " 16", "16.0"]) {
      const loose = memzip(["ls", "--limit", limit, "--db", db]);
      assert.equal(loose.status, 2, `--limit ${JSON.stringify(limit)}`);
      assert.match(loose.stderr, /--limit must be a whole number/);
    }
    assert.equal(memzip(["ls", "--limit", "16", "--db", db]).status, 0);

    const noSummary = memzip(["get", "x1", "--mode", "summary", "--db", db]);
    assert.equal(noSummary.status, 4);
    assert.match(noSummary.stderr, /has no summary/);
    assert.equal(memzip(["get", "x1", "--mode", "exact", "--db", db]).stdout.toString("utf8"), "从标准输入来的记忆\n");
    // A list with a missing id removes nothing, whatever the order, and says which id is missing.
    assert.equal(memzip(["add", "second", "--id", "x2", "--db", db]).status, 0);
    // A stray word is refused, not glued into the text (trial56: `--tag prefs drinks` stored "… drinks") or ignored beside --file / -.
    for (const args of [["the user prefers tea", "--tag", "prefs", "drinks"], ["-", "extra"]]) {
      const stray = memzip(["add", ...args, "--id", "stray", "--db", db], "from stdin");
      assert.equal(stray.status, 2, args.join(" "));
      assert.match(stray.stderr.toString(), /left over: "(drinks|extra)"/);
    }
    assert.equal(memzip(["get", "stray", "--db", db]).status, 4, "nothing stored");
    for (const ids of [["x1", "nosuch"], ["nosuch", "x1"]]) {
      const partial = memzip(["rm", ...ids, "--db", db]);
      assert.equal(partial.status, 4);
      assert.match(partial.stderr, /nosuch/);
      assert.equal(memzip(["get", "x1", "--db", db]).status, 0, `rm ${ids.join(" ")} removed x1`);
    }
    const both = memzip(["rm", "x2", "x1", "x2", "--db", db, "--json"]);
    assert.equal(both.status, 0, both.stderr);
    assert.deepEqual(both.json().removed, ["x2", "x1"]);

    const missing = memzip(["get", "x1", "--db", db, "--json"]);
    assert.equal(missing.status, 4);
    assert.equal((missing.json().error as { code: string }).code, "E_NOT_FOUND");
    assert.match(missing.stderr, /fix:/);

    const badUtf8 = join(dir.path, "bad.txt");
    writeFileSync(badUtf8, Buffer.from([0x61, 0xff, 0x62]));
    assert.equal(memzip(["add", "--file", badUtf8, "--db", db]).status, 3);
    assert.equal(memzip(["import", "--db", db]).status, 2);
    // An empty argument (an unset shell variable) is a usage error naming it, not a lookup of "" (trial49).
    for (const args of [["get", ""], ["rm", ""], ["history", ""], ["import", ""], ["models", "rm", ""], ["models", ""]]) {
      const empty = memzip([...args, "--db", db]);
      assert.equal(empty.status, 2, `${args.join(" ")}: ${empty.stderr}`);
      assert.match(empty.stderr, /E_USAGE: empty .*unset shell variable/);
    }
    // models rm of a store that does not exist says so and creates nothing.
    const nowhere = join(dir.path, "nowhere.db");
    const noStore = memzip(["models", "rm", "stories", "--db", nowhere]);
    assert.equal(noStore.status, 4, noStore.stderr);
    assert.match(noStore.stderr, /there is no store at/);
    assert.equal(existsSync(nowhere), false, "models rm created a store");
    assert.equal(memzip(["frobnicate"]).status, 2);
    assert.equal(memzip(["stats", "--no-such-flag"]).status, 2);
    assert.match(memzip(["help"]).stdout.toString("utf8"), /commands:/);
    assert.match(memzip(["import", "--help"]).stdout.toString("utf8"), /--batch N/);
  });

  it("imports JSONL from stdin (import -) through a temporary copy it removes, and refuses - with --queue", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "stdin.db");
    const scratch = join(dir.path, "tmp");
    mkdirSync(scratch);
    const env = { ...process.env, MEMZIP_DB: "", MEMZIP_CONFIG: "/nonexistent/memzip-config.json", TMPDIR: scratch };
    const lines = readFileSync(SAMPLE, "utf8").split("\n").filter(Boolean).slice(0, 12);
    const run = (args: string[], input: string) => spawnBounded(process.execPath, [CLI, ...args], { input, env });
    const piped = run(["import", "-", "--db", db, "--json"], `${lines.join("\n")}\n{"text": broken\n`);
    assert.equal(piped.status, 1, piped.stderr.toString("utf8"));
    const report = JSON.parse(piped.stdout.toString("utf8")) as { stored: number; rejected: { where: string }[] };
    assert.deepEqual([report.stored, report.rejected.map((r) => r.where)], [12, ["line 13"]], "every good line stored, the bad one named by its line");
    const first = JSON.parse(lines[0] as string) as { id: string; text: string };
    assert.equal(memzip(["get", first.id, "--db", db]).stdout.toString("utf8"), first.text);
    assert.deepEqual(readdirSync(scratch), [], "the copy of stdin is removed when the import ends");
    // The same lines again: nothing stored twice.
    const again = JSON.parse(run(["import", "-", "--db", db, "--json"], lines.join("\n")).stdout.toString("utf8")) as { stored: number; unchanged: number };
    assert.deepEqual([again.stored, again.unchanged], [0, 12]);
    const queued = run(["import", "-", "--queue", "redis://127.0.0.1:1", "--db", db], lines.join("\n"));
    assert.equal(queued.status, 2);
    assert.match(queued.stderr.toString("utf8"), /import - does not go with --queue/);
    // A queued import finds its job by the file and settings: a --resume JOB it would not read is refused, not ignored.
    const file = join(dir.path, "lines.jsonl");
    writeFileSync(file, lines.join("\n"));
    const resumed = run(["import", file, "--queue", "redis://127.0.0.1:1", "--resume", "job-x", "--db", db], "");
    assert.equal(resumed.status, 2, resumed.stderr.toString("utf8"));
    assert.match(resumed.stderr.toString("utf8"), /--resume does not go with --queue/);
  });

  it("refuses to remove a model that llm-mix memories need (their envelope names the engine record, which names the model)", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "mix.db");
    assert.equal(memzip(["models", "add", join(SHARED, "models", "stories260K.gguf"), "--name", "smol", "--db", db]).status, 0);
    const text = "Lily saw a big dog in the park.";
    const mixed = memzip(["add", text, "--model", "smol", "--codec", "llm-mix", "--db", db, "--json"]);
    assert.equal(mixed.status, 0, mixed.stderr);
    assert.equal(mixed.json().codec, "llm-mix");
    const refused = memzip(["models", "rm", "smol", "--db", db]);
    assert.equal(refused.status, 2, refused.stderr);
    assert.match(refused.stderr, /needed to read 1 memory \(by namespace: default 1\)/);
    assert.equal(memzip(["get", mixed.json().id as string, "--db", db]).stdout.toString("utf8"), text);
    const forced = memzip(["models", "rm", "smol", "--force", "--db", db, "--json"]);
    assert.deepEqual(forced.json().needing, [{ namespace: "default", memories: 1 }]);
  });

  it("registers a model, imports stories with --codec llm, primes a namespace, recodes --to zstd, and says plainly that pull needs a network", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "llm.db");
    const added = memzip(["models", "add", join(SHARED, "models", "stories260K.gguf"), "--name", "stories", "--db", db, "--json"]);
    assert.equal(added.status, 0, added.stderr);
    assert.equal(added.json().fingerprint, "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d");
    assert.equal(added.json().vocabularySize, 512);
    const listed = memzip(["models", "ls", "--db", db, "--json"]).json().models as { name: string }[];
    assert.deepEqual(listed.map((m) => m.name), ["stories"]);

    const stories = join(ROOT, "bench", "data", "stories.jsonl");
    const imported = memzip(["import", stories, "--db", db, "--model", "stories", "--codec", "llm", "--contexts", "2", "--json"]);
    assert.equal(imported.status, 0, imported.stderr);
    assert.deepEqual(imported.json().byCodec, { llm: 20 });
    const first = JSON.parse(readFileSync(stories, "utf8").split("\n")[0] as string) as { id: string; text: string };
    assert.equal(memzip(["get", first.id, "--db", db]).stdout.toString("utf8"), first.text);

    const primer = join(dir.path, "primer.txt");
    writeFileSync(primer, "Once upon a time, there was a little girl. She liked to play with her friends in the park.");
    assert.equal(memzip(["models", "prime", primer, "-n", "primed", "--db", db]).status, 0);
    const text = "Once upon a time, there was a little boy named Tim. Tim liked to play with his ball in the park.";
    const primed = memzip(["add", text, "-n", "primed", "--db", db, "--model", "stories", "--codec", "llm", "--json"]);
    assert.equal(primed.status, 0, primed.stderr);
    assert.equal(primed.json().codec, "llm");
    assert.equal(memzip(["get", primed.json().id as string, "--db", db]).stdout.toString("utf8"), text);

    // rm refuses while memories are coded with the model, naming them by namespace.
    const refused = memzip(["models", "rm", "stories", "--db", db]);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /needed to read 21 memories \(by namespace: default 20, primed 1\)/);
    assert.match(refused.stderr, /memzip recode --to cm -n default/);
    const recoded = memzip(["recode", "--to", "zstd", "--db", db, "--json"]);
    assert.equal(recoded.status, 0, recoded.stderr);
    assert.equal(recoded.json().recoded, 20);
    assert.equal(memzip(["verify", "--db", db, "--json"]).json().failed, 0);
    assert.match(memzip(["models", "rm", "stories", "--db", db]).stderr, /needed to read 1 memory \(by namespace: primed 1\)/);
    // --force: the model is forgotten (its file stays); the primed memory cannot be read until the file is added again.
    const forced = memzip(["models", "rm", "stories", "--force", "--db", db, "--json"]);
    assert.equal(forced.status, 0, forced.stderr);
    assert.deepEqual(forced.json().needing, [{ namespace: "primed", memories: 1 }]);
    assert.deepEqual(memzip(["models", "ls", "--db", db, "--json"]).json().models, []);
    const unreadable = memzip(["get", primed.json().id as string, "-n", "primed", "--db", db]);
    assert.notEqual(unreadable.status, 0);
    assert.match(unreadable.stderr, /E_MISSING_MODEL/);
    assert.equal(memzip(["models", "add", join(SHARED, "models", "stories260K.gguf"), "--name", "stories", "--db", db]).status, 0);
    assert.equal(memzip(["get", primed.json().id as string, "-n", "primed", "--db", db]).stdout.toString("utf8"), text);
    const unknown = memzip(["models", "rm", "nothing", "--db", db]);
    assert.equal(unknown.status, 7, "E_MISSING_MODEL's exit code");
    assert.match(unknown.stderr, /memzip models ls/);

    const missing = memzip(["add", "some text", "--db", db, "--codec", "llm"]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /needs a model/);
    const pull = memzip(["models", "pull", "smollm2-135m", "--db", db, "--dir", join(dir.path, "models")]);
    assert.equal(pull.status, 9);
    assert.match(pull.stderr, /memzip models add PATH/);
  });
});
