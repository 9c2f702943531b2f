import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import type { Store } from "../../src/core/store.js";
import { Engine, type ExportFailure } from "../../src/engine.js";
import { openStore } from "../../src/store/open.js";
import type { SqliteDatabase } from "../../src/store/sqlite/database.js";
import { BLOCK_BYTES, SEALED_COLUMNS } from "../../src/store/sqlite/sealed.js";
import { collect, damageBlock, tempDir } from "../helpers.js";
import { memory } from "./store-suite.js";

describe("a damaged sealed block", () => {
  it("verify counts its memories as failed, names its seq range, and checks every other memory; reads of it are E_STORE naming the block", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "store.db");
    const store = openStore(path, { seal: true, blockRows: 4, firstSealRows: 1 });
    const engine = Engine.create({ store, cache: "off", workers: 0 });
    try {
      const text = (i: number) => `memory number ${i}: the quick brown fox jumps over the lazy dog ${"z".repeat(i)}`;
      // seqs 1..6 default, 7..8 other, 9..12 default: blocks 1..4, 5..8 (two of each namespace), 9..12.
      await engine.rememberMany(Array.from({ length: 6 }, (_, i) => ({ id: `d${i}`, text: text(i) })), { namespace: "default" });
      await engine.rememberMany([{ id: "o0", text: text(20) }, { id: "o1", text: text(21) }], { namespace: "other" });
      await engine.rememberMany(Array.from({ length: 4 }, (_, i) => ({ id: `d${i + 6}`, text: text(i + 6) })), { namespace: "default" });
      assert.equal(await store.seal?.(), 12);
      assert.deepEqual(await engine.verify(), { checked: 12, failed: 0, failures: [] });
      damageBlock(path, 8);

      const all = await engine.verify();
      assert.equal(all.checked, 12);
      assert.equal(all.failed, 4);
      assert.equal(all.failures.length, 1);
      assert.match(all.failures[0]?.id ?? "", /4 memories in the sealed block of seqs 5\.\.8/);
      assert.equal(all.failures[0]?.code, "E_STORE");
      assert.match(all.failures[0]?.message ?? "", /sealed block of seqs 5\.\.8 \(4 memories\) could not be read/);
      const other = await engine.verify("other");
      assert.deepEqual([other.checked, other.failed], [2, 2]);
      const mine = await engine.verify("default");
      assert.deepEqual([mine.checked, mine.failed], [10, 2]);

      // Every memory outside the block still reads; one inside is an E_STORE error that names the block.
      assert.equal(await engine.recall("d0", { namespace: "default" }), text(0));
      assert.equal(await engine.recall("d9", { namespace: "default" }), text(9));
      await assert.rejects(store.memories.get("other", "o0"), (error: Error & { code?: string }) => error.code === "E_STORE" && /seqs 5\.\.8/.test(error.message));
      // A scan told of nothing else stops at the damage, with the same error.
      await assert.rejects(collect(store.memories.scan()), /sealed block of seqs 5\.\.8/);
      // With a handler, a scan reads on: every other memory, once, and the block reported once. (Forgetting d1 unseals
      // the first block: then every page of one row, hot, walks the sealed side past the damaged block again.)
      await engine.forget("d1", "default");
      const damaged: string[] = [];
      const ids = (await collect(store.memories.scan({ batchSize: 1, onDamaged: (d) => damaged.push(`${d.where}: ${d.memories}`) }))).map((m) => m.id);
      assert.deepEqual(ids, ["d0", "d2", "d3", "d6", "d7", "d8", "d9"]);
      assert.deepEqual(damaged, ["sealed block of seqs 5..8: 4"]);
    } finally {
      await engine.close();
    }
  });

  it("an export told of bad memories (--skip-bad) exports every other memory exactly and reports the block once; without it the export stops at the block", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "store.db");
    const store = openStore(path, { seal: true, blockRows: 4, firstSealRows: 1 });
    const engine = Engine.create({ store, cache: "off", workers: 0 });
    try {
      const text = (i: number) => `memory number ${i}: the quick brown fox jumps over the lazy dog ${"z".repeat(i)} ünïcödé ✓`;
      // seqs 1..12: blocks 1..4, 5..8, 9..12; then m12 and m13 hot (seqs 13, 14).
      await engine.rememberMany(Array.from({ length: 12 }, (_, i) => ({ id: `m${i}`, text: text(i), tags: [`t${i}`] })));
      assert.equal(await store.seal?.(), 12);
      await engine.rememberMany([12, 13].map((i) => ({ id: `m${i}`, text: text(i) })));
      damageBlock(path, 8);

      const skipped: ExportFailure[] = [];
      const exported = await collect(engine.exportMemories(undefined, { onBad: (failure) => skipped.push(failure) }));
      const kept = [0, 1, 2, 3, 8, 9, 10, 11, 12, 13];
      assert.deepEqual(exported.map((m) => m.id), kept.map((i) => `m${i}`));
      for (const [k, m] of exported.entries()) assert.equal(m.text, text(kept[k] as number), `${m.id} byte-exact`);
      assert.deepEqual(exported[0]?.tags, ["t0"]);
      assert.deepEqual(skipped, [
        { id: "(4 memories in the sealed block of seqs 5..8)", code: "E_STORE", message: skipped[0]?.message, memories: 4 },
      ]);
      assert.match(skipped[0]?.message ?? "", /sealed block of seqs 5\.\.8 \(4 memories\) could not be read/);
      // JSONL and Arrow take the same path; a namespace with no memory in the block reports nothing.
      const lines: ExportFailure[] = [];
      assert.equal((await collect(engine.exportJsonl("default", { onBad: (f) => lines.push(f) }))).length, 10);
      assert.deepEqual(lines.map((f) => f.id), ["(4 memories in the sealed block of seqs 5..8)"]);
      await engine.rememberMany([{ id: "x", text: "elsewhere" }], { namespace: "other" });
      const none: ExportFailure[] = [];
      assert.deepEqual((await collect(engine.exportMemories("other", { onBad: (f) => none.push(f) }))).map((m) => m.text), ["elsewhere"]);
      assert.deepEqual(none, []);
      // Nothing silently dropped without onBad: the block's E_STORE ends the export.
      await assert.rejects(collect(engine.exportMemories()), (error: Error & { code?: string }) => error.code === "E_STORE" && /seqs 5\.\.8/.test(error.message));
      await assert.rejects(engine.exportArrow(), (error: Error & { code?: string }) => error.code === "E_STORE");
    } finally {
      await engine.close();
    }
  });

  it("a block holds every column of memories: the list is pinned, and a store with another column refuses to seal (its values would be dropped)", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "store.db");
    (await openStore(path).close());
    const raw = new Database(path);
    assert.deepEqual((raw.prepare("SELECT name FROM pragma_table_info('memories')").pluck().all() as string[]).sort(), [...SEALED_COLUMNS].sort());
    // As a later schema step might, without teaching the block codec the new column.
    raw.exec("ALTER TABLE memories ADD COLUMN extra TEXT");
    raw.close();
    const store = openStore(path, { seal: true, firstSealRows: 1 });
    try {
      await store.memories.put([memory("a", "ns")]);
      new Database(path).exec("UPDATE memories SET extra = 'kept'").close();
      await assert.rejects(store.seal?.() ?? Promise.resolve(), (error: Error & { code?: string }) => error.code === "E_STORE" && /not in a block: extra/.test(error.message));
      const check = new Database(path, { readonly: true });
      assert.deepEqual(check.prepare("SELECT id, extra FROM memories").all(), [{ id: "a", extra: "kept" }]);
      assert.equal(check.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'memory_blocks'").pluck().get(), 0);
      check.close();
    } finally {
      await store.close();
    }
  });

  it("a sealed_refs row whose block is gone does not stop a write to its holder (the stale key row goes)", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "store.db");
    const store = openStore(path, { seal: true, blockRows: 2, firstSealRows: 1 });
    try {
      const shared = (id: string) => memory(id, "a", { envelope: new TextEncoder().encode("shared text"), originalLength: 11, checksum: 5, contentHash: new Uint8Array(16).fill(3) });
      await store.memories.put([shared("h"), memory("x", "a")]);
      await store.memories.put([shared("r1"), shared("r2")]);
      assert.equal(await store.seal?.(), 4);
      const raw = new Database(path);
      assert.deepEqual(raw.prepare("SELECT content_of, seq FROM sealed_refs ORDER BY seq").raw().all(), [[1, 3], [1, 4]]);
      raw.prepare("DELETE FROM memory_blocks WHERE last_seq = 4").run();
      raw.close();
      // Before the fix this never returned (the key row named a block that is not there), holding the write lock.
      assert.equal(await store.memories.delete("a", "h"), true);
      assert.equal(await store.memories.get("a", "h"), undefined);
      assert.equal((await store.memories.get("a", "x"))?.id, "x");
      const check = new Database(path, { readonly: true });
      assert.equal(check.prepare("SELECT count(*) FROM sealed_refs").pluck().get(), 0);
      check.close();
    } finally {
      await store.close();
    }
  });
});

