import { strict as assert } from "node:assert";
import { statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { Engine } from "../../src/engine.js";
import { openStore } from "../../src/store/open.js";
import type { SqliteDatabase } from "../../src/store/sqlite/database.js";
import { collect, devCorpus, tempDir } from "../helpers.js";
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
    assert.equal(statSync(`${path}-wal`).size, 0, "the log checkpointed and emptied: the file on disk is the file");
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

describe("a seal of more hot rows than it reads at a time (pages of 1024)", () => {
  it("cuts the same runs across its pages (at rows left hot and at blockRows), and every memory reads the same", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "store.db");
    const plainPath = join(dir.path, "plain.db");
    // seqs 1..2500; seqs 1024 and 2049 (page ends) and 1500 cannot be held by a block (a fractional createdAt): they stay hot.
    const left = new Set([1024, 1500, 2049]);
    const rows = Array.from({ length: 2500 }, (_, i) => memory(`m${i}`, i % 2 ? "a" : "b", { envelope: Uint8Array.of(i & 255, i >> 8, 7), checksum: 1000 + i, createdAt: left.has(i + 1) ? 1.5 : 1 + i }));
    const store = openStore(path, { seal: true, blockRows: 100 });
    const plain = openStore(plainPath, { seal: false });
    try {
      await store.memories.put(rows);
      await plain.memories.put(rows);
      assert.equal(await store.seal?.(), 2497);
      const want: [number, number][] = [];
      let run: number[] = [];
      const end = () => {
        if (run.length > 0) want.push([run[0] as number, run[run.length - 1] as number]);
        run = [];
      };
      for (let seq = 1; seq <= 2500; seq++) {
        if (left.has(seq)) {
          end();
          continue;
        }
        if (run.length >= 100) end();
        run.push(seq);
      }
      end();
      const db = new Database(path, { readonly: true });
      try {
        assert.deepEqual(db.prepare("SELECT first_seq, last_seq FROM memory_blocks ORDER BY last_seq").raw().all(), want);
        assert.deepEqual(db.prepare("SELECT seq FROM memories ORDER BY seq").pluck().all(), [...left]);
      } finally {
        db.close();
      }
      const all = async (s: typeof store) => collect(s.memories.scan());
      assert.deepEqual(await all(store), await all(plain));
    } finally {
      await plain.close();
      await store.close();
    }
  });
});
