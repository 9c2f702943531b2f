import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import Database from "better-sqlite3";
import { tempDir } from "../helpers.js";
import { bearer, startServer } from "./http.js";

/**
 * The server's store locked by another writer past the store's wait (an sqlite3 shell, a backup, a CLI import of the same
 * file): a read answers as always; a write answers 503 E_BUSY with Retry-After (5 s, the store's wait) and writes nothing, not a 500 "internal
 * error"; once the lock is gone the same request succeeds. The lock is taken before the request and released after it.
 */
describe("HTTP writes to a store another process holds locked", () => {
  it("answers 503 E_BUSY with Retry-After, writes nothing, and succeeds once the lock is released", async () => {
    using dir = tempDir();
    const running = await startServer(dir.path, {}, { cache: "off" });
    try {
      const key = (await running.engine.keys.create({ role: "write", namespaces: ["a"] })).key;
      const post = (id: string, text: string) =>
        fetch(`${running.url}/v1/memories`, { method: "POST", headers: bearer(key, { "content-type": "application/json" }), body: JSON.stringify({ id, text, namespace: "a" }) });
      assert.equal((await post("first", "stored before the lock")).status, 201);

      const holder = new Database(running.db);
      holder.exec("BEGIN IMMEDIATE");
      try {
        const read = await fetch(`${running.url}/v1/memories/first?namespace=a`, { headers: bearer(key) });
        assert.equal(read.status, 200);
        const refused = await post("second", "sent while the store is locked");
        assert.equal(refused.status, 503);
        assert.equal(refused.headers.get("retry-after"), "5");
        const body = (await refused.json()) as { error: { code: string; message: string; hint?: string } };
        assert.equal(body.error.code, "E_BUSY");
        assert.match(body.error.message, /locked/);
        assert.match(body.error.hint ?? "", /Retry-After/);
        // Logged as a warning naming the code, without a stack: the server declined for now, nothing broke.
        const logged = running.logs.map((line) => JSON.parse(line) as { level: number; msg: string; code?: string; err?: unknown }).filter((line) => line.code === "E_BUSY");
        assert.deepEqual(logged.map((line) => [line.level, line.msg, line.err]), [[40, "request refused for now", undefined]]);
        assert.ok(!running.logs.some((line) => line.includes('"level":50')), "nothing logged as an error");
      } finally {
        holder.exec("COMMIT");
        holder.close();
      }
      assert.equal((await fetch(`${running.url}/v1/memories/second?namespace=a`, { headers: bearer(key) })).status, 404, "the refused write stored nothing");
      assert.equal((await post("second", "sent after the lock")).status, 201);
      const after = await fetch(`${running.url}/v1/memories/second?namespace=a`, { headers: bearer(key) });
      assert.equal(((await after.json()) as { text: string }).text, "sent after the lock");
    } finally {
      await running.server.close();
      await running.engine.close();
    }
  });

  it("a write waiting for the lock holds no other request: /metrics shows it waiting, a read answers; once released it is stored (201)", async () => {
    using dir = tempDir();
    const running = await startServer(dir.path, {}, { cache: "off" });
    try {
      const key = (await running.engine.keys.create({ role: "write", namespaces: ["a"] })).key;
      const admin = (await running.engine.keys.create({ role: "admin", namespaces: ["*"] })).key;
      const post = (id: string, text: string) =>
        fetch(`${running.url}/v1/memories`, { method: "POST", headers: bearer(key, { "content-type": "application/json" }), body: JSON.stringify({ id, text, namespace: "a" }) });
      assert.equal((await post("first", "stored before the lock")).status, 201);
      const waitingNow = async (): Promise<number> => {
        const text = await (await fetch(`${running.url}/metrics`, { headers: bearer(admin) })).text();
        return Number(/^memzip_engine_events\{counter="storeLockWaiting"\} (\d+)$/m.exec(text)?.[1] ?? Number.NaN);
      };
      assert.equal(await waitingNow(), 0);

      const holder = new Database(running.db);
      holder.exec("BEGIN IMMEDIATE");
      let released = false;
      try {
        let answered = false;
        const write = post("second", "sent while the store is locked").finally(() => {
          answered = true;
        });
        // Each scrape is a request the server answers while the write waits (SQLite's own wait would hold them all).
        while (!answered && (await waitingNow()) === 0) await delay(5);
        assert.equal(answered, false, "the write was answered before it was seen waiting");
        const read = await fetch(`${running.url}/v1/memories/first?namespace=a`, { headers: bearer(key) });
        assert.equal(read.status, 200);
        assert.equal(answered, false, "the lock is still held: the write still waits");
        holder.exec("COMMIT");
        holder.close();
        released = true;
        assert.equal((await write).status, 201);
      } finally {
        if (!released) {
          holder.exec("COMMIT");
          holder.close();
        }
      }
      const after = await fetch(`${running.url}/v1/memories/second?namespace=a`, { headers: bearer(key) });
      assert.equal(((await after.json()) as { text: string }).text, "sent while the store is locked");
      assert.equal(await waitingNow(), 0);
    } finally {
      await running.server.close();
      await running.engine.close();
    }
  });
});