describe("memories beside a damaged sealed block", () => {
  it("one that reads its text from the block, or is read from by a row in it, is written, repaired and forgotten before the block is set aside", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "store.db");
    const store = openStore(path, { seal: true, blockRows: 4, firstSealRows: 1 });
    const engine = Engine.create({ store, cache: "off", workers: 0 });
    const text = (i: number) => `memory number ${i}: the quick brown fox jumps over the lazy dog ${"z".repeat(i)}`;
    const ns = { namespace: "default" };
    try {
      // Blocks 1..4 (d0..d3), 5..8 (d4..d6 and d7, a reference to d0: the block to damage), 9..12 (d9 and d12, references
      // to d4 and d5 in the damaged block; d10, d11).
      await engine.rememberMany(Array.from({ length: 4 }, (_, i) => ({ id: `d${i}`, text: text(i) })), ns);
      await engine.rememberMany([...Array.from({ length: 3 }, (_, i) => ({ id: `d${i + 4}`, text: text(i + 4) })), { id: "d7", text: text(0) }], ns);
      await engine.rememberMany([{ id: "d9", text: text(4) }, { id: "d12", text: text(5) }, { id: "d10", text: text(10) }, { id: "d11", text: text(11) }], ns);
      assert.equal(await store.seal?.(), 12);
      const raw = new Database(path, { readonly: true });
      assert.deepEqual(raw.prepare("SELECT content_of, seq FROM sealed_refs ORDER BY seq").raw().all(), [[1, 8], [5, 9], [6, 10]]);
      raw.close();
      damageBlock(path, 8);
      await assert.rejects(engine.recall("d9", ns), (error: Error & { code?: string }) => error.code === "E_FORMAT");
      // A write beside d9 and d12 moves their block back into memories, their holders staying in the damaged one: they
      // read as damaged there too, verify says so, and a seal takes them back.
      assert.equal((await engine.remember({ id: "d10", text: `${text(10)} again` }, ns)).status, "updated");
      const raw2 = new Database(path, { readonly: true });
      assert.deepEqual(raw2.prepare("SELECT id, content_of FROM memories WHERE content_of IS NOT NULL ORDER BY seq").raw().all(), [["d9", 5], ["d12", 6]]);
      raw2.close();
      await assert.rejects(engine.recall("d12", ns), (error: Error & { code?: string }) => error.code === "E_FORMAT");
      const beside = await engine.verify();
      assert.deepEqual([beside.checked, beside.failed, beside.failures.map((f) => [f.id, f.code])], [12, 6, [["(4 memories in the sealed block of seqs 5..8)", "E_STORE"], ["d9", "E_FORMAT"], ["d12", "E_FORMAT"]]]);
      assert.ok(((await store.seal?.()) ?? 0) > 0);
      await assert.rejects(engine.recall("d9", ns), (error: Error & { code?: string }) => error.code === "E_FORMAT");

      // As the read's hint says, writing d9's text again repairs it (it keeps an envelope of its own).
      const repaired = await engine.remember({ id: "d9", text: text(4) }, ns);
      assert.deepEqual([repaired.status, repaired.repaired], ["updated", true]);
      assert.equal(await engine.recall("d9", ns), text(4));
      // A new memory of a text only the damaged block holds is stored with its own envelope.
      const fresh = await engine.remember({ id: "d13", text: text(6) }, ns);
      assert.deepEqual([fresh.status, fresh.deduplicated ?? false], ["stored", false]);
      assert.equal(await engine.recall("d13", ns), text(6));
      // A reference into the block is forgotten; a holder read from by a row of the block takes another text.
      await engine.forget("d12", "default");
      await assert.rejects(engine.recall("d12", ns), (error: Error & { code?: string }) => error.code === "E_NOT_FOUND");
      assert.equal((await engine.remember({ id: "d0", text: "d0's new text, long enough to be coded" }, ns)).status, "updated");
      assert.equal(await engine.recall("d0", ns), "d0's new text, long enough to be coded");
      // The block's own memories still cannot be written before it is set aside.
      await assert.rejects(engine.remember({ id: "d5", text: text(5) }, ns), /sealed block of seqs 5\.\.8/);

      const before = await engine.verify();
      assert.deepEqual([before.checked, before.failed, before.failures.map((f) => f.code)], [12, 4, ["E_STORE"]]);
      assert.equal((await engine.setAsideDamaged()).memories, 4);
      await store.seal?.();
      assert.deepEqual(await engine.verify(), { checked: 8, failed: 0, failures: [] });
      for (const [id, t] of [["d0", "d0's new text, long enough to be coded"], ["d9", text(4)], ["d13", text(6)], ["d10", `${text(10)} again`], ["d11", text(11)]] as const) {
        assert.equal(await engine.recall(id, ns), t);
      }
      await engine.compact();
      assert.deepEqual(await engine.verify(), { checked: 8, failed: 0, failures: [] });
    } finally {
      await engine.close();
    }
  });
});

