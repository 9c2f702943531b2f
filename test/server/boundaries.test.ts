import { strict as assert } from "node:assert";
import { connect } from "node:net";
import { describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { createMcpServer } from "../../src/server/mcp.js";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Engine } from "../../src/engine.js";
import { CLI, spawnBounded, tempDir } from "../helpers.js";
import { bearer, startServer } from "./http.js";

/** What trial38 found at the server's edges: ids no route could reach, router errors out of shape, a shutdown one stuck client held. */
describe("the server's edges", () => {
  it("refuses an id with a lone surrogate or a bare dot (REST, batch, MCP, library), keeps every id of 1–512 characters reachable", async () => {
    using dir = tempDir();
    const running = await startServer(dir.path, { logLevel: "silent" }, { cache: "off" });
    try {
      const key = (await running.engine.keys.create({ role: "write", namespaces: ["a"] })).key;
      const post = (path: string, body: unknown) => fetch(`${running.url}${path}`, { method: "POST", headers: bearer(key, { "content-type": "application/json" }), body: JSON.stringify(body) });
      const error = async (response: Response) => ((await response.json()) as { error: { code: string; message: string } }).error;
      for (const id of ["half-\uD83D", "\uDE00-low", "a\uDBFF\uDBFF", ".", ".."]) {
        const one = await post("/v1/memories", { id, text: "An id nobody could reach again." });
        assert.equal(one.status, 400, JSON.stringify(id));
        const refused = await error(one);
        assert.equal(refused.code, "E_USAGE", "the request's schema refuses it");
        assert.match(refused.message, /id/);
        const batch = await post("/v1/memories:batch", { memories: [{ id: "fine", text: "A fine memory." }, { id, text: "An id nobody could reach again." }] });
        assert.equal(batch.status, 400, JSON.stringify(id));
        await assert.rejects(running.engine.remember({ id, text: "Through the library.", namespace: "a" }), { code: "E_INVALID_INPUT" }, JSON.stringify(id));
      }
      const mcp = new Client({ name: "memzip-test", version: "1" });
      await mcp.connect(new StreamableHTTPClientTransport(new URL(`${running.url}/mcp`), { requestInit: { headers: bearer(key) } }));
      try {
        const result = (await mcp.callTool({ name: "remember", arguments: { id: "mcp-\uD800", text: "Through MCP." } })) as CallToolResult;
        assert.equal(result.isError, true, JSON.stringify(result.content));
      } finally {
        await mcp.close();
      }
      assert.equal((await running.engine.stats()).memories, 0, "nothing was written, not even the batch's good record");

      // Ids up to 512 characters, the longest percent-encoded (3-byte UTF-8: 9 URL characters each), and an emoji pair.
      for (const id of ["x".repeat(512), "記".repeat(512), "😀".repeat(256), "dots.in.the.middle"]) {
        const path = `/v1/memories/${encodeURIComponent(id)}?namespace=a`;
        assert.equal((await post("/v1/memories", { id, text: `A memory with an id of ${id.length} characters.` })).status, 201);
        const got = await fetch(`${running.url}${path}`, { headers: bearer(key) });
        assert.equal(got.status, 200, `GET ${id.length} chars`);
        assert.equal(((await got.json()) as { id: string }).id, id);
        assert.equal((await fetch(`${running.url}${path}`, { method: "PATCH", headers: bearer(key, { "content-type": "application/json" }), body: JSON.stringify({ tags: ["long"] }) })).status, 200);
        assert.equal((await fetch(`${running.url}${path}`, { method: "DELETE", headers: bearer(key) })).status, 204);
      }
      const tooLong = await post("/v1/memories", { id: "x".repeat(513), text: "One character too many." });
      assert.equal(tooLong.status, 400);
    } finally {
      await running.server.close();
    }
  });

  it("answers router errors in the API's shape without echoing the URL, and a PATCH that would expire the memory at once with 400", async () => {
    using dir = tempDir();
    const running = await startServer(dir.path, { logLevel: "silent" }, { cache: "off" });
    try {
      const key = (await running.engine.keys.create({ role: "write", namespaces: ["a"] })).key;
      const marker = "ZZMARKERZZ";
      const cases = [
        { path: `/v1/memories/${marker}%E0%A4%A`, status: 400, code: "E_BAD_URL" },
        { path: `/v1/memories/${marker}${"y".repeat(512 * 9)}`, status: 414, code: "E_URI_TOO_LONG" },
      ];
      for (const { path, status, code } of cases) {
        const response = await fetch(`${running.url}${path}`, { headers: bearer(key) });
        const body = await response.text();
        assert.equal(response.status, status, body.slice(0, 200));
        const parsed = JSON.parse(body) as { error: { code: string; message: string; hint: string } };
        assert.equal(parsed.error.code, code);
        assert.ok(parsed.error.hint.length > 0);
        assert.ok(!body.includes(marker), `the answer echoes the URL: ${body.slice(0, 200)}`);
      }

      await running.engine.remember({ id: "m", namespace: "a", text: "Rotate the staging keys on Friday." });
      const patch = await fetch(`${running.url}/v1/memories/m?namespace=a`, { method: "PATCH", headers: bearer(key, { "content-type": "application/json" }), body: JSON.stringify({ expiresAt: Date.now() - 1000, text: "changed" }) });
      assert.equal(patch.status, 400);
      assert.equal(((await patch.json()) as { error: { code: string } }).error.code, "E_INVALID_INPUT");
      assert.equal(await running.engine.recall("m", { namespace: "a" }), "Rotate the staging keys on Friday.", "nothing was written");
    } finally {
      await running.server.close();
    }
  });

  it("closes within its grace period while a client holds a request it never finishes", async () => {
    using dir = tempDir();
    const running = await startServer(dir.path, { logLevel: "silent", shutdownGraceMs: 300 }, { cache: "off" });
    const { port } = new URL(running.url);
    const stuck = connect(Number(port), "127.0.0.1");
    stuck.on("error", () => undefined);
    await new Promise<void>((resolve) => stuck.once("connect", () => resolve()));
    // Half a request line and headers: the server has a connection with a request it is still reading.
    stuck.write("POST /v1/memories HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n");
    const cut = new Promise<void>((resolve) => stuck.once("close", () => resolve()));
    let bound: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      running.server.close().then(() => "closed"),
      new Promise<string>((resolve) => (bound = setTimeout(() => resolve("still open after 60 s"), 60_000))),
    ]);
    clearTimeout(bound);
    stuck.destroy();
    assert.equal(outcome, "closed");
    await cut;
  });
  it("keeps a caller's x-request-id only when it is a plain token, and says a __proto__ key is refused (REST and MCP) instead of 'invalid JSON' or dropping it", async () => {
    using dir = tempDir();
    const running = await startServer(dir.path, {}, { cache: "off" });
    try {
      const key = (await running.engine.keys.create({ role: "write", namespaces: ["a"] })).key;
      const health = (id: string) => fetch(`${running.url}/v1/stats`, { headers: bearer(key, { "x-request-id": id }) });
      const kept = "7f3c2a90-5b1e-4c1d-9a7e-0c2f4e6b8d10";
      assert.equal((await health(kept)).headers.get("x-request-id"), kept);
      for (const hostile of ["a".repeat(5000), "two words", "<script>", "id\u00e9"]) {
        const answered = (await health(hostile)).headers.get("x-request-id") ?? "";
        assert.match(answered, /^req-[0-9a-f-]{36}$/, `replaced: ${hostile.slice(0, 20)}`);
        assert.ok(!running.logs.join("").includes(hostile), "a hostile id never reaches the log");
      }
      assert.ok(running.logs.join("").includes(kept), "a plain id is logged");

      const body = '{"text":"A memory with a prototype key.","meta":{"__proto__":{"admin":true},"source":"x"}}';
      const refused = await fetch(`${running.url}/v1/memories?namespace=a`, { method: "POST", headers: bearer(key, { "content-type": "application/json" }), body });
      assert.equal(refused.status, 400);
      const error = ((await refused.json()) as { error: { code: string; message: string; hint: string } }).error;
      assert.equal(error.code, "E_INVALID_INPUT");
      assert.match(error.message, /__proto__/);
      assert.match(error.hint, /Rename the key/);

      // An integer a double cannot hold is refused, not rounded (trial56: a snowflake id lost its last digits).
      const snowflake = await fetch(`${running.url}/v1/memories?namespace=a`, { method: "POST", headers: bearer(key, { "content-type": "application/json" }), body: '{"id":"s","text":"t","meta":{"discord":1234567890123456789}}' });
      assert.equal(snowflake.status, 400);
      const inexact = ((await snowflake.json()) as { error: { code: string; message: string; hint: string } }).error;
      assert.equal(inexact.code, "E_INVALID_INPUT");
      assert.match(inexact.message, /1234567890123456789 cannot be kept exactly/);
      assert.match(inexact.hint, /"1234567890123456789"/);
      assert.equal((await fetch(`${running.url}/v1/memories/s?namespace=a`, { headers: bearer(key) })).status, 404, "nothing stored");

      const meta = JSON.parse('{"__proto__":{"admin":true},"source":"x"}') as Record<string, unknown>;
      const arguments_ = { text: "Through MCP, with a prototype key.", meta };
      // Over HTTP the request's JSON is refused as REST's is, with the same message.
      const mcp = new Client({ name: "memzip-test", version: "1" });
      await mcp.connect(new StreamableHTTPClientTransport(new URL(`${running.url}/mcp`), { requestInit: { headers: bearer(key) } }));
      try {
        await assert.rejects(mcp.callTool({ name: "remember", arguments: arguments_ }), /E_INVALID_INPUT.*__proto__/);
      } finally {
        await mcp.close();
      }
      // Where the JSON keeps the key (stdio, here in memory), the tool refuses it by name: zod's record would drop it.
      const direct = new Client({ name: "memzip-test", version: "1" });
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      await createMcpServer({ engine: running.engine, scope: { keyId: "local", role: "write", namespaces: ["a"] }, textBytes: 1 << 20 }).connect(serverSide);
      await direct.connect(clientSide);
      try {
        const result = (await direct.callTool({ name: "remember", arguments: arguments_ })) as CallToolResult;
        assert.equal(result.isError, true, JSON.stringify(result.content));
        assert.match(JSON.stringify(result.content), /__proto__ is refused/);
      } finally {
        await direct.close();
      }
      assert.equal((await running.engine.stats()).memories, 0, "nothing written without its key");
    } finally {
      await running.server.close();
    }
  });
});

