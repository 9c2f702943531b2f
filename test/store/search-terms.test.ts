import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { Engine } from "../../src/engine.js";
import { searchTerms } from "../../src/search/search.js";
import { openStore } from "../../src/store/open.js";
import { RELOCATED_ROWIDS, SEARCH_FORMAT } from "../../src/store/sqlite/search-index.js";
import { ROOT, devCorpus, storeOf, tempDir } from "../helpers.js";

// Search index format 4 (issue 11): the keyword index keeps no document sizes (FTS5 columnsize=0), so a
// row cannot be deleted by rowid; a changed memory's rows are masked (search_moved) and reclaimed later.
// Each check compares the keyword index with the memories' own terms: no hit for a text no longer
// there, every live memory found by each of its words.

type Live = Map<string, { ns: string; id: string; terms: Set<string> }>;

/** The live memories' terms (text and summary), as the index computes them. */
async function liveTerms(engine: Engine): Promise<Live> {
  const out: Live = new Map();
  for (const ns of await engine.namespaces()) {
    for (const m of await engine.list({ namespace: ns, limit: 100_000 })) {
      const text = await engine.recall(m.id, { namespace: ns });
      const semantic = await engine.semanticOf(m.id, ns);
      const words = [text, semantic?.summary ?? "", ...(semantic?.entities ?? []).map((e) => e.text)].join("\n");
      out.set(`${ns}\u0000${m.id}`, { ns, id: m.id, terms: new Set(searchTerms(words, true)) });
    }
  }
  return out;
}

/**
 * For every term in `vocabulary`: the memories the keyword index answers (store level, through a
 * second connection: seqs mapped by the index's own vectors) are exactly the live ones holding it.
 */
async function assertExact(engine: Engine, path: string, vocabulary: ReadonlySet<string>, label: string): Promise<void> {
  const index = await engine.searchIndex();
  await index.refresh();
  const live = await liveTerms(engine);
  const view = openStore(path);
  try {
    const vectors = await view.search.vectors(index.key);
    const owner = new Map(vectors.seqs.map((seq, i) => [seq, `${vectors.namespaces[i]}\u0000${vectors.ids[i]}`]));
    assert.equal(owner.size, live.size, `${label}: every live memory is indexed`);
    for (const term of vocabulary) {
      const seqs = await view.search.matching(term);
      const got = seqs.map((seq) => owner.get(seq) ?? `no memory at seq ${seq}`).sort();
      const expected = [...live].filter(([, m]) => m.terms.has(term)).map(([key]) => key).sort();
      assert.deepEqual(got, expected, `${label}: memories holding "${term}"`);
      assert.equal(await view.search.documentFrequency(term), expected.length, `${label}: document frequency of "${term}"`);
    }
  } finally {
    await view.close();
  }
}

function vocabularyOf(texts: readonly string[]): Set<string> {
  return new Set(texts.flatMap((t) => searchTerms(t, true)));
}

function tables(path: string): { moved: number; relocated: number; instances: number } {
  const db = new Database(path, { readonly: true });
  try {
    db.exec("CREATE VIRTUAL TABLE temp.i USING fts5vocab(main, search_terms, instance)");
    return {
      moved: db.prepare("SELECT count(*) FROM search_moved").pluck().get() as number,
      relocated: db.prepare(`SELECT count(DISTINCT doc) FROM temp.i WHERE doc >= ${RELOCATED_ROWIDS}`).pluck().get() as number,
      instances: db.prepare("SELECT count(*) FROM temp.i").pluck().get() as number,
    };
  } finally {
    db.close();
  }
}

function ftsIntegrity(path: string): void {
  const db = new Database(path);
  try {
    db.prepare("INSERT INTO search_terms (search_terms, rank) VALUES ('integrity-check', 0)").run();
    assert.equal(db.pragma("integrity_check", { simple: true }), "ok");
  } finally {
    db.close();
  }
}

