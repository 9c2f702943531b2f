import { strict as assert } from "node:assert";
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { openStore } from "../../src/store/open.js";
import { collect, tempDir } from "../helpers.js";
import { memory, storeSuite } from "./store-suite.js";

const folder = mkdtempSync(join(tmpdir(), "memzip-store-suite-"));
after(() => rmSync(folder, { recursive: true, force: true }));
let files = 0;

storeSuite("sqlite file", async () => {
  const store = openStore(join(folder, `store-${files++}.db`));
  assert.equal(store.readOnly, false);
  return store;
});
storeSuite("sqlite :memory:", async () => openStore(":memory:"));

describe("SQLite store specifics", () => {
  it("a read-only open of a missing store creates nothing and says E_NOT_FOUND; of an existing one, writes are E_RESOURCE", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "no", "store.db");
    assert.throws(() => openStore(path, { readOnly: true }), (e: unknown) => (e as { code?: string }).code === "E_NOT_FOUND" && /no store at .*store\.db/.test((e as Error).message));
    assert.deepEqual(readdirSync(dir.path), [], "no folder, no file");
    const writer = openStore(path);
    await writer.memories.put([memory("a")]);
    await writer.close();
    const reader = openStore(path, { readOnly: true });
    // A writable file in a writable folder is opened for writing (other processes may write it anyway).
    assert.equal(reader.readOnly, false);
    await reader.close();
    const memoryStore = openStore(":memory:", { readOnly: true });
    assert.equal(memoryStore.readOnly, false, ":memory: is always writable");
    await memoryStore.close();
  });

  it("turns a damaged file into E_STORE, from a call and from inside a scan", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "damaged.db");
    // The row layout (compact would seal the rows into blocks: a damaged block is test/store/sealed-damage.test.ts).
    const store = openStore(path, { seal: false });
    await store.memories.put(Array.from({ length: 400 }, (_, i) => memory(`m${i}`, "ns", { envelope: new Uint8Array(300).fill(i % 251) })));
    await store.compact();
    await store.close();
    assert.ok(!existsSync(`${path}-wal`) || statSync(`${path}-wal`).size === 0);
    // The memories' leaf pages are overwritten; the schema and everything an open reads stay intact.
    const raw = new Database(path, { readonly: true });
    const pageSize = raw.pragma("page_size", { simple: true }) as number;
    const leaves = raw.prepare("SELECT pageno FROM dbstat WHERE name = 'memories' AND pagetype = 'leaf'").pluck().all() as number[];
    raw.close();
    assert.ok(leaves.length > 10);
    const fd = openSync(path, "r+");
    for (const page of leaves) writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (page - 1) * pageSize);
    closeSync(fd);
    const damaged = openStore(path);
    try {
      await assert.rejects(collect(damaged.memories.scan()), { code: "E_STORE" });
      await assert.rejects(damaged.memories.usageByCodec(), { code: "E_STORE" });
    } finally {
      await damaged.close();
    }
  });

  it("wraps each aggregate once: the same functions on every access", async () => {
    const store = openStore(":memory:");
    assert.equal(store.memories, store.memories);
    assert.equal(store.memories.get, store.memories.get);
    assert.equal(store.search.matching, store.search.matching);
    await store.close();
  });

  it("an open store and another connection see each other's writes (change token included)", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "two.db");
    const first = openStore(path);
    const second = openStore(path);
    try {
      const token = await second.search.changeToken();
      await first.memories.put([memory("a")]);
      assert.notEqual(await second.search.changeToken(), token);
      assert.deepEqual((await second.memories.get("ns", "a"))?.id, "a");
      assert.equal(await second.memories.delete("ns", "a"), true);
      assert.equal(await first.memories.get("ns", "a"), undefined);
    } finally {
      await first.close();
      await second.close();
    }
  });
});
