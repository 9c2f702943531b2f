import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { currentBaseAsset } from "../../src/codec/cm/base.js";
import { seededRandom } from "../../src/core/stats.js";
import { Engine } from "../../src/engine.js";
import { asWrittenToday, devCorpus, randomTexts, ROOT, SHARED, spawnBounded, storeOf, tempDir } from "../helpers.js";

/** Dev records the base did not learn from (it learned from the even ones). */
const heldOut = () => devCorpus().filter((_, i) => i % 2 === 1);

describe("cm with the base model shipped with memzip (cmBase)", () => {
  it("fresh namespaces: every memory recalls exactly, none is larger than without the base, and cm wins most notes", async () => {
    using dir = tempDir();
    const random = seededRandom(16);
    const pool = heldOut();
    const withBase = Engine.open({ db: join(dir.path, "base.db"), cmBase: true, cache: "off", workers: 0 });
    const without = Engine.open({ db: join(dir.path, "plain.db"), cmBase: false, cache: "off", workers: 0 });
    try {
      let cmWins = 0;
      let notes = 0;
      for (let n = 0; n < 4; n++) {
        const namespace = `agent-${n}`;
        const texts = [...Array.from({ length: 6 }, () => (pool[Math.floor(random() * pool.length)] as { text: string }).text), ...randomTexts(3, random), "ok", "User prefers dark mode and short answers in the morning."];
        for (const [i, text] of texts.entries()) {
          const a = await withBase.remember({ id: `m${i}`, namespace, text });
          const b = await without.remember({ id: `m${i}`, namespace, text });
          assert.equal(await withBase.recall(`m${i}`, { namespace }), text);
          const rowA = await withBase.memory(`m${i}`, namespace);
          const rowB = await without.memory(`m${i}`, namespace);
          assert.ok(rowA.envelope.length <= rowB.envelope.length, `${namespace}/m${i}: ${rowA.envelope.length} > ${rowB.envelope.length} bytes`);
          assert.equal(rowA.assetId, null, "the base is not in the store, so no row names it");
          if (i < 6) {
            notes++;
            if (a.codec === "cm") cmWins++;
          }
          assert.notEqual(b.codec, "cm", "without the base a young namespace has no cm");
        }
      }
      assert.ok(cmWins >= notes - 2, `cm with the base won ${cmWins} of ${notes} dev notes`);
      assert.deepEqual(await withBase.verify(), { checked: 44, failed: 0, failures: [] });
    } finally {
      await withBase.close();
      await without.close();
    }
  });

  it("stats say the base is shipped with memzip and not in the store; its bytes are never stored bytes", async () => {
    using dir = tempDir();
    const engine = Engine.open({ db: join(dir.path, "s.db"), cmBase: true, cache: "off", workers: 0 });
    try {
      for (const [i, text] of ["Met with Sarah about the Q3 roadmap; she wants the search API first.", "User prefers dark mode and short answers in the morning.", "The deploy to staging failed because the Redis URL was missing from the env file."].entries()) {
        assert.equal((await engine.remember({ id: `n${i}`, text })).codec, "cm");
      }
      const stats = await engine.stats();
      assert.equal(stats.assetBytes, 0);
      assert.deepEqual(stats.assets, []);
      assert.equal(stats.storedBytes, stats.envelopeBytes);
      assert.ok(stats.ratio > 1, `three notes: ratio ${stats.ratio}`);
      const base = currentBaseAsset();
      assert.deepEqual(stats.shippedAssets, [{ id: base.id, kind: "cm-snapshot", baseVersion: 1, bytes: base.bytes.length, where: "shipped with memzip", inStore: false }]);
      assert.equal(await storeOf(engine).assets.get(base.id), undefined);
      // How many memories are coded with it, per namespace: a note elsewhere, and a text too short for cm.
      assert.equal((await engine.remember({ id: "o", namespace: "other", text: "The deploy to staging failed because the Redis URL was missing." })).codec, "cm");
      assert.notEqual((await engine.remember({ id: "ok", text: "ok" })).codec, "cm");
      const whole = await engine.stats();
      assert.equal(whole.baseCodedMemories, 4);
      assert.deepEqual(whole.baseCodedByNamespace, [
        { namespace: "default", memories: 3 },
        { namespace: "other", memories: 1 },
      ]);
      assert.deepEqual([(await engine.stats("other")).baseCodedMemories, (await engine.stats("other")).baseCodedByNamespace], [1, [{ namespace: "other", memories: 1 }]]);
    } finally {
      await engine.close();
    }
    const off = Engine.open({ db: join(dir.path, "s.db"), cmBase: false, cache: "off", workers: 0 });
    try {
      const stats = await off.stats();
      assert.equal(stats.baseCodedMemories, 4, "with cmBase off, the memories that need the base are still counted, and the base listed");
      assert.equal(stats.shippedAssets?.length, 1);
      assert.equal(await off.recall("n1"), "User prefers dark mode and short answers in the morning.");
    } finally {
      await off.close();
    }
    const plain = Engine.open({ db: join(dir.path, "plain.db"), cmBase: false, cache: "off", workers: 0 });
    try {
      await plain.remember({ id: "p", text: "User prefers dark mode and short answers in the morning." });
      const stats = await plain.stats();
      assert.deepEqual([stats.shippedAssets, stats.baseCodedMemories], [undefined, undefined], "with cmBase off and no memory on a base, nothing is listed");
    } finally {
      await plain.close();
    }
  });

  it("a store that used the base reads in a fresh process, exports and imports, and verifies", async () => {
    using dir = tempDir();
    const db = join(dir.path, "a.db");
    const texts = heldOut().slice(0, 12).map((r) => r.text);
    const engine = Engine.open({ db, cmBase: true, cache: "off", workers: 1 });
    const lines: string[] = [];
    try {
      await engine.rememberMany(texts.map((text, i) => ({ id: `r${i}`, text })));
      assert.ok(((await engine.stats()).byCodec.cm?.memories ?? 0) >= 10, "cm with the base codes most of them");
      for await (const line of engine.exportJsonl()) lines.push(line);
    } finally {
      await engine.close();
    }
    const script = `const { Engine } = await import(${JSON.stringify(join(ROOT, "dist", "src", "engine.js"))});
      const e = Engine.open({ db: ${JSON.stringify(db)}, readOnly: true });
      const out = []; for (let i = 0; i < ${texts.length}; i++) out.push(await e.recall("r" + i));
      const v = await e.verify(); await e.close(); process.stdout.write(JSON.stringify({ out, v }));`;
    const child = spawnBounded(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    assert.equal(child.status, 0, child.stderr);
    const { out, v } = JSON.parse(child.stdout) as { out: string[]; v: { failed: number; checked: number } };
    assert.deepEqual(out, texts);
    assert.deepEqual([v.checked, v.failed], [texts.length, 0]);

    const file = join(dir.path, "export.jsonl");
    writeFileSync(file, `${lines.join("\n")}\n`);
    const copy = Engine.open({ db: join(dir.path, "b.db"), cmBase: true, cache: "off", workers: 0 });
    try {
      await copy.importJsonl(file);
      for (const [i, text] of texts.entries()) assert.equal(await copy.recall(`r${i}`), text);
      assert.equal((await copy.verify()).failed, 0);
    } finally {
      await copy.close();
    }
  });

  it("the namespace's own snapshot takes over when trained: smaller memories move to it, the rest stay exact", async () => {
    using dir = tempDir();
    const records = heldOut().slice(0, 40);
    const file = join(dir.path, "in.jsonl");
    writeFileSync(file, records.map((r) => JSON.stringify({ id: r.id, text: r.text })).join("\n") + "\n");
    const engine = Engine.open({ db: join(dir.path, "t.db"), cmBase: true, cache: "off", workers: 0, autoTrainAfter: 1000 });
    try {
      await engine.importJsonl(file);
      assert.ok(((await engine.stats()).byCodec.cm?.memories ?? 0) >= 30, "before training, cm codes with the base");
      // Forced: measured, a snapshot of 40 notes stores them larger than the base does (test/engine/train-measured.test.ts).
      await engine.trainAsset("cm-snapshot", "default", { force: true });
      const report = await engine.recode("default");
      assert.ok(report.recoded >= 30, `recoded ${report.recoded}`);
      const stats = await engine.stats();
      assert.ok((stats.byCodec["cm-ref"]?.memories ?? 0) >= 30, JSON.stringify(stats.byCodec));
      assert.ok(stats.assetBytes > 0, "the namespace's own snapshot is in the store");
      for (const r of records) assert.equal(await engine.recall(r.id), r.text);
      assert.equal((await engine.verify()).failed, 0);
      // New memories now code with the namespace's snapshot, not the base.
      const next = heldOut()[100] as { text: string };
      await engine.remember({ id: "after", text: next.text });
      const row = await engine.memory("after");
      if (row.codec === "cm") assert.notEqual(row.assetId, null);
    } finally {
      await engine.close();
    }
  });

  it("an import that will train the namespace offers the base only to the memories below autoTrainAfter (the rest would be recoded anyway)", async () => {
    using dir = tempDir();
    const records = heldOut().slice(0, 30);
    const file = join(dir.path, "in.jsonl");
    writeFileSync(file, records.map((r) => JSON.stringify({ id: r.id, text: r.text })).join("\n") + "\n");
    const engine = Engine.open({ db: join(dir.path, "i.db"), cmBase: true, cache: "off", workers: 0, concurrency: 1, autoTrainAfter: 10 });
    try {
      // Stopped before its ending trains: the rows keep the codecs the import wrote them with.
      const stop = new AbortController();
      const report = await engine.importJsonl(file, { signal: stop.signal, onFinishStep: (step) => step.step === "train" && stop.abort() });
      assert.equal(report.interrupted?.step, "train");
      const codecs = await Promise.all(records.map(async (r) => (await engine.memory(r.id)).codec));
      assert.ok(codecs.slice(0, 10).filter((c) => c === "cm").length >= 8, codecs.join(","));
      assert.deepEqual(codecs.slice(10).filter((c) => c === "cm"), [], codecs.join(","));
      for (const r of records) assert.equal(await engine.recall(r.id), r.text);
    } finally {
      await engine.close();
    }
  });

  it("a memory over 64 KiB is coded with the base and adapts inside itself; the base is whole again afterwards", async () => {
    using dir = tempDir();
    const engine = Engine.open({ db: join(dir.path, "l.db"), cmBase: true, cache: "off", workers: 0 });
    try {
      // A note as base v1 codes it from its frozen state (the fixture, written when v1 shipped).
      const fixture = JSON.parse(readFileSync(join(ROOT, "test", "fixtures", "cm-base-v1", "envelopes.json"), "utf8")) as { cases: { text: string; envelope: string }[] };
      const note = fixture.cases[0] as { text: string; envelope: string };
      const text = readFileSync(join(SHARED, "corpus", "canterbury", "alice29.txt"), "utf8");
      const long = await engine.remember({ id: "alice", text });
      assert.equal(long.codec, "cm");
      assert.equal(await engine.recall("alice"), text);
      const row = await engine.memory("alice");
      assert.ok((row.envelope.length * 8) / row.originalLength < 2.2, `alice29 as one memory: ${((row.envelope.length * 8) / row.originalLength).toFixed(3)} bits/byte`);
      await engine.remember({ id: "after", text: note.text });
      assert.equal(Buffer.from((await engine.memory("after")).envelope).toString("hex"), asWrittenToday(note.envelope, note.text), "a note codes from the base's frozen state after the long memory");
    } finally {
      await engine.close();
    }
  });
});
