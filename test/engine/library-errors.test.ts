/**
 * The library's door (stop 62's trial of memzip as a library): what the types rule out is a typed error naming the fix,
 * never ignored and never an untyped one.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import type { EngineOptions } from "../../src/engine-options.js";
import { ErrorCode, isMemzipError } from "../../src/errors.js";
import { memoryTag } from "../../src/index.js";
import { tempDir } from "../helpers.js";

const typed = (code: ErrorCode, pattern: RegExp) => (error: unknown) => isMemzipError(error, code) && pattern.test(error.message) && (error.hint ?? "") !== "";

describe("the library's door, stop 62", () => {
  it("an unknown Engine.open option is E_USAGE naming the near one, before anything is created", () => {
    using dir = tempDir();
    const db = join(dir.path, "typo.db");
    // `readonly` for `readOnly` opened the store for writing.
    assert.throws(() => Engine.open({ db, readonly: true } as EngineOptions), (error: unknown) => typed(ErrorCode.USAGE, /unknown option "readonly"/)(error) && /readOnly/.test((error as Error & { hint?: string }).hint ?? ""));
    assert.throws(() => Engine.open({ db, bogus: 1 } as EngineOptions), typed(ErrorCode.USAGE, /unknown option "bogus"/));
    assert.equal(existsSync(db), false, "no store was made");
  });

  it("an update with both expiresAt and ttlMs, an aborted search and bytes that are no Arrow file are typed errors", async () => {
    using dir = tempDir();
    const engine = Engine.open({ db: join(dir.path, "door.db"), cache: "off", workers: 0 });
    try {
      await engine.remember({ id: "a", text: "the heron waits by the pond" });
      await assert.rejects(engine.update("a", { expiresAt: Date.now() + 60_000, ttlMs: 3_600_000 }), typed(ErrorCode.INVALID_INPUT, /expiresAt or ttlMs, not both/));
      assert.equal((await engine.memory("a")).expiresAt ?? null, null, "no expiry was set");
      const stop = new AbortController();
      stop.abort();
      await assert.rejects(engine.searchMemories("heron", { signal: stop.signal }), typed(ErrorCode.ABORTED, /stopped by its caller's signal/));
      await assert.rejects(engine.importArrow(new Uint8Array(0)), typed(ErrorCode.FORMAT, /not an Arrow IPC file \(no bytes\)/));
      await assert.rejects(engine.importArrow(new Uint8Array(64).fill(255)), typed(ErrorCode.FORMAT, /not an Arrow IPC file/));
      await assert.rejects(engine.importArrow("text" as unknown as Uint8Array), typed(ErrorCode.INVALID_INPUT, /the file's bytes/));
      assert.equal((await engine.list()).length, 1, "nothing was imported");
      // An ArrayBuffer (a fetch response's arrayBuffer()) is read as its bytes, as apache-arrow reads it.
      const arrow = await engine.exportArrow();
      const buffer = arrow.buffer.slice(arrow.byteOffset, arrow.byteOffset + arrow.byteLength) as ArrayBuffer;
      assert.equal((await engine.importArrow(buffer)).unchanged, 1);

      // The package exports memoryTag: a library read gives the tag a conditional write takes.
      const tag = memoryTag(await engine.memory("a"));
      await engine.update("a", { tags: ["pond"] }, undefined, { ifMatch: tag });
      await assert.rejects(engine.update("a", { tags: ["lake"] }, undefined, { ifMatch: tag }), typed(ErrorCode.PRECONDITION, /./));
      assert.deepEqual((await engine.memory("a")).tags, ["pond"]);
    } finally {
      await engine.close();
    }
  });
});