describe("MCP recall pages (trial42)", () => {
  it("always end and never split an emoji: maxChars 1 at a surrogate pair, an offset inside one", async () => {
    using dir = tempDir();
    const running = await startServer(dir.path, { logLevel: "silent" }, { cache: "off" });
    const client = new Client({ name: "memzip-test", version: "1" });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await createMcpServer({ engine: running.engine, scope: { keyId: "local", role: "write", namespaces: ["a"] }, textBytes: 1 << 20 }).connect(serverSide);
    await client.connect(clientSide);
    try {
      const page = async (offset: number, maxChars: number) => {
        const result = (await client.callTool({ name: "recall", arguments: { id: "e", offset, maxChars } })) as CallToolResult;
        assert.notEqual(result.isError, true, JSON.stringify(result.content));
        return result.structuredContent as { text: string; offset: number; nextOffset: number | null };
      };
      const text = "😀😀x🇩🇪 y";
      await client.callTool({ name: "remember", arguments: { id: "e", text } });
      for (const maxChars of [1, 2, 3]) {
        // Followed as the tool's description says (it looped at offset 0 with maxChars 1).
        let offset: number | null = 0;
        const pages: string[] = [];
        while (offset !== null) {
          const answer = await page(offset, maxChars);
          assert.ok(answer.text.length > 0, `a page from ${offset} holds a character`);
          assert.ok(answer.text.length <= Math.max(maxChars, 2));
          pages.push(answer.text);
          offset = answer.nextOffset;
          assert.ok(pages.length <= text.length, "the pages end");
        }
        assert.equal(pages.join(""), text, `maxChars ${maxChars}`);
        assert.ok(pages.every((p) => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(p)), `no page holds half an emoji (maxChars ${maxChars})`);
      }
      // An offset inside a pair (it answered a lone "\ude00") starts at the pair.
      assert.deepEqual(await page(1, 1), { ...(await page(1, 1)), text: "😀", offset: 0, nextOffset: 2 });
    } finally {
      await client.close();
      await running.server.close();
    }
  });
});

