import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { tempDir } from "../helpers.js";

describe("recode to a forced codec (trial56: memories it could not code were counted as moved to it)", () => {
  it("reports the memories left out of that codec, and exactly those are outside it", async () => {
    using dir = tempDir();
    const engine = Engine.open({ db: join(dir.path, "store.db"), cache: "off", workers: 0 });
    try {
      const short = ["ok", "hi there", "a b c"];
      const long = [1, 2, 3].map((i) => `A longer memory number ${i}, ${"about the weekly deploy schedule and who is on call; ".repeat(4)}`);
      await engine.rememberMany([...short, ...long].map((text, i) => ({ id: `m${i}`, text })));
      const report = await engine.recode("default", { codec: "zstd" });
      const codecs = (await engine.page({ limit: 100 })).items.map((m) => m.codec);
      assert.equal(report.checked, 6);
      assert.ok(codecs.filter((c) => c === "zstd").length >= long.length, `the long texts are zstd: ${codecs.join(",")}`);
      assert.equal(report.notInCodec, codecs.filter((c) => c !== "zstd").length, `codecs after: ${codecs.join(",")}`);
      assert.ok((report.notInCodec ?? 0) > 0, "the shortest texts stay raw");
      // Without a forced codec there is nothing to leave out.
      assert.equal((await engine.recode("default")).notInCodec, undefined);
      assert.deepEqual(await engine.verify(), { checked: 6, failed: 0, failures: [] });
    } finally {
      await engine.close();
    }
  });
});
