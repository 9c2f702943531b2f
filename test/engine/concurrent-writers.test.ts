import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { StoredMemory } from "../../src/core/store.js";
import { Engine } from "../../src/engine.js";
import { storeOf, tempDir } from "../helpers.js";

/**
 * Two writers on one store file (two engines, as two processes would be), each planning a write
 * before the other commits (trial29 defect 2): no acknowledged text is lost. A write planned when
 * the memory did not exist, committed after another writer stored it, is an update keeping that
 * text in history; a write the store finds stale at commit is refused with E_CONFLICT.
 */
describe("concurrent writers of one memory", () => {
  const open = (db: string) => Engine.open({ db, cache: "off" });
  const texts = async (engine: Engine, id: string) => (await engine.history(id)).map((v) => v.text);

  it("two writers adding the same new id: the later commit is an update and the earlier text stays in history", async () => {
    using dir = tempDir();
    const db = join(dir.path, "race.db");
    const a = open(db);
    const b = open(db);
    try {
      await a.remember({ id: "seed", text: "seed" });
      const writerA = await a.writer();
      const writerB = await b.writer();
      const planA = await writerA.plan({ id: "k", text: "text A: the user prefers green tea." });
      const planB = await writerB.plan({ id: "k", text: "text B: the user prefers black coffee." });
      assert.deepEqual([planA.result.status, planB.result.status], ["stored", "stored"]);
      const [storedA] = await writerA.commit([planA]);
      const [storedB] = await writerB.commit([planB]);
      assert.equal(storedA?.status, "stored");
      assert.equal(storedB?.status, "updated");
      assert.deepEqual(await texts(b, "k"), ["text A: the user prefers green tea.", "text B: the user prefers black coffee."]);
      assert.deepEqual(await texts(a, "k"), await texts(b, "k"));
      // The same new text from both writers: no version, the second is an update of the first.
      const sameA = await writerA.plan({ id: "s", text: "one text both wrote" });
      const sameB = await writerB.plan({ id: "s", text: "one text both wrote", tags: ["b"] });
      await writerA.commit([sameA]);
      assert.equal((await writerB.commit([sameB]))[0]?.status, "updated");
      assert.deepEqual(await texts(a, "s"), ["one text both wrote"]);
      assert.deepEqual((await a.history("s"))[0]?.tags, ["b"]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("a metadata-only write planned before another writer changed the text keeps that text in history", async () => {
    using dir = tempDir();
    const db = join(dir.path, "race.db");
    const a = open(db);
    const b = open(db);
    try {
      await a.remember({ id: "m", text: "first text" });
      const writerB = await b.writer();
      const planB = await writerB.plan({ id: "m", text: "first text", tags: ["from-b"] });
      assert.equal(planB.result.status, "updated");
      await a.remember({ id: "m", text: "second text, acknowledged to A" });
      const [result] = await writerB.commit([planB]);
      assert.equal(result?.status, "updated");
      // Last write wins, and nothing acknowledged is lost: A's text is a version.
      assert.deepEqual(await texts(a, "m"), ["first text", "second text, acknowledged to A", "first text"]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("a writer whose row another writer creates between its last look and its write is refused (E_CONFLICT), the other text kept", async () => {
    using dir = tempDir();
    const db = join(dir.path, "race.db");
    const a = open(db);
    const b = open(db);
    try {
      const writerA = await a.writer();
      const writerB = await b.writer();
      const planA = await writerA.plan({ id: "k", text: "text A" });
      const planB = await writerB.plan({ id: "k", text: "text B" });
      // A commits in the narrowest window: after B's commit looked at the store, before B's transaction.
      const memories = storeOf(b).memories;
      const put = memories.put.bind(memories);
      let acknowledged: string | undefined;
      memories.put = async (rows: readonly StoredMemory[]) => {
        acknowledged = (await writerA.commit([planA]))[0]?.status;
        return put(rows);
      };
      await assert.rejects(writerB.commit([planB]), { code: "E_CONFLICT", message: /memory k was created by another writer while this write was prepared/ });
      assert.equal(acknowledged, "stored");
      assert.deepEqual(await texts(a, "k"), ["text A"]);
      // Written again, B's write is an update that keeps A's text.
      memories.put = put;
      assert.equal((await b.remember({ id: "k", text: "text B" })).status, "updated");
      assert.deepEqual(await texts(a, "k"), ["text A", "text B"]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

/** One batch holding an id more than once (trial42): each record reads as if sent after the one before it. */
describe("one batch with an id twice", () => {
  it("the same text and metadata again is unchanged, anything else an update, and a time not given is the earlier record's", async () => {
    await using engine = Engine.open({ db: ":memory:", cache: "off" });
    const statuses = async (records: Parameters<Engine["rememberMany"]>[0]) => (await engine.rememberMany(records)).map((r) => r.status);
    // The second identical record said "updated" though nothing changed (sent alone, it is "unchanged").
    assert.deepEqual(await statuses([{ text: "same", tags: ["a"] }, { text: "same", tags: ["a"] }]), ["stored", "unchanged"]);
    assert.deepEqual(await statuses([{ id: "x", text: "one" }, { id: "x", text: "one" }, { id: "x", text: "two" }, { id: "x", text: "two" }]), ["stored", "unchanged", "updated", "unchanged"]);
    assert.deepEqual((await engine.history("x")).map((v) => v.text), ["one", "two"]);
    assert.deepEqual(await statuses([{ id: "t", text: "tagged", tags: ["a"] }, { id: "t", text: "tagged", tags: ["b"] }]), ["stored", "updated"]);
    assert.deepEqual((await engine.memory("t")).tags, ["b"]);
    // A memory stored before: changed once, then the same change again.
    assert.deepEqual(await statuses([{ id: "x", text: "three" }, { id: "x", text: "three" }]), ["updated", "unchanged"]);
    const created = (await engine.memory("x")).createdAt;
    // A time given is the record's own: a change.
    assert.deepEqual(await statuses([{ id: "x", text: "three" }, { id: "x", text: "three", createdAt: created - 1000 }]), ["unchanged", "updated"]);
    assert.equal((await engine.memory("x")).createdAt, created - 1000);
    assert.deepEqual(await statuses([{ id: "n", text: "new", createdAt: 5000 }, { id: "n", text: "newer" }]), ["stored", "updated"]);
    assert.equal((await engine.memory("n")).createdAt, 5000, "the update keeps the memory's time, as one sent later would");
    // What a later record leaves out is the earlier one's (it went back to the defaults: tags [], meta {}, kind note).
    const later = Date.now() + 86_400_000;
    assert.deepEqual(await statuses([{ id: "k", text: "a", tags: ["t"], meta: { k: 1 }, kind: "doc", expiresAt: later }, { id: "k", text: "a" }]), ["stored", "unchanged"]);
    const k = await engine.memory("k");
    assert.deepEqual([k.tags, k.meta, k.kind, k.expiresAt], [["t"], { k: 1 }, "doc", later]);
    assert.deepEqual(await statuses([{ id: "k", text: "b" }]), ["updated"]);
    assert.deepEqual(await statuses([{ id: "k", text: "c", tags: ["u"] }, { id: "k", text: "d" }]), ["updated", "updated"]);
    const kk = await engine.memory("k");
    assert.deepEqual([await engine.recall("k"), kk.tags, kk.meta, kk.kind, kk.expiresAt], ["d", ["u"], { k: 1 }, "doc", later]);
    // A record found unchanged against the store, after one that changed the memory in the same batch.
    assert.deepEqual(await statuses([{ id: "k", text: "d", tags: ["v"] }, { id: "k", text: "d" }]), ["updated", "unchanged"]);
    assert.deepEqual((await engine.memory("k")).tags, ["v"]);
  });
});