/** The search index of format 3 (main before issue 11's last step): FTS5 with contentless_delete=1. */
const FORMAT_3 = `
  CREATE TABLE search_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE search_vectors (seq INTEGER PRIMARY KEY, vector BLOB NOT NULL);
  CREATE TABLE search_vector_blocks (last_seq INTEGER PRIMARY KEY, first_seq INTEGER NOT NULL, n INTEGER NOT NULL, width INTEGER NOT NULL, data BLOB NOT NULL);
  CREATE VIRTUAL TABLE search_terms USING fts5(terms, content='', contentless_delete=1, detail=none, tokenize="ascii tokenchars '_'");
  CREATE TRIGGER search_forget_deleted AFTER DELETE ON memories BEGIN
    DELETE FROM search_vectors WHERE seq = old.seq;
    DELETE FROM search_terms WHERE rowid = old.seq;
  END;
  CREATE TRIGGER search_forget_rewritten AFTER UPDATE ON memories
  WHEN old.checksum IS NOT new.checksum OR old.original_length IS NOT new.original_length OR old.content_hash IS NOT new.content_hash BEGIN
    DELETE FROM search_vectors WHERE seq = old.seq;
    DELETE FROM search_terms WHERE rowid = old.seq;
  END;
  INSERT INTO search_meta (key, value) VALUES ('format', '3');`;

const records = (n: number, from = 0) =>
  devCorpus()
    .slice(from, from + n)
    .map((r, i) => ({ id: `m${from + i}`, text: r.text, namespace: i % 3 === 0 ? "beta" : "alpha" }));

