import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { Engine } from "../../src/engine.js";
import { createServer } from "../../src/server/app.js";
import { createMcpServer } from "../../src/server/mcp.js";
import { tempDir } from "../helpers.js";

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

/** Requests with a key against a listening server: status, body text and the parsed JSON body (when JSON). */
function restCaller(url: string, key: string) {
  return async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const raw = await response.text();
    return { status: response.status, raw, json: raw && response.headers.get("content-type")?.startsWith("application/json") ? (JSON.parse(raw) as Record<string, unknown>) : undefined };
  };
}

/** The SDK's client connected in-process to an MCP server for namespace "alpha": a tool call's structured answer (a tool error fails the test). */
async function mcpTools(engine: Engine, client: Client) {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await createMcpServer({ engine, scope: { keyId: "k", role: "write", namespaces: ["alpha"] }, textBytes: 1 << 20 }).connect(serverSide);
  await client.connect(clientSide);
  return async (name: string, args: Record<string, unknown>) => {
    const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
    assert.ok(!result.isError, JSON.stringify(result.content));
    return result.structuredContent as Record<string, unknown>;
  };
}

describe("the filter and expiry over REST and MCP", () => {
  it("list, delete and export take tags any/all, updated time and meta; expiresAt is written, shown, honoured", async () => {
    using dir = tempDir();
    const clock = { now: T0 };
    const engine = Engine.open({ db: join(dir.path, "rest.db"), cache: "off", workers: 0, clock: () => clock.now });
    const server = await createServer({ engine, logLevel: "silent" });
    const client = new Client({ name: "test", version: "1" });
    try {
      const { key } = await engine.keys.create({ role: "write", namespaces: ["alpha"] });
      const url = await server.listen("127.0.0.1", 0);
      const call = restCaller(url, key);
      const items = [
        { id: "a", text: "alpha memory about the ledger", tags: ["x", "y"], meta: { team: "core", n: 1 }, createdAt: T0 },
        { id: "b", text: "beta memory about the billing", tags: ["x"], meta: { team: "web", n: "1" }, createdAt: T0 + DAY, expiresAt: T0 + 10 * DAY },
        { id: "c", text: "gamma memory about the deploy", tags: ["z"], meta: { team: "core" }, createdAt: T0 + 2 * DAY },
        { id: "old", text: "a memory from before 1970", createdAt: -2 * DAY },
      ];
      assert.equal((await call("POST", "/v1/memories:batch", { items })).status, 201);
      const list = async (query: string) => {
        const answer = await call("GET", `/v1/memories?${query}`);
        assert.equal(answer.status, 200, answer.raw);
        return (answer.json?.items as { id: string; expiresAt?: number }[]).map((m) => m.id);
      };
      assert.deepEqual(await list("anyTag=y&anyTag=z"), ["a", "c"]);
      assert.deepEqual(await list("tag=x&tag=y"), ["a"]);
      // A time before 1970 in a query string (it was "expected number": the body and the CLI took it).
      assert.deepEqual(await list(`createdFrom=${-3 * DAY}&createdBefore=${-DAY}`), ["old"]);
      assert.equal((await call("GET", "/v1/memories?createdFrom=-1e5")).status, 400, "still digits only");
      assert.ok([200, 204].includes((await call("DELETE", "/v1/memories/old")).status));
      assert.deepEqual(await list(`meta=${encodeURIComponent("team=core")}&meta=${encodeURIComponent("n=1")}`), ["a"]);
      assert.deepEqual(await list(`meta=${encodeURIComponent('n="1"')}`), ["b"]);
      clock.now = T0 + 5 * DAY;
      assert.equal((await call("PATCH", "/v1/memories/c", { text: "gamma memory about the deploy, retried" })).status, 200);
      assert.deepEqual(await list(`updatedFrom=${T0 + 4 * DAY}`), ["c"]);
      const unpaired = await call("GET", "/v1/memories?meta=nokey");
      assert.equal(unpaired.status, 400);
      // The form it takes, named (it said "expected record, received string": hostile trial s61).
      assert.match(String((unpaired.json?.error as { message?: string } | undefined)?.message), /^invalid request: query\.meta: takes KEY=VALUE \(in a query or a flag\) or an object of keys and values \(in JSON\), not "nokey"/);
      const listed = (await call("GET", "/v1/memories?tag=x")).json?.items as { id: string; expiresAt?: number }[];
      assert.deepEqual(listed.map((m) => [m.id, m.expiresAt]), [["a", undefined], ["b", T0 + 10 * DAY]]);

      const exported = await call("GET", `/v1/export?namespace=alpha&meta=${encodeURIComponent("team=core")}`);
      assert.deepEqual(exported.raw.trim().split("\n").map((l) => (JSON.parse(l) as { id: string }).id), ["a", "c"]);
      const dry = await call("POST", "/v1/memories:delete", { anyTags: ["z"], meta: { team: "core" }, dryRun: true });
      assert.deepEqual([dry.json?.count, (dry.json?.ids as { id: string }[]).map((r) => r.id)], [1, ["c"]]);

      // MCP: list takes the same filter (JSON form); remember and update write expiresAt.
      const tool = await mcpTools(engine, client);
      const mcpList = async (args: Record<string, unknown>) => ((await tool("list_memories", args)).memories as { id: string }[]).map((m) => m.id);
      assert.deepEqual(await mcpList({ anyTags: ["y", "z"], meta: { team: "core" } }), ["a", "c"]);
      await tool("remember", { id: "d", text: "delta memory that expires soon", expiresAt: T0 + 6 * DAY });
      assert.equal((await engine.memory("d", "alpha")).expiresAt, T0 + 6 * DAY);
      await tool("update_memory", { id: "a", expiresAt: T0 + 7 * DAY });
      assert.equal((await engine.memory("a", "alpha")).expiresAt, T0 + 7 * DAY);

      clock.now = T0 + 8 * DAY; // "a" and "d" expired
      assert.deepEqual(await list(""), ["b", "c"]);
      assert.deepEqual(await mcpList({}), ["b", "c"]);
      // The sizes count an expired memory until compact deletes it, and say how many they count (hostile trial s59: 4 memories, 2 listed).
      const stats = (await call("GET", "/v1/stats?namespace=alpha")).json as { namespaces: { memories: number; expired: number }[]; totals: { expired: number } };
      assert.deepEqual([stats.namespaces[0]?.memories, stats.namespaces[0]?.expired, stats.totals.expired], [4, 2, 2]);
      const [mcpSized] = (await tool("memory_stats", { namespace: "alpha" })).namespaces as { memories: number; expired: number }[];
      assert.deepEqual([mcpSized?.memories, mcpSized?.expired], [4, 2]);
      assert.equal((await call("GET", "/v1/memories/a?namespace=alpha")).status, 404, "an expired memory is 404, as a missing one");
      assert.equal((await call("GET", "/v1/memories/a/history?namespace=alpha")).status, 404);
      assert.equal((await call("PATCH", "/v1/memories/b", { expiresAt: null })).status, 200);
      clock.now = T0 + 20 * DAY;
      assert.deepEqual(await list(""), ["b", "c"], "null cleared b's expiry");
    } finally {
      await client.close();
      await server.close();
    }
  });
  it("search and related take the same filter over REST (body / query) and MCP, applied before ranking", async () => {
    using dir = tempDir();
    const engine = Engine.open({ db: join(dir.path, "search.db"), cache: "off", workers: 0 });
    const server = await createServer({ engine, logLevel: "silent" });
    const client = new Client({ name: "test", version: "1" });
    try {
      const { key } = await engine.keys.create({ role: "write", namespaces: ["alpha"] });
      const url = await server.listen("127.0.0.1", 0);
      const call = restCaller(url, key);
      const text = "The quarterly invoice reconciliation for the ledger service runs every Monday morning.";
      const items = [
        { id: "core", text, tags: ["finance"], meta: { team: "core" } },
        { id: "web", text: `${text} Web team copy.`, tags: ["frontend"], meta: { team: "web" } },
        { id: "ops", text: `${text} Ops team copy.`, tags: ["finance", "ops"], meta: { team: "ops" } },
      ];
      assert.equal((await call("POST", "/v1/memories:batch", { items })).status, 201);
      const search = async (filter: Record<string, unknown>) => {
        const answer = await call("POST", "/v1/search", { query: "quarterly invoice reconciliation ledger", limit: 10, ...filter });
        assert.equal(answer.status, 200, answer.raw);
        return (answer.json?.hits as { id: string }[]).map((h) => h.id).sort();
      };
      assert.deepEqual(await search({}), ["core", "ops", "web"]);
      assert.deepEqual(await search({ anyTags: ["frontend", "ops"] }), ["ops", "web"]);
      assert.deepEqual(await search({ tags: ["finance"], meta: { team: "core" } }), ["core"]);
      assert.equal((await call("POST", "/v1/search", { query: "ledger", meta: { team: { a: 1 } } })).status, 400, "an object meta value is refused");
      const related = async (query: string) => {
        const answer = await call("GET", `/v1/memories/core/related?namespace=alpha${query}`);
        assert.equal(answer.status, 200, answer.raw);
        return (answer.json?.hits as { id: string }[]).map((h) => h.id).sort();
      };
      assert.deepEqual(await related(""), ["ops", "web"]);
      assert.deepEqual(await related(`&meta=${encodeURIComponent("team=web")}`), ["web"]);
      assert.deepEqual(await related("&anyTag=ops"), ["ops"]);

      const mcp = await mcpTools(engine, client);
      const tool = async (name: string, args: Record<string, unknown>) => ((await mcp(name, args)).hits as { id: string }[]).map((h) => h.id).sort();
      assert.deepEqual(await tool("search_memories", { query: "quarterly invoice reconciliation ledger", anyTags: ["ops"] }), ["ops"]);
      assert.deepEqual(await tool("search_memories", { query: "quarterly invoice reconciliation ledger", meta: { team: "web" } }), ["web"]);
      assert.deepEqual(await tool("related_memories", { id: "core", tags: ["finance"] }), ["ops"]);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
