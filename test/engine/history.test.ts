import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import { seededRandom } from "../../src/core/stats.js";
import type { MemoryKind } from "../../src/core/store.js";
import { Engine } from "../../src/engine.js";
import { devCorpus, randomTexts, storeOf, tempDir } from "../helpers.js";

interface Expected {
  text: string;
  kind: MemoryKind;
  tags: string[];
  meta: Record<string, unknown>;
}

describe("history", () => {
  it("keeps every earlier text through a seeded sequence of edits (EN, ZH, emoji, empty-ish, long) and returns each byte for byte", async () => {
    const dir = tempDir();
    const engine = Engine.open({ db: join(dir.path, "history.db"), cache: "off" });
    try {
      const random = seededRandom(14);
      const corpus = devCorpus();
      const odd = randomTexts(6, random);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
      const edits: ((text: string) => string)[] = [
        (t) => `${t} ${pick(corpus).text.slice(0, 80)}`,
        (t) => t.replace(/\S+/, "changed"),
        (t) => `${t}\n会议改到周四下午三点，李娜负责。`,
        (t) => `🎉 ${t} 🐈‍⬛`,
        () => " .",
        () => pick(corpus).text.repeat(12).slice(0, 6000),
        () => pick(odd),
        (t) => t.slice(0, Math.max(1, Math.floor(t.length / 2))),
      ];
      const kinds: MemoryKind[] = ["note", "chat", "feedback", "doc"];
      let current: Expected = { text: "Miso the cat sleeps on the balcony.", kind: "feedback", tags: ["pets"], meta: { n: 0 } };
      await engine.remember({ id: "m", ...current, createdAt: 1000 });
      const expected: Expected[] = [current];
      for (let step = 1; step <= 30; step++) {
        let text = (pick(edits) as (t: string) => string)(current.text);
        if (text === current.text) text += "!";
        const kind = random() < 0.3 ? pick(kinds) : undefined;
        const tags = random() < 0.3 ? [`t${step}`] : undefined;
        const next: Expected = { text, kind: kind ?? current.kind, tags: tags ?? current.tags, meta: random() < 0.3 ? { ...current.meta, n: step } : current.meta };
        const how = step % 3;
        if (how === 0) await engine.update("m", { text, ...(kind ? { kind } : {}), ...(tags ? { tags } : {}), ...(next.meta !== current.meta ? { meta: { n: step } } : {}) });
        else if (how === 1) await engine.remember({ id: "m", text, ...(kind ? { kind } : {}), ...(tags ? { tags } : {}), ...(next.meta !== current.meta ? { meta: next.meta } : {}) });
        else {
          // Two texts for the memory in one batch: both are versions, in order.
          const between = `${current.text} (draft ${step})`;
          await engine.rememberMany([{ id: "m", text: between }, { id: "m", text, ...(kind ? { kind } : {}), ...(tags ? { tags } : {}), ...(next.meta !== current.meta ? { meta: next.meta } : {}) }]);
          expected.push({ ...current, text: between });
        }
        // Metadata alone, or the same text again, makes no version.
        if (step % 5 === 0) await engine.update("m", { tags: [...next.tags] });
        if (step % 7 === 0) await engine.remember({ id: "m", text });
        current = next;
        expected.push(current);
      }
      const history = await engine.history("m");
      assert.equal(history.length, expected.length);
      assert.ok(expected.length > 40);
      history.forEach((version, i) => {
        const want = expected[i] as Expected;
        assert.equal(version.version, i + 1);
        assert.ok(Buffer.from(version.text, "utf8").equals(Buffer.from(want.text, "utf8")), `version ${i + 1} is exact`);
        assert.equal(version.kind, want.kind, `kind of version ${i + 1}`);
        assert.deepEqual(version.tags, want.tags, `tags of version ${i + 1}`);
        assert.deepEqual(version.meta, want.meta, `meta of version ${i + 1}`);
        if (i < history.length - 1) assert.equal(version.replacedAt, (history[i + 1] as (typeof history)[number]).createdAt);
      });
      assert.equal(history[0]?.createdAt, 1000);
      assert.equal(history.at(-1)?.replacedAt, null);
      assert.equal(history.at(-1)?.text, await engine.recall("m"));
      const stats = await engine.stats();
      assert.equal(stats.history.versions, expected.length - 1);
      assert.equal(stats.history.originalBytes, history.slice(0, -1).reduce((sum, v) => sum + v.originalBytes, 0));
      assert.equal(stats.memories, 1);
      // Deleting the memory deletes its history.
      await engine.forget("m");
      assert.deepEqual(await storeOf(engine).memories.history("default", "m"), []);
      assert.equal((await engine.stats()).history.versions, 0);
      await assert.rejects(engine.history("m"), { code: "E_NOT_FOUND" });
    } finally {
      await engine.close();
      dir[Symbol.dispose]();
    }
  });

  it("codes a small edit of a long text as a delta against its successor, far smaller than the text", async () => {
    const dir = tempDir();
    const engine = Engine.open({ db: join(dir.path, "delta.db"), cache: "off" });
    try {
      const text = devCorpus().slice(0, 6).map((r) => r.text).join("\n");
      await engine.remember({ id: "d", text });
      await engine.update("d", { text: text.replace(/\d+/, "42") + "\nAddendum: reviewed." });
      const [first] = await engine.history("d");
      assert.equal(first?.text, text);
      assert.ok(first && first.storedBytes * 10 < first.originalBytes, `delta ${first?.storedBytes} bytes for ${first?.originalBytes}`);
      // A text with nothing in common with its successor is kept raw: never larger than itself.
      await engine.update("d", { text: "完全不同的内容" });
      const second = (await engine.history("d"))[1];
      assert.ok(second && second.storedBytes <= second.originalBytes);
    } finally {
      await engine.close();
      dir[Symbol.dispose]();
    }
  });
});
