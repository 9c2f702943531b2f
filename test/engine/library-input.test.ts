import { strict as assert } from "node:assert";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { Engine } from "../../src/engine.js";
import type { MemoryInput } from "../../src/pipeline/records.js";
import { tempDir } from "../helpers.js";

/** The library is a door like the CLI, REST and MCP: a JavaScript caller is not held to the types (trial43). */
describe("the library's own input", () => {
  it("refuses what no other door takes with typed errors, and still updates a memory an earlier build let in", async () => {
    using dir = tempDir();
    const db = join(dir.path, "lib.db");
    // A memory in a namespace no door can name, as an earlier build's library stored it (renamed here by hand).
    const earlier = Engine.open({ db, cache: "off", workers: 0 });
    await earlier.remember({ id: "old", text: "stored by an earlier build", namespace: "ab" });
    await earlier.close();
    const sql = new Database(db);
    sql.prepare("UPDATE namespaces SET name = 'a b' WHERE name = 'ab'").run();
    sql.close();
    const engine = Engine.open({ db, cache: "off", workers: 0 });
    try {
      // A namespace the CLI, import and REST refuse was stored, and could then not be read, exported or imported.
      await assert.rejects(engine.remember({ text: "hello", namespace: "a b" }), { code: "E_INVALID_INPUT", message: /"a b" is not a namespace/ });
      await assert.rejects(engine.rememberMany([{ text: "fine" }, { text: "bad", namespace: "x/y" }]), { code: "E_INVALID_INPUT" });
      // A TypeError ("text.replace is not a function", "reading 'namespace'") before.
      await assert.rejects(engine.remember({ text: 42 } as unknown as MemoryInput), { code: "E_INVALID_INPUT", message: /"text" is a string/ });
      await assert.rejects(engine.remember(null as unknown as MemoryInput), { code: "E_INVALID_INPUT" });
      const stored = await engine.remember({ text: "A memory in a namespace every door can name.", namespace: "team.a" });
      // New tags with a control character or half of a surrogate pair are refused (stop 59: they forged rows of `memzip ls`)…
      await assert.rejects(engine.remember({ text: "odd tags", tags: ["x\u0000y", "\ud800"] }), { code: "E_INVALID_INPUT", message: /a tag holds a control character/ });
      // …but SQLite keeps any string in tags and meta (PostgreSQL refuses U+0000 and lone surrogates: postgres-store.test.ts),
      // so an export of a store an earlier build wrote such tags into imports again.
      const exported = join(dir.path, "earlier-export.jsonl");
      writeFileSync(exported, `${JSON.stringify({ id: "odd", text: "odd tags", tags: ["x\u0000y", "\ud800"], meta: { k: "a\u0000" } })}\n`);
      assert.equal((await engine.importJsonl(exported)).stored, 1);
      assert.deepEqual((await engine.memory("odd")).tags, ["x\u0000y", "\ud800"]);
      // A misspelt mode read the summary (E_NOT_FOUND "no summary").
      await assert.rejects(engine.recall(stored.id, { namespace: "team.a", mode: "sumary" as never }), { code: "E_USAGE", message: /not one of exact, summary, rebuilt/ });
      assert.equal(await engine.recall(stored.id, { namespace: "team.a" }), "A memory in a namespace every door can name.");
      assert.equal((await engine.stats()).memories, 3, "the refused writes wrote nothing");
      // The earlier build's memory stays reachable to the library: its update is not refused for its namespace.
      assert.equal((await engine.update("old", { text: "now with a text" }, "a b")).status, "updated");
      assert.equal(await engine.recall("old", { namespace: "a b" }), "now with a text");
    } finally {
      await engine.close();
    }
    // A call after close: the engine's own typed error, not better-sqlite3's TypeError.
    await assert.rejects(engine.remember({ text: "after close" }), { code: "E_USAGE", message: /closed/ });
  });
});
