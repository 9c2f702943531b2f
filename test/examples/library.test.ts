import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ROOT, spawnBounded } from "../helpers.js";

const SCRIPT = join(ROOT, "examples", "library.mjs");

describe("examples/library.mjs", () => {
  it("runs on this Node as written: remembers, recalls, searches, lists, reports stats and a typed error", () => {
    const result = spawnBounded(process.execPath, [SCRIPT], { cwd: ROOT, encoding: "utf8", env: { ...process.env, MEMZIP_DB: "", MEMZIP_CONFIG: "/nonexistent/memzip-config.json" } });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, "");
    const lines = result.stdout.trimEnd().split("\n");
    const meeting = /^remembered (m-[0-9a-f]+): 52 bytes as [\w-]+$/.exec(lines[0] ?? "")?.[1];
    assert.ok(meeting, result.stdout);
    assert.equal(lines[1], "recalled: Meeting with Li Qiang moved to Friday 10:30, room 4.");
    const listed = lines.filter((l) => l.startsWith("listed: "));
    assert.deepEqual(listed.map((l) => l.replace(/m-[0-9a-f]+/, "ID")), ["listed: ID (meeting)", "listed: ID (note)"]);
    assert.equal(listed[0], `listed: ${meeting} (meeting)`);
    const note = /^listed: (\S+) \(note\)$/.exec(listed[1] ?? "")?.[1];
    assert.equal(lines[2], `search: ${note}`, "the search for green tea finds the note");
    assert.equal(lines[5], "stats: 2 memories, 89 bytes of text");
    assert.match(lines[6] ?? "", /^error: E_NOT_FOUND \(.+\)$/);
    assert.equal(lines.length, 7);
  });

  it("exports what the README names for front ends: resolveConfig and the settings' vocabularies (trial: resolveConfig was reachable only by a deep import the package refuses)", () => {
    const probe = `import { resolveConfig, RECALL_MODES, WRITE_CODEC_NAMES } from "memzip";
const config = resolveConfig({ env: { MEMZIP_NAMESPACE: "agent-7", MEMZIP_CONFIG: "/nonexistent/memzip-config.json" }, flags: { zstdLevel: 5 } });
console.log(JSON.stringify({ namespace: config.namespace, zstdLevel: config.zstdLevel, recall: RECALL_MODES, codecs: WRITE_CODEC_NAMES.includes("cm") }));`;
    const result = spawnBounded(process.execPath, ["--input-type=module", "-e", probe], { cwd: ROOT, encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { namespace: "agent-7", zstdLevel: 5, recall: ["exact", "summary", "rebuilt"], codecs: true });
  });

  it("is the README's library section, verbatim", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const section = readme.split("\n## Library\n")[1]?.split("\n## ")[0] ?? "";
    const block = /```js\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(block, "README.md's Library section has no ```js block");
    assert.equal(block, readFileSync(SCRIPT, "utf8"));
    assert.ok(!/await using|\busing\s+\w+\s*=/.test(block), "Node 20 has no `using` declarations");
  });
});
