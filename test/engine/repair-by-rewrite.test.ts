import { strict as assert } from "node:assert";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { Engine } from "../../src/engine.js";
import { MemzipError } from "../../src/errors.js";
import { openStore } from "../../src/store/open.js";
import { SAMPLE, damageAsset, tempDir, unsealFile } from "../helpers.js";

/** Flips one byte in the middle of each named memory's envelope, as a damaged disk would; returns their codecs. */
function damageEnvelopes(db: string, ids: readonly string[]): string[] {
  unsealFile(db);
  const sql = new Database(db);
  try {
    return ids.map((id) => {
      const row = sql.prepare("SELECT m.seq, m.envelope, c.name AS codec FROM memories m JOIN codecs c ON c.n = m.codec WHERE m.id = ? AND m.content_of IS NULL").get(id) as
        | { seq: number; envelope: Buffer; codec: string }
        | undefined;
      assert.ok(row, `memory ${id} holds its own envelope`);
      const bytes = Buffer.from(row.envelope);
      const at = Math.floor(bytes.length * 0.7);
      bytes[at] = (bytes[at] as number) ^ 0x10;
      sql.prepare("UPDATE memories SET envelope = ? WHERE seq = ?").run(bytes, row.seq);
      return row.codec;
    });
  } finally {
    sql.close();
  }
}

async function failure(promise: Promise<unknown>): Promise<MemzipError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof MemzipError, String(error));
    return error;
  }
  assert.fail("the read succeeded");
}

