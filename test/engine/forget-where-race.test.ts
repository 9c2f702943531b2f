import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Store } from "../../src/core/store.js";
import { Engine } from "../../src/engine.js";
import { forgetWhere } from "../../src/engine/forget-where.js";
import { openStore } from "../../src/store/open.js";
import { tempDir } from "../helpers.js";

const T0 = Date.UTC(2030, 0, 1);
const noAssets = { dropIfUnused: async () => undefined } as unknown as Parameters<typeof forgetWhere>[1];

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
    let acted = false;
    const memories = new Proxy(store.memories, {
      get(target, key) {
        const value = Reflect.get(target, key) as unknown;
        if (typeof value !== "function") return value;
        return async (...args: unknown[]) => {
          if (key === act && !acted) {
            acted = true;
            assert.equal((await other.remember({ id: "session", text: "The new session's notes, acknowledged." })).status, "stored");
          }
          return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        };
      },
    });
    const report = await forgetWhere({ ...store, memories } as Store, noAssets, { expiredBy: clock.now });
    assert.equal(acted, act !== "none");
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
