import { strict as assert } from "node:assert";
import { spawn, type ChildProcess } from "node:child_process";
import { request } from "node:http";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { CHILD_TIMEOUT_MS, CLI, devCorpus, tempDir } from "../helpers.js";
import { bearer } from "./http.js";

/** `memzip serve` as a real process on a free port; resolves once it printed its URL. */
function serve(db: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, "serve", "--db", db, "--port", "0", "--warm", "0"], {
    env: { ...process.env, MEMZIP_LOG_LEVEL: "silent" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let stderr = "";
    // Bounded: a server that never listens is killed (left running, it would keep the test process alive).
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`memzip serve printed no "listening on" in ${CHILD_TIMEOUT_MS / 1000} s: ${stderr}`));
    }, CHILD_TIMEOUT_MS);
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
      const url = /listening on (http:\/\/\S+)/.exec(stderr)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({ child, url });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`memzip serve exited (${String(code)}): ${stderr}`));
    });
  });
}

function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

describe("memzip serve killed with SIGKILL during a batch write", () => {
  it("keeps every acknowledged write exact and the batch in flight all or nothing", async (t) => {
    using dir = tempDir();
    const db = join(dir.path, "crash.db");
    let key: string;
    {
      await using engine = Engine.open({ db });
      key = (await engine.keys.create({ role: "write", namespaces: ["crash"] })).key;
    }
    const corpus = devCorpus();
    const SIZE = 40;
    const batch = (n: number) => Array.from({ length: SIZE }, (_, i) => ({ id: `b${n}-${i}`, text: `${(corpus[(n * SIZE + i) % corpus.length] as { text: string }).text} #${n}.${i}` }));
    const ACKED = 4;
    const children: ChildProcess[] = [];
    try {
      const first = await serve(db);
      children.push(first.child);
      for (let n = 0; n < ACKED; n++) {
        const response = await fetch(`${first.url}/v1/memories:batch`, { method: "POST", headers: bearer(key, { "content-type": "application/json" }), body: JSON.stringify({ items: batch(n) }) });
        assert.equal(response.status, 201, await response.clone().text());
        assert.equal(((await response.json()) as { items: unknown[] }).items.length, SIZE);
      }
      // One more batch: once its request is wholly sent, the server is killed (before, during or after its transaction).
      const body = JSON.stringify({ items: batch(ACKED) });
      await new Promise<void>((resolve) => {
        const req = request(`${first.url}/v1/memories:batch`, { method: "POST", headers: { ...bearer(key), "content-type": "application/json", "content-length": Buffer.byteLength(body) } });
        req.on("error", () => resolve()); // the connection dies with the server
        req.on("response", (res) => {
          res.resume();
          res.on("end", resolve);
          res.on("error", () => resolve());
        });
        req.end(body, () => void killed(first.child));
      });
      await killed(first.child);
      assert.equal(first.child.signalCode, "SIGKILL");

      const second = await serve(db);
      children.push(second.child);
      for (let n = 0; n < ACKED; n++) {
        for (const item of batch(n)) {
          const response = await fetch(`${second.url}/v1/memories/${item.id}`, { headers: bearer(key) });
          assert.equal(response.status, 200, `acknowledged ${item.id} is missing`);
          assert.equal(((await response.json()) as { text: string }).text, item.text);
        }
      }
      let present = 0;
      for (const item of batch(ACKED)) {
        const response = await fetch(`${second.url}/v1/memories/${item.id}`, { headers: bearer(key) });
        if (response.status === 200) {
          present++;
          assert.equal(((await response.json()) as { text: string }).text, item.text);
        } else assert.equal(response.status, 404);
      }
      assert.ok(present === 0 || present === SIZE, `the batch in flight is half written: ${present} of ${SIZE}`);
      t.diagnostic(`batch in flight at the kill: ${present === 0 ? "not committed" : "committed"}`);
      second.child.kill("SIGTERM");
      await new Promise((resolve) => second.child.once("exit", resolve));
      assert.equal(second.child.exitCode, 0);

      await using engine = Engine.open({ db });
      const report = await engine.verify("crash");
      assert.equal(report.failed, 0);
      assert.equal(report.checked, ACKED * SIZE + present);
      assert.equal((await engine.stats("crash")).memories, ACKED * SIZE + present);
    } finally {
      for (const child of children) await killed(child);
    }
  });
});