describe("setting aside a damaged sealed block (verify --set-aside-damaged)", () => {
  it("keeps its bytes apart, drops what the store kept of its rows, and lets its ids be written anew and compact run; a reference to it is repaired by writing it again", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "store.db");
    const store = openStore(path, { seal: true, blockRows: 4, firstSealRows: 1 });
    const engine = Engine.create({ store, cache: "off", workers: 0 });
    const text = (i: number) => `memory number ${i}: the quick brown fox jumps over the lazy dog ${"z".repeat(i)}`;
    try {
      // seqs 1..4 default d0..d3; 5..8 default d4, d5 and other o0, o1 (the block to damage); 9..12 default d6, d7, d8 and
      // d9, which shares d4's text (a reference to seq 5). d5 keeps an earlier text in history.
      await engine.rememberMany(Array.from({ length: 4 }, (_, i) => ({ id: `d${i}`, text: text(i) })), { namespace: "default" });
      await engine.rememberMany([{ id: "d4", text: text(4) }, { id: "d5", text: "an earlier text of d5" }], { namespace: "default" });
      await engine.rememberMany([{ id: "o0", text: `submarine ${text(20)}` }, { id: "o1", text: text(21) }], { namespace: "other" });
      await engine.remember({ id: "d5", text: text(5) }, { namespace: "default" });
      await engine.rememberMany([...Array.from({ length: 3 }, (_, i) => ({ id: `d${i + 6}`, text: text(i + 6) })), { id: "d9", text: text(4) }], { namespace: "default" });
      assert.equal(await store.seal?.(), 12);
      assert.equal((await engine.history("d5", "default")).length, 2);
      assert.deepEqual((await engine.searchMemories("submarine", { namespace: "other" })).map((hit) => hit.id), ["o0"]);
      const raw = new Database(path, { readonly: true });
      assert.deepEqual(raw.prepare("SELECT content_of, seq FROM sealed_refs").raw().all(), [[5, 12]]);
      raw.close();
      damageBlock(path, 8);
      const damagedBytes = (new Database(path, { readonly: true }).prepare("SELECT data FROM memory_blocks WHERE last_seq = 8").pluck().get() as Buffer).toString("hex");

      // Before: the block's ids cannot be written again (nor forgotten).
      await assert.rejects(engine.remember({ id: "o0", text: `submarine ${text(20)}` }, { namespace: "other" }), /sealed block of seqs 5\.\.8/);
      await assert.rejects(engine.forget("o1", "other"), /sealed block of seqs 5\.\.8/);

      // verify goes past the block and lists d9 (its holder is in the block) instead of stopping at it.
      const before = await engine.verify();
      assert.deepEqual([before.checked, before.failed], [12, 5]);
      assert.deepEqual(before.failures.map((f) => [f.id, f.code]), [["(4 memories in the sealed block of seqs 5..8)", "E_STORE"], ["d9", "E_FORMAT"]]);

      const report = await engine.setAsideDamaged();
      assert.equal(report.memories, 4);
      assert.deepEqual(report.parts.map((p) => [p.where, p.memories, p.code]), [["sealed block of seqs 5..8", 4, "E_STORE"]]);
      assert.deepEqual(await engine.setAsideDamaged(), { memories: 0, parts: [] });
      const kept = new Database(path, { readonly: true });
      assert.deepEqual(kept.prepare("SELECT first_seq, last_seq, n, hex(data) AS data FROM damaged_blocks").raw().all(), [[5, 8, 4, damagedBytes.toUpperCase()]]);
      assert.equal(kept.prepare("SELECT count(*) FROM memory_versions WHERE seq BETWEEN 5 AND 8").pluck().get(), 0);
      // d9 no longer names seq 5 (a row given that seq later must never stand in for its text).
      assert.equal(kept.prepare("SELECT count(*) FROM sealed_refs").pluck().get(), 0);
      assert.deepEqual(kept.prepare("SELECT content_of, content_hash, length(envelope) FROM memories WHERE id = 'd9'").raw().get(), [null, null, 0]);
      kept.close();

      // The rest reads; the block's memories are gone; d9 read its text from d4 and fails until written again.
      assert.equal(await engine.recall("d0", { namespace: "default" }), text(0));
      assert.equal(await engine.recall("d8", { namespace: "default" }), text(8));
      await assert.rejects(engine.recall("o0", { namespace: "other" }), (error: Error & { code?: string }) => error.code === "E_NOT_FOUND");
      const after = await engine.verify();
      assert.deepEqual([after.checked, after.failed, after.failures.map((f) => f.id)], [8, 1, ["d9"]]);
      assert.equal((await engine.remember({ id: "d9", text: text(4) }, { namespace: "default" })).repaired, true);
      assert.equal(await engine.recall("d9", { namespace: "default" }), text(4));

      // Their ids are written anew (as an import of an export would), compact runs, search finds them again.
      for (const [id, t, namespace] of [["d4", text(4), "default"], ["d5", text(5), "default"], ["o0", `submarine ${text(20)}`, "other"], ["o1", text(21), "other"]] as const) {
        assert.equal((await engine.remember({ id, text: t }, { namespace })).status, "stored");
      }
      await engine.compact();
      assert.deepEqual(await engine.verify(), { checked: 12, failed: 0, failures: [] });
      assert.equal(await engine.recall("o0", { namespace: "other" }), `submarine ${text(20)}`);
      assert.equal((await engine.history("d5", "default")).length, 1);
      assert.deepEqual((await engine.searchMemories("submarine", { namespace: "other" })).map((hit) => hit.id), ["o0"]);
    } finally {
      await engine.close();
    }
  });
});

