import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { Engine } from "../../src/engine.js";
import { EXPIRY_STEP, MIGRATIONS } from "../../src/store/sqlite-migrations.js";
import { devCorpus, tempDir } from "../helpers.js";

describe("the expires_at step", () => {
  it("a store made before the step upgrades with every memory exact, none expiring, and takes expiries afterwards", async () => {
    using dir = tempDir();
    const path = join(dir.path, "before-expiry.db");
    const records = devCorpus()
      .slice(0, 40)
      .map((r, i) => ({ id: `m${i}`, text: r.text, namespace: i % 3 === 0 ? "beta" : "alpha", tags: i % 2 ? ["odd"] : [], createdAt: 1000 + i }));
    // A store written by this code (real envelopes: zstd, cm, dictionaries, a duplicate text), with its
    // history, then taken back to the schema just before the step: the column and index dropped.
    const engine = Engine.open({ db: path, cache: "off", workers: 0 });
    await engine.rememberMany([...records, { id: "dup", text: records[1]?.text as string, namespace: "beta" }]);
    await engine.update("m2", { text: `${records[2]?.text as string} (edited)` });
    await engine.close();
    const old = new Database(path);
    old.exec("DROP INDEX memories_by_expiry; ALTER TABLE memories DROP COLUMN expires_at;");
    old.pragma(`user_version = ${EXPIRY_STEP}`);
    old.close();

    const upgraded = Engine.open({ db: path, cache: "off", workers: 0 });
    try {
      for (const [i, r] of records.entries()) {
        const text = i === 2 ? `${r.text} (edited)` : r.text;
        assert.equal(await upgraded.recall(r.id, { namespace: r.namespace }), text, r.id);
        const m = await upgraded.memory(r.id, r.namespace);
        assert.deepEqual([m.tags, m.createdAt, m.expiresAt], [r.tags, r.createdAt, undefined]);
      }
      assert.equal(await upgraded.recall("dup", { namespace: "beta" }), records[1]?.text);
      assert.deepEqual((await upgraded.history("m2", "alpha")).map((v) => v.text), [records[2]?.text, `${records[2]?.text as string} (edited)`]);
      assert.equal((await upgraded.stats()).memories, records.length + 1);
      await assert.rejects(upgraded.update("m0", { expiresAt: 5 }), { code: "E_INVALID_INPUT" }, "an update that would expire the memory at once is refused");
      await assert.rejects(upgraded.remember({ id: "m0", namespace: "beta", text: records[0]?.text as string, expiresAt: 5 }), { code: "E_INVALID_INPUT" }, "so is a write of it");
      // Written when 5 ms after 1970 was still ahead (an engine whose clock says 1 ms), it is expired now.
      const early = Engine.open({ db: path, cache: "off", workers: 0, clock: () => 1 });
      try {
        await early.remember({ id: "m0", namespace: "beta", text: records[0]?.text as string, expiresAt: 5 });
      } finally {
        await early.close();
      }
      assert.equal((await upgraded.memory("m0", "beta").catch((e: { code: string }) => e.code)), "E_NOT_FOUND", "expired (5 ms after 1970)");
    } finally {
      await upgraded.close();
    }
    const db = new Database(path, { readonly: true });
    assert.equal(db.pragma("user_version", { simple: true }), MIGRATIONS.length);
    assert.ok((db.prepare("SELECT name FROM pragma_table_info('memories')").pluck().all() as string[]).includes("expires_at"));
    db.close();
  });
});
