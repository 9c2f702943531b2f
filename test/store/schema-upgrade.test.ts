import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { openStore } from "../../src/store/open.js";
import { MIGRATIONS } from "../../src/store/sqlite-migrations.js";
import { tempDir } from "../helpers.js";
import { memory } from "./store-suite.js";

/** What a newer memzip's migration leaves: a later schema version (and a table this build does not know). */
function upgradeBehindItsBack(path: string): void {
  const newer = new Database(path);
  newer.exec("CREATE TABLE from_a_newer_build (x INTEGER)");
  newer.pragma(`user_version = ${MIGRATIONS.length + 1}`);
  newer.close();
}

describe("a store a newer memzip upgrades while this process holds it open", () => {
  it("refuses every later read and write with E_STORE naming the upgrade, and writes nothing", async () => {
    using dir = tempDir();
    const path = join(dir.path, "s.db");
    const store = openStore(path);
    try {
      await store.memories.put([memory("a")]);
      // Read once, so the connection has its namespace numbers and statements cached.
      assert.deepEqual((await store.memories.get("ns", "a"))?.meta, { k: 1 });
      upgradeBehindItsBack(path);
      const upgraded = (error: unknown): boolean => {
        const e = error as { code?: string; message?: string; hint?: string };
        return e.code === "E_STORE" && /upgraded to schema version \d+ by a newer memzip/.test(e.message ?? "") && /Stop this process/.test(e.hint ?? "");
      };
      await assert.rejects(store.memories.put([memory("b"), memory("a", "ns", { meta: { k: 2 } })]), upgraded);
      await assert.rejects(store.memories.delete("ns", "a"), upgraded);
      await assert.rejects(store.memories.get("ns", "a"), upgraded);
      await assert.rejects(store.memories.count("ns"), upgraded);
    } finally {
      await store.close();
    }
    // Nothing of the refused writes landed.
    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.prepare("SELECT count(*) FROM memories").pluck().get(), 1);
    } finally {
      db.close();
    }
    // A process of this build that opens the store now is refused at open, as before.
    assert.throws(() => openStore(path), { code: "E_STORE", message: /this build knows up to/ });
  });

  it("refuses the search index's own writes too: its rows stay as the newer build left them", async () => {
    using dir = tempDir();
    const path = join(dir.path, "s.db");
    const store = openStore(path);
    try {
      await store.memories.put([memory("a"), memory("b")]);
      const [first, second] = await store.search.pending("k1", 10);
      assert.ok(first && second, "two memories to index");
      const entry = (seq: number) => ({ seq, vector: new Uint8Array(8).fill(seq), terms: `term${seq}` });
      await store.search.put("k1", [entry(first.seq)]);
      upgradeBehindItsBack(path);
      const upgraded = { code: "E_STORE", message: /upgraded to schema version \d+ by a newer memzip/ };
      // An index refresh, one under another key (which empties the index first) and a clear: none may write.
      await assert.rejects(store.search.put("k1", [entry(second.seq)]), upgraded);
      await assert.rejects(store.search.put("k2", [entry(second.seq)]), upgraded);
      await assert.rejects(store.search.clear(), upgraded);
    } finally {
      await store.close();
    }
    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.prepare("SELECT count(*) FROM search_vectors").pluck().get(), 1, "the index as it was before the upgrade");
      assert.equal(db.prepare("SELECT value FROM search_meta WHERE key = 'key'").pluck().get(), "k1");
    } finally {
      db.close();
    }
  });

  it("goes on as before while the version is its own", async () => {
    using dir = tempDir();
    const path = join(dir.path, "s.db");
    const store = openStore(path);
    try {
      await store.memories.put([memory("a")]);
      // Another process of the same build opening and writing the store changes nothing for this one.
      const other = openStore(path);
      await other.memories.put([memory("b")]);
      await other.close();
      await store.memories.put([memory("c")]);
      assert.equal(await store.memories.count("ns"), 3);
    } finally {
      await store.close();
    }
  });
});
