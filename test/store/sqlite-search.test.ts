import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { Engine } from "../../src/engine.js";
import { openStore } from "../../src/store/open.js";
import { SEARCH_FORMAT } from "../../src/store/sqlite/index.js";
import { MIGRATIONS } from "../../src/store/sqlite-migrations.js";
import { devCorpus, tempDir } from "../helpers.js";

const notes = [
  { id: "atlas", text: "The Atlas migration to PostgreSQL is due on Friday; Alice owns the rollback plan." },
  { id: "budget", text: "Quarterly budget review moved to Tuesday; finance wants the cloud invoices first." },
  { id: "zh", text: "周五下午和王伟开会讨论项目预算，需要准备上个季度的报表。" },
  { id: "zh-cat", text: "家里的猫 叫 年糕，很怕吸尘器。" },
];

function schemaNames(path: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare("SELECT name FROM sqlite_schema WHERE name LIKE 'search%' AND name NOT LIKE 'search_terms_%' ORDER BY name").pluck().all() as string[]);
  } finally {
    db.close();
  }
}

describe("search index in the SQLite store", () => {
  it("replaces a format-1 index (the migration-6 tables) at open and searches again after rebuilding it", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "v1.db");
    {
      await using engine = Engine.open({ db, cache: "off" });
      await engine.rememberMany(notes);
    }
    // Put the file back into the state a format-1 build left: migration 6's tables and triggers, with rows.
    const raw = new Database(db);
    raw.exec(`DROP TRIGGER search_forget_deleted; DROP TRIGGER search_forget_rewritten; DROP TRIGGER search_forget_described;
      DROP TABLE search_vectors; DROP TABLE search_terms; DROP TABLE search_meta;`);
    raw.exec(MIGRATIONS[5] as string);
    raw.prepare("INSERT INTO search_vectors (seq, embedder, vector) SELECT seq, 'ngram-256', zeroblob(512) FROM memories").run();
    raw.prepare("INSERT INTO search_terms (rowid, terms) SELECT seq, 'stale words' FROM memories").run();
    raw.close();
    assert.ok(!schemaNames(db).includes("search_meta"));

    await using engine = Engine.open({ db, cache: "off" });
    assert.deepEqual(schemaNames(db), ["search_forget_deleted", "search_forget_described", "search_forget_rewritten", "search_meta", "search_moved", "search_terms", "search_vector_blocks", "search_vectors"]);
    const check = new Database(db, { readonly: true });
    assert.equal(check.prepare("SELECT value FROM search_meta WHERE key = 'format'").pluck().get(), String(SEARCH_FORMAT));
    assert.deepEqual((check.prepare("SELECT name FROM pragma_table_info('search_vectors')").pluck().all() as string[]), ["seq", "vector"]);
    check.close();
    const index = await engine.searchIndex();
    assert.equal(await index.pending(), notes.length, "the old rows are gone: everything is indexed again");
    assert.equal((await engine.searchMemories("stale words", { mode: "keyword" })).length, 0);
    assert.equal((await engine.searchMemories("atlas postgresql rollback", { limit: 1 }))[0]?.id, "atlas");
    // Opening again keeps the index: the schema is created only when its format is missing.
    {
      await using again = Engine.open({ db: db, cache: "off" });
      assert.equal(await (await again.searchIndex()).pending(), 0);
    }
    // A migration that rebuilds `memories` takes the triggers with it: the index is made anew.
    await engine.close();
    const rebuilt = new Database(db);
    rebuilt.exec("DROP TRIGGER search_forget_deleted");
    rebuilt.close();
    await using third = Engine.open({ db: db, cache: "off" });
    assert.ok(schemaNames(db).includes("search_forget_deleted"));
    assert.equal(await (await third.searchIndex()).pending(), notes.length);
  });

  it("follows adds, rewrites, deletes and summaries incrementally, and re-indexes for another vector encoding", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "incremental.db");
    {
      await using engine = Engine.open({ db, cache: "off" });
      // The store as another reader sees it (the engine's own store is not public).
      const view = openStore(db);
      await engine.rememberMany([...notes, ...devCorpus().slice(0, 100).map((r) => ({ id: r.id, text: r.text }))]);
      const index = await engine.searchIndex();
      assert.equal(await index.refresh(), notes.length + 100);
      assert.equal(await view.search.indexedCount(), notes.length + 100);
      await engine.remember({ id: "new", text: "Bob prefers green tea over coffee in the morning." });
      assert.equal(await index.pending(), 1, "an added memory waits for the next refresh");
      assert.equal((await engine.searchMemories("green tea morning", { limit: 1, mode: "keyword" }))[0]?.id, "new");
      await engine.remember({ id: "new", text: "Bob switched to black coffee, no sugar." });
      assert.equal(await index.pending(), 1, "a rewritten memory drops out of the index");
      assert.equal(await view.search.indexedCount(), notes.length + 100);
      assert.ok(!(await engine.searchMemories("green tea", { mode: "keyword" })).some((h) => h.id === "new"));
      assert.equal((await engine.searchMemories("black coffee sugar", { limit: 1, mode: "keyword" }))[0]?.id, "new");
      // Phrases and FTS5 operators are not query syntax here: their words are searched as terms.
      const phrase = await engine.searchMemories('"black coffee" AND sugar* NEAR(bob) -tea ^no OR (', { limit: 1, mode: "keyword" });
      assert.equal(phrase[0]?.id, "new");
      await engine.remember({ id: "new", text: "Bob switched to black coffee, no sugar." });
      assert.equal(await index.pending(), 0, "rewriting the same text keeps the index rows");
      await engine.forget("new");
      assert.equal(await view.search.indexedCount(), notes.length + 100, "a deleted memory leaves the index");
      assert.equal((await engine.searchMemories("black coffee sugar", { mode: "keyword" })).filter((h) => h.id === "new").length, 0);
      const bytes = await view.search.bytes();
      assert.ok(bytes.vectors > 0 && bytes.terms > 0);
      await view.close();
    }
    await using binary = Engine.open({ db, cache: "off", searchVectors: "binary" });
    const index = await binary.searchIndex();
    assert.equal(index.key, "ngram-256/binary/t3");
    assert.equal(await index.pending(), notes.length + 100, "vectors of another encoding do not count");
    assert.equal(await index.refresh(), notes.length + 100);
    assert.equal(await index.vectorBytes(), (notes.length + 100) * 32, "one bit a dimension");
    assert.equal((await binary.searchMemories("quarterly budget review", { limit: 1, mode: "vector" }))[0]?.id, "budget");
    assert.throws(() => Engine.open({ db: ":memory:", searchVectors: "int4" as "int8" }), /searchVectors must be one of float16, int8, ternary, binary/);
  });

  it("finds Chinese by its characters, word order breaking ties, and a single character too", async () => {
    await using dir = tempDir();
    await using engine = Engine.open({ db: join(dir.path, "zh.db"), cache: "off" });
    await engine.rememberMany([...notes, ...devCorpus().slice(0, 200).map((r) => ({ id: r.id, text: r.text }))]);
    assert.equal((await engine.searchMemories("项目预算", { limit: 1, mode: "keyword" }))[0]?.id, "zh");
    assert.equal((await engine.searchMemories("王伟 开会", { limit: 1, mode: "keyword" }))[0]?.id, "zh");
    assert.equal((await engine.searchMemories("年糕 吸尘器", { limit: 1, mode: "keyword" }))[0]?.id, "zh-cat");
    const cat = await engine.searchMemories("猫", { mode: "keyword", limit: 50 });
    assert.ok(cat.some((h) => h.id === "zh-cat"), "one character is a term");
    // The same characters in reverse order: a tie for the keyword index, which the vector breaks.
    await engine.remember({ id: "zh-reversed", text: "。表报的度季个上备准要需，算预目项论讨会开伟王和午下五周" });
    const ordered = (await engine.searchMemories("讨论项目预算", { limit: 20, mode: "keyword" })).map((h) => h.id);
    assert.equal(ordered[0], "zh");
    assert.ok(ordered.includes("zh-reversed"));
    assert.equal((await engine.searchMemories("准备上个季度的报表", { limit: 1 }))[0]?.id, "zh");
  });
});