describe("sealed rows hand out their own bytes", () => {
  it("a caller that changes a returned envelope or content hash does not change what the next read gives", async () => {
    await using dir = tempDir();
    const store = openStore(join(dir.path, "store.db"), { seal: true, firstSealRows: 1 });
    try {
      const hash = new Uint8Array(16).fill(7);
      await store.memories.put([memory("a", "ns", { envelope: Uint8Array.of(104, 105, 106), contentHash: hash, checksum: 9 })]);
      assert.equal(await store.seal?.(), 1);
      const first = await store.memories.get("ns", "a");
      assert.ok(first?.envelope && first.contentHash);
      first.envelope[0] = 0;
      first.contentHash[0] = 0;
      const holder = await store.memories.findContent("ns", hash, 9, 3);
      assert.ok(holder);
      holder.envelope[1] = 0;
      const again = await store.memories.get("ns", "a");
      assert.deepEqual([...(again?.envelope ?? [])], [104, 105, 106]);
      assert.equal(again?.contentHash?.[0], 7);
      assert.deepEqual([...((await store.memories.findContent("ns", hash, 9, 3))?.envelope ?? [])], [104, 105, 106]);
    } finally {
      await store.close();
    }
  });
});

describe("reads of some namespaces skip the blocks of others", () => {
  it("a namespaced page, list or scan decodes only blocks holding that namespace, its usage none; a page the hot rows fill decodes none", async () => {
    await using dir = tempDir();
    const store = openStore(join(dir.path, "store.db"), { seal: true, blockRows: 4, firstSealRows: 1 });
    try {
      const text = (id: string) => memory(id, id.startsWith("t") ? "tiny" : "big", { envelope: new TextEncoder().encode(`text of ${id}`), checksum: id.length, originalLength: 8 + id.length });
      // seqs 1, 2 tiny; 3..40 big: blocks ending at 4 (mixed), 8, 12, ..., 40 (big only); then t2 and b38 hot.
      await store.memories.put([text("t0"), text("t1"), ...Array.from({ length: 38 }, (_, i) => text(`b${i}`))]);
      assert.equal(await store.seal?.(), 40);
      await store.memories.put([text("t2"), text("b38")]);
      const sqlite = (store as unknown as { database: SqliteDatabase }).database;
      const sealed = sqlite.sealed;
      const decoded: number[] = [];
      const rowsOf = sealed.rowsOf.bind(sealed);
      sealed.rowsOf = (block) => {
        decoded.push(block.last_seq);
        return rowsOf(block);
      };
      const reads = async (read: () => Promise<unknown>): Promise<number[]> => {
        decoded.length = 0;
        await read();
        return [...new Set(decoded)];
      };
      const ids = (items: { id: string }[]) => items.map((item) => item.id);
      assert.deepEqual(await reads(async () => assert.deepEqual(ids((await store.memories.page({ namespaces: ["tiny"], limit: 10 })).items), ["t0", "t1", "t2"])), [4]);
      assert.deepEqual(await reads(async () => assert.deepEqual(ids(await store.memories.list({ namespace: "tiny" })), ["t0", "t1", "t2"])), [4]);
      assert.deepEqual(await reads(async () => assert.deepEqual(ids(await collect(store.memories.scan({ namespace: "tiny" }))), ["t0", "t1", "t2"])), [4]);
      // A namespace's sizes come from the blocks' sums: no block is decoded (only one holding a reference would be).
      assert.deepEqual(await reads(async () => assert.equal((await store.memories.footprint("tiny")).memories, 3)), []);
      // The first block back in memories: a page of 3 is filled by hot rows 1..4, so no sealed block past them is read.
      sqlite.write(() => sealed.unsealAt(1));
      assert.deepEqual(await reads(async () => assert.deepEqual(ids((await store.memories.page({ limit: 3 })).items), ["t0", "t1", "b0"])), []);
      assert.deepEqual(await reads(async () => assert.deepEqual(ids(await store.memories.list({ limit: 3 })), ["t0", "t1", "b0"])), []);
      assert.deepEqual(await reads(async () => assert.equal((await collect(store.memories.scan({ batchSize: 4 }))).length, 42)), [8, 12, 16, 20, 24, 28, 32, 36, 40]);
    } finally {
      await store.close();
    }
  });
});

