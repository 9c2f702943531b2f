import assert from "node:assert/strict";
import { createServer, request } from "node:http";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { CLI, ROOT, tempDir, spawnBounded } from "../helpers.js";
import { freePort } from "../services/ports.js";
import { spawnServe, waitFor, type ServeProcess } from "./http.js";

/**
 * `memzip serve` as users run it: the real CLI in its own process, over real TCP. It prints where
 * it listens, answers, and on SIGTERM finishes the write in flight before it exits 0.
 */

const ENV = { ...process.env, MEMZIP_DB: "", MEMZIP_CONFIG: "/nonexistent/memzip-config.json", MEMZIP_LOG_LEVEL: "warn" };

function createKey(db: string, namespace: string, role: string): string {
  const result = spawnBounded(process.execPath, [CLI, "keys", "create", "--db", db, "--namespace", namespace, "--role", role, "--json"], { env: ENV, encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  return (JSON.parse(result.stdout) as { key: string }).key;
}

function serve(db: string, extra: string[] = []): Promise<ServeProcess> {
  return spawnServe(["--db", db, "--port", "0", ...extra], ENV);
}

/** The README's curl example: the sh block after its marker, without the line that sets URL and KEY. */
function readmeExample(): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const marker = readme.indexOf("<!-- test/server/serve-cli.test.ts runs the next block");
  assert.ok(marker >= 0, "README has the marked example");
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(marker));
  assert.ok(block?.[1]);
  const lines = block[1].split("\n");
  assert.match(lines[0] as string, /^URL=.* KEY=/);
  return lines.slice(1).join("\n");
}

/** The JSON objects of curl's output, printed one after the other with no separator. */
function jsonValues(output: string): Record<string, unknown>[] {
  const values: Record<string, unknown>[] = [];
  let depth = 0;
  let start = 0;
  let inString = false;
  for (let i = 0; i < output.length; i++) {
    const c = output[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{") {
      if (depth++ === 0) start = i;
    } else if (c === "}" && --depth === 0) values.push(JSON.parse(output.slice(start, i + 1)) as Record<string, unknown>);
  }
  return values;
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

      // The README's example, as written, against this server.
      const example = spawnBounded("bash", ["-euo", "pipefail", "-c", readmeExample()], { env: { ...ENV, URL: server.url, KEY: key }, encoding: "utf8", timeout: 60_000 });
      assert.equal(example.status, 0, example.stderr);
      const [created, read, found] = jsonValues(example.stdout);
      assert.equal(created?.namespace, "ns");
      assert.equal(created?.status, "stored");
      assert.equal(read?.text, "The user prefers green tea, no sugar. 用户喜欢绿茶。");
      assert.equal((found?.hits as { id: string }[])[0]?.id, "tea");

      // Searches run on the search thread (serve turns it on); it follows the writes made between them.
      const auth = { authorization: `Bearer ${key}`, "content-type": "application/json" };
      const search = async (query: string) => {
        const response = await fetch(`${server.url}/v1/search`, { method: "POST", headers: auth, body: JSON.stringify({ query, mode: "keyword" }) });
        assert.equal(response.status, 200);
        return ((await response.json()) as { hits: { id: string }[] }).hits.map((h) => h.id);
      };
      const write = async (id: string, text: string) => assert.equal((await fetch(`${server.url}/v1/memories`, { method: "POST", headers: auth, body: JSON.stringify({ id, text }) })).status, 201);
      await write("kiwi", "The kiwi orchard is watered on Tuesdays.");
      assert.deepEqual(await search("orchard"), ["kiwi"]);
      await write("kiwi", "The kiwi vines are pruned in winter.");
      assert.deepEqual(await search("orchard"), []);
      assert.deepEqual(await search("vines"), ["kiwi"]);
      assert.equal((await fetch(`${server.url}/v1/memories/kiwi`, { method: "DELETE", headers: { authorization: `Bearer ${key}` } })).status, 204);
      assert.deepEqual(await search("vines"), []);

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

  it("with --queue on a Redis nobody listens on, it opens its queue connection at start, answers, logs the outage at most once and exits 0 on SIGTERM", async () => {
    using dir = tempDir();
    const db = join(dir.path, "store.db");
    // A port that was free a moment ago: nothing listens there, so every connection attempt is refused.
    const port = await freePort();
    const server = await serve(db, ["--queue", `redis://agent:s3cret@127.0.0.1:${port}`]);
    try {
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
      // Said once, before "listening on": the address and the fix, never the password.
      assert.match(server.stderr(), new RegExp(`warning: cannot reach the queue's Redis at redis://127\\.0\\.0\\.1:${port}: .*serving anyway`));
      assert.match(server.stderr(), /fix: Start Redis there/);
      assert.doesNotMatch(server.stderr(), /s3cret/);
      server.child.kill("SIGTERM");
      assert.equal(await server.exited, 0, server.stderr());
      // The connection retries on its own; its errors are logged once a minute, not printed each time.
      assert.ok((server.stderr().match(/the import queue's Redis is unreachable/g) ?? []).length <= 1, server.stderr());
      assert.doesNotMatch(server.stderr(), /^Error: connect ECONNREFUSED/m, "no raw error printed by BullMQ");
    } finally {
      if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill("SIGKILL");
      await server.exited;
    }
  });
  it("a port in use or a host that does not resolve is a usage error naming the flag (not an internal error); a store without keys is said at start", async () => {
    using dir = tempDir();
    const db = join(dir.path, "store.db");
    const holder = createServer(() => undefined);
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    try {
      const port = (holder.address() as { port: number }).port;
      const refused = spawnBounded(process.execPath, [CLI, "serve", "--db", db, "--port", String(port), "--cold-search"], { env: ENV, encoding: "utf8" });
      assert.equal(refused.status, 2, refused.stderr);
      assert.match(refused.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`));
      assert.match(refused.stderr, /--port N/);
      assert.doesNotMatch(refused.stderr, /internal error/);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
    // A host that does not resolve: a usage error naming --host, and no store created for it.
    for (const host of ["nosuchhost.invalid", "999.1.1.1"]) {
      const other = join(dir.path, "unresolved.db");
      const unresolved = spawnBounded(process.execPath, [CLI, "serve", "--db", other, "--port", "0", "--host", host, "--cold-search"], { env: ENV, encoding: "utf8" });
      assert.equal(unresolved.status, 2, unresolved.stderr);
      assert.match(unresolved.stderr, new RegExp(`cannot listen on ${host.replace(/\./g, "\\.")}:0: the host does not resolve`));
      assert.match(unresolved.stderr, /--host/);
      assert.doesNotMatch(unresolved.stderr, /internal error|created a new store/);
      assert.equal(existsSync(other), false, "no store made for a server that never listened");
    }
    const server = await serve(db, ["--cold-search"]);
    try {
      // Said right after "listening on".
      await waitFor(() => (/no API key, so every request .* answers 401; create one with `memzip keys create/.test(server.stderr()) ? true : undefined), "the no-key warning");
      server.child.kill("SIGTERM");
      assert.equal(await server.exited, 0, server.stderr());
    } finally {
      if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill("SIGKILL");
      await server.exited;
    }
  });
});
