import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Engine, memoryTag } from "../../src/engine.js";
import { isMemzipError } from "../../src/errors.js";
import { tempDir } from "../helpers.js";

/**
 * An update reads the memory, merges the patch and writes; another writer that lands between the read
 * and the write was acknowledged, so the update must not undo it (trial38: an update in flight brought
 * back a memory a concurrent forget had removed, through the library every time). Round `delay` starts
 * the update, lets it run `delay` microtask turns, then lets the other writer act: over the rounds the
 * other writer lands before, inside and after the update's read–write window. The rounds stop once the
 * update has finished before the other writer three rounds in a row (or after MAX_ROUNDS).
 */
const MAX_ROUNDS = 400;

async function rounds(engine: Engine, round: (delay: number, run: (update: Promise<unknown>, other: () => Promise<unknown>) => Promise<boolean>) => Promise<void>): Promise<{ inside: number; after: number }> {
  const seen = { inside: 0, after: 0 };
  let streak = 0;
  for (let delay = 0; delay < MAX_ROUNDS && streak < 3; delay++) {
    await round(delay, async (update, other) => {
      let settled = false;
      const watched = update.finally(() => (settled = true));
      for (let turn = 0; turn < delay; turn++) await Promise.resolve();
      const finishedFirst = settled;
      await other();
      await watched.catch(() => undefined);
      streak = finishedFirst ? streak + 1 : 0;
      if (finishedFirst) seen.after++;
      else seen.inside++;
      return finishedFirst;
    });
  }
  // Both happened: the other writer landed while the update was in flight, and after it.
  assert.ok(seen.inside > 0 && seen.after > 0, `rounds ${JSON.stringify(seen)}`);
  return seen;
}

/**
 * A fresh store for one test: its engine (no cache, no worker threads) and a second engine on the same file, as another
 * process would be (one engine runs its own updates and forgets of a memory one after another, so the other writer of a
 * race must come through another engine to meet the store's compare-and-set); both closed after `body`.
 */
async function onEngine(body: (engine: Engine, second: Engine) => Promise<void>): Promise<void> {
  using dir = tempDir();
  const engine = Engine.open({ db: join(dir.path, "race.db"), cache: "off", workers: 0 });
  const second = Engine.open({ db: join(dir.path, "race.db"), cache: "off", workers: 0 });
  try {
    await body(engine, second);
  } finally {
    await second.close();
    await engine.close();
  }
}