describe("search index format 4: keyword rows without document sizes", () => {
  it("answers every term exactly as a format-3 (contentless_delete) index of the same memories, and replaces a format-3 index at open", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "plain.db");
    const notes = records(120);
    {
      await using engine = Engine.open({ db: path, cache: "off" });
      await engine.rememberMany(notes);
      await (await engine.searchIndex()).refresh();
    }
    // A format-3 FTS5 table filled with the same rows (seq, terms) answers the same seqs for every term.
    const db = new Database(path);
    assert.equal(db.prepare("SELECT value FROM search_meta WHERE key = 'format'").pluck().get(), String(SEARCH_FORMAT));
    assert.equal(SEARCH_FORMAT, 4);
    assert.equal(db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'search_terms_docsize'").pluck().get(), 0, "no docsize table");
    const reference = new Database(":memory:");
    reference.exec(`CREATE VIRTUAL TABLE t USING fts5(terms, content='', contentless_delete=1, detail=none, tokenize="ascii tokenchars '_'")`);
    const put = reference.prepare("INSERT INTO t (rowid, terms) VALUES (?, ?)");
    const seqs = db.prepare("SELECT seq, id FROM memories").all() as { seq: number; id: string }[];
    for (const { seq, id } of seqs) put.run(seq, [...new Set(searchTerms(notes.find((n) => n.id === id)?.text ?? "", true))].join(" "));
    const vocabulary = vocabularyOf(notes.map((n) => n.text));
    const ours = db.prepare("SELECT rowid FROM search_terms WHERE search_terms MATCH ? ORDER BY rowid").pluck();
    const theirs = reference.prepare("SELECT rowid FROM t WHERE t MATCH ? ORDER BY rowid").pluck();
    for (const term of vocabulary) assert.deepEqual(ours.all(`"${term}"`), theirs.all(`"${term}"`), term);
    reference.close();

    // Back to a format-3 index with a stale row: opened again, it is dropped and rebuilt by the next search.
    db.exec(`DROP TRIGGER search_forget_deleted; DROP TRIGGER search_forget_rewritten; DROP TABLE search_terms; DROP TABLE search_moved;
      DROP TABLE search_vectors; DROP TABLE search_vector_blocks; DROP TABLE search_meta;`);
    db.exec(FORMAT_3);
    db.prepare("INSERT INTO search_terms (rowid, terms) SELECT seq, 'zzstale qqwords' FROM memories").run();
    db.prepare("INSERT INTO search_vectors (seq, vector) SELECT seq, zeroblob(64) FROM memories").run();
    db.close();
    await using engine = Engine.open({ db: path, cache: "off" });
    const index = await engine.searchIndex();
    assert.equal(await index.pending(), notes.length, "the format-3 rows are gone: everything is indexed again");
    assert.equal((await engine.searchMemories("zzstale qqwords", { mode: "keyword" })).length, 0);
    const check = new Database(path, { readonly: true });
    assert.equal(check.prepare("SELECT value FROM search_meta WHERE key = 'format'").pluck().get(), "4");
    assert.equal(check.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'search_moved'").pluck().get(), 1);
    check.close();
    await assertExact(engine, path, vocabulary, "rebuilt from format 3");
  });

  it("after deletes, rewrites, summaries, a seq used again, sealed and hot rows and a second connection: no stale hit, every live memory found; compact reclaims every masked row", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "churn.db");
    const notes = records(96);
    const texts = notes.map((n) => n.text);
    const open = () => Engine.create({ store: openStore(path, { seal: true, blockRows: 16 }), cache: "off", autoTrainAfter: 1_000_000 });
    const engine = open();
    try {
      await engine.rememberMany(notes);
      const vocabulary = () => vocabularyOf(texts);
      await assertExact(engine, path, vocabulary(), "indexed");
      assert.equal(tables(path).moved, 0);

      // Hot rows: deleted, rewritten (twice: a relocated row masked again), the same text again (no change).
      await engine.forget("m1", "alpha");
      for (const text of ["zebra quokka fennec", "axolotl pangolin numbat"]) {
        texts.push(text);
        await engine.update("m2", { text }, "alpha");
        await assertExact(engine, path, vocabulary(), `m2 rewritten to ${text}`);
      }
      await engine.update("m2", { text: "axolotl pangolin numbat" }, "alpha");
      // A summary, then another: the first summary's words leave the index.
      for (const summary of ["okapi tapir summary", "capybara summary"]) {
        texts.push(summary);
        const m = await engine.memory("m4", "alpha");
        await storeOf(engine).memories.put([{ ...m, semantic: { summary, entities: [], source: "test" } }]);
        await assertExact(engine, path, vocabulary(), `m4 described as ${summary}`);
      }
      assert.ok(tables(path).moved >= 3, "changed memories are masked, not deleted");

      // A seq used again: the last memory deleted and a new one added takes its seq.
      const last = notes[notes.length - 1] as (typeof notes)[number];
      const db = new Database(path, { readonly: true });
      const lastSeq = db.prepare("SELECT max(seq) FROM memories").pluck().get() as number;
      db.close();
      await engine.forget(last.id, last.namespace);
      texts.push("wombat echidna platypus");
      await engine.remember({ id: "reused", text: "wombat echidna platypus", namespace: "alpha" });
      const again = new Database(path, { readonly: true });
      assert.equal(again.prepare("SELECT seq FROM memories WHERE id = 'reused'").pluck().get(), lastSeq, "the seq is used again");
      again.close();
      await assertExact(engine, path, vocabulary(), "seq used again");

      // Sealed rows (indexed while hot, then sealed), then changed: a write unseals their block.
      await engine.compact();
      const compacted = tables(path);
      assert.deepEqual([compacted.moved, compacted.relocated], [0, 0], "compact reclaimed every masked row");
      await assertExact(engine, path, vocabulary(), "sealed");
      await engine.forget("m10", "alpha");
      texts.push("narwhal beluga orca");
      await engine.update("m11", { text: "narwhal beluga orca" }, "alpha");
      await assertExact(engine, path, vocabulary(), "sealed rows changed");

      // A second connection (another engine on the same file) deletes and rewrites; the first one searches.
      {
        await using other = Engine.open({ db: path, cache: "off", autoTrainAfter: 1_000_000 });
        await other.forget("m20", "alpha");
        texts.push("ibis heron egret");
        await other.update("m22", { text: "ibis heron egret" }, "alpha");
        await (await other.searchIndex()).refresh();
        await other.update("m22", { text: "kestrel merlin hobby" }, "alpha");
        texts.push("kestrel merlin hobby");
      }
      await assertExact(engine, path, vocabulary(), "second connection");
      assert.deepEqual(
        (await engine.searchMemories("ibis heron egret", { mode: "keyword", namespaces: ["alpha", "beta"] })).map((h) => h.id),
        [],
        "the engine's own search finds no rewritten text",
      );
      assert.equal((await engine.searchMemories("kestrel merlin", { mode: "keyword", limit: 1, namespaces: ["alpha"] }))[0]?.id, "m22");

      // Garbage reclaimed: compact deletes masked rows and moves relocated ones back; nothing a search answers changes.
      const before = tables(path);
      assert.ok(before.moved > 0 && before.relocated > 0, `masked and relocated rows before compact (${JSON.stringify(before)})`);
      await engine.compact();
      const after = tables(path);
      assert.deepEqual([after.moved, after.relocated], [0, 0]);
      const live = await liveTerms(engine);
      assert.equal(after.instances, [...live.values()].reduce((sum, m) => sum + m.terms.size, 0), "only the live memories' terms are left");
      await assertExact(engine, path, vocabulary(), "after compact");
      ftsIntegrity(path);
    } finally {
      await engine.close();
    }
  });

  it("reclaims masked rows at the next index batch once more than 1,000 and a sixteenth of the index are masked (rm --where), without a compact", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "bound.db");
    const texts = Array.from({ length: 1200 }, (_, i) => `note ${i} about topic${i % 37} and owner${i % 11}${i < 1050 ? " doomed" : ""}`);
    await using engine = Engine.open({ db: path, cache: "off", codecs: ["raw"], autoTrainAfter: 1_000_000 });
    await engine.rememberMany(texts.map((text, i) => ({ id: `n${i}`, text, namespace: i < 1050 ? "gone" : "kept" })));
    await (await engine.searchIndex()).refresh();
    await engine.forgetWhere({ namespaces: ["gone"] });
    assert.equal(tables(path).moved, 1050, "every deleted memory masked");
    // One memory added: the refresh indexes 1 (far from a quarter of the index: no compact), and its put reclaims.
    texts.push("a new note about topic5");
    await engine.remember({ id: "fresh", text: "a new note about topic5", namespace: "kept" });
    await assertExact(engine, path, vocabularyOf(texts), "after the bounded reclaim");
    const after = tables(path);
    assert.deepEqual([after.moved, after.relocated], [0, 0]);
    const live = await liveTerms(engine);
    assert.equal(after.instances, [...live.values()].reduce((sum, m) => sum + m.terms.size, 0));
  });

  it("a process killed inside an index batch, or inside a reclaim, leaves an index that answers exactly", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "crash.db");
    const notes = records(80);
    const texts = notes.map((n) => n.text);
    {
      await using engine = Engine.open({ db: path, cache: "off" });
      await engine.rememberMany(notes.slice(0, 40));
      await (await engine.searchIndex()).refresh();
      // Masked rows (changes) and new memories: the next batch writes relocated and plain rows.
      for (const i of [3, 4, 5]) {
        texts.push(`rewritten number ${i} lynx`);
        await engine.update(`m${i}`, { text: `rewritten number ${i} lynx` }, notes[i]?.namespace);
      }
      await engine.rememberMany(notes.slice(40));
    }
    // The child kills itself (SIGKILL) from a hook on the statement that writes a keyword row: inside put's transaction.
    const child = (hook: string, work: string) => `import { Engine } from ${JSON.stringify(join(ROOT, "dist", "src", "engine.js"))};
      const engine = Engine.open({ db: process.argv[1], cache: "off" });
      const index = await engine.searchIndex();
      const search = engine.store.searchIndex;
      const statement = search.statements.${hook};
      const run = statement.run.bind(statement);
      let k = 0;
      statement.run = (...args) => { if (++k === 5) process.kill(process.pid, "SIGKILL"); return run(...args); };
      ${work}
      console.log("finished without being killed");`;
    const batch = spawnSync(process.execPath, ["--input-type=module", "-e", child("putTerms", "await index.refresh();"), path], { timeout: 120_000, encoding: "utf8" });
    assert.equal(batch.signal, "SIGKILL", `killed inside the batch (stdout ${batch.stdout}, stderr ${batch.stderr})`);
    ftsIntegrity(path);
    {
      await using engine = Engine.open({ db: path, cache: "off" });
      assert.equal(await (await engine.searchIndex()).pending(), 43, "the batch rolled back whole");
      await assertExact(engine, path, vocabularyOf(texts), "after a crash in a batch");
      // A few changes indexed (too few for the refresh to compact): masked and relocated rows for the reclaim.
      for (const i of [6, 7, 8, 9, 10, 11]) {
        texts.push(`changed again ${i} caracal`);
        await engine.update(`m${i}`, { text: `changed again ${i} caracal` }, notes[i]?.namespace);
      }
      await assertExact(engine, path, vocabularyOf(texts), "changed again");
      assert.ok(tables(path).moved >= 6);
    }
    const reclaim = spawnSync(process.execPath, ["--input-type=module", "-e", child("deleteTerms", "search.reclaim();"), path], { timeout: 120_000, encoding: "utf8" });
    assert.equal(reclaim.signal, "SIGKILL", `killed inside the reclaim (stdout ${reclaim.stdout}, stderr ${reclaim.stderr})`);
    ftsIntegrity(path);
    await using engine = Engine.open({ db: path, cache: "off" });
    assert.ok(tables(path).moved > 0, "the reclaim rolled back whole");
    await assertExact(engine, path, vocabularyOf(texts), "after a crash in a reclaim");
    await engine.compact();
    assert.equal(tables(path).moved, 0);
    await assertExact(engine, path, vocabularyOf(texts), "reclaimed after the crash");
  });
});
