import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { CHILD_TIMEOUT_MS, CLI, ROOT, SHARED, devCorpus, spawnBounded } from "../helpers.js";

/**
 * The README doc test: every command example of README.md's sh/bash/console blocks that runs
 * `memzip`, `npm` or `node` is run, in README order, against a temporary store (HOME, the default
 * store and config under a temporary folder; MEMZIP_* unset), and must exit 0 unless an entry
 * below says otherwise. An entry adds what the example's output must show; a few are exempt, with
 * the reason. A command added to the README runs here by default, so one that does not run fails.
 */

interface Example {
  /** The command as written, comment removed, continuation lines joined. */
  command: string;
  line: number;
}

/** The command lines of the README's shell blocks. */
export function readmeExamples(readme: string): Example[] {
  const examples: Example[] = [];
  const lines = readme.split("\n");
  let inShell = false;
  let inBlock = false;
  let pending = "";
  let pendingLine = 0;
  lines.forEach((raw, index) => {
    const fence = /^```(\w*)/.exec(raw);
    if (fence) {
      if (inBlock) {
        inBlock = false;
        inShell = false;
      } else {
        inBlock = true;
        inShell = ["sh", "bash", "console", "shell"].includes(fence[1] ?? "");
      }
      return;
    }
    if (!inShell) return;
    let text = stripComment(raw.replace(/^\$ /, ""));
    if (text.trim() === "" && pending === "") return;
    if (pending === "") pendingLine = index + 1;
    const continued = text.endsWith("\\");
    if (continued) text = text.slice(0, -1);
    pending += (pending ? " " : "") + text.trim();
    if (continued) return;
    if (/^(memzip|npm|node|npx)\s/.test(pending)) examples.push({ command: pending, line: pendingLine });
    pending = "";
  });
  return examples;
}

/** The line without a trailing `# comment` (a # outside quotes, after a space or at the start). */
function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(line[i - 1] as string))) return line.slice(0, i).trimEnd();
  }
  return line.trimEnd();
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

interface Context {
  dir: string;
  env: NodeJS.ProcessEnv;
  /** Placeholders of the README's examples and the values they stand for here. */
  vars: Map<string, string>;
  sh(command: string): Run;
}

interface Entry {
  /** Why the example is not run here. */
  exempt?: string;
  /** Files the example reads, written before it runs. */
  before?: (context: Context) => void;
  /** Runs the example its own way (long-running commands); else it runs as written, placeholders replaced. */
  run?: (context: Context, command: string) => Promise<Run>;
  /** The exit code the README states (default 0). */
  status?: number;
  /** What the output must show. */
  check?: (run: Run, context: Context) => void;
}

const TEA = "The user prefers green tea, no sugar.";
const ATLAS = "Atlas migration moved to Friday; Li Qiang owns the cutover.";
const STORY = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.";

function json<T>(run: Run): T {
  return JSON.parse(run.stdout) as T;
}