describe("update beside another writer", () => {
  it("a forget acknowledged while an update is in flight stays forgotten; the update answers NOT_FOUND or ran before it", async () => {
    await onEngine(async (engine, second) => {
      await rounds(engine, async (delay, run) => {
        const id = `note-${delay}`;
        await engine.remember({ id, text: `Round ${delay}: the deploy window moved to Thursday 14:00 UTC.`, meta: { round: delay } });
        const update = engine.update(id, { meta: { touched: true } }).catch((error: unknown) => {
          if (isMemzipError(error) && error.code === "E_NOT_FOUND") return "not-found";
          throw error;
        });
        await run(update, () => second.forget(id));
        await update;
        await assert.rejects(engine.memory(id), { code: "E_NOT_FOUND" }, `round ${delay}: the update brought back a memory whose forget was acknowledged`);
      });
    });
  });

  it("two updates of the metadata in flight at once both land: neither merge drops the other's keys", async () => {
    await onEngine(async (engine, second) => {
      await rounds(engine, async (delay, run) => {
        const id = `note-${delay}`;
        await engine.remember({ id, text: `Round ${delay}: the release freeze starts Monday.`, meta: { round: delay } });
        const update = engine.update(id, { meta: { first: true }, tags: ["first"] });
        await run(update, () => second.update(id, { meta: { second: true } }));
        await update;
        const memory = await engine.memory(id);
        assert.deepEqual(memory.meta, { round: delay, first: true, second: true }, `round ${delay}: an acknowledged update's meta key was lost`);
        assert.deepEqual(memory.tags, ["first"], `round ${delay}`);
      });
    });
  });

  it("a forget with the tag of a read deletes only the memory as read: an update landing in its window wins and the forget is refused", async () => {
    await onEngine(async (engine, second) => {
      await rounds(engine, async (delay, run) => {
        const id = `note-${delay}`;
        await engine.remember({ id, text: `Round ${delay}: the gate code is 4411.`, meta: { round: delay } });
        // The forgetting agent read the memory before the update began.
        const tag = memoryTag(await engine.memory(id));
        const update = engine.update(id, { meta: { changed: true } }).then(
          () => "landed",
          (error: unknown) => {
            // The forget landed first: the update finds nothing to change.
            if (isMemzipError(error) && error.code === "E_NOT_FOUND") return "not-found";
            throw error;
          },
        );
        let forgot: string | undefined;
        await run(update, async () => {
          forgot = await second.forget(id, undefined, { ifMatch: tag }).then(
            () => "deleted",
            (error: unknown) => {
              if (isMemzipError(error) && error.code === "E_PRECONDITION") return "refused";
              throw error;
            },
          );
        });
        const updated = await update;
        // Exactly one of the two acted: an acknowledged update is never deleted by a forget that read the memory before it.
        assert.deepEqual([forgot, updated].sort(), forgot === "deleted" ? ["deleted", "not-found"] : ["landed", "refused"], `round ${delay}: forget ${forgot}, update ${updated}`);
        if (updated === "landed") assert.deepEqual((await engine.memory(id)).meta, { round: delay, changed: true }, `round ${delay}`);
        else await assert.rejects(engine.memory(id), { code: "E_NOT_FOUND" }, `round ${delay}`);
      });
    });
  });

  it("an update with the tag of a read lands only while the memory is as read: of two with the same tag in flight, exactly one lands", async () => {
    await onEngine(async (engine, second) => {
      const refused = (error: unknown) => {
        if (isMemzipError(error) && error.code === "E_PRECONDITION") return "refused";
        throw error;
      };
      await rounds(engine, async (delay, run) => {
        const id = `note-${delay}`;
        await engine.remember({ id, text: `Round ${delay}: the freezer holds 12 pizzas.`, meta: { count: 12 } });
        const tag = memoryTag(await engine.memory(id));
        const update = engine.update(id, { text: `Round ${delay}: the freezer holds 11 pizzas.`, meta: { count: 11 } }, undefined, { ifMatch: tag }).then(() => "landed", refused);
        let other: string | undefined;
        await run(update, async () => (other = await second.update(id, { meta: { count: 10, by: "other" } }, undefined, { ifMatch: tag }).then(() => "landed", refused)));
        const outcomes = [await update, other];
        assert.deepEqual([...outcomes].sort(), ["landed", "refused"], `round ${delay}: ${JSON.stringify(outcomes)}`);
        const memory = await engine.memory(id);
        const text = await engine.recall(id);
        if (outcomes[0] === "landed") {
          assert.deepEqual([text, memory.meta], [`Round ${delay}: the freezer holds 11 pizzas.`, { count: 11 }], `round ${delay}`);
        } else {
          assert.deepEqual([text, memory.meta], [`Round ${delay}: the freezer holds 12 pizzas.`, { count: 10, by: "other" }], `round ${delay}`);
        }
        assert.equal(memoryTag(memory) === tag, false, `round ${delay}: the tag moved with the change`);
      });
      // The tag is what a reader sees: another envelope, codec or row version (a recode) keeps it; an expiry changes it.
      await engine.remember({ id: "kept", text: "The spare key is under the blue pot." });
      const kept = await engine.memory("kept");
      const recoded = { ...kept, codec: "zstd", envelope: Uint8Array.of(1, 2, 3), assetId: "other", version: (kept.version ?? 0) + 1 };
      assert.equal(memoryTag(recoded), memoryTag(kept));
      assert.notEqual(memoryTag({ ...kept, expiresAt: Date.now() + 60_000 }), memoryTag(kept));
      const result = await engine.update("kept", { tags: ["home"] }, undefined, { ifMatch: memoryTag(recoded) });
      assert.deepEqual((await engine.memory("kept")).tags, ["home"]);
      assert.equal(result.etag, memoryTag(await engine.memory("kept")), "update answers the tag of what it wrote");
      // A tag without its quotes (a shell or a model dropped them) is the same tag; a malformed one is refused as such, not as "changed".
      const home = (result.etag as string).slice(1, -1);
      assert.equal((await engine.update("kept", { meta: { room: "hall" } }, undefined, { ifMatch: home })).status, "updated");
      for (const bad of ["", "m-short", '"nope"']) {
        await assert.rejects(engine.update("kept", { meta: { room: "attic" } }, undefined, { ifMatch: bad }), { code: "E_INVALID_INPUT", message: /is not a memory's tag/ }, bad);
      }
      await assert.rejects(engine.update("kept", { tags: ["away"] }, undefined, { ifMatch: memoryTag(kept) }), { code: "E_PRECONDITION", message: /changed since it was read/ });
      // A forget with a stale tag deletes nothing; with the current one it deletes.
      await assert.rejects(engine.forget("kept", undefined, { ifMatch: memoryTag(kept) }), { code: "E_PRECONDITION" });
      await engine.forget("kept", undefined, { ifMatch: memoryTag(await engine.memory("kept")) });
      await assert.rejects(engine.memory("kept"), { code: "E_NOT_FOUND" });
    });
  });
});

describe("updates of one memory through one engine", () => {
  it("sixteen updates of one memory's meta in flight at once all land, each reading what the one before it wrote", async () => {
    await onEngine(async (engine) => {
      const { namespace } = await engine.remember({ id: "tally", text: "Which agents have seen the incident report." });
      // Half name the namespace, half leave it to the default: the same memory, the same line.
      const outcomes = await Promise.allSettled(Array.from({ length: 16 }, (_, i) => engine.update("tally", { meta: { [`agent${i}`]: true } }, i % 2 === 1 ? namespace : undefined)));
      // Before: one engine's updates met each other's compare-and-set, and after 5 attempts each 11 of the 16 were E_CONFLICT.
      assert.deepEqual(outcomes.map((o) => o.status), Array(16).fill("fulfilled"), JSON.stringify(outcomes.map((o) => (o.status === "rejected" ? (o.reason as { code?: string }).code : "ok"))));
      assert.deepEqual(Object.keys((await engine.memory("tally")).meta).sort(), Array.from({ length: 16 }, (_, i) => `agent${i}`).sort());
      // A forget joins the same line: it runs after the updates given before it, and an update after it finds nothing.
      const late = [engine.update("tally", { meta: { last: true } }), engine.forget("tally"), engine.update("tally", { meta: { after: true } })];
      const settled = await Promise.allSettled(late);
      assert.deepEqual(settled.map((o) => (o.status === "rejected" ? (o.reason as { code?: string }).code : "ok")), ["ok", "ok", "E_NOT_FOUND"]);
    });
  });
});

describe("a recode beside another writer", () => {
  it("a memory forgotten and remembered again under its id while a recode is in flight keeps its new text (the recode read the old one)", async () => {
    await onEngine(async (engine) => {
      const texts = Array.from({ length: 40 }, (_, i) => `Memory ${i}: the build on runner ${i % 7} failed twice with the same linker error, then passed after a cache flush.`);
      await engine.rememberMany(texts.map((text, i) => ({ id: `m${i}`, text })));
      const renewed = "m0 again: the runners moved to the new rack on Monday; the cache is on local disk now.";
      let other: Promise<void> | undefined;
      const recode = engine.recode(undefined, { codec: "raw" }, (event) => {
        // m0 has been read and coded; its new envelope waits for the batch's write. Another agent replaces m0 now.
        if (event.done === 1 && !other) other = engine.forget("m0").then(() => engine.remember({ id: "m0", text: renewed, meta: { again: true } })).then(() => undefined);
      });
      const report = await recode;
      await other;
      assert.equal(await engine.recall("m0"), renewed, `recode ${JSON.stringify(report)}`);
      for (const [i, text] of texts.entries()) if (i > 0) assert.equal(await engine.recall(`m${i}`), text, `m${i}`);
      assert.equal((await engine.verify()).failed, 0);
    });
  });
});