describe("the sealed tables come with the first seal", () => {
  it("a store that never seals has none (v2's pages), reads and writes it from every path, and a seal makes them", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "store.db");
    const tables = () => {
      const db = new Database(path, { readonly: true });
      try {
        return db.prepare("SELECT name FROM sqlite_schema WHERE name LIKE 'sealed%' OR name LIKE 'memory_block%' ORDER BY name").pluck().all();
      } finally {
        db.close();
      }
    };
    const store = openStore(path, { seal: false });
    const reader = openStore(path, { readOnly: true });
    try {
      await store.memories.put([memory("a", "ns", { expiresAt: 5 }), memory("b", "ns", { contentHash: new Uint8Array(16).fill(1) })]);
      assert.deepEqual(tables(), []);
      const reads = async (s: Store) => ({
        get: await s.memories.get("ns", "a"),
        count: await s.memories.count("ns"),
        page: await s.memories.page({ namespaces: ["ns"], limit: 5 }),
        list: await s.memories.list({}),
        scan: await collect(s.memories.scan()),
        usage: await s.memories.usageByCodec("ns"),
        footprint: await s.memories.footprint(),
        history: await s.memories.historyUsage("ns"),
        expired: await s.memories.countExpired(10),
        names: await s.memories.namespacesOf("a"),
        content: await s.memories.findContent("ns", new Uint8Array(16).fill(1), 7, 3),
        assets: await s.assets.usage(),
        pending: await s.search.countPending("k"),
      });
      await store.memories.delete("ns", "b");
      await store.memories.put([memory("b", "ns", { contentHash: new Uint8Array(16).fill(1) })]);
      await store.compact();
      assert.deepEqual(tables(), [], "writes, deletes and compact of a store that does not seal make none");
      const before = await reads(store);
      assert.deepEqual(await reads(reader), before);
      const sealing = openStore(path, { seal: true, firstSealRows: 1 });
      try {
        assert.equal(await sealing.seal?.(), 2);
        assert.deepEqual(tables(), ["memory_block_usage", "memory_blocks", "sealed_content_runs", "sealed_expiry", "sealed_id_runs", "sealed_refs"]);
        assert.deepEqual(await reads(sealing), before);
        assert.deepEqual(await reads(reader), before);
        assert.deepEqual(await reads(store), before);
      } finally {
        await sealing.close();
      }
    } finally {
      await reader.close();
      await store.close();
    }
  });
});