/** What each example must show, keyed by the command as the README writes it. */
const ENTRIES: Record<string, Entry> = {
  "npm ci && npm start": {
    // `npm ci` reinstalls node_modules under the running suite, and `npm test` has just built; what
    // `npm start` runs after its build is the demo, run here as the start script names it.
    run: async (context) => {
      const start = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts.start;
      assert.equal(start, "npm run build && node dist/src/cli/main.js demo");
      return context.sh(`node ${JSON.stringify(CLI)} demo`);
    },
    check: (run) => {
      assert.match(run.stdout, /round trip: (\d+)\/\1 memories came back byte for byte; verify: \d+ checked, 0 failed/);
      // 27 notes: measured, neither a snapshot nor a dictionary of their own beats the shipped base model.
      assert.match(run.stderr, /trained a \d+-byte cm-snapshot on them in [\d.]+s: not used, it would store them larger \(~\d+ bytes with it against ~\d+ without\)/);
      assert.match(run.stdout, /\(cm coded them with the base model shipped with memzip;/);
      // Its scratch store is gone at the end (newcomer9: one left in /tmp by every run).
      const store = /^store: (.*)$/m.exec(run.stderr)?.[1];
      assert.ok(store && !existsSync(store) && run.stderr.includes(`removed the demo store ${dirname(store)} (--keep keeps it)`), run.stderr);
    },
  },
  "npm test": { exempt: "the whole suite, of which this test is a part" },
  "memzip import notes.jsonl --namespace agent-7": {
    before: ({ dir }) => {
      const corpus = devCorpus().slice(0, 40).map((r) => ({ id: r.id, text: r.text }));
      const own = [
        { id: "tea-pref", text: TEA, kind: "note", tags: ["prefs"] },
        { id: "atlas", text: ATLAS, kind: "meeting", tags: ["work"] },
      ];
      writeFileSync(join(dir, "notes.jsonl"), [...corpus, ...own].map((r) => JSON.stringify(r)).join("\n") + "\n");
    },
    check: (run) => {
      assert.match(run.stdout, /^read 42: 42 stored, 0 updated, 0 unchanged, 0 rejected$/m);
      assert.match(run.stdout, /^namespace agent-7: 42 memories/m);
    },
  },
  "memzip import notes.jsonl --profile cloud --workers 1": {
    check: (run) => assert.match(run.stdout, /^read 42: 42 stored/m),
  },
  "memzip profile show": {
    check: (run) => assert.match(run.stdout, /^profile auto\n[\s\S]*codec workers/),
  },
  "memzip jobs": {
    check: (run, context) => {
      const jobs = [...run.stdout.matchAll(/^(job-\S+)\tdone\t(\S+)\t42 lines, 100%/gm)];
      assert.deepEqual(jobs.map((j) => j[2]).sort(), ["agent-7", "default"], run.stdout);
      context.vars.set("JOB", jobs[0]?.[1] as string);
    },
  },
  "memzip import notes.jsonl --resume JOB": {
    check: (run) => assert.match(run.stdout, /^job job-\S+ had already finished \(namespace default\): nothing imported/m, "a finished job says so and reads nothing"),
  },
  'memzip add "the user prefers tea" --kind note --tag prefs': {
    check: (run, context) => {
      const id = /^(m-[0-9a-f]+)\s+stored\s/.exec(run.stdout)?.[1];
      assert.ok(id, run.stdout);
      context.vars.set("ID", id);
    },
  },
  "memzip update ID --tag prefs --tag drinks --meta source=chat": {
    check: (run, context) => {
      const id = context.vars.get("ID") as string;
      assert.match(run.stdout, new RegExp(`^${id}\\s+updated\\s`));
      const got = context.sh(`memzip get ${id} --json`);
      assert.equal(got.status, 0, got.stderr);
      const memory = json<{ text: string; kind: string; tags: string[]; meta: Record<string, unknown> }>(got);
      assert.deepEqual([memory.text, memory.kind, memory.tags, memory.meta.source], ["the user prefers tea", "note", ["prefs", "drinks"], "chat"]);
    },
  },
  "memzip get ID > original.txt": {
    check: (run, { dir }) => assert.equal(readFileSync(join(dir, "original.txt"), "utf8"), "the user prefers tea"),
  },
  "memzip get ID --mode summary": {
    status: 4,
    check: (run) => assert.match(run.stderr, /E_NOT_FOUND: memory "m-[0-9a-f]+" has no summary: semantic features were off/),
  },
  'memzip search "atlas migration friday" --json': {
    check: (run) => {
      const result = json<{ embedder: string; hits: { id: string }[] }>(run);
      assert.equal(result.embedder, "ngram-256");
      assert.equal(result.hits[0]?.id, "atlas", run.stdout);
    },
  },
  "memzip related ID --limit 5": {
    check: (run) => assert.match(run.stdout, /^ 1\. tea-pref\s/m, "the green tea note is the most like `the user prefers tea`"),
  },
  "memzip quality --chart quality.svg --failures flagged.jsonl": {
    check: (run, { dir }) => {
      assert.match(run.stdout, /^exact match\s+(\d+)\/\1$/m);
      assert.match(readFileSync(join(dir, "quality.svg"), "utf8"), /^<svg/);
      assert.equal(readFileSync(join(dir, "flagged.jsonl"), "utf8"), "");
    },
  },
  "memzip ls --namespace agent-7 --tag prefs --since 7d --limit 20": {
    check: (run) => {
      assert.match(run.stdout, /tea-pref/);
      assert.doesNotMatch(run.stdout, /atlas/);
    },
  },
  'memzip search "tea" --kind note --since 2026-11-01': {
    check: (run, context) => {
      assert.match(run.stdout, new RegExp(context.vars.get("ID") as string));
      assert.doesNotMatch(run.stdout, /atlas/);
    },
  },
  "memzip export --format jsonl > all.jsonl": {
    check: (run, { dir }) => {
      const records = readFileSync(join(dir, "all.jsonl"), "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as { text: string; namespace: string });
      assert.equal(records.length, 85);
      assert.ok(records.some((r) => r.text === TEA && r.namespace === "agent-7"));
    },
  },
  "memzip export --tag prefs | memzip import - --db prefs.db": {
    check: (run, { dir }) => {
      // The tagged notes of both namespaces; each lands in the namespace its record names.
      assert.match(run.stdout, /^read 3: 3 stored, 0 updated, 0 unchanged, 0 rejected$/m);
      assert.match(run.stdout, /^namespace default: 2 memories, [\s\S]*^namespace agent-7: 1 memory, /m);
      assert.ok(existsSync(join(dir, "prefs.db")));
      assert.deepEqual(readdirSync(dir).filter((name) => name.startsWith("memzip-stdin-")), [], "the copy of stdin is gone");
    },
  },
  "memzip verify --json": {
    check: (run) => assert.deepEqual(json(run), { checked: 85, failed: 0, failures: [] }),
  },
  "memzip verify --set-aside-damaged": {
    check: (run) => assert.match(run.stdout, /^nothing to set aside: every part of the store reads\nchecked 85, failed 0$/m),
  },
  "memzip stats --json": {
    check: (run) => {
      const stats = json<Record<string, unknown>>(run);
      for (const field of ["memories", "originalBytes", "envelopeBytes", "assetBytes", "storedBytes", "bitsPerByte", "fileBytes"]) assert.equal(typeof stats[field], "number", field);
      assert.equal(stats.memories, 85);
    },
  },
  "memzip profile calibrate --model stories260K.gguf": {
    exempt: "measures this machine for minutes (every setting in interleaved rounds, the model in several contexts); test/config/calibration.test.ts runs `profile calibrate` through the CLI with a tiny budget, and with a --model that is not a file",
  },
  "memzip compact": { check: (run) => assert.match(run.stdout, /^store file .+ -> .+$/m) },
  // 42 short notes: the shipped base model codes them smaller than a dictionary or a snapshot of their own would, measured.
  "memzip dict train --namespace agent-7": {
    check: (run) => assert.match(run.stdout, /^left the namespace without a zstd dictionary: the new one \(.* from 42 memories .*\) would make the namespace larger \(measured on 42 memories: /),
  },
  "memzip model train --namespace agent-7": {
    check: (run) => assert.match(run.stdout, /^left the namespace without a context-model snapshot: the new one \(.* from 42 memories .*\) would make the namespace larger \(measured on 42 memories: /),
  },
  "memzip model prune": {},
  "memzip models add ~/models/SmolLM2-135M.Q8_0.gguf --name smol": {
    // A stand-in for SmolLM2 (not shipped here): the shared test model, at the README's path.
    before: ({ dir }) => {
      mkdirSync(join(dir, "models"), { recursive: true });
      copyFileSync(join(SHARED, "models", "stories260K.gguf"), join(dir, "models", "SmolLM2-135M.Q8_0.gguf"));
    },
    check: (run) => assert.match(run.stdout, /^smol {2}[0-9a-f]{16} {2}llama, vocabulary 512/),
  },
  "memzip models ls": { check: (run) => assert.match(run.stdout, /^smol\t[0-9a-f]{16}\tllama\t512\t/m) },
  "memzip models pull smollm2-135m": { exempt: "downloads 135 MB from Hugging Face; offline it exits 9 (E_DEPENDENCY), as test/cli/cli.test.ts checks" },
  "memzip import notes.jsonl --model smol --contexts 2": { check: (run) => assert.match(run.stdout, /^read 42: /m) },
  'memzip add "..." --model smol --codec llm': {
    run: async (context, command) => context.sh(command.replace('"..."', JSON.stringify(STORY))),
    check: (run) => assert.match(run.stdout, /^m-[0-9a-f]+\s+stored\s+llm\s/),
  },
  "memzip models prime glossary.txt -n agent-7": {
    before: ({ dir }) => writeFileSync(join(dir, "glossary.txt"), "Atlas: the database migration. Cutover: the switch to the new cluster.\n"),
    check: (run) => assert.match(run.stdout, /^namespace agent-7: llm memories are now primed with \d+ B/),
  },
  "memzip recode --to zstd": { check: (run) => assert.match(run.stdout, /^recoded \d+ of \d+/) },
  // After the recode above no memory is coded with the model: rm forgets it.
  "memzip models rm smol": { check: (run) => assert.match(run.stdout, /^removed smol  [0-9a-f]{16} \(the file stays at .*SmolLM2-135M\.Q8_0\.gguf\)$/m) },
  "memzip bench --corpus notes.jsonl": { check: (run) => assert.match(run.stdout, /^\| memzip `cm` \|/m) },
  'memzip entities "李强周五前完成迁移, mail li@example.cn" --json': {
    check: (run) => {
      const { entities } = json<{ entities: { type: string; text: string }[] }>(run);
      assert.deepEqual(entities.map((e) => `${e.type}:${e.text}`), ["person:李强", "datetime:周五", "email:li@example.cn"]);
    },
  },
  "memzip rm ID": {
    check: (run, context) => {
      assert.match(run.stdout, /^removed 1$/m);
      assert.equal(context.sh(`memzip get ${context.vars.get("ID") as string}`).status, 4);
    },
  },
  "memzip keys create --db memories.db --namespace agent-7 --role write": {
    check: (run, context) => {
      const key = /^(mzk_\S+)$/m.exec(run.stdout)?.[1];
      assert.ok(key, run.stdout);
      context.vars.set("KEY", key);
    },
  },
  "memzip serve --db memories.db": {
    // Runs until stopped: here on a free port (7411 may be taken), one request, then SIGTERM.
    run: (context, command) => serveOnce(context, `${command} --port 0`),
    check: (run) => assert.match(run.stderr, /^listening on http:\/\/127\.0\.0\.1:\d+$/m),
  },
};

/** Starts `memzip serve`, waits for its `listening on` line, asks /v1/stats with the key, stops it. */
function serveOnce(context: Context, command: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", `exec ${command}`], { cwd: context.dir, env: context.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let asked = false;
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const url = /listening on (http:\/\/\S+)/.exec(stderr)?.[1];
      if (!url || asked) return;
      asked = true;
      fetch(`${url}/v1/stats`, { headers: { authorization: `Bearer ${context.vars.get("KEY") as string}` } })
        .then(async (response) => {
          assert.equal(response.status, 200);
          assert.equal(((await response.json()) as { totals: { memories: number } }).totals.memories, 0);
        })
        .then(() => child.kill("SIGTERM"), (error: unknown) => {
          child.kill("SIGKILL");
          reject(error as Error);
        });
    });
    // Bounded: a server that never listens (or never stops) is killed and fails the example by name.
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`\`${command}\` did not listen and stop within ${CHILD_TIMEOUT_MS / 1000} s: ${stderr}`));
    }, CHILD_TIMEOUT_MS);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe("README.md command examples", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const examples = readmeExamples(readme);

  it("finds the README's examples, and every entry here is still one of them", () => {
    assert.ok(examples.length >= 30, `examples: ${examples.map((e) => e.command).join("\n")}`);
    const written = new Set(examples.map((e) => e.command));
    for (const command of Object.keys(ENTRIES)) assert.ok(written.has(command), `the README no longer has \`${command}\`: update test/examples/readme.test.ts`);
  });

  it("runs every one against a temporary store, as written", async () => {
    const dir = mkdtempSync(join(tmpdir(), "memzip-readme-"));
    try {
      const bin = join(dir, ".bin");
      mkdirSync(bin);
      writeFileSync(join(bin, "memzip"), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"\n`);
      chmodSync(join(bin, "memzip"), 0o755);
      const env: NodeJS.ProcessEnv = { PATH: `${bin}:${process.env.PATH ?? ""}`, HOME: dir, TMPDIR: dir, LANG: "C.UTF-8" };
      const vars = new Map<string, string>();
      const context: Context = {
        dir,
        env,
        vars,
        sh: (command) => {
          const result = spawnBounded("bash", ["-c", command], { cwd: dir, env, encoding: "utf8", timeout: 120_000 });
          return { status: result.status, stdout: result.stdout, stderr: result.stderr };
        },
      };
      for (const { command, line } of examples) {
        const entry = ENTRIES[command] ?? {};
        if (entry.exempt) continue;
        entry.before?.(context);
        const written = command.replace(/\b(ID|JOB)\b/g, (name) => {
          const value = vars.get(name);
          assert.ok(value, `README.md:${line}: \`${command}\` uses ${name} before an example printed one`);
          return value;
        });
        const run = entry.run ? await entry.run(context, written) : context.sh(written);
        const where = `README.md:${line}: \`${command}\``;
        assert.equal(run.status, entry.status ?? 0, `${where} exited ${String(run.status)}\n${run.stdout}\n${run.stderr}`);
        assert.doesNotMatch(run.stderr, /internal error/, where);
        try {
          entry.check?.(run, context);
        } catch (error) {
          throw new Error(`${where}: ${(error as Error).message}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`, { cause: error });
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads commands from shell blocks only, comments dropped and continuation lines joined", () => {
    const found = readmeExamples("```sh\nmemzip add x   # a comment\nmemzip get \\\n  ID --json\ncurl -s x\n```\n```json\nmemzip not-shell\n```\n");
    assert.deepEqual(found, [{ command: "memzip add x", line: 2 }, { command: "memzip get ID --json", line: 3 }]);
  });
});
