import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Store } from "../../src/core/store.js";
import { Engine } from "../../src/engine.js";
import { forgetWhere } from "../../src/engine/forget-where.js";
import { openStore } from "../../src/store/open.js";
import { tempDir } from "../helpers.js";

const T0 = Date.UTC(2030, 0, 1);
const noAssets = { dropAllIfUnused: async () => undefined } as unknown as Parameters<typeof forgetWhere>[1];

/**
 * `store` whose memories run `other` once, just before the first call of `method` (every other member the store's own,
 * bound to it); `acted()` says whether it ran.
 */
function beforeFirst(store: Store, method: string, other: () => Promise<void>): { store: Store; acted: () => boolean } {
  let acted = false;
  const memories = new Proxy(store.memories, {
    get(target, key) {
      const value = Reflect.get(target, key) as unknown;
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        if (key === method && !acted) {
          acted = true;
          await other();
        }
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
  const hooked = new Proxy(store, {
    get(target, key) {
      if (key === "memories") return memories;
      const value = Reflect.get(target, key) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store: hooked, acted: () => acted };
}

/**
 * `compact`'s purge (a delete by the filter `expiredBy`) lists the expired memories, then deletes them one by one. Another
 * writer may remember such an id again in between (its write deletes the expired row and stores a fresh one): the purge
 * must leave that memory. `act` is when the other writer acts: just before the purge's read of the row, or just before
 * its delete. Deterministic: the other writer runs inside the store call the purge makes.
 */
async function purgeBeside(act: "get" | "delete" | "none"): Promise<{ count: number; recalled: string | undefined }> {
  using dir = tempDir();
  const path = join(dir.path, "purge.db");
  const clock = { now: T0 };
  const other = Engine.open({ db: path, cache: "off", workers: 0, clock: () => clock.now });
  const store = openStore(path);
  try {
    await other.remember({ id: "session", text: "The old session's notes: token rotated at 09:00." }, { ttlMs: 1000 });
    clock.now += 5000;
    const hooked = beforeFirst(store, act, async () => {
      assert.equal((await other.remember({ id: "session", text: "The new session's notes, acknowledged." })).status, "stored");
    });
    const report = await forgetWhere(hooked.store, noAssets, { expiredBy: clock.now });
    assert.equal(hooked.acted(), act !== "none");
    const recalled = await other.recall("session").catch((error: { code?: string }) => (error.code === "E_NOT_FOUND" ? undefined : Promise.reject(error)));
    return { count: report.count, recalled };
  } finally {
    await store.close();
    await other.close();
  }
}

describe("the expiry purge beside a writer", () => {
  it("deletes an expired memory, and leaves one remembered again under its id after the purge listed it (before its read or its delete)", async () => {
    assert.deepEqual(await purgeBeside("none"), { count: 1, recalled: undefined });
    for (const act of ["get", "delete"] as const) {
      // Before: the purge deleted the new memory, acknowledged as stored (E_NOT_FOUND on recall).
      assert.deepEqual(await purgeBeside(act), { count: 0, recalled: "The new session's notes, acknowledged." }, act);
    }
  });
});

describe("a remember of an expired id beside another writer", () => {
  it("deletes the expired row only as it read it: a memory another writer stored under the id meanwhile is kept in its history, not lost", async () => {
    using dir = tempDir();
    const path = join(dir.path, "expired.db");
    const clock = { now: T0 };
    const other = Engine.open({ db: path, cache: "off", workers: 0, clock: () => clock.now });
    const store = openStore(path);
    // The writer's store: just before it deletes the expired row, the other writer remembers the id afresh (acknowledged).
    const hooked = beforeFirst(store, "delete", async () => {
      assert.equal((await other.remember({ id: "plan", text: "Plan B: the other agent's plan, acknowledged." })).status, "stored");
    });
    const writer = Engine.create({ store: hooked.store, cache: "off", workers: 0, clock: () => clock.now });
    try {
      await other.remember({ id: "plan", text: "Plan A, expiring." }, { ttlMs: 1000 });
      clock.now += 5000;
      const result = await writer.remember({ id: "plan", text: "Plan C: this writer's plan." });
      assert.equal(hooked.acted(), true);
      assert.equal(result.status, "updated", "it wrote over the other writer's memory, which it found live");
      assert.equal(await writer.recall("plan"), "Plan C: this writer's plan.");
      // Before: the writer deleted the other's new row as if it were the expired one, and its text was nowhere.
      assert.deepEqual((await writer.history("plan")).map((v) => v.text), ["Plan B: the other agent's plan, acknowledged.", "Plan C: this writer's plan."]);
    } finally {
      await writer.close();
      await other.close();
    }
  });
});