describe("short blocks", () => {
  it("a short last block is sealed again with the hot rows after it (no trail of small blocks from compacts after a few writes)", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "store.db");
    const store = openStore(path, { seal: true, blockRows: 4, firstSealRows: 1 });
    try {
      const m = (i: number) => memory(`m${i}`, "ns", { envelope: Uint8Array.of(i, 7, 7), checksum: 50 + i });
      const blocks = () => {
        const raw = new Database(path, { readonly: true });
        try {
          return raw.prepare("SELECT first_seq, last_seq FROM memory_blocks ORDER BY last_seq").raw().all();
        } finally {
          raw.close();
        }
      };
      await store.memories.put([m(0), m(1)]);
      assert.equal(await store.seal?.(), 2);
      await store.memories.put([m(2)]);
      assert.equal(await store.seal?.(), 1, "the rows sealed now, not the short block's again");
      assert.deepEqual(blocks(), [[1, 3]]);
      await store.memories.put([m(3), m(4), m(5)]);
      assert.equal(await store.seal?.(), 3);
      assert.deepEqual(blocks(), [[1, 4], [5, 6]]);
      assert.equal(await store.seal?.(), 0, "nothing hot: the short block stays as it is");
      assert.deepEqual(blocks(), [[1, 4], [5, 6]]);
      assert.deepEqual((await collect(store.memories.scan())).map((x) => x.id), ["m0", "m1", "m2", "m3", "m4", "m5"]);
    } finally {
      await store.close();
    }
  });
});

