import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import type { StoredMemory } from "../../src/core/store.js";
import { openStore } from "../../src/store/open.js";
import { MIGRATIONS, VERSION_CLOCK_START, VERSION_CLOCK_STEP } from "../../src/store/sqlite-migrations.js";
import { tempDir } from "../helpers.js";
import { memory } from "./store-suite.js";

describe("the version clock step", () => {
  it("a store written before the step keeps its rows and versions, and every later write takes a version above all of them", async () => {
    using dir = tempDir();
    const path = join(dir.path, "before-clock.db");
    // Rows with the per-row versions of the builds before the step: a, b written once, c three times.
    const store = openStore(path);
    await store.memories.put([memory("a"), memory("b"), memory("c")]);
    await store.memories.put([memory("c", "ns", { meta: { n: 2 } })]);
    await store.memories.put([memory("c", "ns", { meta: { n: 3 } })]);
    await store.close();
    const old = new Database(path);
    old.exec("DROP TABLE version_clock; UPDATE memories SET version = CASE id WHEN 'c' THEN 3 ELSE 1 END;");
    old.pragma(`user_version = ${VERSION_CLOCK_STEP}`);
    old.close();

    const upgraded = openStore(path);
    try {
      const before = new Map<string, StoredMemory>();
      for (const id of ["a", "b", "c"]) before.set(id, (await upgraded.memories.get("ns", id)) as StoredMemory);
      assert.deepEqual([...before.values()].map((m) => [m.id, m.version, m.meta]), [["a", 1, { k: 1 }], ["b", 1, { k: 1 }], ["c", 3, { n: 3 }]]);
      // b forgotten and written again: its new row's version is none an earlier row had, so b's old read no longer matches.
      await upgraded.memories.delete("ns", "b");
      await upgraded.memories.put([memory("b", "ns", { meta: { again: true } })]);
      const b = (await upgraded.memories.get("ns", "b")) as StoredMemory;
      assert.ok((b.version as number) > VERSION_CLOCK_START, `b's version ${String(b.version)} is above the clock's start`);
      await assert.rejects(upgraded.memories.delete("ns", "b", before.get("b")?.version), { code: "E_CONFLICT" });
      // A row read before the step is still written at the version it was read at.
      await upgraded.memories.put([memory("c", "ns", { meta: { n: 4 }, expected: { checksum: 7, originalLength: 3, version: 3 } })]);
      const c = (await upgraded.memories.get("ns", "c")) as StoredMemory;
      assert.ok((c.version as number) > (b.version as number), "each write takes the next version of the clock");
    } finally {
      await upgraded.close();
    }
    const db = new Database(path, { readonly: true });
    assert.equal(db.pragma("user_version", { simple: true }), MIGRATIONS.length);
    db.close();
  });

  it("a new store's clock starts at 0: its first rows count from 1", async () => {
    using dir = tempDir();
    const store = openStore(join(dir.path, "new.db"));
    try {
      await store.memories.put([memory("a"), memory("b")]);
      await store.memories.put([memory("c")]);
      assert.deepEqual([(await store.memories.get("ns", "a"))?.version, (await store.memories.get("ns", "b"))?.version, (await store.memories.get("ns", "c"))?.version], [1, 1, 2]);
    } finally {
      await store.close();
    }
  });
});