describe("a memory whose envelope is damaged is repaired by writing its text again", () => {
  const records = readFileSync(SAMPLE, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { id: string; text: string });

  it("one write of the same text codes it anew (it was \"unchanged\", and stayed unreadable)", async () => {
    using dir = tempDir();
    const db = join(dir.path, "a.db");
    const [first, second] = records.filter((r) => r.text.length >= 200);
    assert.ok(first && second);
    const engine = Engine.open({ db, cache: "off", workers: 0 });
    try {
      for (const r of [first, second]) await engine.remember({ id: r.id, text: r.text });
    } finally {
      await engine.close();
    }
    damageEnvelopes(db, [first.id]);

    const reopened = Engine.open({ db, cache: "off", workers: 0 });
    try {
      const error = await failure(reopened.recall(first.id));
      assert.ok(error.code === "E_CHECKSUM" || error.code === "E_FORMAT", error.code);
      assert.match(error.hint ?? "", /Write its text again to repair it/);
      assert.deepEqual(
        (await reopened.verify()).failures.map((f) => [f.id, f.repairable]),
        [[first.id, true]],
      );

      const repaired = await reopened.remember({ id: first.id, text: first.text });
      assert.equal(repaired.status, "updated");
      assert.equal(repaired.repaired, true);
      assert.ok(repaired.storedBytes > 0);
      assert.equal(await reopened.recall(first.id), first.text);
      assert.equal((await reopened.verify()).failed, 0);

      // Written again once more, and an undamaged one: unchanged, nothing coded, no version kept for the repair.
      for (const r of [first, second]) {
        const again = await reopened.remember({ id: r.id, text: r.text });
        assert.equal(again.status, "unchanged");
        assert.equal(again.repaired, undefined);
      }
      assert.equal((await reopened.history(first.id)).length, 1);
    } finally {
      await reopened.close();
    }
  });

  it("an import of the same file repairs the damaged memories and counts them; the rest stay unchanged", async () => {
    using dir = tempDir();
    const db = join(dir.path, "a.db");
    const file = join(dir.path, "in.jsonl");
    writeFileSync(file, records.map((r) => JSON.stringify({ id: r.id, text: r.text })).join("\n") + "\n");
    const engine = Engine.open({ db, cache: "off", workers: 0 });
    try {
      await engine.importJsonl(file);
    } finally {
      await engine.close();
    }
    const sql = new Database(db, { readonly: true });
    const own = new Set(sql.prepare("SELECT id FROM memories WHERE content_of IS NULL").pluck().all() as string[]);
    sql.close();
    const damaged = records.filter((r) => r.text.length >= 100 && own.has(r.id)).slice(0, 3).map((r) => r.id);
    assert.equal(damaged.length, 3);
    damageEnvelopes(db, damaged);

    const reopened = Engine.open({ db, cache: "off", workers: 0 });
    try {
      const before = await reopened.verify();
      assert.deepEqual(before.failures.map((f) => f.id).sort(), [...damaged].sort());
      const report = await reopened.importJsonl(file);
      assert.equal(report.repaired, 3);
      assert.equal(report.updated, 3);
      assert.equal(report.unchanged, records.length - 3);
      assert.equal((await reopened.verify()).failed, 0);
      for (const r of records) assert.equal(await reopened.recall(r.id), r.text);
    } finally {
      await reopened.close();
    }
  });

  it("a damaged holder of a shared text: a new memory of that text keeps its own envelope (it became an unreadable reference), a reference written again is repaired, and so is the holder", async () => {
    using dir = tempDir();
    const db = join(dir.path, "a.db");
    const text = (records.find((r) => r.text.length >= 200) as { text: string }).text;
    const engine = Engine.open({ db, cache: "off", workers: 0 });
    try {
      await engine.rememberMany([{ id: "holder", text }, { id: "reference", text }]);
    } finally {
      await engine.close();
    }
    damageEnvelopes(db, ["holder"]);
    const reopened = Engine.open({ db, cache: "off", workers: 0 });
    try {
      await failure(reopened.recall("reference"));
      const fresh = await reopened.remember({ id: "new", text });
      assert.equal(fresh.status, "stored");
      assert.ok(fresh.storedBytes > 0, "an envelope of its own");
      assert.equal(await reopened.recall("new"), text);
      assert.equal((await reopened.remember({ id: "reference", text })).repaired, true);
      assert.equal(await reopened.recall("reference"), text);
      assert.deepEqual((await reopened.verify()).failures.map((f) => f.id), ["holder"]);
      assert.equal((await reopened.remember({ id: "holder", text })).repaired, true);
      assert.deepEqual(await reopened.verify(), { checked: 3, failed: 0, failures: [] });
    } finally {
      await reopened.close();
    }
  });

  it("memories coded with a damaged snapshot are coded again without it by an import on codec workers (it failed: an internal RangeError)", async () => {
    using dir = tempDir();
    const db = join(dir.path, "a.db");
    const file = join(dir.path, "in.jsonl");
    writeFileSync(file, records.map((r) => JSON.stringify({ id: r.id, text: r.text })).join("\n") + "\n");
    const engine = Engine.open({ db, cache: "off", workers: 1, cmBase: false, autoTrainAfter: 1000 });
    let users: string[];
    try {
      await engine.importJsonl(file);
      await engine.trainAsset("cm-snapshot");
      await engine.recode("default");
      users = [];
      for (const r of records) if ((await engine.memory(r.id)).assetId !== null) users.push(r.id);
      assert.ok(users.length >= 10, `memories coded with the snapshot: ${users.length}`);
    } finally {
      await engine.close();
    }
    damageAsset(db, "cm-snapshot");
    rmSync(`${db}.derived`, { recursive: true, force: true });

    const reopened = Engine.open({ db, cache: "off", workers: 1 });
    try {
      // Their envelopes do not decode now: a write of their texts codes them anew (test/engine/damaged-asset.test.ts: not
      // while the derived state still decodes them).
      const verified = await reopened.verify();
      assert.equal(verified.failed, users.length);
      assert.equal(verified.failures.filter((f) => f.repairable).length, users.length);
      const report = await reopened.importJsonl(file);
      assert.equal(report.repaired, users.length);
      assert.equal(report.unchanged, records.length - users.length);
      assert.equal((await reopened.verify()).failed, 0);
      for (const r of records) assert.equal(await reopened.recall(r.id), r.text);
    } finally {
      await reopened.close();
    }
  });

  it("a memory of a damaged holder's text keeps its good envelope through a metadata write, and a reference goes to the holder the writer checked", async () => {
    using dir = tempDir();
    const db = join(dir.path, "a.db");
    const text = (records.find((r) => r.text.length >= 200) as { text: string }).text;
    let engine = Engine.open({ db, cache: "off", workers: 0 });
    try {
      await engine.remember({ id: "A", text });
    } finally {
      await engine.close();
    }
    damageEnvelopes(db, ["A"]);
    // A sealed, damaged; D holds a good copy (hot); E, F written after.
    const store = openStore(db, { seal: true, blockRows: 4, firstSealRows: 1 });
    engine = Engine.create({ store, cache: "off", workers: 0 });
    try {
      assert.equal(await store.seal?.(), 1);
      assert.ok((await engine.remember({ id: "D", text })).storedBytes > 0);
      // A tag on D made it a reference to A (its good envelope dropped): unreadable.
      await engine.update("D", { tags: ["x"] });
      assert.equal(await engine.recall("D"), text);
      // E read D's envelope when planned; the store referenced A, unsealed first and found first.
      await engine.remember({ id: "E", text });
      assert.equal(await engine.recall("E"), text);
      await engine.update("E", { tags: ["y"] });
      assert.equal(await engine.recall("E"), text);
      // In one batch D takes another text (handing its envelope to E, which reads it), then X of D's old text: X
      // goes to the row that holds D's checked envelope now, never to A found by hash; likewise Y after E changes.
      await engine.rememberMany([{ id: "D", text: "another text for D" }, { id: "X", text }]);
      assert.equal(await engine.recall("X"), text);
      await engine.rememberMany([{ id: "E", text: "another text for E" }, { id: "Y", text }]);
      for (const id of ["X", "Y"]) assert.equal(await engine.recall(id), text);
      assert.deepEqual((await engine.verify()).failures.map((f) => f.id), ["A"]);
    } finally {
      await engine.close();
    }
  });

  it("a damaged holder and its references: repairing a reference, then the holder, leaves every one readable, also after the holder is forgotten", async () => {
    using dir = tempDir();
    const db = join(dir.path, "a.db");
    const text = (records.find((r) => r.text.length >= 200) as { text: string }).text;
    const engine = Engine.open({ db, cache: "off", workers: 0 });
    try {
      await engine.rememberMany([{ id: "A", text }, { id: "B", text }, { id: "C", text }]);
    } finally {
      await engine.close();
    }
    damageEnvelopes(db, ["A"]);
    const reopened = Engine.open({ db, cache: "off", workers: 0 });
    try {
      assert.equal((await reopened.remember({ id: "B", text })).repaired, true);
      // A became a reference to B while C still read A's (now empty) envelope.
      assert.equal((await reopened.remember({ id: "A", text })).repaired, true);
      assert.deepEqual(await reopened.verify(), { checked: 3, failed: 0, failures: [] });
      await reopened.forget("A");
      for (const id of ["B", "C"]) assert.equal(await reopened.recall(id), text);
    } finally {
      await reopened.close();
    }
  });

  it("a damaged memory does not stop training, recode, or a write of another text (it failed E_CHECKSUM for the whole import)", async () => {
    using dir = tempDir();
    const db = join(dir.path, "a.db");
    const engine = Engine.open({ db, cache: "off", workers: 0, autoTrainAfter: 1000 });
    try {
      await engine.rememberMany(records.map((r) => ({ id: r.id, text: r.text })));
    } finally {
      await engine.close();
    }
    const [damaged, changed] = records.filter((r) => r.text.length >= 100).map((r) => r.id);
    damageEnvelopes(db, [damaged as string, changed as string]);
    const reopened = Engine.open({ db, cache: "off", workers: 0, autoTrainAfter: 1000 });
    try {
      const trained = await reopened.trainAsset("cm-snapshot");
      assert.equal(trained.samples, records.length - 2);
      const recoded = await reopened.recode("default");
      assert.equal(recoded.unreadable, 2);
      // A new text for a memory whose stored text no longer reads back: written, without that text in history.
      const result = await reopened.remember({ id: changed as string, text: "a new text for this memory" });
      assert.equal(result.status, "updated");
      assert.equal(await reopened.recall(changed as string), "a new text for this memory");
      assert.equal((await reopened.history(changed as string)).length, 1);
      assert.deepEqual((await reopened.verify()).failures.map((f) => f.id), [damaged]);
    } finally {
      await reopened.close();
    }
  });
});
