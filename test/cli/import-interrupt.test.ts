import { strict as assert } from "node:assert";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CLI, devCorpus, spawnBounded, tempDir } from "../helpers.js";

// cmBase off: the dev corpus's texts are what the shipped base learned from, so with it no training of theirs is used
// (measured larger), and these tests stop and resume trainings that are.
const ENV = { ...process.env, MEMZIP_DB: "", MEMZIP_CONFIG: "/nonexistent/memzip-config.json", MEMZIP_AUTO_TRAIN_AFTER: "200", MEMZIP_CM_BASE: "false" };

function memzip(args: string[], nodeArgs: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const result = spawnBounded(process.execPath, [...nodeArgs, CLI, ...args], { env: { ...ENV, ...env }, encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr + (result.signal ? `\n(killed by ${result.signal})` : "") };
}

/** The first `count` records of the dev corpus as a JSONL file in `dir`. */
function recordsFile(dir: string, count: number): string {
  const file = join(dir, "records.jsonl");
  writeFileSync(file, devCorpus().slice(0, count).map((r) => JSON.stringify({ id: r.id, text: r.text })).join("\n") + "\n");
  return file;
}

/**
 * Loaded before the CLI (`node --import`): stderr passes for a terminal (so the import prints its
 * progress and steps), and the first write that starts with `at` is followed at once by Ctrl-C's
 * event (the listener a SIGINT runs; `signal` SIGTERM: the one a SIGTERM runs), so the interruption
 * lands at one known step whatever the machine's speed.
 */
function ctrlCAt(at: string, times = 1, signal: "SIGINT" | "SIGTERM" = "SIGINT"): string {
  return `Object.defineProperty(process.stderr, "isTTY", { value: true, configurable: true });
const write = process.stderr.write.bind(process.stderr);
let sent = false;
process.stderr.write = (chunk, ...rest) => {
  const done = write(chunk, ...rest);
  if (!sent && String(chunk).startsWith(${JSON.stringify(at)})) {
    sent = true;
    for (let i = 0; i < ${times}; i++) process.emit(${JSON.stringify(signal)}, ${JSON.stringify(signal)});
  }
  return done;
};
`;
}

describe("memzip import: Ctrl-C, --resume, exit codes", () => {
  it("Ctrl-C while the import trains stops it (exit 130, the store whole, the resume command printed); --resume finishes it; a finished job says so; another -n is refused", async () => {
    using dir = tempDir();
    const db = join(dir.path, "int.db");
    const file = recordsFile(dir.path, 300);
    const hook = join(dir.path, "ctrl-c.mjs");
    writeFileSync(hook, ctrlCAt("\rimport: training a "));

    const stopped = memzip(["import", file, "--db", db], ["--import", hook]);
    assert.equal(stopped.status, 130, `interrupted is not "finished with rejections" (1)\n${stopped.stderr}`);
    assert.match(stopped.stderr, /stopping after the step in progress/);
    const job = /--resume (job-[a-z0-9-]+)/.exec(stopped.stdout)?.[1];
    assert.ok(job, stopped.stdout);
    assert.match(stopped.stdout, /read 300: 300 stored/);
    // The command as printed, pasted: the file and the store named (it said `--resume JOB`, which alone is E_USAGE).
    assert.ok(stopped.stdout.includes(`for namespace default: every record read is stored, what was trained and recoded stays; continue with: memzip import ${file} --resume ${job} --db ${db}\n`), stopped.stdout);
    assert.doesNotMatch(stopped.stdout, /\ntrained /, "nothing reported trained");

    const verify = memzip(["verify", "--db", db, "--json"]);
    assert.equal(verify.status, 0, verify.stderr);
    assert.deepEqual(JSON.parse(verify.stdout), { checked: 300, failed: 0, failures: [] });
    assert.match(memzip(["jobs", "--db", db]).stdout, new RegExp(`${job}\\tinterrupted\\t`));

    // -n naming another namespace than the job's: refused, naming the job's.
    const otherNs = memzip(["import", file, "--db", db, "-n", "other", "--resume", job]);
    assert.equal(otherNs.status, 2, otherNs.stderr);
    assert.match(otherNs.stderr, new RegExp(`E_USAGE: job ${job} imports into namespace "default", not "other"`));
    // Another file than the job's: the message names both.
    const otherFile = join(dir.path, "other.jsonl");
    writeFileSync(otherFile, '{"text":"x"}\n');
    const wrongFile = memzip(["import", otherFile, "--db", db, "--resume", job]);
    assert.equal(wrongFile.status, 2, wrongFile.stderr);
    assert.ok(wrongFile.stderr.includes(`imports ${file}, not ${otherFile}`), wrongFile.stderr);

    const resumed = spawnBounded("sh", ["-c", `exec "$0" "$1" import ${file} --resume ${job} --db ${db}`, process.execPath, CLI], { env: ENV, encoding: "utf8" });
    assert.equal(resumed.status, 0, resumed.stderr);
    // The counts are of this run; the line says the earlier one stored the rest (it read "read 0: 0 stored": hostile trial s61).
    assert.match(resumed.stdout, /^resumed after line 300 \(stored before\): read 0 more: .*\ntrained /);

    const again = memzip(["import", file, "--db", db, "--resume", job, "--json"]);
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual([JSON.parse(again.stdout).alreadyDone, JSON.parse(again.stdout).read], [true, 0]);
    const againHuman = memzip(["import", file, "--db", db, "-n", "default", "--resume", job]);
    assert.equal(againHuman.status, 0, againHuman.stderr);
    assert.match(againHuman.stdout, new RegExp(`job ${job} had already finished \\(namespace default\\): nothing imported`));
    assert.equal(JSON.parse(memzip(["verify", "--db", db, "--json"]).stdout).failed, 0);
  });

  it("Ctrl-C while the records are read: exit 130 with the resume command, the store whole, and the resumed job ends with exactly every record, as the import was told (-n, --ttl)", async () => {
    using dir = tempDir();
    const db = join(dir.path, "read.db");
    // The last 20 records name another namespace: with -n they are rejected, by the resumed job too.
    const file = join(dir.path, "records.jsonl");
    writeFileSync(file, devCorpus().slice(0, 60).map((r, i) => JSON.stringify({ id: r.id, text: r.text, ...(i >= 40 ? { namespace: "other" } : {}) })).join("\n") + "\n");
    const hook = join(dir.path, "ctrl-c.mjs");
    writeFileSync(hook, ctrlCAt("\rimport "));
    const stopped = memzip(["import", file, "--db", db, "--batch", "5", "-n", "work", "--ttl", "30d"], ["--import", hook]);
    assert.equal(stopped.status, 130, stopped.stderr);
    const pasted = /\(interrupted: continue with: memzip (import .* --resume job-[a-z0-9-]+ --db \S+)\)/.exec(stopped.stdout)?.[1];
    assert.ok(pasted, stopped.stdout);
    // Every option the import was given (the job keeps none of them: without -n the resume stored "other"'s records).
    assert.ok(pasted.includes(" --batch 5 ") && pasted.includes(" --namespace work ") && pasted.includes(" --ttl 30d "), pasted);
    assert.equal(JSON.parse(memzip(["verify", "--db", db, "--json"]).stdout).failed, 0);
    const resumed = spawnBounded("sh", ["-c", `exec "$0" "$1" ${pasted} --json`, process.execPath, CLI], { env: ENV, encoding: "utf8" });
    assert.equal(resumed.status, 1, `the other namespace's records rejected: ${resumed.stderr}`);
    const memories = (args: string[]) => (JSON.parse(memzip(["stats", ...args, "--db", db, "--json"]).stdout) as { memories: number }).memories;
    assert.deepEqual([memories([]), memories(["-n", "work"])], [40, 40]);
    const listed = JSON.parse(memzip(["ls", "-n", "work", "--limit", "100", "--db", db, "--json"]).stdout) as { memories: { expiresAt?: number | null }[] };
    assert.equal(listed.memories.filter((m) => typeof m.expiresAt === "number").length, 40, "every record expires (--ttl)");
  });

  it("-n: a record naming another namespace is rejected with a message that names no CLI flag, and the CLI adds its advice once", async () => {
    using dir = tempDir();
    const db = join(dir.path, "pin.db");
    const file = join(dir.path, "pin.jsonl");
    writeFileSync(file, ['{"namespace":"agent-7","text":"one"}', '{"namespace":"agent-7","text":"two"}', '{"text":"three"}'].join("\n") + "\n");
    const json = memzip(["import", file, "--db", db, "-n", "restored", "--json"]);
    assert.equal(json.status, 1, json.stderr);
    const report = JSON.parse(json.stdout) as { stored: number; rejected: { message: string; namespace?: string }[] };
    assert.equal(report.stored, 1);
    assert.deepEqual(report.rejected.map((r) => r.namespace), ["agent-7", "agent-7"]);
    for (const r of report.rejected) {
      assert.match(r.message, /names namespace "agent-7", and this import writes to "restored" only$/);
      assert.doesNotMatch(r.message, /-n\b|memzip|--/, "an HTTP or MCP client reads this message too");
    }
    const human = memzip(["import", file, "--db", db, "-n", "restored"]);
    assert.equal(human.stdout.match(/records name another namespace than "restored": .*jq -c 'del\(\.namespace\)'.*import without -n/g)?.length, 1, human.stdout);
  });

  it("a namespace named only by rejected records is listed as such, not as imported", async () => {
    using dir = tempDir();
    const db = join(dir.path, "rej.db");
    const file = join(dir.path, "rej.jsonl");
    writeFileSync(file, ['{"namespace":"x","text":""}', '{"text":"hello there"}', '{"namespace":"y","text":"kept"}'].join("\n") + "\n");
    const human = memzip(["import", file, "--db", db]);
    assert.equal(human.status, 1, human.stderr);
    assert.match(human.stdout, /\nnamespace x: nothing stored, 1 rejected/);
    assert.match(human.stdout, /\nnamespace y: 1 memory,/);
    assert.doesNotMatch(human.stdout, /namespace x: \d+ memories/);
    const json = JSON.parse(memzip(["import", file, "--db", db, "--json"]).stdout) as { otherNamespaces?: string[]; rejectedNamespaces?: Record<string, number> };
    assert.deepEqual([json.otherNamespaces, json.rejectedNamespaces], [["y"], { x: 1 }]);
  });

  it("a second Ctrl-C stops at once, marks the job interrupted and prints the command that continues it, --db included (findings 5 and 4)", async () => {
    using dir = tempDir();
    const db = join(dir.path, "hard.db");
    const file = recordsFile(dir.path, 300);
    const hook = join(dir.path, "ctrl-c-twice.mjs");
    writeFileSync(hook, ctrlCAt("\rimport: training a ", 2));
    const stopped = memzip(["import", file, "--db", db], ["--import", hook]);
    assert.equal(stopped.status, 130, stopped.stderr);
    const pasted = /memzip: stopped at once \(every batch committed before stays\); continue with: memzip (import .* --resume (job-[a-z0-9-]+) --db .*)\n/.exec(stopped.stderr);
    assert.ok(pasted?.[1] && pasted[2], stopped.stderr);
    assert.ok(pasted[1].endsWith(`--db ${db}`), pasted[1]);
    assert.match(memzip(["jobs", "--db", db]).stdout, new RegExp(`${pasted[2]}\\tinterrupted\\t`), "interrupted at once, not running until stale");
    const resumed = spawnBounded("sh", ["-c", `exec "$0" "$1" ${pasted[1]}`, process.execPath, CLI], { env: ENV, encoding: "utf8" });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.equal(JSON.parse(memzip(["verify", "--db", db, "--json"]).stdout).checked, 300);
  });

  it("Ctrl-C during export --out removes its temporary file and leaves the target unwritten (finding 6)", async () => {
    using dir = tempDir();
    const db = join(dir.path, "exp.db");
    const file = recordsFile(dir.path, 50);
    assert.equal(memzip(["import", file, "--db", db]).status, 0);
    // Ctrl-C's event as soon as the temporary file is open (the module hook is in place before the CLI loads).
    const hook = join(dir.path, "ctrl-c-open.mjs");
    writeFileSync(hook, `import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
const create = fs.createWriteStream;
fs.createWriteStream = (...args) => {
  const stream = create(...args);
  stream.once("open", () => process.emit("SIGINT", "SIGINT"));
  return stream;
};
syncBuiltinESMExports();
`);
    const outDir = join(dir.path, "out");
    mkdirSync(outDir);
    const out = join(outDir, "all.jsonl");
    const stopped = memzip(["export", "--db", db, "--out", out], ["--import", hook]);
    assert.equal(stopped.status, 130, stopped.stderr);
    assert.match(stopped.stderr, /export stopped \(Ctrl-C\); .* not written/);
    assert.deepEqual(readdirSync(outDir), [], "no target, no hidden .tmp file");
    assert.ok(!existsSync(out));
    // Without the signal the same command writes the file.
    assert.equal(memzip(["export", "--db", db, "--out", out]).status, 0);
    assert.ok(existsSync(out));
  });
});

describe("SIGTERM (kill, systemd, docker stop) stops a long command as Ctrl-C does", () => {
  it("an import: stopped after the step in progress, exit 143, the job interrupted (not running until stale), and --resume finishes it", async () => {
    using dir = tempDir();
    const db = join(dir.path, "term.db");
    const file = recordsFile(dir.path, 300);
    const hook = join(dir.path, "term.mjs");
    writeFileSync(hook, ctrlCAt("\rimport: training a ", 1, "SIGTERM"));
    const stopped = memzip(["import", file, "--db", db], ["--import", hook]);
    assert.equal(stopped.status, 143, `128 + SIGTERM's 15\n${stopped.stderr}`);
    assert.match(stopped.stderr, /SIGTERM: stopping after the step in progress \(what is written stays\); a second SIGTERM or Ctrl-C stops at once/);
    const job = /--resume (job-[a-z0-9-]+)/.exec(stopped.stdout)?.[1];
    assert.ok(job, stopped.stdout);
    assert.match(memzip(["jobs", "--db", db]).stdout, new RegExp(`${job}\\tinterrupted\\t`));
    const resumed = memzip(["import", file, "--db", db, "--resume", job]);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stdout, /\ntrained /);
    assert.deepEqual(JSON.parse(memzip(["verify", "--db", db, "--json"]).stdout), { checked: 300, failed: 0, failures: [] });
  });

  it("import - (stdin): a signal after the copy, before the import listens itself, still removes the copy", async () => {
    using dir = tempDir();
    const tmp = join(dir.path, "tmp");
    mkdirSync(tmp);
    const file = recordsFile(dir.path, 20);
    // SIGTERM's event when the import first looks at the copy of stdin (after the copy, before the import's own listener).
    const hook = join(dir.path, "term-spool.mjs");
    writeFileSync(hook, `import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
const stat = fs.statSync;
let sent = false;
fs.statSync = (...args) => {
  if (!sent && String(args[0]).includes("memzip-stdin-")) {
    sent = true;
    process.emit("SIGTERM", "SIGTERM");
  }
  return stat(...args);
};
syncBuiltinESMExports();
`);
    const db = join(dir.path, "spool.db");
    const stopped = spawnBounded("sh", ["-c", `"$0" --import "$1" "$2" import - --db "$3" < "$4"`, process.execPath, hook, CLI, db, file], { env: { ...ENV, TMPDIR: tmp }, encoding: "utf8" });
    assert.equal(stopped.status, 143, stopped.stderr);
    assert.match(stopped.stderr, /stopped \(SIGTERM\) before the import began; nothing imported/);
    assert.deepEqual(readdirSync(tmp), [], "the copy of stdin (the memories' texts) is not left behind");
  });

  it("import - (stdin) stopped while it trains keeps the copy for --resume, and the resumed import removes it when it finishes", async () => {
    using dir = tempDir();
    const tmp = join(dir.path, "tmp");
    mkdirSync(tmp);
    const file = recordsFile(dir.path, 300);
    const hook = join(dir.path, "term-train.mjs");
    writeFileSync(hook, ctrlCAt("\rimport: training a ", 1, "SIGTERM"));
    const db = join(dir.path, "spool-resume.db");
    const env = { ...ENV, TMPDIR: tmp };
    const stopped = spawnBounded("sh", ["-c", `"$0" --import "$1" "$2" import - --db "$3" < "$4"`, process.execPath, hook, CLI, db, file], { env, encoding: "utf8" });
    assert.equal(stopped.status, 143, stopped.stderr);
    const kept = /the records read from stdin are kept in (\S+) for --resume/.exec(stopped.stderr)?.[1];
    assert.ok(kept && existsSync(kept), stopped.stderr);
    const job = /--resume (job-[a-z0-9-]+)/.exec(stopped.stdout + stopped.stderr)?.[1];
    assert.ok(job, stopped.stdout + stopped.stderr);
    const resumed = spawnBounded(process.execPath, [CLI, "import", kept, "--resume", job, "--db", db], { env, encoding: "utf8" });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.deepEqual(readdirSync(tmp), [], "the copy of stdin (the memories' texts) is gone once the resumed import finished");
    assert.deepEqual(JSON.parse(memzip(["verify", "--db", db, "--json"]).stdout), { checked: 300, failed: 0, failures: [] });
  });

  it("dict train: zstd stopped and its samples removed, nothing trained, exit 143; the same command then trains", async () => {
    using dir = tempDir();
    const db = join(dir.path, "dict.db");
    const tmp = join(dir.path, "tmp");
    mkdirSync(tmp);
    const file = recordsFile(dir.path, 300);
    assert.equal(memzip(["import", file, "--db", db], [], { MEMZIP_AUTO_TRAIN_AFTER: "0" }).status, 0);
    // SIGTERM's event as soon as zstd has started (the module hook is in place before the CLI loads).
    const hook = join(dir.path, "term-zstd.mjs");
    writeFileSync(hook, `import childProcess from "node:child_process";
import { syncBuiltinESMExports } from "node:module";
const spawn = childProcess.spawn;
childProcess.spawn = (...args) => {
  const child = spawn(...args);
  if (String(args[0]).includes("zstd")) child.once("spawn", () => process.emit("SIGTERM", "SIGTERM"));
  return child;
};
syncBuiltinESMExports();
`);
    const stopped = memzip(["dict", "train", "--db", db], ["--import", hook], { TMPDIR: tmp });
    assert.equal(stopped.status, 143, stopped.stderr);
    assert.match(stopped.stderr, /E_ABORTED: dict train stopped; nothing was trained \(SIGTERM\)\n {2}fix: Run `memzip dict train` again/);
    assert.deepEqual(readdirSync(tmp), [], "zstd's samples (the memories' texts) are not left behind");
    assert.deepEqual(JSON.parse(memzip(["dict", "ls", "--db", db, "--json"]).stdout).assets, []);
    const trained = memzip(["dict", "train", "--db", db], [], { TMPDIR: tmp });
    assert.equal(trained.status, 0, trained.stderr);
    // Trained to the end this time (then used, or measured larger than zstd alone and removed).
    assert.match(trained.stdout, /^(trained zstd dictionary |left the namespace without a zstd dictionary: the new one \()/);
  });

  it("recode: stopped between memories, exit 143, every memory reads back", async () => {
    using dir = tempDir();
    const db = join(dir.path, "recode.db");
    const file = recordsFile(dir.path, 100);
    assert.equal(memzip(["import", file, "--db", db, "--codec", "raw"], [], { MEMZIP_AUTO_TRAIN_AFTER: "0" }).status, 0);
    const hook = join(dir.path, "term-recode.mjs");
    writeFileSync(hook, ctrlCAt("\rrecode", 1, "SIGTERM"));
    const stopped = memzip(["recode", "--db", db], ["--import", hook]);
    assert.equal(stopped.status, 143, stopped.stderr);
    assert.match(stopped.stderr, /stopping the recode \(what is written stays\); SIGTERM again stops at once/);
    assert.match(stopped.stderr, /E_ABORTED: recode stopped; the memories it rewrote before stay \(SIGTERM\)/);
    assert.deepEqual(JSON.parse(memzip(["verify", "--db", db, "--json"]).stdout), { checked: 100, failed: 0, failures: [] });
    // Without the signal the recode finishes: the raw memories get smaller.
    const finished = memzip(["recode", "--db", db, "--json"]);
    assert.equal(finished.status, 0, finished.stderr);
    assert.ok((JSON.parse(finished.stdout) as { recoded: number }).recoded > 0);
  });
});
