import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CLI, tempDir, spawnBounded } from "../helpers.js";

const ENV = { ...process.env, MEMZIP_DB: "", MEMZIP_CONFIG: "/nonexistent/memzip-config.json" };

function memzip(args: string[], input?: string) {
  const result = spawnBounded(process.execPath, [CLI, ...args], { input, env: ENV });
  return { status: result.status, stdout: result.stdout.toString("utf8"), stderr: result.stderr.toString("utf8") };
}

/** Hostile trial of stop 63: what `memzip search` prints of a memory's text. */
describe("memzip search output", () => {
  it("escapes a memory's control characters in the human listing, and keeps them in --json", () => {
    using dir = tempDir();
    const db = join(dir.path, "x.db");
    const text = "ansicanary \u001b[2J\u001b]0;pwned\u0007 \u001b[31mred";
    assert.equal(memzip(["add", "--file", "-", "--id", "ansi", "--db", db], text).status, 0);
    const human = memzip(["search", "ansicanary", "--db", db]);
    assert.equal(human.status, 0, human.stderr);
    assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(human.stdout), JSON.stringify(human.stdout));
    assert.match(human.stdout, /ansicanary \\u001b\[2J\\u001b\]0;pwned\\u0007 \\u001b\[31mred/);
    const json = memzip(["search", "ansicanary", "--db", db, "--json"]);
    const hits = (JSON.parse(json.stdout) as { hits: { id: string; preview: string }[] }).hits;
    assert.deepEqual(hits.map((hit) => [hit.id, hit.preview]), [["ansi", text]]);
  });

  it("never cuts an emoji in half in a preview", () => {
    using dir = tempDir();
    const db = join(dir.path, "x.db");
    // Unit 99 is the first half of an emoji: the cut at 99 units would keep only it.
    const text = `surrcut ${"b".repeat(90)}😀😀😀 tail`;
    assert.equal(memzip(["add", text, "--id", "sc", "--db", db]).status, 0);
    const json = memzip(["search", "surrcut", "--db", db, "--json"]);
    const [hit] = (JSON.parse(json.stdout) as { hits: { preview: string }[] }).hits;
    assert.ok(hit && hit.preview.endsWith("…"), JSON.stringify(hit));
    assert.ok(!/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(hit.preview), JSON.stringify(hit.preview));
    assert.ok(text.startsWith(hit.preview.slice(0, -1)));
  });

  it("related says how to list the nearest memories when none reaches the default floor (newcomer trial of stop 63)", () => {
    using dir = tempDir();
    const db = join(dir.path, "x.db");
    assert.equal(memzip(["add", "The user prefers green tea.", "--id", "tea", "--db", db]).status, 0);
    assert.equal(memzip(["add", "Deploy the billing service on Friday.", "--id", "deploy", "--db", db]).status, 0);
    const none = memzip(["related", "tea", "--db", db]);
    assert.equal(none.status, 0, none.stderr);
    assert.match(none.stdout, /no matches/);
    assert.match(none.stderr, /`--min-similarity 0` lists the nearest anyway/);
    const nearest = memzip(["related", "tea", "--min-similarity", "0", "--db", db]);
    assert.match(nearest.stdout, /deploy/);
    assert.doesNotMatch(nearest.stderr, /min-similarity/);
  });

  it('reads "--json" after "--" as an argument, not as the output option', () => {
    using dir = tempDir();
    const db = join(dir.path, "x.db");
    const added = memzip(["add", "--id", "flag", "--db", db, "--", "--json"]);
    assert.equal(added.status, 0, added.stderr);
    assert.throws(() => JSON.parse(added.stdout), SyntaxError, "human output, not JSON");
    assert.equal(memzip(["get", "flag", "--db", db]).stdout.trim(), "--json");
    const searched = memzip(["search", "--db", db, "--", "--json"]);
    assert.equal(searched.status, 0, searched.stderr);
    assert.throws(() => JSON.parse(searched.stdout), SyntaxError);
    assert.match(searched.stdout, /flag/);
  });
});
