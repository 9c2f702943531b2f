import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import { checksum32 } from "../../src/codec/checksum.js";
import { Engine } from "../../src/engine.js";
import { openStore } from "../../src/store/open.js";
import { tempDir } from "../helpers.js";

// Two texts of one length and one XXH32 (trial41 found the pair in about a second of search).
const A = "Transfer approved: pay 0451100 EUR to account X";
const B = "Transfer approved: pay 1008848 EUR to account X";

describe("a new text with the stored one's length and XXH32 (trial41: it was dropped as unchanged)", () => {
  it("the pair collides", () => {
    assert.equal(A.length, B.length);
    assert.notEqual(A, B);
    assert.equal(checksum32(Buffer.from(A)), checksum32(Buffer.from(B)));
  });

  for (const sealed of [false, true]) {
    it(`is stored by remember and by update, the earlier text kept in history${sealed ? " (the row sealed in a block)" : ""}`, async () => {
      using dir = tempDir();
      const store = openStore(join(dir.path, "store.db"), sealed ? { seal: true, blockRows: 2, firstSealRows: 1 } : {});
      const engine = Engine.create({ store, cache: "off", workers: 0 });
      try {
        await engine.rememberMany([{ id: "pay", text: A }, { id: "other", text: "beside it" }]);
        if (sealed) assert.ok(((await store.seal?.()) ?? 0) > 0);
        const written = await engine.remember({ id: "pay", text: B });
        assert.equal(written.status, "updated");
        assert.equal(await engine.recall("pay"), B);
        assert.deepEqual((await engine.history("pay")).map((v) => v.text), [A, B]);
        // The same text again is unchanged; the other one back through update is stored.
        assert.equal((await engine.remember({ id: "pay", text: B })).status, "unchanged");
        assert.equal((await engine.update("pay", { text: A })).status, "updated");
        assert.equal(await engine.recall("pay"), A);
        assert.deepEqual((await engine.history("pay")).map((v) => v.text), [A, B, A]);
        // A new memory of B beside A's holder keeps its own text (content addressing goes by the hash, not the XXH32).
        await engine.remember({ id: "second", text: B });
        assert.deepEqual([await engine.recall("second"), await engine.recall("pay")], [B, A]);
        assert.deepEqual(await engine.verify(), { checked: 3, failed: 0, failures: [] });
      } finally {
        await engine.close();
      }
    });
  }
});
