import { strict as assert } from "node:assert";
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { openStore } from "../../src/store/open.js";
import { collect, tempDir } from "../helpers.js";
import { hashOf, memory, storeSuite, textMemory } from "./store-suite.js";

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

  it("a reference across namespaces left by an earlier build still reads, and is handed the text when its holder goes or changes", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "legacy.db");
    const text = "a text an earlier build shared across namespaces";
    const bytes = [...new TextEncoder().encode(text)];
    const store = openStore(path);
    await store.memories.put([textMemory("h", "a", text), textMemory("r", "b", text), textMemory("h2", "a", "second shared text"), textMemory("r2", "b", "second shared text")]);
    assert.equal((await store.memories.get("b", "r"))?.contentOf, null, "this build never makes a reference across namespaces");
    await store.close();
    // What an earlier build wrote: b's rows refer to a's holders.
    const raw = new Database(path);
    for (const [holder, reference] of [["h", "r"], ["h2", "r2"]]) {
      raw.prepare("UPDATE memories SET content_of = (SELECT seq FROM memories WHERE id = ?), envelope = x'' WHERE id = ?").run(holder, reference);
    }
    raw.close();
    const legacy = openStore(path);
    try {
      const read = await legacy.memories.get("b", "r");
      assert.deepEqual([read?.contentOf, [...(read?.envelope ?? [])]], ["h", bytes]);
      assert.equal((await legacy.memories.footprint("b")).envelopeBytes, text.length + "second shared text".length, "b is charged the texts it reads");
      // b finds no holder of the text in b (its row is a reference); a new copy in b holds its own envelope.
      assert.equal(await legacy.memories.findContent("b", hashOf(text), text.length * 7919, text.length), undefined);
      assert.deepEqual(await legacy.memories.put([textMemory("new", "b", text)]), new Set());
      assert.equal((await legacy.memories.get("b", "new"))?.contentOf, null);
      // The holder goes: the reference in b holds the text now.
      assert.equal(await legacy.memories.delete("a", "h"), true);
      const handed = await legacy.memories.get("b", "r");
      assert.deepEqual([handed?.contentOf, [...(handed?.envelope ?? [])]], [null, bytes]);
      // The other holder takes another text: its reference in b is handed the old one.
      await legacy.memories.put([textMemory("h2", "a", "h2 says something else")]);
      const second = await legacy.memories.get("b", "r2");
      assert.deepEqual([second?.contentOf, Buffer.from(second?.envelope ?? []).toString()], [null, "second shared text"]);
      assert.equal(Buffer.from((await legacy.memories.get("a", "h2"))?.envelope ?? []).toString(), "h2 says something else");
    } finally {
      await legacy.close();
    }
  });
});