describe("API keys' namespaces (trial42)", () => {
  it("are namespaces every other door accepts: a key for any other name, or for * beside names, is refused and nothing is made", async () => {
    using dir = tempDir();
    const db = join(dir.path, "keys.db");
    const memzip = (...args: string[]) => spawnBounded(process.execPath, [CLI, ...args, "--db", db, "--json"], { encoding: "utf8" });
    // A write key for "a/b" stored memories there that export wrote and import refused, and no -n could name.
    for (const namespaces of [["a/b"], ["x#y"], ["A,B"], ["%"], ["ok", "*x"], ["A", "*"]]) {
      const made = memzip("keys", "create", "--role", "write", ...namespaces.flatMap((ns) => ["--namespace", ns]));
      assert.equal(made.status, 2, `${namespaces.join(" ")}: ${made.stdout}`);
      assert.match(made.stdout, /"code": "E_USAGE"/);
    }
    // Refused before the store is opened: a refused key on a store that does not exist yet left a new, empty store.
    assert.equal(existsSync(db), false, "a refused key made no store");
    assert.equal(memzip("keys", "create", "--role", "owner", "--namespace", "a").status, 2);
    assert.equal(existsSync(db), false, "a refused role made no store");
    const good = memzip("keys", "create", "--role", "read", "--namespace", "研究-1", "--namespace", "agent.7@host:x");
    assert.equal(good.status, 0, good.stderr);
    const listed = JSON.parse(memzip("keys", "ls").stdout) as { keys: { namespaces: string[] }[] };
    assert.deepEqual(listed.keys.map((k) => k.namespaces), [["研究-1", "agent.7@host:x"]], "only the valid key was made");
    // A namespace the CLI refuses says how to name one (it pointed at src/engine-options.ts).
    const add = memzip("add", "x", "-n", "a/b");
    assert.equal(add.status, 2);
    assert.match(add.stdout, /Name the namespace with letters, digits and _ \. : @ - only/);
    await using engine = Engine.open({ db, cache: "off" });
    await assert.rejects(engine.keys.create({ role: "write", namespaces: ["a b"] }), { code: "E_USAGE", message: /"a b" is not a namespace/ });
  });
});

