import { strict as assert } from "node:assert";
import Database from "better-sqlite3";
import { truncateSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { StoredMemory } from "../../src/core/store.js";
import { openStore } from "../../src/store/open.js";
import { collect, tempDir } from "../helpers.js";

function memory(id: string, namespace = "ns"): StoredMemory {
  return { id, namespace, kind: "note", tags: ["a"], createdAt: 1, meta: { k: 1 }, codec: "raw", envelope: Uint8Array.of(1, 2, 3), originalLength: 3, checksum: 7, assetId: null };
}

describe("SqliteStore", () => {
  it("persists memories and assets across reopen, with upserts and deletes", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "sub", "store.db");
    const store = openStore(path);
    await store.memories.put([memory("a"), memory("b"), memory("c", "other")]);
    await store.memories.put([{ ...memory("a"), codec: "zstd", envelope: Uint8Array.of(9) }]);
    const assetId = "ab".repeat(32);
    await store.assets.put({ id: assetId, kind: "zstd-dictionary", bytes: Uint8Array.of(5, 5), namespace: "ns", createdAt: 2, meta: {} });
    await store.assets.setActive("ns", "zstd-dictionary", assetId);
    assert.equal(await store.memories.delete("ns", "b"), true);
    assert.equal(await store.memories.delete("ns", "b"), false);
    await store.close();

    const reopened = openStore(path);
    assert.equal(await reopened.memories.count(), 2);
    assert.equal(await reopened.memories.count("ns"), 1);
    assert.deepEqual([...((await reopened.memories.get("ns", "a"))?.envelope ?? [])], [9]);
    assert.equal((await reopened.memories.get("ns", "a"))?.codec, "zstd");
    assert.deepEqual(await reopened.memories.namespaces(), ["ns", "other"]);
    assert.equal(await reopened.assets.active("ns", "zstd-dictionary"), assetId);
    assert.deepEqual([...((await reopened.assets.getByRef(Buffer.from(assetId.slice(0, 8), "hex")))?.bytes ?? [])], [5, 5]);
    assert.deepEqual(await reopened.memories.fingerprints("ns", ["a", "zz"]), new Map([["a", { checksum: 7, originalLength: 3 }]]));
    assert.deepEqual(await reopened.memories.usageByCodec(), [
      { codec: "raw", memories: 1, originalBytes: 3, storedBytes: 3 },
      { codec: "zstd", memories: 1, originalBytes: 3, storedBytes: 1 },
    ]);
    await reopened.close();
  });

  it("iterates in insertion order across pages", async () => {
    const store = openStore(":memory:");
    const ids = Array.from({ length: 1200 }, (_, i) => `m${i}`);
    await store.memories.put(ids.map((id) => memory(id)));
    assert.deepEqual((await collect(store.memories.scan())).map((m) => m.id), ids);
    assert.deepEqual((await store.memories.list({ limit: 2, offset: 10 })).map((m) => m.id), ["m10", "m11"]);
    await store.close();
  });

  it("a failing batch writes nothing", async () => {
    const store = openStore(":memory:");
    const bad = { ...memory("y"), assetId: "missing-asset" };
    await assert.rejects(store.memories.put([memory("x"), bad]));
    assert.equal(await store.memories.count(), 0);
    await store.close();
  });

  it("refuses a store written by a newer schema", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "future.db");
    const store = openStore(path);
    await store.close();
    const db = new Database(path);
    db.pragma("user_version = 99");
    db.close();
    assert.throws(() => openStore(path), { code: "E_STORE" });
  });

  it("a store file cut short is E_STORE saying it is damaged and how to recover, not a path or permission problem", async () => {
    using dir = tempDir();
    const path = join(dir.path, "cut.db");
    const store = openStore(path);
    await store.memories.put(Array.from({ length: 200 }, (_, i) => memory(`m${i}`)));
    await store.close();
    truncateSync(path, 3000);
    assert.throws(() => openStore(path), (error: { code?: string; message?: string; hint?: string }) => {
      assert.equal(error.code, "E_STORE");
      assert.match(error.message ?? "", /the store file is damaged/);
      assert.match(error.hint ?? "", /backup/);
      return true;
    });
  });
});
