import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { Engine } from "../../src/engine.js";
import { openStore } from "../../src/store/open.js";
import type { SqliteDatabase } from "../../src/store/sqlite/database.js";
import { devCorpus, tempDir } from "../helpers.js";
import { memory } from "./store-suite.js";

function pragma(path: string, name: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return db.pragma(name, { simple: true }) as number;
  } finally {
    db.close();
  }
}

describe("the seal at the end of an import", () => {
  it("gives the pages it frees back without compacting the store (no VACUUM for a small import)", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "store.db");
    await using engine = Engine.create({ store: openStore(path), cache: "off", workers: 0, autoTrainAfter: 1_000_000 });
    const records = devCorpus().slice(0, 600);
    await engine.rememberMany(records.slice(0, 599).map((r) => ({ id: r.id, text: r.text })));
    const steps: string[] = [];
    await engine.finishImport("default", { onStep: (step) => steps.push(step.step) });
    assert.equal(steps.join(), "", "no training, so no compact");
    const hot = () => {
      const db = new Database(path, { readonly: true });
      try {
        return db.prepare("SELECT count(*) FROM memories").pluck().get() as number;
      } finally {
        db.close();
      }
    };
    assert.equal(hot(), 0, "sealed");
    assert.equal(pragma(path, "freelist_count"), 0, "the freed pages went back");
    // One more memory: its import ends with a seal (the short last block sealed again with it), still no compact.
    const last = records[599] as { id: string; text: string };
    await engine.remember({ id: last.id, text: last.text });
    await engine.finishImport("default", { onStep: (step) => steps.push(step.step) });
    assert.equal(steps.join(), "");
    assert.equal(hot(), 0);
    assert.equal(pragma(path, "freelist_count"), 0);
    assert.equal(await engine.recall(last.id), last.text);
    assert.equal(await engine.recall(records[0]?.id as string), records[0]?.text);
    // A stop asked for before the ending's seal: nothing sealed, E_ABORTED; the next ending seals.
    await engine.remember({ id: "after", text: "one more memory, written after the last ending" });
    const stop = new AbortController();
    stop.abort();
    await assert.rejects(engine.finishImport("default", { signal: stop.signal }), (error: Error & { code?: string }) => error.code === "E_ABORTED");
    assert.equal(hot(), 1, "the stop came before the seal");
    await engine.finishImport("default");
    assert.equal(hot(), 0);
    assert.equal(await engine.recall("after"), "one more memory, written after the last ending");
  });
});

describe("compact's pruning of tags and meta values", () => {
  it("decodes sealed blocks only until every value no hot row uses is found (none when there is none), and keeps what sealed rows use", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "store.db");
    const plain = { tags: [], meta: {} };
    {
      const sealing = openStore(path, { seal: true, blockRows: 4 });
      await sealing.memories.put(Array.from({ length: 12 }, (_, i) => memory(`m${i}`, "ns", { ...(i === 0 ? { tags: ["sealed-only"], meta: {} } : plain), checksum: 100 + i })));
      assert.equal(await sealing.seal?.(), 12);
      await sealing.close();
    }
    const store = openStore(path, { seal: false });
    try {
      const sealed = (store as unknown as { database: SqliteDatabase }).database.sealed;
      const decoded: number[] = [];
      const rowsOf = sealed.rowsOf.bind(sealed);
      sealed.rowsOf = (block) => {
        decoded.push(block.last_seq);
        return rowsOf(block);
      };
      const compacted = async (): Promise<number[]> => {
        decoded.length = 0;
        await store.compact();
        return [...new Set(decoded)];
      };
      const values = () => {
        const db = new Database(path, { readonly: true });
        try {
          return db.prepare("SELECT json FROM memory_values ORDER BY json").pluck().all();
        } finally {
          db.close();
        }
      };
      await store.memories.put([memory("hot", "ns", { tags: ["hot"], meta: {}, checksum: 1 }), memory("gone", "ns", { tags: ["gone"], meta: {}, checksum: 2 })]);
      await store.memories.delete("ns", "gone");
      assert.deepEqual(values(), ['["gone"]', '["hot"]', '["sealed-only"]']);
      // "gone" is no row's: every block is read to be sure.
      assert.deepEqual(await compacted(), [4, 8, 12]);
      assert.deepEqual(values(), ['["hot"]', '["sealed-only"]']);
      // "sealed-only" is found in the first block: the others are not decoded.
      assert.deepEqual(await compacted(), [4]);
      assert.deepEqual(values(), ['["hot"]', '["sealed-only"]']);
      assert.deepEqual((await store.memories.get("ns", "m0"))?.tags, ["sealed-only"]);
      // Every value a hot row's: no block decoded.
      await store.memories.put([memory("m0", "ns", { tags: ["sealed-only"], meta: {}, checksum: 100 })]);
      assert.deepEqual(await compacted(), []);
      assert.deepEqual(values(), ['["hot"]', '["sealed-only"]']);
    } finally {
      await store.close();
    }
  });
});
