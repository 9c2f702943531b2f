import { strict as assert } from "node:assert";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CACHE_KINDS, LOSSY_RECALL_MODES, MEMORY_KINDS, PROFILE_NAMES, RECALL_MODES, SEARCH_MODES, TRANSFER_FORMATS, WRITE_CODEC_NAMES, choices } from "../../src/core/vocabulary.js";
import { CLI, ROOT, tempDir, spawnBounded } from "../helpers.js";

const ENV = { ...process.env, MEMZIP_DB: "", MEMZIP_CONFIG: "/nonexistent/memzip-config.json" };

function memzip(args: string[], input?: string) {
  const result = spawnBounded(process.execPath, [CLI, ...args], { input, env: ENV, encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface ListedOption {
  long: string;
  short?: string;
  takesValue: boolean;
  text: string;
}

/** The flags a `--help` lists under "options:", with the text of each. */
function listedOptions(help: string): ListedOption[] {
  const section = help.split("\noptions:\n")[1];
  assert.ok(section, `no options section in:\n${help}`);
  const options: ListedOption[] = [];
  for (const line of section.split("\n")) {
    const flag = /^ {2}(?:-(\w), )?--([\w-]+)( [A-Z][\w.=]*)?(?: +(.*))?$/.exec(line);
    if (flag) options.push({ long: flag[2] as string, ...(flag[1] ? { short: flag[1] } : {}), takesValue: flag[3] !== undefined, text: flag[4] ?? "" });
    else if (options.length > 0 && /^ {4,}\S/.test(line)) (options[options.length - 1] as ListedOption).text += ` ${line.trim()}`;
    else assert.equal(line.trim(), "", `unexpected line in the options section: ${JSON.stringify(line)}`);
  }
  return options;
}

const helps = new Map<string, string>();
/** `memzip COMMAND --help` (once per command: each run is a process). */
function helpOf(command: string): string {
  let help = helps.get(command);
  if (help === undefined) {
    const result = memzip([command, "--help"]);
    assert.equal(result.status, 0, `${command} --help: ${result.stderr}`);
    help = result.stdout;
    helps.set(command, help);
  }
  return help;
}

const COMMANDS = (() => {
  const help = memzip(["help"]).stdout;
  return [...help.split("\ncommands:\n")[1]!.split("\n\n")[0]!.matchAll(/^ {2}(\S+)/gm)].map((m) => m[1] as string);
})();

describe("CLI help and options", () => {
  it("every command's --help lists each option once, and accepts exactly the options it lists", () => {
    assert.ok(COMMANDS.length >= 20, `commands: ${COMMANDS.join(", ")}`);
    for (const command of COMMANDS) {
      const help = helpOf(command);
      const options = listedOptions(help);
      const longs = options.map((o) => o.long);
      assert.deepEqual(longs, [...new Set(longs)], `${command}: an option is listed twice`);
      const shorts = options.flatMap((o) => (o.short ? [o.short] : []));
      assert.deepEqual(shorts, [...new Set(shorts)], `${command}: a short option is listed twice`);
      assert.ok(longs.includes("help") && longs.includes("json"), `${command}: --help and --json`);
      const usage = help.split("\n")[0] as string;
      for (const [, long] of usage.matchAll(/--([\w-]+)/g)) assert.ok(longs.includes(long as string), `${command}: usage names --${long}, which it does not take`);
      for (const [, short] of usage.matchAll(/(?:^|[\s[])-(\w)\b/g)) assert.ok(shorts.includes(short as string), `${command}: usage names -${short}, which it does not take`);
      // Every listed flag parses (strict parsing rejects any other); --help then prints the help.
      const all = options.flatMap((o) => (o.takesValue ? [`--${o.long}`, "x"] : [`--${o.long}`]));
      const accepted = memzip([command, ...all]);
      assert.equal(accepted.status, 0, `${command} rejects a flag its help lists: ${accepted.stderr}`);
      assert.equal(accepted.stdout, help);
    }
  });

  it("commands that only read do not take the coding flags, and unknown flags point at the command's help", () => {
    for (const command of ["rm", "get", "stats", "ls", "export", "verify", "search", "jobs", "compact"]) {
      const longs = listedOptions(helpOf(command)).map((o) => o.long);
      for (const flag of ["zstd-level", "model", "contexts", "workers", "profile"]) assert.ok(!longs.includes(flag), `${command} lists --${flag}`);
    }
    for (const command of ["add", "import", "recode"]) {
      const longs = listedOptions(helpOf(command)).map((o) => o.long);
      for (const flag of ["zstd-level", "model", "contexts", "workers", "profile"]) assert.ok(longs.includes(flag), `${command} lacks --${flag}`);
    }
    // The coding flags belong to the commands that code memories (write, recode, train, or serve writes to
    // an agent; `profile calibrate --model` codes a sample); a command that takes them is added here on purpose.
    const coders = COMMANDS.filter((command) => listedOptions(helpOf(command)).some((o) => ["zstd-level", "model", "contexts", "workers"].includes(o.long)));
    assert.deepEqual(coders.sort(), ["add", "dict", "import", "mcp", "model", "profile", "recode", "worker"]);
    const rejected = memzip(["rm", "some-id", "--zstd-level", "3"]);
    assert.equal(rejected.status, 2);
    assert.match(rejected.stderr, /E_USAGE: memzip rm has no option --zstd-level/);
    assert.match(rejected.stderr, /fix: Run `memzip rm --help`/);
    const unknown = memzip(["stats", "--no-such-flag"]);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /memzip stats has no option --no-such-flag[\s\S]*memzip stats --help/);
    const badValue = memzip(["ls", "--kind", "poem"]);
    assert.equal(badValue.status, 2);
    assert.match(badValue.stderr, /--kind must be .*, not "poem"[\s\S]*Run `memzip ls --help`/);
  });

  it("an action's flags are refused where another action of the command would take them, never ignored (trial42)", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "a.db");
    assert.equal(memzip(["add", "one memory", "--db", db]).status, 0);
    // `dict ls --max-bytes 5 --no-recode --workers 3` and `keys ls --namespace Q --role admin` exited 0, as if obeyed.
    for (const [args, flags, owner] of [
      [["dict", "ls", "--max-bytes", "5", "--no-recode", "--workers", "3"], "--max-bytes, --no-recode, --workers", "dict train"],
      [["model", "prune", "-n", "ns"], "--namespace", "model train"],
      [["keys", "ls", "--namespace", "Q", "--role", "admin"], "--namespace, --role", "keys create"],
      [["keys", "revoke", "k_1", "--label", "x"], "--label", "keys create"],
    ] as const) {
      const result = memzip([...args, "--db", db]);
      assert.equal(result.status, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.ok(result.stderr.includes(`takes no ${flags} (`) && result.stderr.includes(`for ${owner})`), result.stderr);
    }
    for (const args of [["dict", "ls"], ["model", "ls"], ["keys", "ls"]]) assert.equal(memzip([...args, "--db", db]).status, 0, args.join(" "));
    assert.match(memzip(["dict", "ls", "--db", db]).stdout, /no zstd dictionaries/);
  });

  it("usage errors say what to do: left-over arguments, a dash value, a bad --kind on add (newcomer10 finding 9)", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "u.db");
    // Nothing is opened or made before the arguments are checked.
    for (const [args, left] of [[["get", "a", "extra"], '"extra"'], [["stats", "x"], '"x"'], [["related", "a", "b", "c"], '"b" "c"']] as const) {
      const result = memzip([...args, "--db", db]);
      assert.equal(result.status, 2, result.stderr);
      assert.ok(result.stderr.includes(`memzip ${args[0]} takes `) && result.stderr.includes(`left over: ${left}`), result.stderr);
      assert.match(result.stderr, /fix: Quote a value that holds spaces/);
    }
    const dash = memzip(["ls", "--limit", "-1", "--db", db]);
    assert.equal(dash.status, 2);
    assert.match(dash.stderr, /--limit is followed by an option instead of its value; a value that starts with "-" is written --limit=VALUE/);
    const kind = memzip(["add", "a note", "--kind", "weird", "--db", db]);
    assert.equal(kind.status, 2, kind.stderr);
    assert.match(kind.stderr, /E_USAGE: --kind must be note, chat, meeting, feedback, doc or code, not "weird"/);
    assert.equal(existsSync(db), false, "a usage error makes no store");
  });

  it("states the namespace default truthfully: \"default\" where it writes, all namespaces where it reads", () => {
    const namespaceHelp = (command: string) => listedOptions(helpOf(command)).find((o) => o.long === "namespace");
    for (const command of ["add", "import", "recode"]) assert.match(namespaceHelp(command)?.text ?? "", /default: "default"/, command);
    for (const command of ["ls", "search", "export", "stats", "verify", "quality"]) assert.match(namespaceHelp(command)?.text ?? "", /default: all namespaces/, command);
    for (const command of ["get", "rm"]) assert.match(namespaceHelp(command)?.text ?? "", /the one namespace that holds it/, command);
    assert.equal(namespaceHelp("jobs"), undefined);
  });

  it("derives the choices in help texts from the vocabularies", () => {
    const option = (command: string, long: string) => listedOptions(helpOf(command)).find((o) => o.long === long)?.text ?? "";
    assert.ok(option("get", "mode").includes(choices(RECALL_MODES)));
    assert.ok(option("quality", "mode").includes(choices(LOSSY_RECALL_MODES)));
    assert.ok(option("search", "mode").includes(choices(SEARCH_MODES)));
    assert.ok(option("ls", "kind").includes(choices(MEMORY_KINDS)));
    assert.ok(option("export", "format").includes(choices(TRANSFER_FORMATS)));
    assert.ok(option("profile", "profile").includes(choices(PROFILE_NAMES)));
    for (const command of ["add", "import"]) assert.ok(option(command, "codec").includes(WRITE_CODEC_NAMES.join(", ")), command);
    assert.ok(option("recode", "to").includes(WRITE_CODEC_NAMES.join(", ")));
    assert.deepEqual([...CACHE_KINDS], ["memory", "disk", "off"]);
  });

  it("every option a command's --help lists is one its code reads", () => {
    // The command's source: the file that names it, and the files of src/cli/commands/ it imports.
    const folder = join(ROOT, "src", "cli", "commands");
    const files = new Map(readdirSync(folder).filter((f) => f.endsWith(".ts")).map((f) => [f, readFileSync(join(folder, f), "utf8")]));
    const sourceOf = (name: string): string => {
      const [first] = [...files].find(([, text]) => new RegExp(`\\bname: "${name}"`).test(text)) ?? [];
      assert.ok(first, `no file of src/cli/commands defines ${name}`);
      const seen = new Set<string>();
      const visit = (file: string) => {
        if (seen.has(file) || !files.has(file)) return;
        seen.add(file);
        for (const [, imported] of (files.get(file) as string).matchAll(/from "\.\/([\w-]+)\.js"/g)) visit(`${imported}.ts`);
      };
      visit(first);
      return [...seen].map((f) => files.get(f)).join("\n");
    };
    // What the shared helpers of src/cli/shared.ts read for the command that calls them.
    const helpers: [RegExp, string[]][] = [
      [/\b(openEngine|settingsOf|storePath|flagSettings)\(/, ["db", "config", "namespace", "cache", "zstd-level", "model", "contexts", "workers", "profile"]],
      [/\bparseFilter\(/, ["kind", "tag", "any-tag", "since", "until", "updated-since", "updated-until", "meta"]],
    ];
    for (const command of COMMANDS) {
      const source = sourceOf(command);
      const read = new Set(["help", "json"]); // read by src/cli/app.ts for every command
      for (const [, key] of source.matchAll(/values\.([A-Za-z]\w*)/g)) read.add(key as string);
      for (const [, key] of source.matchAll(/values\[\s*"([\w-]+)"\s*\]/g)) read.add(key as string);
      for (const [, keys] of source.matchAll(/const \{([^}]+)\} = context\.values/g)) for (const key of (keys as string).split(",")) read.add(key.trim().split(":")[0]!.trim());
      for (const [, key] of source.matchAll(/requirePositionalOrFlag\(context, "([\w-]+)"/g)) read.add(key as string);
      for (const [pattern, keys] of helpers) if (pattern.test(source)) for (const key of keys) read.add(key);
      const unread = listedOptions(helpOf(command)).map((o) => o.long).filter((option) => !read.has(option));
      assert.deepEqual(unread, [], `memzip ${command} lists options its code never reads`);
    }
  });

  it("memzip with no command prints the help on stderr and exits 2; `memzip help` prints it on stdout", () => {
    const bare = memzip([]);
    assert.equal(bare.status, 2);
    assert.equal(bare.stdout, "");
    assert.match(bare.stderr, /usage: memzip COMMAND/);
    const help = memzip(["help"]);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /usage: memzip COMMAND/);
  });

  it("a missing input file is E_NOT_FOUND naming the path (exit 4), before any store is touched", () => {
    using dir = tempDir();
    const db = join(dir.path, "s.db");
    const missing = join(dir.path, "no-such-file.txt");
    const add = memzip(["add", "--file", missing, "--db", db]);
    assert.equal(add.status, 4, add.stderr);
    assert.ok(add.stderr.includes(`E_NOT_FOUND: no such file: ${missing}`), add.stderr);
    assert.ok(!existsSync(db), "the store was created");
    assert.match(add.stderr, /fix: /);
    const imported = memzip(["import", join(dir.path, "absent.jsonl"), "--db", db]);
    assert.equal(imported.status, 4, imported.stderr);
    assert.ok(imported.stderr.includes("absent.jsonl"));
    const folder = memzip(["add", "--file", dir.path, "--db", db]);
    assert.equal(folder.status, 2, folder.stderr);
    assert.match(folder.stderr, /is a directory/);
    // Every other input file named on the command line: E_NOT_FOUND naming it, exit 4, no stack trace.
    const absent = join(dir.path, "absent");
    for (const args of [
      ["stats", "--config", `${absent}.yaml`],
      ["bench", "--corpus", `${absent}.jsonl`],
      ["demo", "--sample", `${absent}.jsonl`, "--db", db],
      ["models", "add", `${absent}.gguf`, "--db", db],
      ["models", "prime", `${absent}.txt`, "--db", db],
      ["entities", "--file", `${absent}.txt`],
      ["update", "some-id", "--file", `${absent}.txt`, "--db", db],
      ["import", `${absent}.arrow`, "--db", db],
    ]) {
      const run = memzip(args);
      assert.equal(run.status, 4, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, /^memzip: E_NOT_FOUND: no such (config )?file: /, args.join(" "));
      assert.ok(run.stderr.includes(absent), `${args.join(" ")} names the path: ${run.stderr}`);
      assert.doesNotMatch(run.stderr, /internal error|\n\s+at /, args.join(" "));
    }
    assert.ok(!existsSync(db), "the store was created");
    const text = join(dir.path, "note.txt");
    writeFileSync(text, "read from a file");
    assert.equal(memzip(["add", "--file", text, "--db", db]).status, 0);
  });

  it("get --json prints contentHash as hex, the same for the same text", () => {
    using dir = tempDir();
    const db = join(dir.path, "s.db");
    for (const [id, text] of [["a", "the same text twice"], ["b", "the same text twice"], ["c", "another text"]]) {
      assert.equal(memzip(["add", text as string, "--id", id as string, "--db", db]).status, 0);
    }
    const hash = (id: string) => {
      const got = memzip(["get", id, "--db", db, "--json"]);
      assert.equal(got.status, 0, got.stderr);
      return (JSON.parse(got.stdout) as { contentHash: unknown }).contentHash;
    };
    const [a, b, c] = [hash("a"), hash("b"), hash("c")];
    assert.equal(typeof a, "string");
    assert.match(a as string, /^([0-9a-f]{2}){8,}$/);
    assert.equal(a, b);
    assert.notEqual(a, c);
  });

  it("memzip --help lists every exit code the CLI can return, 70 (internal error) included", () => {
    const help = memzip(["--help"]);
    assert.equal(help.status, 0);
    const listed = help.stdout.split("Exit codes:")[1]?.split("\n\n")[0] ?? "";
    // The codes the CLI's one table (and its two constants) return, read from its source (tests do not import the CLI).
    const table = readFileSync(join(ROOT, "src", "cli", "exit-codes.ts"), "utf8");
    const codes = new Set([0, ...[...table.matchAll(/(?::|=) (\d+)[,;]/g)].map((m) => Number(m[1]))]);
    assert.ok(codes.has(70) && codes.has(130) && codes.has(1), [...codes].join(" "));
    for (const code of codes) assert.match(listed, new RegExp(`(^|[\\s,/])${code} `), `exit ${code} is not in memzip --help`);
  });
});