describe("the Authorization header (trial42)", () => {
  it("takes the Bearer scheme in any case, and nothing but one key after it", async () => {
    using dir = tempDir();
    const running = await startServer(dir.path, { logLevel: "silent" }, { cache: "off" });
    try {
      const key = (await running.engine.keys.create({ role: "read", namespaces: ["a"] })).key;
      const status = async (authorization: string) => (await fetch(`${running.url}/v1/memories`, { headers: { authorization } })).status;
      // "bearer KEY" was 401.
      for (const scheme of ["Bearer", "bearer", "BEARER", "bEaReR"]) assert.equal(await status(`${scheme} ${key}`), 200, scheme);
      for (const bad of [`Basic ${key}`, `Bearer${key}`, `Bearer ${key} ${key}`, "Bearer ", key]) assert.equal(await status(bad), 401, bad);
    } finally {
      await running.server.close();
    }
  });
});

describe("refusals at POST /mcp (stop 42's note)", () => {
  it("answer JSON-RPC error objects, with the HTTP status, the E_ code and the fix, where REST routes keep their shape", async () => {
    using dir = tempDir();
    const running = await startServer(dir.path, {}, { cache: "off" });
    try {
      const key = (await running.engine.keys.create({ role: "write", namespaces: ["a"] })).key;
      const post = async (url: string, body: string | Uint8Array, headers: Record<string, string>) => {
        const answer = await fetch(`${running.url}${url}`, { method: "POST", headers: { accept: "application/json, text/event-stream", "content-type": "application/json", ...headers }, body });
        return { status: answer.status, body: (await answer.json()) as Record<string, unknown> };
      };
      type RpcError = { jsonrpc: string; id: null; error: { code: number; message: string; data: { code: string; hint?: string } } };
      const cases: { name: string; body: string | Uint8Array; headers: Record<string, string>; status: number; rpc: number; code: string }[] = [
        { name: "not JSON", body: '{"jsonrpc":"2.0",', headers: bearer(key), status: 400, rpc: -32700, code: "E_USAGE" },
        { name: "an empty body", body: "", headers: bearer(key), status: 400, rpc: -32700, code: "E_USAGE" },
        { name: "not UTF-8", body: new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d]), headers: bearer(key), status: 400, rpc: -32700, code: "E_INVALID_INPUT" },
        { name: "a __proto__ key", body: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"remember","arguments":{"text":"x","meta":{"__proto__":{}}}}}', headers: bearer(key), status: 400, rpc: -32000, code: "E_INVALID_INPUT" },
        { name: "no key", body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}', headers: {}, status: 401, rpc: -32000, code: "E_UNAUTHORIZED" },
        // trial56: a batch ran 100 calls for one token of the rate limit and answered 7 MB.
        { name: "a batch", body: '[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":2,"method":"tools/list"}]', headers: bearer(key), status: 400, rpc: -32600, code: "E_USAGE" },
      ];
      for (const c of cases) {
        const answer = await post("/mcp", c.body, c.headers);
        assert.equal(answer.status, c.status, c.name);
        const rpc = answer.body as unknown as RpcError;
        assert.equal(rpc.jsonrpc, "2.0", `${c.name}: ${JSON.stringify(answer.body)}`);
        assert.equal(rpc.id, null, c.name);
        assert.equal(rpc.error.code, c.rpc, c.name);
        assert.equal(rpc.error.data.code, c.code, c.name);
        assert.ok(rpc.error.message.startsWith(`${c.code}: `), `${c.name}: ${rpc.error.message}`);
        assert.ok((rpc.error.data.hint ?? "").length > 0, `${c.name}: a fix`);
      }
      // The REST routes answer as before.
      const rest = await post("/v1/memories?namespace=a", '{"text":', bearer(key));
      assert.equal(rest.status, 400);
      assert.equal((rest.body as { error: { code: string } }).error.code, "E_USAGE");
      assert.equal(rest.body.jsonrpc, undefined);
      assert.equal((await running.engine.stats()).memories, 0);
    } finally {
      await running.server.close();
    }
  });
});

