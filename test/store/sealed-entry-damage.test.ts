import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { Engine } from "../../src/engine.js";
import { openStore } from "../../src/store/open.js";
import { collect, tempDir } from "../helpers.js";

/**
 * Hostile trial of stop 63: a sealed block's entry in `memory_blocks` (its seq range, the key of the table) that no
 * longer matches its rows hid them from every read by id while `verify` said the store was clean and `export` exited 0.
 */
const text = (i: number) => `memory number ${i}: the quick brown fox jumps over the lazy dog ${"z".repeat(i)}`;

/**
 * 12 memories sealed in blocks of seqs 1..4, 5..8 and 9..12, memory `m<i>` at seq i + 1 (m5 expires in a day, m10 within
 * a minute), then one hot memory.
 */
async function sealedStore(path: string): Promise<void> {
  const store = openStore(path, { seal: true, blockRows: 4, firstSealRows: 1 });
  const engine = Engine.create({ store, cache: "off", workers: 0 });
  try {
    const expiry = (i: number) => (i === 10 ? { expiresAt: Date.now() + 60_000 } : i === 5 ? { expiresAt: Date.now() + 86_400_000 } : {});
    await engine.rememberMany(Array.from({ length: 12 }, (_, i) => ({ id: `m${i}`, text: text(i), ...expiry(i) })));
    assert.equal(await store.seal?.(), 12);
    await engine.remember({ id: "hot", text: "a memory written after the seal" });
  } finally {
    await engine.close();
  }
}

function seqsOf(path: string, table: string): number[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(`SELECT seq FROM ${table} ORDER BY seq`).pluck().all() as number[];
  } finally {
    db.close();
  }
}

function sql(path: string, statement: string): void {
  const db = new Database(path);
  try {
    db.exec(statement);
  } finally {
    db.close();
  }
}

async function withEngine<T>(path: string, work: (engine: Engine) => Promise<T>): Promise<T> {
  // An hour on: the memory written to expire in a minute has expired.
  const engine = Engine.create({ store: openStore(path, { seal: true, blockRows: 4, firstSealRows: 1 }), cache: "off", workers: 0, clock: () => Date.now() + 3_600_000 });
  try {
    return await work(engine);
  } finally {
    await engine.close();
  }
}

describe("a sealed block whose entry does not match its rows", () => {
  it("verifies clean while nothing is damaged, an expired memory among them", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "s.db");
    await sealedStore(path);
    await withEngine(path, async (engine) => assert.deepEqual(await engine.verify(), { checked: 13, failed: 0, failures: [] }));
  });

  for (const [name, damage, range] of [
    ["a seq range made wider (its key)", "UPDATE memory_blocks SET last_seq = 20 WHERE last_seq = 8", /seqs 5\.\.20/],
    ["a first seq moved", "UPDATE memory_blocks SET first_seq = 6 WHERE last_seq = 8", /seqs 6\.\.8/],
    ["two blocks' data swapped", "CREATE TEMP TABLE kept AS SELECT last_seq, data FROM memory_blocks WHERE last_seq IN (4, 8); UPDATE memory_blocks SET data = (SELECT data FROM kept WHERE kept.last_seq = 12 - memory_blocks.last_seq) WHERE last_seq IN (4, 8)", /seqs 5\.\.8/],
  ] as const) {
    it(`${name}: verify and export name the block, and setting it aside keeps every other memory whole`, async () => {
      await using dir = tempDir();
      const path = join(dir.path, "s.db");
      await sealedStore(path);
      sql(path, damage);
      await withEngine(path, async (engine) => {
        const report = await engine.verify();
        assert.ok(report.failed >= 4, JSON.stringify(report));
        assert.ok(report.failures.some((f) => f.code === "E_STORE" && range.test(f.message)), JSON.stringify(report.failures));
        await assert.rejects(collect(engine.exportMemories()), (error: Error & { code?: string }) => error.code === "E_STORE");
        const set = await engine.setAsideDamaged();
        assert.ok(set.memories >= 4);
        // Every memory no damaged block holds reads back exactly, by id and in an export; nothing else is returned.
        const exported = await collect(engine.exportMemories());
        for (const m of exported) assert.equal(m.text, m.id === "hot" ? "a memory written after the seal" : text(Number(m.id.slice(1))));
        const kept = new Set(exported.map((m) => m.id));
        const swapped = damage.includes("kept");
        for (let i = 0; i < 12; i++) {
          if (i === 10) continue;
          if ((i >= 4 && i < 8) || (swapped && i < 4)) continue;
          assert.ok(kept.has(`m${i}`), `m${i} kept`);
          assert.equal(await engine.recall(`m${i}`), text(i));
        }
        assert.deepEqual((await engine.verify()).failed, 0);
        assert.equal(await engine.recall("hot"), "a memory written after the seal");
      });
      // What the store kept about the rows set aside went with them (m5's expiry key, seq 6), and only that: m10's
      // (seq 11, in a block the damaged entry's range claimed) stays, as the hot row beside them does.
      assert.deepEqual(seqsOf(path, "sealed_expiry"), [11]);
    });
  }

  it("a block's entry gone while its counts stay: verify reports the memories no scan reaches", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "s.db");
    await sealedStore(path);
    sql(path, "DELETE FROM memory_blocks WHERE last_seq = 8");
    await withEngine(path, async (engine) => {
      const report = await engine.verify();
      assert.deepEqual([report.checked, report.failed], [13, 4]);
      assert.equal(report.failures[0]?.code, "E_STORE");
      assert.match(report.failures[0]?.message ?? "", /counts 13 memories, but a scan of it reaches 9: 4 cannot be read/);
    });
  });
});
