import { strict as assert } from "node:assert";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { Engine } from "../../src/engine.js";
import { openStore } from "../../src/store/open.js";
import { FIRST_SEAL_ROWS } from "../../src/store/sqlite/sealed.js";
import { MIGRATIONS, SEALED_LAYOUT_STEP } from "../../src/store/sqlite-migrations.js";
import { DEV_CORPUS, ROOT, collect, devCorpus, readerOrSkip, spawnBounded, storeOf, tempDir } from "../helpers.js";

function raw<T>(path: string, read: (db: Database.Database) => T): T {
  const db = new Database(path, { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}
const hotRows = (path: string) => raw(path, (db) => db.prepare("SELECT count(*) FROM memories").pluck().get() as number);
const blocks = (path: string) =>
  raw(path, (db) => (db.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'memory_blocks'").get() === undefined ? 0 : (db.prepare("SELECT count(*) FROM memory_blocks").pluck().get() as number)));

/** What a user reads back: every memory's text, a page, counts and the stats that do not depend on the layout. */
async function readBack(engine: Engine): Promise<unknown> {
  const memories = await collect(engine.exportMemories());
  const stats = await engine.stats();
  return {
    memories: memories.map((m) => [m.namespace, m.id, m.text]).sort(),
    count: await storeOf(engine).memories.count(),
    listed: (await engine.list({ limit: 20 })).map((m) => m.id),
    stored: [stats.memories, stats.originalBytes, stats.envelopeBytes, stats.storedBytes],
  };
}

describe("sealed blocks by default", () => {
  it("an import into a store opened by the engine seals its rows; seal: false opts out, with the same memories", async () => {
    await using dir = tempDir();
    const records = devCorpus().slice(0, 300);
    const file = join(dir.path, "part.jsonl");
    writeFileSync(file, records.map((r) => JSON.stringify({ id: r.id, text: r.text })).join("\n"));
    const sealedPath = join(dir.path, "sealed.db");
    const plainPath = join(dir.path, "plain.db");
    let sealed: unknown;
    let plain: unknown;
    {
      await using engine = Engine.open({ db: sealedPath, cache: "off", workers: 0 });
      await engine.importJsonl(file);
      sealed = await readBack(engine);
    }
    {
      await using engine = Engine.open({ db: plainPath, cache: "off", workers: 0, seal: false });
      await engine.importJsonl(file);
      await engine.compact();
      plain = await readBack(engine);
    }
    assert.equal(hotRows(sealedPath), 0, "every row sealed by the import");
    assert.ok(blocks(sealedPath) >= 2);
    assert.equal(hotRows(plainPath), 300, "seal: false leaves every row in the row layout");
    assert.equal(blocks(plainPath), 0);
    assert.deepEqual(sealed, plain);
    assert.equal((sealed as { memories: unknown[] }).memories.length, 300);
  });

  it("a store of the unsealed layout (an earlier build's v2 file) opens, reads the same, and seals at its next import or compact", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "v2.db");
    {
      await using engine = Engine.open({ db: path, cache: "off", workers: 0, seal: false });
      await engine.importJsonl(DEV_CORPUS);
    }
    // What main's build leaves: the row layout at the schema version before the (additive) sealed step.
    {
      const db = new Database(path);
      db.pragma(`user_version = ${SEALED_LAYOUT_STEP}`);
      db.close();
    }
    assert.equal(hotRows(path), 2000);
    const texts = new Map(devCorpus().map((r) => [r.id, r.text]));
    let before: unknown;
    {
      await using engine = Engine.open({ db: path, cache: "off", workers: 0 });
      before = await readBack(engine);
      assert.equal((before as { memories: unknown[] }).memories.length, 2000);
      for (const [, id, text] of (before as { memories: [string, string, string][] }).memories) assert.equal(text, texts.get(id));
      assert.equal(hotRows(path), 2000, "opening and reading seal nothing");
      await engine.remember({ id: "late", text: "a memory written after the upgrade, before the compact" });
      const compacted = await engine.compact();
      assert.ok(compacted, "compact ran");
      assert.equal(hotRows(path), 0, "compact sealed every row");
      assert.ok(blocks(path) >= 8);
      const after = (await readBack(engine)) as { memories: [string, string, string][] };
      assert.equal(after.memories.length, 2001);
      assert.deepEqual(
        after.memories.filter(([, id]) => id !== "late"),
        (before as { memories: unknown[] }).memories,
      );
      assert.equal(await engine.recall("late"), "a memory written after the upgrade, before the compact");
      assert.deepEqual(await engine.verify(), { checked: 2001, failed: 0, failures: [] });
    }
    raw(path, (db) => {
      assert.equal(db.pragma("user_version", { simple: true }), MIGRATIONS.length);
      assert.equal(db.pragma("integrity_check", { simple: true }), "ok");
    });
    // A fresh process (engine) reads the sealed store the same.
    {
      await using engine = Engine.open({ db: path, cache: "off", workers: 0, readOnly: true });
      const again = (await readBack(engine)) as { memories: unknown[] };
      assert.equal(again.memories.length, 2001);
    }
  });

  it("a store of the row layout at the earlier schema version is read where it cannot be written (nothing to upgrade: the step makes nothing)", async (t) => {
    const asNobody = readerOrSkip(t);
    if (asNobody === undefined) return;
    await using dir = tempDir();
    const folder = join(dir.path, "ro");
    const path = join(folder, "v2.db");
    {
      await using engine = Engine.open({ db: path, cache: "off", workers: 0, seal: false });
      await engine.rememberMany(devCorpus().slice(0, 5).map((r) => ({ id: r.id, text: r.text })));
    }
    {
      const db = new Database(path);
      db.pragma(`user_version = ${SEALED_LAYOUT_STEP}`);
      db.close();
    }
    chmodSync(path, 0o444);
    chmodSync(folder, 0o555);
    chmodSync(dir.path, 0o755);
    try {
      const script = `import { openStore } from ${JSON.stringify(join(ROOT, "dist", "src", "store", "open.js"))};
const store = openStore(process.argv[1], { readOnly: true });
console.log(JSON.stringify({ readOnly: store.readOnly, count: await store.memories.count(), ids: (await store.memories.list({})).map((m) => m.id) }));
await store.close();`;
      const child = spawnBounded(process.execPath, ["--input-type=module", "-e", script, path], { encoding: "utf8", ...asNobody });
      assert.equal(child.status, 0, child.stderr);
      const read = JSON.parse(child.stdout) as { readOnly: boolean; count: number; ids: string[] };
      assert.deepEqual(read, { readOnly: true, count: 5, ids: devCorpus().slice(0, 5).map((r) => r.id) });
      assert.equal(raw(path, (db) => db.pragma("user_version", { simple: true })), SEALED_LAYOUT_STEP, "nothing written");
    } finally {
      chmodSync(folder, 0o755);
      chmodSync(path, 0o644);
    }
  });

  it("a store's first seal waits for FIRST_SEAL_ROWS rows: compact of a few memories makes no sealed table", async () => {
    await using dir = tempDir();
    const records = devCorpus().slice(0, FIRST_SEAL_ROWS);
    const path = join(dir.path, "young.db");
    const tables = (file: string) => raw(file, (db) => db.prepare("SELECT count(*) FROM sqlite_schema").pluck().get() as number);
    {
      await using engine = Engine.open({ db: path, cache: "off", workers: 0 });
      await engine.rememberMany(records.slice(0, FIRST_SEAL_ROWS - 1).map((r) => ({ id: r.id, text: r.text })));
      const before = { tables: tables(path) };
      await engine.compact();
      assert.equal(blocks(path), 0, "one row short: nothing sealed");
      assert.equal(hotRows(path), FIRST_SEAL_ROWS - 1);
      assert.equal(tables(path), before.tables, "and no sealed table made");
      await engine.remember({ id: (records[FIRST_SEAL_ROWS - 1] as { id: string }).id, text: (records[FIRST_SEAL_ROWS - 1] as { text: string }).text });
      await engine.compact();
      assert.equal(hotRows(path), 0, "from FIRST_SEAL_ROWS rows on, compact seals them");
      assert.ok(blocks(path) >= 1);
      for (const r of records) assert.equal(await engine.recall(r.id), r.text);
    }
  });

  it("a store that has a block keeps sealing below FIRST_SEAL_ROWS: its short last block is sealed again with the new rows, not left unsealed (review24 I3)", async () => {
    await using dir = tempDir();
    const records = devCorpus().slice(0, 11);
    const path = join(dir.path, "small.db");
    {
      // As an earlier build sealed it: one short block of 10 rows.
      const store = openStore(path, { seal: true, firstSealRows: 1 });
      await using engine = Engine.create({ store, cache: "off", workers: 0 });
      await engine.rememberMany(records.slice(0, 10).map((r) => ({ id: r.id, text: r.text })));
      await engine.compact();
      assert.equal(blocks(path), 1);
    }
    await using engine = Engine.open({ db: path, cache: "off", workers: 0 });
    await engine.remember({ id: (records[10] as { id: string }).id, text: (records[10] as { text: string }).text });
    await engine.compact();
    assert.equal(hotRows(path), 0, "the short block and the new row sealed together");
    assert.equal(blocks(path), 1);
    for (const r of records) assert.equal(await engine.recall(r.id), r.text);
  });
});
