import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { CLI, tempDir, spawnBounded } from "../helpers.js";

function memzip(args: string[], input?: string) {
  const result = spawnBounded(process.execPath, [CLI, ...args], { input, env: { ...process.env, MEMZIP_DB: "", MEMZIP_CONFIG: "/nonexistent/memzip-config.json" } });
  return { status: result.status, stdout: result.stdout.toString("utf8"), stderr: result.stderr.toString("utf8"), json: () => JSON.parse(result.stdout.toString("utf8")) as Record<string, unknown> };
}

describe("updates", () => {
  it("engine.update patches text, kind, tags and meta and keeps the rest; re-adding a text keeps its metadata", async () => {
    await using dir = tempDir();
    const engine = Engine.open({ db: join(dir.path, "update.db"), cache: "off" });
    try {
      await engine.remember({ id: "m", text: "Miso the cat sleeps on the balcony.", kind: "feedback", tags: ["pets", "family"], meta: { mood: "calm", n: 1 }, createdAt: 1000 });
      // The same text again with no metadata: nothing is lost.
      assert.equal((await engine.remember({ id: "m", text: "Miso the cat sleeps on the balcony." })).status, "unchanged");
      let row = await engine.memory("m");
      assert.deepEqual([row.kind, row.tags, row.meta, row.createdAt], ["feedback", ["pets", "family"], { mood: "calm", n: 1 }, 1000]);
      // A new text with no metadata keeps it too.
      await engine.remember({ id: "m", text: "Miso the cat now sleeps indoors. 猫在室内睡觉 🐈" });
      row = await engine.memory("m");
      assert.deepEqual([row.kind, row.tags, row.createdAt], ["feedback", ["pets", "family"], 1000]);
      assert.equal(await engine.recall("m"), "Miso the cat now sleeps indoors. 猫在室内睡觉 🐈");
      // A patch: only what it gives changes.
      const result = await engine.update("m", { tags: ["pets"], meta: { mood: null, seen: "2026-11-30" } });
      assert.equal(result.status, "updated");
      row = await engine.memory("m");
      assert.deepEqual([row.kind, row.tags, row.meta, row.createdAt], ["feedback", ["pets"], { n: 1, seen: "2026-11-30" }, 1000]);
      assert.equal(await engine.recall("m"), "Miso the cat now sleeps indoors. 猫在室内睡觉 🐈");
      await engine.update("m", { text: "x".repeat(5000), kind: "note" });
      assert.equal(await engine.recall("m"), "x".repeat(5000));
      assert.deepEqual([(await engine.memory("m")).kind, (await engine.memory("m")).tags], ["note", ["pets"]]);
      await assert.rejects(engine.update("nope", { text: "a" }), { code: "E_NOT_FOUND" });
      assert.equal((await engine.verify()).failed, 0);
    } finally {
      await engine.close();
    }
  });

  it("memzip update --if-match changes the memory only while it is as the read with that tag saw it (else exit 15, nothing written)", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "cli-if-match.db");
    assert.equal(memzip(["add", "The boiler service is due in March.", "--id", "b", "--db", db]).status, 0);
    const tag = memzip(["get", "b", "--db", db, "--json"]).json().etag as string;
    assert.match(tag, /^"m[\w-]+"$/);
    assert.equal(memzip(["update", "b", "--text", "The boiler service is due in April.", "--if-match", tag, "--db", db]).status, 0);
    const stale = memzip(["update", "b", "--meta", "by=someone", "--if-match", tag, "--db", db, "--json"]);
    assert.equal(stale.status, 15, stale.stderr);
    assert.equal((stale.json().error as { code: string }).code, "E_PRECONDITION");
    const got = memzip(["get", "b", "--db", db, "--json"]).json();
    assert.deepEqual([got.text, got.meta], ["The boiler service is due in April.", {}]);
    assert.notEqual(got.etag, tag);
    assert.equal(memzip(["update", "b", "--meta", "by=me", "--if-match", got.etag as string, "--db", db]).status, 0);
    // rm --if-match: a stale tag removes nothing (exit 15); the current one removes it; one id only.
    assert.equal(memzip(["rm", "b", "--if-match", got.etag as string, "--db", db]).status, 15);
    const now = memzip(["get", "b", "--db", db, "--json"]).json().etag as string;
    assert.equal(memzip(["rm", "b", "other", "--if-match", now, "--db", db]).status, 2);
    assert.equal(memzip(["rm", "b", "--if-match", now, "--db", db]).status, 0);
    assert.equal(memzip(["get", "b", "--db", db]).status, 4);
  });

  it("memzip update changes what its flags give", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "cli-update.db");
    assert.equal(memzip(["add", "first text of the memory", "--id", "a", "--kind", "chat", "--tag", "x", "--db", db]).status, 0);
    assert.equal(memzip(["update", "a", "--text", "second text", "--db", db]).status, 0);
    assert.equal(memzip(["get", "a", "--db", db]).stdout, "second text");
    assert.equal(memzip(["update", "a", "--file", "-", "--meta", "k=1", "--meta", "s=str", "--db", db], "third text\nfrom stdin").status, 0);
    let got = memzip(["get", "a", "--db", db, "--json"]).json();
    assert.deepEqual([got.text, got.kind, got.tags, got.meta], ["third text\nfrom stdin", "chat", ["x"], { k: 1, s: "str" }]);
    assert.equal(memzip(["update", "a", "--no-tags", "--meta", "k=", "--kind", "note", "--db", db]).status, 0);
    got = memzip(["get", "a", "--db", db, "--json"]).json();
    assert.deepEqual([got.kind, got.tags, got.meta], ["note", [], { s: "str" }]);
    assert.equal(memzip(["update", "a", "--db", db]).status, 2, "nothing to change");
    // Every text it had, oldest first, exact; metadata changes alone made no version.
    const history = memzip(["history", "a", "--db", db, "--json"]).json() as { namespace: string; versions: { version: number; text: string; kind: string; replacedAt: number | null }[] };
    assert.equal(history.namespace, "default");
    assert.deepEqual(history.versions.map((v) => [v.version, v.text, v.kind, v.replacedAt === null]), [
      [1, "first text of the memory", "chat", false],
      [2, "second text", "chat", false],
      [3, "third text\nfrom stdin", "note", true],
    ]);
    const human = memzip(["history", "a", "-n", "default", "--db", db]);
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout, /^v1 .*chat \[x\].*\nfirst text of the memory\n\nv2 .*\nsecond text\n\nv3 .*current.*\nthird text\nfrom stdin\n$/s);
    assert.equal(memzip(["history", "missing", "--db", db]).status, 4);
    assert.match(memzip(["stats", "--db", db]).stdout, /history: 2 earlier versions/);
    assert.equal(memzip(["rm", "a", "--db", db]).status, 0);
    assert.equal(memzip(["history", "a", "--db", db]).status, 4);

    assert.equal(memzip(["update", "missing", "--text", "t", "--db", db]).status, 4);
    assert.equal(memzip(["update", "a", "--meta", "=v", "--db", db]).status, 2);
    // A number a double cannot hold is refused, naming how to keep it as text (trial56: it was stored rounded).
    const snowflake = memzip(["update", "a", "--meta", "tweet=1234567890123456789", "--db", db]);
    assert.equal(snowflake.status, 2);
    assert.match(snowflake.stderr, /1234567890123456789 cannot be kept exactly.*tweet='"1234567890123456789"'/);
    // Inside an object or an array too (review of stop 56).
    for (const pair of ['o={"id":1234567890123456789}', "l=[1234567890123456789]"]) {
      const nested = memzip(["update", "a", "--meta", pair, "--db", db]);
      assert.equal(nested.status, 2, pair);
      assert.match(nested.stderr, /1234567890123456789 cannot be kept exactly/);
    }
  });
});