describe("blocks are bounded by bytes too", () => {
  it("large memories get fewer rows a block (at most BLOCK_BYTES of envelopes; a larger one alone), and read back exact", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "store.db");
    const store = openStore(path, { seal: true, firstSealRows: 1 });
    try {
      const big = (id: string, bytes: number) => memory(id, "ns", { envelope: new Uint8Array(bytes).fill(id.charCodeAt(1)), originalLength: bytes, checksum: bytes });
      const quarter = BLOCK_BYTES / 4;
      await store.memories.put([...Array.from({ length: 10 }, (_, i) => big(`q${i}`, quarter)), big("L", BLOCK_BYTES + 1), big("s0", 100), big("s1", 100)]);
      const before = await collect(store.memories.scan());
      assert.equal(await store.seal?.(), 13);
      const raw = new Database(path, { readonly: true });
      assert.deepEqual(raw.prepare("SELECT n FROM memory_blocks ORDER BY last_seq").pluck().all(), [4, 4, 2, 1, 2]);
      raw.close();
      assert.deepEqual(await collect(store.memories.scan()), before);
    } finally {
      await store.close();
    }
  });
});

describe("the search index's pending memories over sealed blocks", () => {
  it("are the sealed rows without a vector, in seq order, batch after batch, after a clear and after another connection's change", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "store.db");
    const store = openStore(path, { seal: true, blockRows: 4, firstSealRows: 1 });
    const other = openStore(path);
    try {
      await store.memories.put(Array.from({ length: 14 }, (_, i) => memory(`m${i}`, i % 3 ? "a" : "b", { envelope: Uint8Array.of(i, 1, 2), checksum: 100 + i })));
      assert.equal(await store.seal?.(), 14);
      await store.memories.put([memory("hot", "a", { envelope: Uint8Array.of(9, 9), checksum: 5, originalLength: 2 })]);
      const pendingSeqs = async (s: Store, limit: number) => (await s.search.pending("k", limit)).map((p) => p.seq);
      const index = async (s: Store, seqs: number[]) => s.search.put("k", seqs.map((seq) => ({ seq, vector: Uint8Array.of(seq), terms: `t${seq}` })));
      assert.deepEqual(await pendingSeqs(store, 100), [...Array.from({ length: 14 }, (_, i) => i + 1), 15]);
      // Batches of 3, indexing each: every row once, in seq order (blocks 1..4 and 5..8 complete are then skipped).
      const seen: number[] = [];
      for (let batch = await pendingSeqs(store, 3); batch.length > 0; batch = await pendingSeqs(store, 3)) {
        seen.push(...batch);
        await index(store, batch);
      }
      assert.deepEqual(seen, Array.from({ length: 15 }, (_, i) => i + 1));
      // Holes in the first and third blocks: another connection forgets two vectors (the first block's, seq 2; seq 10).
      (other as unknown as { database: SqliteDatabase }).database.db.prepare("DELETE FROM search_vectors WHERE seq IN (2, 10)").run();
      assert.deepEqual(await pendingSeqs(store, 100), [2, 10]);
      await index(store, [2]);
      assert.deepEqual(await pendingSeqs(store, 100), [10]);
      await index(store, [10]);
      assert.deepEqual(await pendingSeqs(store, 100), []);
      await store.search.clear();
      await index(store, [1, 5]);
      assert.deepEqual(await pendingSeqs(store, 4), [2, 3, 4, 6]);
      assert.deepEqual(await pendingSeqs(other, 100), [2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    } finally {
      await other.close();
      await store.close();
    }
  });
});

