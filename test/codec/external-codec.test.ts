import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CODEC_IDS } from "../../src/codec/ids.js";
import { Engine } from "../../src/engine.js";
import type { WriteCodecName } from "../../src/engine-options.js";
import { isMemzipError } from "../../src/errors.js";
import { openStore } from "../../src/store/open.js";
import { devCorpus, tempDir } from "../helpers.js";
import { createRleCodec } from "./fixtures/rle-codec.js";

const runs = `${"a".repeat(1500)}${"b".repeat(700)}${"c".repeat(300)}`;

describe("a codec registered from outside the engine", () => {
  for (const workers of [0, 2]) {
    it(`takes part in the policy with no engine change and wins where it is smallest (workers: ${workers})`, async () => {
      using dir = tempDir();
      const db = join(dir.path, "store.db");
      const prose = devCorpus().slice(0, 6).map(({ id, text }) => ({ id, text }));
      const rle = createRleCodec();
      const engine = Engine.create({ store: openStore(db), extraCodecs: [rle], workers, autoTrainAfter: 0 });
      try {
        const results = await engine.rememberMany([{ id: "runs", text: runs }, ...prose]);
        assert.equal(results[0]?.codec, "test-rle", "the smallest verified envelope is the registered codec's");
        assert.ok((results[0]?.storedBytes ?? Infinity) < 20);
        for (const result of results.slice(1)) assert.notEqual(result.codec, "test-rle", "it loses on prose");
        assert.equal(rle.calls.encode, results.length, "the policy tried it on every memory");
        assert.ok(rle.calls.declined >= prose.length, "it declined prose over the budget it was given");
        assert.ok(rle.calls.decode >= 1, "its envelope was verified by decoding before it won");
        assert.equal(await engine.recall("runs"), runs);
        for (const { id, text } of prose) assert.equal(await engine.recall(id), text);
        assert.equal((await engine.verify()).failed, 0);
      } finally {
        await engine.close();
      }
      // Without the codec the memory is a typed error, never wrong text; with it, it reads back.
      const without = Engine.open({ db, readOnly: true });
      try {
        await assert.rejects(without.recall("runs"), (e: unknown) => isMemzipError(e, "E_UNKNOWN_CODEC"));
        assert.equal(await without.recall(prose[0]?.id as string), prose[0]?.text);
      } finally {
        await without.close();
      }
      const again = Engine.create({ store: openStore(db, { readOnly: true }), extraCodecs: [createRleCodec()] });
      try {
        assert.equal(await again.recall("runs"), runs);
      } finally {
        await again.close();
      }
    });
  }

  it("can be forced by name like a built-in codec; a name no codec has is E_USAGE (review26 M-1)", async () => {
    using dir = tempDir();
    const rle = createRleCodec();
    const engine = Engine.create({ store: openStore(join(dir.path, "store.db")), extraCodecs: [rle], autoTrainAfter: 0 });
    try {
      const prose = devCorpus()[0]?.text as string;
      const forced = await engine.remember({ id: "forced", text: runs }, { codec: "test-rle" as WriteCodecName });
      assert.equal(forced.codec, "test-rle", "a forced name a registered codec has is not refused");
      assert.equal(await engine.recall("forced"), runs);
      await assert.rejects(engine.remember({ id: "nope", text: prose }, { codec: "no-such-codec" as WriteCodecName }), (e: unknown) => isMemzipError(e, "E_USAGE"));
      assert.equal((await engine.verify()).failed, 0);
    } finally {
      await engine.close();
    }
  });

  it("refuses a codec whose id or name is taken, with a typed error", () => {
    for (const extraCodecs of [[createRleCodec(), createRleCodec()], [createRleCodec("mine", CODEC_IDS.zstd)], [createRleCodec("llm", 250)], [createRleCodec("zstd", 250)]]) {
      assert.throws(() => Engine.create({ store: openStore(":memory:"), extraCodecs }), (e: unknown) => isMemzipError(e, "E_USAGE"));
    }
  });
});
