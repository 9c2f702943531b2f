/**
 * An engine opened `readOnly` writes nothing: every call that writes memories, assets, models, jobs or keys is refused
 * with E_USAGE, while reads, lists, searches and exports work. A writable store file is opened for writing underneath
 * (its search index is kept there), so the refusal is the engine's own (trial of stop 62: remember, forget, update and
 * compact all went through a read-only engine of a file the account could write).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { ErrorCode, isMemzipError } from "../../src/errors.js";
import { collect } from "../helpers.js";

const TEXTS = ["The deploy window moved to Thursday 14:00 UTC.", "Alice prefers tea; Bob brings the biscuits.", "Invoice 4411 is paid."];

async function refused(call: string, work: () => Promise<unknown>): Promise<void> {
  await assert.rejects(work, (error: unknown) => {
    assert.ok(isMemzipError(error), `${call}: a typed error (${String(error)})`);
    assert.equal(error.code, ErrorCode.USAGE, `${call}: ${error.message}`);
    assert.match(error.message, /read-only/);
    assert.match(error.hint ?? "", /without readOnly/);
    return true;
  });
}

describe("an engine opened readOnly", () => {
  it("refuses every write call, writes nothing, and still reads, lists, searches and exports", async () => {
    const dir = mkdtempSync(join(tmpdir(), "memzip-read-only-"));
    try {
      const db = join(dir, "store.db");
      const writer = Engine.open({ db, cache: "off", workers: 0 });
      for (const [i, text] of TEXTS.entries()) await writer.remember({ id: `m${i}`, text, tags: ["t"], meta: { n: i } });
      const key = await writer.keys.create({ role: "read", namespaces: ["default"] });
      const before = await collect(writer.exportJsonl());
      await writer.close();
      const lines = join(dir, "more.jsonl");
      writeFileSync(lines, `${JSON.stringify({ id: "x1", text: "imported through a read-only engine" })}\n`);

      const reader = Engine.open({ db, readOnly: true, cache: "off", workers: 0 });
      try {
        await refused("remember", () => reader.remember({ id: "new", text: "written through a read-only engine" }));
        await refused("rememberMany", () => reader.rememberMany([{ id: "new2", text: "two" }]));
        await refused("update", () => reader.update("m0", { text: "changed" }));
        await refused("update meta", () => reader.update("m1", { meta: { n: 9 } }));
        await refused("forget", () => reader.forget("m2"));
        await refused("forgetWhere", () => reader.forgetWhere({ tags: ["t"] }));
        await refused("compact", () => reader.compact());
        await refused("setPrimingText", () => reader.setPrimingText("priming text"));
        await refused("pruneAssets", () => reader.pruneAssets());
        await refused("trainAsset", () => reader.trainAsset("zstd-dictionary"));
        await refused("recode", () => reader.recode());
        await refused("importJsonl", () => reader.importJsonl(lines));
        await refused("finishImport", () => reader.finishImport());
        await refused("addModel", () => reader.addModel(join(dir, "model.gguf")));
        await refused("removeModel", () => reader.removeModel("none"));
        await refused("interruptJob", () => reader.interruptJob("job-x"));
        await refused("keys.create", () => reader.keys.create({ role: "write", namespaces: ["default"] }));
        await refused("keys.revoke", () => reader.keys.revoke(key.record.id));

        // Reads work: a dry run of forgetWhere counts, recall, list, search and export answer.
        assert.equal((await reader.forgetWhere({ tags: ["t"] }, { dryRun: true })).count, TEXTS.length);
        assert.equal(await reader.recall("m0"), TEXTS[0]);
        assert.equal((await reader.list()).length, TEXTS.length);
        assert.ok((await reader.searchMemories("biscuits")).some((hit) => hit.id === "m1"));
        assert.deepEqual(await collect(reader.exportJsonl()), before);
        assert.equal((await reader.keys.authenticate(key.key))?.keyId, key.record.id, "a key still authenticates");
      } finally {
        await reader.close();
      }

      // Nothing was written: the same memories, and the key is not revoked.
      const after = Engine.open({ db, cache: "off", workers: 0 });
      try {
        assert.deepEqual(await collect(after.exportJsonl()), before);
        assert.equal((await after.keys.list()).length, 1);
        assert.equal((await after.keys.list())[0]?.revokedAt, null);
      } finally {
        await after.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
