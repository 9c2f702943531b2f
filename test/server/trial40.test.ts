import { strict as assert } from "node:assert";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { MemoryFilterSchema, MemoryFilterTextSchema } from "../../src/core/filter.js";
import { Engine } from "../../src/engine.js";
import { LATEST_TIME_MS } from "../../src/pipeline/records.js";
import { CLI, spawnBounded, storeOf, tempDir } from "../helpers.js";
import { bearer, startServer } from "./http.js";

type ErrorBody = { error: { code: string; message: string; hint?: string } };

function memzip(args: string[]) {
  const result = spawnBounded(process.execPath, [CLI, ...args], { env: { ...process.env, MEMZIP_DB: "", MEMZIP_CONFIG: "/nonexistent/memzip-config.json" } });
  return { status: result.status, stdout: result.stdout.toString("utf8"), stderr: result.stderr.toString("utf8") };
}

/** What trial40 found: an expiry past any date, a filter key that vanished, a deep meta patch, unbounded tags, error answers without their code or hint. */
describe("trial40's edges", () => {
  it("an expiry or TTL past the latest date is refused at every door; a row an older build wrote that way is still listed", async () => {
    using dir = tempDir();
    const db = join(dir.path, "ttl.db");
    // CLI: the TTL that overflowed (now + TTL above 2^53) is E_INVALID_INPUT (exit 3), nothing stored.
    const add = memzip(["add", "ttl text", "--id", "t", "--ttl", "104249991d", "--db", db]);
    assert.equal(add.status, 3, add.stderr);
    assert.match(add.stderr, /E_INVALID_INPUT: a TTL of \d+ ms reaches past the latest time/);
    assert.equal(memzip(["add", "ttl text", "--id", "t", "--ttl", "36500d", "--db", db]).status, 0);
    assert.equal(memzip(["update", "t", "--ttl", "104249991d", "--db", db]).status, 3);
    // A record's expiresAt past the latest date is a rejected record; the latest date itself is kept.
    const file = join(dir.path, "late.jsonl");
    const lines = [
      { id: "late", text: "too late", expiresAt: LATEST_TIME_MS + 1 },
      { id: "half", text: "half a millisecond", createdAt: 1.5 },
      { id: "ages", text: "before any date", createdAt: -LATEST_TIME_MS - 1 },
      { id: "last", text: "just in time", expiresAt: LATEST_TIME_MS, createdAt: -LATEST_TIME_MS },
    ];
    writeFileSync(file, lines.map((line) => JSON.stringify(line)).join("\n"));
    const imported = memzip(["import", file, "--db", db, "--json"]);
    assert.equal(imported.status, 1, imported.stderr);
    assert.match(imported.stderr + imported.stdout, /past the latest time memzip keeps/);
    assert.match(imported.stderr + imported.stdout, /createdAt.{0,3} must be whole milliseconds/);
    const kept = memzip(["ls", "--db", db, "--json"]);
    assert.deepEqual((JSON.parse(kept.stdout) as { memories: { id: string }[] }).memories.map((m) => m.id).sort(), ["last", "t"]);

    const running = await startServer(dir.path, { logLevel: "silent" }, { cache: "off" }, "rest.db");
    try {
      const key = (await running.engine.keys.create({ role: "write", namespaces: ["a"] })).key;
      const post = await fetch(`${running.url}/v1/memories`, { method: "POST", headers: bearer(key, { "content-type": "application/json" }), body: JSON.stringify({ id: "x", text: "x", expiresAt: LATEST_TIME_MS + 1 }) });
      assert.equal(post.status, 400);
      // A row an older build stored with an expiry above the safe integers: listed and read, not a 400 that blames the request.
      await running.engine.remember({ id: "old", text: "stored by an older build", namespace: "a" });
      const store = storeOf(running.engine);
      const row = await store.memories.get("a", "old");
      assert.ok(row);
      const { version: _version, contentOf: _contentOf, storedLength: _storedLength, ...writable } = row;
      await store.memories.put([{ ...writable, expiresAt: 9_008_995_580_062_172 }]);
      const listed = await fetch(`${running.url}/v1/memories?namespace=a`, { headers: bearer(key) });
      assert.equal(listed.status, 200, await listed.clone().text());
      assert.equal(((await listed.json()) as { items: { id: string }[] }).items.length, 1);
      assert.equal((await fetch(`${running.url}/v1/memories/old?namespace=a`, { headers: bearer(key) })).status, 200);
    } finally {
      await running.server.close();
    }
  });

  it("a meta filter on a key named __proto__ is refused (it vanished and the filter matched everything: rm --where deleted all)", async () => {
    using dir = tempDir();
    const db = join(dir.path, "proto.db");
    const file = join(dir.path, "p.jsonl");
    writeFileSync(file, ['{"text":"a","id":"a"}', '{"text":"b","id":"b"}', '{"text":"has proto meta","id":"pm","meta":{"__proto__":"1"}}'].join("\n"));
    // The record whose meta has such a key is rejected itself (a meta key named __proto__ is refused at every door).
    const imported = memzip(["import", file, "--db", db]);
    assert.equal(imported.status, 1, imported.stderr);
    assert.match(imported.stdout, /2 stored.*1 rejected/);
    for (const args of [["ls", "--meta", "__proto__=1"], ["rm", "--where", "--meta", "__proto__=1", "--kind", "note"]]) {
      const refused = memzip([...args, "--db", db]);
      assert.equal(refused.status, 2, `${args.join(" ")}: ${refused.stdout}`);
      assert.match(refused.stderr, /a meta key named __proto__ cannot be filtered on/);
    }
    const engine = Engine.open({ db, cache: "off", workers: 0 });
    try {
      assert.equal((await engine.stats()).memories, 2, "nothing deleted");
    } finally {
      await engine.close();
    }
    // The JSON form (REST bodies, MCP) refuses it too; other keys pass.
    assert.equal(MemoryFilterSchema.safeParse({ meta: JSON.parse('{"__proto__":"1"}') as unknown }).success, false);
    assert.equal(MemoryFilterTextSchema.safeParse({ meta: ["__proto__=1"] }).success, false);
    assert.deepEqual(MemoryFilterTextSchema.parse({ meta: ["team=core"] }).meta, { team: "core" });
  });

  it("a deeply nested meta patch and too many tags are E_INVALID_INPUT at every door (the patch overflowed the stack: 500, exit 70)", async () => {
    using dir = tempDir();
    // Built as text: JSON.stringify of this depth overflows the stack itself.
    const deepJson = `${'{"a":'.repeat(5000)}1${"}".repeat(5000)}`;
    const deep = JSON.parse(deepJson) as Record<string, unknown>;
    const running = await startServer(dir.path, { logLevel: "silent" }, { cache: "off" });
    try {
      const { engine } = running;
      await engine.remember({ id: "m", text: "A memory to patch.", namespace: "a" });
      await assert.rejects(engine.update("m", { meta: deep }, "a"), { code: "E_INVALID_INPUT", message: /nested deeper than 64 levels/ });
      const tooMany = Array.from({ length: 257 }, (_, i) => `t${i}`);
      await assert.rejects(engine.remember({ id: "t", text: "tags", tags: tooMany, namespace: "a" }), { code: "E_INVALID_INPUT", message: /257 tags, over the limit of 256/ });
      await assert.rejects(engine.update("m", { tags: ["x".repeat(257)] }, "a"), { code: "E_INVALID_INPUT", message: /257 characters/ });
      // No filter finds an empty tag (`--tag ""` is refused so that `rm --where --tag "$UNSET"` matches nothing): none is stored.
      await assert.rejects(engine.remember({ id: "e", text: "an empty tag", tags: ["ok", ""], namespace: "a" }), { code: "E_INVALID_INPUT", message: /a tag is empty/ });
      await assert.rejects(engine.update("m", { tags: [""] }, "a"), { code: "E_INVALID_INPUT", message: /a tag is empty/ });
      // A tab or line break in a tag forged rows of `memzip ls`, an escape sequence reached the terminal (hostile trial s59).
      for (const tag of ["urgent\nrow2\tt", "\u001b[2J", "csi\u009b", "half\ud800"]) {
        await assert.rejects(engine.remember({ id: "c", text: "a control character", tags: [tag], namespace: "a" }), { code: "E_INVALID_INPUT", message: /a tag holds a control character or half of a surrogate pair/ }, JSON.stringify(tag));
      }
      await engine.remember({ id: "u", text: "tags of any script", tags: ["中文", "café", "🦩"], namespace: "a" });
      await assert.rejects(engine.remember({ id: "c", text: "created when?", createdAt: 1.5, namespace: "a" }), { code: "E_INVALID_INPUT", message: /createdAt/ });
      const key = (await engine.keys.create({ role: "write", namespaces: ["a"] })).key;
      const emptyTag = await fetch(`${running.url}/v1/memories`, { method: "POST", headers: bearer(key, { "content-type": "application/json" }), body: JSON.stringify({ text: "an empty tag", tags: [""] }) });
      assert.equal(emptyTag.status, 400);
      // The body's schema says it (as it says a tag over 256 characters): E_USAGE naming the field.
      assert.match(((await emptyTag.json()) as ErrorBody).error.message, /tags\.0/);
      const patch = await fetch(`${running.url}/v1/memories/m`, { method: "PATCH", headers: bearer(key, { "content-type": "application/json" }), body: `{"meta":${deepJson}}` });
      assert.equal(patch.status, 400);
      assert.equal(((await patch.json()) as ErrorBody).error.code, "E_INVALID_INPUT");
      // Refusals name where the fault is: a query parameter is not "(body)"; a missing import job has a hint.
      const bogus = await fetch(`${running.url}/v1/memories?bogus=1`, { headers: bearer(key) });
      assert.equal(bogus.status, 400);
      assert.match(((await bogus.json()) as ErrorBody).error.message, /query: Unrecognized key/);
      const job = (await (await fetch(`${running.url}/v1/imports/imp-abc-12345678`, { headers: bearer(key) })).json()) as ErrorBody;
      assert.equal(job.error.code, "E_NOT_FOUND");
      assert.ok(job.error.hint, "every error has a hint");
      // An upload whose type is not its format's is 415, not parsed as the other format.
      const mismatched = await fetch(`${running.url}/v1/imports?format=arrow`, { method: "POST", headers: bearer(key, { "content-type": "application/x-ndjson" }), body: '{"text":"x"}\n' });
      assert.equal(mismatched.status, 415);
      assert.match(((await mismatched.json()) as ErrorBody).error.message, /an Arrow upload was sent as application\/x-ndjson/);
      assert.equal((await engine.memory("m", "a")).tags.length, 0, "nothing written");
      // A write whose expiry is already past would make a live memory vanish while answering "updated": refused, as PATCH does.
      for (const path of ["/v1/memories", "/v1/memories:batch"]) {
        const item = { id: "m", text: "A memory to patch, again.", expiresAt: 1000 };
        const past = await fetch(`${running.url}${path}`, { method: "POST", headers: bearer(key, { "content-type": "application/json" }), body: JSON.stringify(path.endsWith("batch") ? { items: [item] } : item) });
        assert.equal(past.status, 400, path);
        assert.match(((await past.json()) as ErrorBody).error.message, /would expire at once/, path);
      }
      assert.equal(await engine.recall("m", { namespace: "a" }), "A memory to patch.");
    } finally {
      await running.server.close();
    }
    // CLI: the same deep patch is exit 3 with the usual --json error, not a crash (exit 70).
    const db = join(dir.path, "cli.db");
    assert.equal(memzip(["add", "x", "--id", "d", "--db", db]).status, 0);
    const cli = memzip(["update", "d", "--meta", `k=${deepJson}`, "--db", db, "--json"]);
    assert.equal(cli.status, 3, cli.stderr.slice(0, 500));
    assert.equal((JSON.parse(cli.stdout) as ErrorBody).error.code, "E_INVALID_INPUT");
    // keys revoke of an unknown id: the usual typed error (exit 4), with --json its error object.
    const revoke = memzip(["keys", "revoke", "k_nonexistent", "--db", db, "--json"]);
    assert.equal(revoke.status, 4);
    assert.equal((JSON.parse(revoke.stdout) as ErrorBody).error.code, "E_NOT_FOUND");
  });
});
