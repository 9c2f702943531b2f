import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { request } from "node:http";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { CLI, tempDir } from "../helpers.js";

/**
 * `memzip serve` as users run it: the real CLI in its own process, over real TCP. It prints where
 * it listens, answers, and on SIGTERM finishes the write in flight before it exits 0.
 */

const ENV = { ...process.env, MEMZIP_DB: "", MEMZIP_CONFIG: "/nonexistent/memzip-config.json", MEMZIP_LOG_LEVEL: "warn" };

function createKey(db: string, namespace: string, role: string): string {
  const result = spawnSync(process.execPath, [CLI, "keys", "create", "--db", db, "--namespace", namespace, "--role", role, "--json"], { env: ENV, encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  return (JSON.parse(result.stdout) as { key: string }).key;
}

/** Spawns `memzip serve` and resolves with its URL once it prints `listening on` (60 s bound). */
function serve(db: string, extra: string[] = []): Promise<{ child: ChildProcess; url: string; stderr: () => string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [CLI, "serve", "--db", db, "--port", "0", ...extra], { env: ENV, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`memzip serve printed no "listening on" in 60 s:\n${stderr}`)), 60_000);
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      stderr += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1] as string, stderr: () => stderr, exited });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`memzip serve exited with ${code} before listening:\n${stderr}`));
    });
  });
}

/** POSTs JSON with node:http; `onSent` runs once the whole request is on the socket. */
function post(url: string, key: string, body: unknown, onSent: () => void): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const payload = Buffer.from(JSON.stringify(body));
    const req = request(url, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "content-length": payload.length } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on("error", (error) => resolve({ error: error.message }));
    });
    req.on("error", (error) => resolve({ error: error.message }));
    req.end(payload, onSent);
  });
}

describe("memzip serve (the real CLI)", () => {
  it("prints where it listens, answers, and on SIGTERM exits 0 with the batch in flight written whole or not at all", async (t) => {
    using dir = tempDir();
    const db = join(dir.path, "store.db");
    const key = createKey(db, "ns", "write");
    const server = await serve(db, ["--rate", "0"]);
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const health = await fetch(`${server.url}/healthz`);
      assert.equal(health.status, 200);
      const one = await fetch(`${server.url}/v1/memories`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ text: "first", id: "first" }) });
      assert.equal(one.status, 201);

      const items = Array.from({ length: 300 }, (_, i) => ({ id: `b-${i}`, text: `batch item ${i}: ${"memzip keeps every acknowledged write. ".repeat(1 + (i % 20))}` }));
      const answer = await post(`${server.url}/v1/memories:batch`, key, { items }, () => server.child.kill("SIGTERM"));
      const code = await server.exited;
      t.diagnostic(`batch in flight at SIGTERM: ${"status" in answer ? `HTTP ${answer.status}` : answer.error}`);
      assert.equal(code, 0, server.stderr());

      await using engine = Engine.open({ db, readOnly: true });
      const present = [];
      for (const item of items) {
        try {
          const text = await engine.recall(item.id, { namespace: "ns" });
          assert.equal(text, item.text, `${item.id} is exact`);
          present.push(item.id);
        } catch (error) {
          assert.equal((error as { code?: string }).code, "E_NOT_FOUND");
        }
      }
      if ("status" in answer && answer.status === 201) assert.equal(present.length, items.length, "an acknowledged batch is whole");
      else assert.ok(present.length === 0 || present.length === items.length, `never half a batch: ${present.length} of ${items.length} (answer ${JSON.stringify(answer).slice(0, 200)})`);
      assert.equal(await engine.recall("first", { namespace: "ns" }), "first");
    } finally {
      if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill("SIGKILL");
      await server.exited;
    }
  });
});
