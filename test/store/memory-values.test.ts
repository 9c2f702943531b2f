import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import type { StoredMemory } from "../../src/core/store.js";
import { openStore } from "../../src/store/open.js";
import { idHash } from "../../src/store/sqlite/database.js";
import { ID_HASH_FUNCTION, MEMORY_VALUES_STEP, MIGRATIONS, SCHEMA_V2, SCHEMA_V2_INDEXES, V2_STEP, type Migration } from "../../src/store/sqlite-migrations.js";
import { tempDir } from "../helpers.js";

/** Memories as the store before the memory_values step held them: tags and meta inline, as JSON text or NULL. */
const OLD_ROWS = [
  { id: "a", ns: "alpha", tags: null, meta: '{"source":"debian-changelog","lang":"en"}', envelope: Buffer.from("first") },
  { id: "b", ns: "alpha", tags: '["x","y"]', meta: '{"source":"debian-changelog","lang":"en"}', envelope: Buffer.from("second") },
  { id: "c", ns: "alpha", tags: '["x","y"]', meta: null, envelope: Buffer.from("third") },
  { id: "a", ns: "beta", tags: '["用户"]', meta: '{"source":"manpage-zh","lang":"zh","n":3}', envelope: Buffer.from("fourth") },
  { id: "d", ns: "beta", tags: null, meta: null, envelope: Buffer.from("fifth") },
];

/** A store file at the schema just before the memory_values step, made the way a new store was then. */
function storeBeforeValuesStep(path: string): void {
  const db = new Database(path);
  db.function(ID_HASH_FUNCTION, { deterministic: true }, (id: unknown) => idHash(String(id)));
  db.pragma("journal_mode = WAL");
  db.exec(SCHEMA_V2);
  db.exec(SCHEMA_V2_INDEXES);
  db.exec(MIGRATIONS[1] as string);
  db.exec(MIGRATIONS[2] as string);
  for (const step of MIGRATIONS.slice(V2_STEP + 1, MEMORY_VALUES_STEP) as Migration[]) {
    if (typeof step === "string") db.exec(step);
    else step(db);
  }
  db.pragma(`user_version = ${MEMORY_VALUES_STEP}`);
  db.exec("INSERT INTO namespaces (name, created_at) VALUES ('alpha', 1), ('beta', 1); INSERT INTO codecs (name) VALUES ('raw')");
  const insert = db.prepare(
    `INSERT INTO memories (ns, id, id_hash, kind, created_at, codec, asset, original_length, checksum, content_hash, content_of, language, tags, meta, envelope)
     VALUES ((SELECT n FROM namespaces WHERE name = ?), ?, ?, 0, ?, 1, NULL, ?, ?, NULL, NULL, 'en', ?, ?, ?)`,
  );
  OLD_ROWS.forEach((r, i) => insert.run(r.ns, r.id, idHash(r.id), 1000 + i, r.envelope.length, 100 + i, r.tags, r.meta, r.envelope));
  db.close();
}

function memory(id: string, tags: string[], meta: Record<string, unknown>): StoredMemory {
  return { id, namespace: "alpha", kind: "note", tags, createdAt: 5, meta, codec: "raw", envelope: Buffer.from(id), originalLength: id.length, checksum: 7, assetId: null };
}

describe("tags and meta stored once per value (memory_values)", () => {
  it("a store made before the step upgrades with every memory exact, each distinct value stored once", async () => {
    using dir = tempDir();
    const path = join(dir.path, "old.db");
    storeBeforeValuesStep(path);
    const store = openStore(path);
    try {
      for (const [i, r] of OLD_ROWS.entries()) {
        const m = await store.memories.get(r.ns, r.id);
        assert.ok(m, `${r.ns}/${r.id} is there`);
        assert.deepEqual(
          [m.id, m.namespace, m.kind, m.tags, m.meta, m.createdAt, m.codec, m.originalLength, m.checksum, m.language, Buffer.from(m.envelope)],
          [r.id, r.ns, "note", r.tags === null ? [] : JSON.parse(r.tags), r.meta === null ? {} : JSON.parse(r.meta), 1000 + i, "raw", r.envelope.length, 100 + i, "en", r.envelope],
        );
      }
      assert.equal(await store.memories.count(), OLD_ROWS.length);
      // Filters on tags read the shared values.
      assert.deepEqual((await store.memories.page({ tags: ["x"], limit: 10 })).items.map((m) => m.id), ["b", "c"]);
      assert.deepEqual((await store.memories.page({ tags: ["用户"], limit: 10 })).items.map((m) => `${m.namespace}/${m.id}`), ["beta/a"]);
    } finally {
      await store.close();
    }
    const db = new Database(path, { readonly: true });
    assert.equal(db.pragma("user_version", { simple: true }), MIGRATIONS.length);
    const columns = (db.prepare("SELECT name FROM pragma_table_info('memories')").pluck().all() as string[]).sort();
    assert.ok(columns.includes("tags_ref") && columns.includes("meta_ref"), "the reference columns are there");
    assert.ok(!columns.includes("tags") && !columns.includes("meta"), "the inline columns are gone");
    // 2 metas and 2 tag lists, each once.
    assert.equal(db.prepare("SELECT count(*) FROM memory_values").pluck().get(), 4);
    db.close();
  });

  it("writes share a value with the memories that already hold it, and compact drops values no memory refers to", async () => {
    using dir = tempDir();
    const path = join(dir.path, "new.db");
    const store = openStore(path);
    const values = () => {
      const db = new Database(path, { readonly: true });
      const all = db.prepare("SELECT json FROM memory_values ORDER BY json").pluck().all() as string[];
      db.close();
      return all;
    };
    try {
      const meta = { source: "notes", lang: "en" };
      await store.memories.put([memory("m1", ["t"], meta), memory("m2", ["t"], meta), memory("m3", [], {})]);
      await store.memories.put([memory("m4", ["t"], { ...meta })]);
      assert.deepEqual(values(), ['["t"]', '{"source":"notes","lang":"en"}']);
      assert.deepEqual((await store.memories.get("alpha", "m4"))?.meta, meta);
      assert.deepEqual((await store.memories.get("alpha", "m3"))?.tags, []);
      // A rewrite to other tags and meta leaves the old values unreferenced only once nothing uses them.
      for (const id of ["m1", "m2", "m4"]) await store.memories.put([memory(id, ["u"], { other: true })]);
      await store.compact();
      assert.deepEqual(values(), ['["u"]', '{"other":true}']);
      assert.deepEqual((await store.memories.get("alpha", "m2"))?.tags, ["u"]);
      assert.deepEqual((await store.memories.get("alpha", "m2"))?.meta, { other: true });
    } finally {
      await store.close();
    }
  });
});