describe("a memory's time over REST (trial42)", () => {
  it("takes a createdAt before 1970 as an import does, so an export re-POSTs; past the latest date either side is 400", async () => {
    using dir = tempDir();
    const running = await startServer(dir.path, { logLevel: "silent" }, { cache: "off" });
    try {
      const key = (await running.engine.keys.create({ role: "write", namespaces: ["a"] })).key;
      const post = (body: unknown) => fetch(`${running.url}/v1/memories`, { method: "POST", headers: bearer(key, { "content-type": "application/json" }), body: JSON.stringify(body) });
      // It was 400 ("must be >= 0") while `memzip import` stored it.
      assert.equal((await post({ id: "moon", text: "Apollo 11 landed.", createdAt: -14_182_940_000 })).status, 201);
      const read = (await (await fetch(`${running.url}/v1/memories/moon`, { headers: bearer(key) })).json()) as { createdAt: number };
      assert.equal(read.createdAt, -14_182_940_000);
      for (const createdAt of [-8.64e15 - 1, 8.64e15 + 1, -1.5]) assert.equal((await post({ id: "x", text: "x", createdAt })).status, 400, String(createdAt));
      // A key for every namespace must name one, and is told what a name is (it said "one of any namespace").
      const star = (await running.engine.keys.create({ role: "write", namespaces: ["*"] })).key;
      const unnamed = await fetch(`${running.url}/v1/memories`, { method: "POST", headers: bearer(star, { "content-type": "application/json" }), body: JSON.stringify({ text: "where?" }) });
      assert.equal(unnamed.status, 400);
      assert.match(((await unnamed.json()) as { error: { hint: string } }).error.hint, /: any namespace \(1–128 letters/);
      assert.equal((await post({ id: "first", text: "the earliest date", createdAt: -8.64e15 })).status, 201);
    } finally {
      await running.server.close();
    }
  });
});
