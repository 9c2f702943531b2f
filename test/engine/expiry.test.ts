import { strict as assert } from "node:assert";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import type { MemzipError } from "../../src/errors.js";
import { collect, storeOf, tempDir } from "../helpers.js";

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

/** An engine whose clock the test sets: no sleeps, "now" is whatever `clock.now` says. */
function openWithClock(path: string) {
  const clock = { now: T0 };
  const engine = Engine.open({ db: path, cache: "off", workers: 0, clock: () => clock.now });
  return { engine, clock };
}

describe("expiry per memory", () => {
  it("an expired memory is absent for every read, counted apart by stats, and deleted by compact with its history (its text handed over)", async () => {
    using dir = tempDir();
    const { engine, clock } = openWithClock(join(dir.path, "expiry.db"));
    try {
      const shared = "The quarterly retro notes: ship the exporter, fix the flaky ledger test, rotate the on-call keys.";
      await engine.remember({ id: "keep", text: "Miso the cat sleeps on the balcony every afternoon.", tags: ["pets"] });
      await engine.remember({ id: "temp", text: "Temporary: the staging password rotates on Friday at noon.", tags: ["pets"], meta: { team: "ops" } }, { ttlMs: 2 * DAY });
      await engine.remember({ id: "holder", text: shared, expiresAt: T0 + DAY });
      await engine.remember({ id: "reader", text: shared, namespace: "other" });
      await engine.update("temp", { text: "Temporary: the staging password rotates on Friday at 13:00." });
      const temp = await engine.memory("temp");
      assert.equal(temp.expiresAt, T0 + 2 * DAY, "expiresAt = the write's now + the TTL, kept by an update that does not touch it");
      assert.equal((await engine.history("temp")).length, 2);

      clock.now = T0 + DAY; // "holder" expires exactly now
      await assert.rejects(engine.recall("holder"), { code: "E_NOT_FOUND" });
      await assert.rejects(engine.memory("holder", "default"), { code: "E_NOT_FOUND" });
      await assert.rejects(engine.history("holder"), { code: "E_NOT_FOUND" });
      await assert.rejects(engine.relatedMemories("holder"), { code: "E_NOT_FOUND" });
      assert.equal(await engine.recall("reader"), shared, "a memory reading the expired one's text still reads it");

      clock.now = T0 + 3 * DAY; // "temp" expired too
      for (const id of ["temp", "holder"]) {
        await assert.rejects(engine.recall(id), { code: "E_NOT_FOUND" }, id);
        await assert.rejects(engine.semanticOf(id), { code: "E_NOT_FOUND" }, id);
      }
      assert.deepEqual((await engine.page({ limit: 10 })).items.map((m) => m.id), ["keep", "reader"]);
      assert.deepEqual((await engine.list()).map((m) => m.id), ["keep", "reader"]);
      assert.deepEqual((await collect(engine.exportMemories())).map((m) => m.id), ["keep", "reader"]);
      assert.deepEqual((await collect(engine.scanMemories())).map((m) => m.id), ["keep", "reader"]);
      const hits = await engine.searchMemories("staging password rotates Friday", { minSimilarity: -1, limit: 10 });
      assert.ok(!hits.some((h) => h.id === "temp"), JSON.stringify(hits));
      assert.ok((await engine.searchMemories("quarterly retro exporter ledger", { minSimilarity: -1, limit: 10 })).some((h) => h.id === "reader"));
      assert.ok(!(await engine.relatedMemories("keep", { minSimilarity: -1, limit: 10 })).some((h) => h.id === "temp" || h.id === "holder"));
      const dry = await engine.forgetWhere({ tags: ["pets"] }, { dryRun: true });
      assert.deepEqual(dry.ids.map((r) => r.id), ["keep"], "delete by filter does not count expired memories");
      const stats = await engine.stats();
      assert.deepEqual([stats.memories, stats.expired], [4, 2], "stats count expired rows (they still take bytes) and say how many");

      const report = await engine.compact();
      assert.equal(report.expired, 2);
      const store = storeOf(engine);
      assert.equal(await store.memories.get("default", "temp"), undefined, "gone for good");
      assert.deepEqual(await store.memories.history("default", "temp"), [], "with its history");
      assert.equal((await engine.stats()).history.versions, 0);
      assert.equal(await engine.recall("reader"), shared, "the text the expired holder kept was handed over");
      assert.deepEqual([(await engine.stats()).memories, (await engine.stats()).expired], [2, 0]);
      assert.equal((await engine.compact()).expired, 0);
    } finally {
      await engine.close();
    }
  });

  it("update sets and clears an expiry; re-adding an expired id starts a new memory; bad expiries are typed errors", async () => {
    using dir = tempDir();
    const { engine, clock } = openWithClock(join(dir.path, "update.db"));
    try {
      await engine.remember({ id: "m", text: "A memory that learns to expire.", tags: ["a"] });
      assert.equal((await engine.memory("m")).expiresAt, undefined);
      const set = await engine.update("m", { ttlMs: 90 * 60_000 });
      assert.equal(set.status, "updated", "an expiry alone is a change");
      assert.equal((await engine.memory("m")).expiresAt, T0 + 90 * 60_000);
      await engine.update("m", { expiresAt: null });
      assert.equal((await engine.memory("m")).expiresAt, undefined, "null clears it");
      await engine.update("m", { expiresAt: T0 + DAY });
      // An expiry of now or earlier (or a TTL of 0) would make the memory vanish as it is written: refused, nothing changes.
      for (const patch of [{ expiresAt: T0 }, { expiresAt: T0 - DAY, text: "changed" }, { ttlMs: 0 }]) {
        await assert.rejects(engine.update("m", patch), { code: "E_INVALID_INPUT" }, JSON.stringify(patch));
      }
      assert.equal((await engine.memory("m")).expiresAt, T0 + DAY);
      assert.equal(await engine.recall("m"), "A memory that learns to expire.");
      // Re-adding the same text without an expiry keeps the one it has.
      assert.equal((await engine.remember({ id: "m", text: "A memory that learns to expire." })).status, "unchanged");
      assert.equal((await engine.memory("m")).expiresAt, T0 + DAY);

      clock.now = T0 + 2 * DAY;
      await assert.rejects(engine.update("m", { expiresAt: null }), { code: "E_NOT_FOUND" }, "an expired memory cannot be revived by update");
      await assert.rejects(engine.memory("m"), (error: MemzipError) => {
        assert.equal(error.code, "E_NOT_FOUND");
        assert.deepEqual(error.details, { id: "m", namespace: "default", expiredAt: new Date(T0 + DAY).toISOString() }, "the error says when it expired");
        return true;
      });
      const again = await engine.remember({ id: "m", text: "A memory that learns to expire." });
      assert.equal(again.status, "stored", "the expired row is gone; this is a new memory");
      const fresh = await engine.memory("m");
      assert.deepEqual([fresh.expiresAt, fresh.tags, fresh.createdAt], [undefined, [], T0 + 2 * DAY], "nothing of the expired memory carries over");
      assert.equal((await engine.history("m")).length, 1);

      await assert.rejects(engine.remember({ text: "x", expiresAt: -1 }), { code: "E_INVALID_INPUT" });
      await assert.rejects(engine.remember({ text: "y" }, { ttlMs: 0 }), { code: "E_INVALID_INPUT" });
    } finally {
      await engine.close();
    }
  });
  it("an expired id written again with a batch that repeats its text: the batch commits whole, and an expired memory never makes an id ambiguous", async () => {
    using dir = tempDir();
    const { engine, clock } = openWithClock(join(dir.path, "rewrite.db"));
    try {
      const text = "The boiler service is booked for the second Tuesday of March, engineer arrives 8-10am.";
      await engine.remember({ id: "H", text, expiresAt: T0 + DAY });
      await engine.remember({ id: "X", text: "Gone soon: the spare key is under the blue pot.", namespace: "a", expiresAt: T0 + DAY });
      await engine.remember({ id: "X", text: "The spare key is with the neighbour at number 12.", namespace: "b" });
      clock.now = T0 + 2 * DAY;
      // One memory repeats the expired one's text; the expired id gets a new text in the same batch.
      const results = await engine.rememberMany([
        { id: "copy", text },
        { id: "H", text: "The boiler was serviced; next service due next March." },
      ]);
      assert.deepEqual(results.map((r) => r.status), ["stored", "stored"]);
      assert.equal(await engine.recall("copy"), text, "the repeated text is stored, not a reference to the expired memory");
      assert.equal(await engine.recall("H"), "The boiler was serviced; next service due next March.");
      assert.equal((await engine.history("H")).length, 1, "nothing of the expired memory carries over");
      // X expired in namespace a and lives in b: found without naming a namespace, and a is never named.
      assert.equal(await engine.recall("X"), "The spare key is with the neighbour at number 12.");
      assert.equal((await engine.memory("X")).namespace, "b");
      assert.deepEqual((await engine.verify()).failures, []);
    } finally {
      await engine.close();
    }
  });

  it("a write whose expiresAt is not after now is refused in every write (library, batch, import), so a live memory and its history stay", async () => {
    using dir = tempDir();
    const { engine, clock } = openWithClock(join(dir.path, "past.db"));
    try {
      await engine.remember({ id: "live", text: "The first text of a live memory." });
      await engine.remember({ id: "live", text: "The second text of a live memory." });
      const past = clock.now - DAY;
      // Written, each made "live" (and its history) vanish while the answer said updated or stored.
      await assert.rejects(engine.remember({ id: "live", text: "A text that would expire as it is written.", expiresAt: past }), { code: "E_INVALID_INPUT" });
      await assert.rejects(engine.remember({ id: "now", text: "Expiring exactly now.", expiresAt: clock.now }), { code: "E_INVALID_INPUT" });
      await assert.rejects(engine.rememberMany([{ id: "fine", text: "A fine memory." }, { id: "live", text: "Expired at once.", expiresAt: past }]), { code: "E_INVALID_INPUT" });
      const file = join(dir.path, "records.jsonl");
      const lines = [
        { id: "live", text: "An imported text already expired.", expiresAt: past },
        // The last line of an id wins, but not one the import refuses: the line before it is written.
        { id: "twice", text: "The first line of twice." },
        { id: "twice", text: "The second line of twice, already expired.", expiresAt: past },
        { id: "later", text: "An imported memory that expires tomorrow.", expiresAt: clock.now + DAY },
      ];
      writeFileSync(file, lines.map((line) => JSON.stringify(line)).join("\n") + "\n");
      const report = await engine.importJsonl(file);
      assert.deepEqual([report.stored, report.rejectedCount], [2, 2]);
      assert.deepEqual(report.rejected.map((r) => [r.where, r.code]), [["line 1", "E_INVALID_INPUT"], ["line 3", "E_INVALID_INPUT"]]);
      assert.match(report.rejected[0]?.message ?? "", /not after now.*would expire at once/);
      assert.equal(await engine.recall("live"), "The second text of a live memory.");
      assert.deepEqual((await engine.history("live")).map((v) => v.text), ["The first text of a live memory.", "The second text of a live memory."]);
      assert.equal((await engine.memory("live")).expiresAt, undefined);
      for (const id of ["now", "fine"]) await assert.rejects(engine.memory(id), { code: "E_NOT_FOUND" }, id);
      assert.equal(await engine.recall("twice"), "The first line of twice.");
      assert.equal((await engine.memory("later")).expiresAt, clock.now + DAY);
    } finally {
      await engine.close();
    }
  });
});