describe("a search index entry of no memory inside a block's seq range", () => {
  it("is never stored (a batch raced a delete) and goes with the seal (an older store's), so no row of a block is left unindexed", async () => {
    await using dir = tempDir();
    const rows = () => Array.from({ length: 8 }, (_, i) => memory(`m${i}`, "ns", { envelope: Uint8Array.of(i, 1, 2), checksum: 100 + i }));
    const entries = (seqs: readonly number[]) => seqs.map((seq) => ({ seq, vector: Uint8Array.of(seq), terms: `t${seq}` }));
    const pendingSeqs = async (s: Store) => (await s.search.pending("k", 100)).map((p) => p.seq);
    const check = async (path: string, want: number[]) => {
      const fresh = openStore(path, { readOnly: true });
      try {
        assert.deepEqual(await pendingSeqs(fresh), want, "a fresh connection");
        assert.equal(await fresh.search.countPending("k"), want.length);
      } finally {
        await fresh.close();
      }
    };
    // The review's sequence: a batch read, m2 (seq 3) deleted while it embeds, the batch stored; m5 (seq 6) rewritten; a seal.
    {
      const path = join(dir.path, "raced.db");
      const store = openStore(path, { seal: true, blockRows: 8, firstSealRows: 1 });
      try {
        await store.memories.put(rows());
        const batch = await pendingSeqs(store);
        await store.memories.delete("ns", "m2");
        await store.search.put("k", entries(batch));
        await store.memories.put([memory("m5", "ns", { envelope: Uint8Array.of(99, 1, 2), checksum: 999 })]);
        assert.deepEqual(await pendingSeqs(store), [6]);
        assert.equal(await store.seal?.(), 7);
        assert.deepEqual(await pendingSeqs(store), [6]);
        assert.equal(await store.search.countPending("k"), 1);
      } finally {
        await store.close();
      }
      await check(path, [6]);
    }
    // The delete and a seal land between the batch's read and its put: the block is made around seq 3's gap first.
    {
      const path = join(dir.path, "sealed-between.db");
      const store = openStore(path, { seal: true, blockRows: 8, firstSealRows: 1 });
      try {
        await store.memories.put(rows());
        const batch = await pendingSeqs(store);
        await store.memories.delete("ns", "m2");
        assert.equal(await store.seal?.(), 7);
        await store.search.put("k", entries(batch.filter((seq) => seq !== 6)));
        assert.deepEqual(await pendingSeqs(store), [6]);
      } finally {
        await store.close();
      }
      await check(path, [6]);
    }
    // A store that already holds such an entry (an earlier build): the seal drops it.
    {
      const path = join(dir.path, "older.db");
      const store = openStore(path, { seal: true, blockRows: 8, firstSealRows: 1 });
      try {
        await store.memories.put(rows());
        await store.search.put("k", entries([1, 2, 4, 5, 7, 8]));
        await store.memories.delete("ns", "m2");
        (store as unknown as { database: SqliteDatabase }).database.db.prepare("INSERT INTO search_vectors (seq, vector) VALUES (3, x'03')").run();
        assert.equal(await store.seal?.(), 7);
        assert.deepEqual(await pendingSeqs(store), [6]);
      } finally {
        await store.close();
      }
      await check(path, [6]);
    }
  });

  it("are checked at one decode of a block per put, however many of its rows the batch holds", async () => {
    await using dir = tempDir();
    const store = openStore(join(dir.path, "store.db"), { seal: true, blockRows: 8, firstSealRows: 1 });
    try {
      await store.memories.put(Array.from({ length: 8 }, (_, i) => memory(`m${i}`, "ns", { envelope: Uint8Array.of(i, 1, 2), checksum: 100 + i })));
      assert.equal(await store.seal?.(), 8);
      const sealed = (store as unknown as { database: SqliteDatabase }).database.sealed as unknown as { decode: (block: unknown) => unknown };
      let decodes = 0;
      const decode = sealed.decode.bind(sealed);
      sealed.decode = (block) => {
        decodes++;
        return decode(block);
      };
      const batch = (await store.search.pending("k", 100)).map((p) => p.seq);
      assert.equal(batch.length, 8);
      decodes = 0;
      await store.search.put("k", batch.map((seq) => ({ seq, vector: Uint8Array.of(seq), terms: `t${seq}` })));
      assert.ok(decodes <= 1, `${decodes} decodes of the one block`);
      assert.deepEqual(await store.search.pending("k", 100), []);
    } finally {
      await store.close();
    }
  });
});

describe("what a write learns of the blocks ends with it", () => {
  it("a write that unseals the last block and then fails (rolled back) leaves the next write seeing the block again", async () => {
    await using dir = tempDir();
    const store = openStore(join(dir.path, "store.db"), { seal: true, blockRows: 2, firstSealRows: 1 });
    try {
      const m = (id: string, byte: number, overrides = {}) => memory(id, "ns", { envelope: Uint8Array.of(byte, 1, 1), checksum: byte, ...overrides });
      await store.memories.put([m("a", 1), m("b", 2)]);
      assert.equal(await store.seal?.(), 2);
      // The rewrite of a unseals the only block (no block is left in that write), then the missing asset fails the batch.
      await assert.rejects(store.memories.put([m("a", 3), m("c", 4, { assetId: "ff".repeat(32) })]), (error: Error & { code?: string }) => error.code === "E_MISSING_ASSET");
      // At once another write (nothing read between): b is sealed again, so it must be unsealed before its rewrite.
      await store.memories.put([m("b", 5)]);
      assert.equal(await store.memories.count(), 2);
      assert.deepEqual((await collect(store.memories.scan())).map((x) => `${x.id}:${x.checksum}`), ["a:1", "b:5"]);
    } finally {
      await store.close();
    }
  });
});
