import { strict as assert } from "node:assert";
import Database from "better-sqlite3";
import { join } from "node:path";
import { describe, it } from "node:test";
import { SqliteStore } from "../../src/store/sqlite.js";
import type { StoredMemory } from "../../src/store/types.js";
import { tempDir } from "../helpers.js";

function memory(id: string, namespace = "ns"): StoredMemory {
  return { id, namespace, kind: "note", tags: ["a"], createdAt: 1, meta: { k: 1 }, codec: "raw", envelope: Uint8Array.of(1, 2, 3), originalLength: 3, checksum: 7, assetId: null };
}

describe("SqliteStore", () => {
  it("persists memories and assets across reopen, with upserts and deletes", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "sub", "store.db");
    const store = SqliteStore.open(path);
    store.putMemories([memory("a"), memory("b"), memory("c", "other")]);
    store.putMemories([{ ...memory("a"), codec: "zstd", envelope: Uint8Array.of(9) }]);
    const assetId = "ab".repeat(32);
    store.putAsset({ id: assetId, kind: "zstd-dictionary", bytes: Uint8Array.of(5, 5), namespace: "ns", createdAt: 2, meta: {} });
    store.setActiveAsset("ns", "zstd-dictionary", assetId);
    assert.equal(store.deleteMemory("ns", "b"), true);
    assert.equal(store.deleteMemory("ns", "b"), false);
    store.close();

    const reopened = SqliteStore.open(path);
    assert.equal(reopened.countMemories(), 2);
    assert.equal(reopened.countMemories("ns"), 1);
    assert.deepEqual([...(reopened.getMemory("ns", "a")?.envelope ?? [])], [9]);
    assert.equal(reopened.getMemory("ns", "a")?.codec, "zstd");
    assert.deepEqual(reopened.namespaces(), ["ns", "other"]);
    assert.equal(reopened.activeAsset("ns", "zstd-dictionary"), assetId);
    assert.deepEqual([...(reopened.getAssetByRef(Buffer.from(assetId.slice(0, 8), "hex"))?.bytes ?? [])], [5, 5]);
    assert.deepEqual(reopened.fingerprints("ns", ["a", "zz"]), new Map([["a", { checksum: 7, originalLength: 3 }]]));
    assert.deepEqual(reopened.usageByCodec(), [
      { codec: "raw", memories: 1, originalBytes: 3, storedBytes: 3 },
      { codec: "zstd", memories: 1, originalBytes: 3, storedBytes: 1 },
    ]);
    reopened.close();
  });

  it("iterates in insertion order across pages", async () => {
    const store = SqliteStore.open(":memory:");
    const ids = Array.from({ length: 1200 }, (_, i) => `m${i}`);
    store.putMemories(ids.map((id) => memory(id)));
    assert.deepEqual([...store.iterateMemories()].map((m) => m.id), ids);
    assert.deepEqual(store.listMemories({ limit: 2, offset: 10 }).map((m) => m.id), ["m10", "m11"]);
    store.close();
  });

  it("a failing batch writes nothing", async () => {
    const store = SqliteStore.open(":memory:");
    const bad = { ...memory("y"), assetId: "missing-asset" };
    assert.throws(() => store.putMemories([memory("x"), bad]));
    assert.equal(store.countMemories(), 0);
    store.close();
  });

  it("refuses a store written by a newer schema", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "future.db");
    const store = SqliteStore.open(path);
    store.close();
    const db = new Database(path);
    db.pragma("user_version = 99");
    db.close();
    assert.throws(() => SqliteStore.open(path), { code: "E_STORE" });
  });
});
